# Optimizer update rules as kernels over one parameter's buffer.
from cython cimport floating

cdef void sgd_update(floating* p, const floating* g, floating* buf, Py_ssize_t n,
                     double lr, double momentum, double dampening, double weight_decay,
                     bint nesterov, bint maximize, bint first_step) noexcept nogil
