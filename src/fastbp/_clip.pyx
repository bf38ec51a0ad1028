"""Gradient clipping kernels: torch.nn.utils.clip_grad_norm_'s norms and scaling, and
clip_grad_value_'s clamp, each over one flattened gradient.

Trusts: buffers of n elements; norm_type not nan (checked in fastbp._validate).
"""

from cython cimport floating
from libc.math cimport INFINITY, fabs, pow, sqrt


cdef double vector_norm(const floating* x, Py_ssize_t n, double norm_type) noexcept nogil:
    """torch.linalg.vector_norm(x, norm_type), accumulated in double: max |x| (inf),
    min |x| (-inf; inf when empty), the count of non-zeros (0), else (Σ|x|^p)^(1/p)."""
    cdef Py_ssize_t i
    cdef double acc = 0.0, a
    if norm_type == 2:
        for i in range(n):
            acc += <double>x[i] * <double>x[i]
        return sqrt(acc)
    if norm_type == INFINITY:
        for i in range(n):
            a = fabs(<double>x[i])
            acc = a if (a > acc or a != a) else acc  # NaN propagates, as torch's max
        return acc
    if norm_type == -INFINITY:
        acc = INFINITY
        for i in range(n):
            a = fabs(<double>x[i])
            acc = a if (a < acc or a != a) else acc
        return acc
    if norm_type == 0:
        for i in range(n):
            acc += x[i] != 0
        return acc
    if norm_type == 1:
        for i in range(n):
            acc += fabs(<double>x[i])
        return acc
    for i in range(n):
        acc += pow(fabs(<double>x[i]), norm_type)
    return pow(acc, 1.0 / norm_type)


cdef inline double _round(double x, bint single) noexcept nogil:
    return <float>x if single else x


cdef double clip_coefficient(double total_norm, double max_norm, bint single) noexcept nogil:
    """torch's clamp(max_norm / (total_norm + 1e-6), max=1.0) in the norm's dtype (float32
    when single), where ``scalar / tensor`` is torch's reciprocal(tensor) · scalar."""
    cdef double denom = _round(total_norm + _round(1e-6, single), single)
    cdef double coef = _round(_round(1.0 / denom, single) * _round(max_norm, single), single)
    return coef if (coef < 1.0 or coef != coef) else 1.0


cdef void scale(floating* g, Py_ssize_t n, double coefficient) noexcept nogil:
    """g = g · coefficient, the coefficient cast to g's dtype first (torch's mul_)."""
    cdef Py_ssize_t i
    cdef floating c = <floating>coefficient
    for i in range(n):
        g[i] = g[i] * c


cdef void clamp(floating* g, Py_ssize_t n, double clip_value) noexcept nogil:
    """torch's clamp_min_(-clip_value) then clamp_max_(clip_value); NaN stays NaN."""
    cdef Py_ssize_t i
    cdef floating lo = <floating>(-clip_value), hi = <floating>clip_value
    cdef floating x
    for i in range(n):
        x = g[i]
        x = lo if x < lo else x
        g[i] = hi if x > hi else x


def grad_norm(const floating[::1] grad, double norm_type):
    """The norm of one flattened gradient (a Python float, in double)."""
    cdef double norm
    with nogil:
        norm = vector_norm(&grad[0], grad.shape[0], norm_type)
    return norm


def total_norm(const double[::1] norms, double norm_type):
    """The norm of the per-parameter norms."""
    cdef double norm
    with nogil:
        norm = vector_norm(&norms[0], norms.shape[0], norm_type)
    return norm


def coefficient(double total_norm, double max_norm, bint single):
    """clip_grad_norm_'s clamped scaling coefficient."""
    return clip_coefficient(total_norm, max_norm, single)


def scale_grad(floating[::1] grad, double coefficient):
    """grad *= coefficient, in place."""
    with nogil:
        scale(&grad[0], grad.shape[0], coefficient)


def clamp_grad(floating[::1] grad, double clip_value):
    """grad clamped to [-clip_value, clip_value] in place."""
    with nogil:
        clamp(&grad[0], grad.shape[0], clip_value)
