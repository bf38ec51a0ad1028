# Activation point functions (one element, in double) and their loops.
# Backward point functions take the forward OUTPUT y, as torch's *_backward do.
from cython cimport floating
from libc.math cimport exp

cpdef enum Activation:
    IDENTITY = 0
    SIGMOID = 1


cdef inline double c_sigmoid(double x) noexcept nogil:
    # exp(-x) overflows to inf for x < -709 and 1/inf is the exact limit 0.
    return 1.0 / (1.0 + exp(-x))

cdef inline double c_sigmoid_grad(double gy, double y) noexcept nogil:
    # torch's sigmoid_backward: grad_output * (1 - y) * y, in that order
    return gy * (1.0 - y) * y


cdef void activation_forward(int act, const floating* x, floating* y,
                             Py_ssize_t N, Py_ssize_t C) noexcept nogil

cdef void activation_backward(int act, const floating* gy, const floating* y, floating* gx,
                              Py_ssize_t N, Py_ssize_t C) noexcept nogil
