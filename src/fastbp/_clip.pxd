# Gradient clipping kernels over one flattened gradient, for clip_grad_norm_ /
# clip_grad_value_ and the fused training step.
from cython cimport floating

cdef double vector_norm(const floating* x, Py_ssize_t n, double norm_type) noexcept nogil
cdef double clip_coefficient(double total_norm, double max_norm, bint single) noexcept nogil
cdef void scale(floating* g, Py_ssize_t n, double coefficient) noexcept nogil
cdef void clamp(floating* g, Py_ssize_t n, double clip_value) noexcept nogil
