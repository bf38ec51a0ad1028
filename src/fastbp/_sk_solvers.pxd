# scikit-learn's MLP math (sklearn.neural_network 1.9) over raw row-major buffers.
# Shape letters: B batch rows, u[l] the units of layer l (u[0] features, u[L] outputs);
# W[l] is sklearn's coefs_[l], (u[l], u[l+1]).
from cython cimport floating


# sklearn's LOSS_FUNCTIONS as the network uses them (log_loss with a logistic output is
# binary_log_loss)
cpdef enum Loss:
    SQUARED = 0
    POISSON = 1
    LOG = 2
    BINARY_LOG = 3

# The output activation of the poisson loss, beyond fastbp's Activation values
cpdef enum OutputActivation:
    EXP = 100


cdef void mlp_forward(Py_ssize_t L, const Py_ssize_t* u, floating** W, floating** b,
                      floating** A, Py_ssize_t B, int act, int out_act) noexcept nogil

cdef double mlp_backprop(Py_ssize_t L, const Py_ssize_t* u, floating** W, floating** b,
                         floating** A, floating** D, floating** gW, floating** gb,
                         const floating* Y, const floating* sw, Py_ssize_t B,
                         int act, int out_act, int loss_kind, double alpha) noexcept nogil
