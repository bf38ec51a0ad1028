# Optimizer update rules as kernels over one parameter's buffer.
from cython cimport floating

cdef void sgd_update(floating* p, const floating* g, floating* buf, Py_ssize_t n,
                     double lr, double momentum, double dampening, double weight_decay,
                     bint nesterov, bint maximize, bint first_step) noexcept nogil

cdef void adam_update(floating* p, const floating* g, floating* exp_avg, floating* exp_avg_sq,
                      floating* max_exp_avg_sq, Py_ssize_t n, double lr, double beta1,
                      double beta2, double eps, double weight_decay, bint decoupled,
                      bint amsgrad, bint maximize, double step) noexcept nogil

cdef void rmsprop_update(floating* p, const floating* g, floating* square_avg,
                         floating* grad_avg, floating* momentum_buffer, Py_ssize_t n,
                         double lr, double alpha, double eps, double weight_decay,
                         double momentum, bint centered, bint maximize) noexcept nogil

cdef void adagrad_update(floating* p, const floating* g, floating* state_sum, Py_ssize_t n,
                         double lr, double lr_decay, double weight_decay, double eps,
                         bint maximize, double step) noexcept nogil
