"""Activation kernels: y = f(x) and grad_x from (grad_y, y), over (N, C) buffers.

Trusts: C-contiguous buffers of N*C elements, one dtype.  Outputs may alias
inputs (y may be x, gx may be gy): every loop reads an element before it
writes it, so a Layer applies its activation in place.
"""

from cython cimport floating
from libc.string cimport memcpy


cdef void activation_forward(int act, const floating* x, floating* y,
                             Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    """y = f(x) elementwise (row-wise for the softmaxes).  IN x; OUT y."""
    cdef Py_ssize_t i, n = N * C
    if act == SIGMOID:
        for i in range(n):
            y[i] = <floating>c_sigmoid(x[i])
    elif x != y:
        memcpy(y, x, n * sizeof(floating))


cdef void activation_backward(int act, const floating* gy, const floating* y, floating* gx,
                              Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    """gx = gy * f'(x), written in terms of the forward output y.  IN gy, y; OUT gx."""
    cdef Py_ssize_t i, n = N * C
    if act == SIGMOID:
        for i in range(n):
            gx[i] = <floating>c_sigmoid_grad(gy[i], y[i])
    elif gx != gy:
        memcpy(gx, gy, n * sizeof(floating))


def forward(int act, const floating[::1] x, floating[::1] out, Py_ssize_t n_rows):
    """out = f(x) over a flat buffer seen as n_rows rows.  OUT out."""
    cdef Py_ssize_t cols = x.shape[0] // n_rows if n_rows else 0
    with nogil:
        activation_forward(act, &x[0], &out[0], n_rows, cols)


def backward(int act, const floating[::1] grad_y, const floating[::1] y, floating[::1] out,
             Py_ssize_t n_rows):
    """out = grad_y * f'(x) from the forward output y.  OUT out."""
    cdef Py_ssize_t cols = y.shape[0] // n_rows if n_rows else 0
    with nogil:
        activation_backward(act, &grad_y[0], &y[0], &out[0], n_rows, cols)
