# Activation point functions (one element, in double) and their loops.  (The sigmoid and
# tanh forwards are C loops: csrc/fastbp_activations.c.)
# Backward point functions take the forward OUTPUT y, as torch's *_backward do.
# The softmaxes are row-wise: their point functions also take the row's reductions
# (max m, Σ exp(x - m), Σ gy·y, Σ gy), which the loops compute first.
from cython cimport floating
from libc.math cimport exp, log

include "_activation_codes.pxi"  # cpdef enum Activation, from specs/activations


cdef inline double c_sigmoid_grad(double gy, double y) noexcept nogil:
    # torch's sigmoid_backward: grad_output * (1 - y) * y, in that order
    return gy * (1.0 - y) * y


cdef inline double c_relu(double x) noexcept nogil:
    # torch.relu is clamp_min(x, 0): only x < 0 is replaced, so relu(nan) = nan and
    # relu(-0.0) = -0.0 (checked against torch 2.13, float32 and float64).
    return 0.0 if x < 0 else x

cdef inline double c_relu_grad(double gy, double y) noexcept nogil:
    # torch's relu backward is threshold_backward(grad, result, 0): where(y <= 0, 0, gy).
    # So the gradient at exactly 0 is 0, even for gy = nan, and a nan output passes gy.
    return 0.0 if y <= 0 else gy


cdef inline double c_tanh_grad(double gy, double y) noexcept nogil:
    # torch's tanh_backward: grad_output * (1 - y²)
    return gy * (1.0 - y * y)


cdef inline double c_softmax(double x, double row_max, double row_sum) noexcept nogil:
    # exp(x - max) / Σ exp(x - max): shifting by the row max keeps logits of ±1e4 finite.
    # A row of -inf has max -inf and x - max = nan, which torch also returns.
    return exp(x - row_max) / row_sum

cdef inline double c_softmax_grad(double gy, double y, double dot) noexcept nogil:
    # torch's _softmax_backward_data: y · (gy − Σ_j gy_j y_j)
    return y * (gy - dot)


cdef inline double c_log_softmax(double x, double row_max, double log_row_sum) noexcept nogil:
    return (x - row_max) - log_row_sum

cdef inline double c_log_softmax_grad(double gy, double y, double gy_sum) noexcept nogil:
    # torch's _log_softmax_backward_data: gy − exp(y) · Σ_j gy_j
    return gy - exp(y) * gy_sum


cdef void activation_forward(int act, const floating* x, floating* y,
                             Py_ssize_t N, Py_ssize_t C) noexcept nogil

cdef void activation_backward(int act, const floating* gy, const floating* y, floating* gx,
                              Py_ssize_t N, Py_ssize_t C) noexcept nogil


# A layer's activation with its options, as the fused step and the layer records carry it.
# option0, option1: the p1, p2 of an activation of specs/activations (its options but the
# one that picks its kernel); unused by the others.  flag: unused.
cdef struct ActRecord:
    int code        # Activation
    double option0, option1
    int flag


# Whether the backward of act reads the pre-activation z (else the output y).  A layer
# keeps z, and the fused step a z workspace, only for these.
cdef bint act_needs_input(int code) noexcept nogil

# y = f(z) by record; the dispatch for every activation, options included.  y may be z.
cdef void act_forward(const ActRecord* act, const floating* z, floating* y,
                      Py_ssize_t N, Py_ssize_t C) noexcept nogil

# gz = gy * f'(z), from z (act_needs_input) or from y; gz may be gy.
cdef void act_backward(const ActRecord* act, const floating* gy, const floating* z,
                       const floating* y, floating* gz, Py_ssize_t N, Py_ssize_t C) noexcept nogil


# v2 activations (specs/activations): y = f(x; p1, p2) and gx = gy f'(x) from the forward
# INPUT x, over n elements (elementwise; y may be x, gx may be gy).  p1, p2: the options of
# the code (csrc/fastbp_activation_table.h), as doubles.
cdef void activation2_forward(int act, const floating* x, floating* y, Py_ssize_t n,
                              double p1, double p2) noexcept nogil

cdef void activation2_backward(int act, const floating* gy, const floating* x, floating* gx,
                               Py_ssize_t n, double p1, double p2) noexcept nogil
