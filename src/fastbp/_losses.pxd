# Loss point functions (value, gradient) on one element, in double, and their loops.
# A loop applies them in one pass and reduces; _step.pyx calls the same loops.
from cython cimport floating

cpdef enum Reduction:
    REDUCTION_NONE = 0
    REDUCTION_MEAN = 1
    REDUCTION_SUM = 2


cdef inline double c_mse(double x, double t) noexcept nogil:
    return (x - t) * (x - t)

cdef inline double c_mse_grad(double x, double t) noexcept nogil:
    return 2.0 * (x - t)


cdef floating mse_loss_value_grad(const floating* x, const floating* t,
                                  floating* out, floating* grad,
                                  Py_ssize_t n, int reduction) noexcept nogil
