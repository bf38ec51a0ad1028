"""Loss kernels: one pass computes the value and, when asked, the gradient.

Trusts: C-contiguous input and target of n elements, one dtype; ``out`` (per-element
values, reduction 'none') and ``grad`` are NULL or n elements.  The gradient is
d(loss)/d(input); for reduction 'none' it is that of the sum, as the contract says.
Reductions sum in double: exact enough for float32 at any size, and what
torch's cascade sum approaches.
"""

from cython cimport floating


cdef floating mse_loss_value_grad(const floating* x, const floating* t,
                                  floating* out, floating* grad,
                                  Py_ssize_t n, int reduction) noexcept nogil:
    """loss = reduce((x - t)²);  grad = 2 (x - t) · (1/n for 'mean')

    IN x, t (n,); OUT out (n,) or NULL, grad (n,) or NULL.
    Returns the reduced value (nan for 'mean' over n = 0, as torch; 0 for 'none').
    """
    cdef Py_ssize_t i
    cdef double total = 0
    cdef double scale = 1.0 / n if reduction == REDUCTION_MEAN else 1.0
    for i in range(n):
        total += c_mse(x[i], t[i])
        if out != NULL:
            out[i] = <floating>c_mse(x[i], t[i])
        if grad != NULL:
            grad[i] = <floating>(c_mse_grad(x[i], t[i]) * scale)
    if reduction == REDUCTION_MEAN:
        return <floating>(total / n)
    if reduction == REDUCTION_SUM:
        return <floating>total
    return 0


def mse_loss(const floating[::1] input, const floating[::1] target, floating[::1] out,
             floating[::1] grad, int reduction):
    """Reduced MSE of flat input/target; fills out (per element) and grad when not None."""
    cdef floating* out_p = NULL
    cdef floating* grad_p = NULL
    cdef floating value
    if out is not None:
        out_p = &out[0]
    if grad is not None:
        grad_p = &grad[0]
    with nogil:
        value = mse_loss_value_grad(&input[0], &target[0], out_p, grad_p, input.shape[0],
                                    reduction)
    return value
