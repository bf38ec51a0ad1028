"""Activation kernels: y = f(x) and grad_x from (grad_y, y), over (N, C) buffers; the v2
activations (specs/activations, csrc/fastbp_activations.c) take the forward input x in their
backward instead.

Trusts: C-contiguous buffers of N*C elements, one dtype.  Outputs may alias
inputs (y may be x, gx may be gy): every loop reads an element before it
writes it, and the row-wise softmaxes read a row fully (their reductions)
before the pass that writes it, so a Layer applies its activation in place.
Row reductions are summed in double.
"""

from cython cimport floating
from libc.math cimport INFINITY, log
from libc.string cimport memcpy


cdef void activation_forward(int act, const floating* x, floating* y,
                             Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    """y = f(x) elementwise (row-wise over C for the softmaxes).  IN x (N, C); OUT y (N, C)."""
    cdef Py_ssize_t i, n = N * C
    if act == SIGMOID or act == TANH:
        # vectorized C (csrc/fastbp_activations.c): float32 the floats of glibc's exp and
        # tanh in double, rounded once; float64 within 2.5 (sigmoid) and 1.4 ulp (tanh)
        if floating is float:
            if act == SIGMOID:
                fastbp_sigmoid_forward_f32(x, y, n)
            else:
                fastbp_tanh_forward_f32(x, y, n)
        else:
            if act == SIGMOID:
                fastbp_sigmoid_forward_f64(x, y, n)
            else:
                fastbp_tanh_forward_f64(x, y, n)
    elif act == RELU:
        for i in range(n):
            y[i] = <floating>c_relu(x[i])
    elif act == SOFTMAX or act == LOG_SOFTMAX:
        softmax_rows(act == LOG_SOFTMAX, x, y, N, C)
    elif x != y:
        memcpy(y, x, n * sizeof(floating))


cdef void softmax_rows(bint take_log, const floating* x, floating* y,
                       Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    """y[n] = softmax(x[n]) or log_softmax(x[n]), each row shifted by its max.

    IN x (N, C); OUT y (N, C).  torch's max propagates nan, and so does this:
    a nan in a row makes its Σ exp nan, hence every output of the row.
    """
    cdef Py_ssize_t r, j
    cdef const floating* xr
    cdef floating* yr
    cdef double row_max, row_sum, log_row_sum
    for r in range(N):
        xr = x + r * C
        yr = y + r * C
        row_max = -INFINITY
        for j in range(C):
            if xr[j] > row_max:
                row_max = xr[j]
        row_sum = 0
        if floating is double and not take_log:
            # y holds a double's exp(x - max) exactly: one exp per element, then the division
            for j in range(C):
                yr[j] = c_softmax(xr[j], row_max, 1.0)
                row_sum += yr[j]
            for j in range(C):
                yr[j] = yr[j] / row_sum
            continue
        for j in range(C):
            row_sum += c_softmax(xr[j], row_max, 1.0)  # the unnormalised exp(x - max)
        if take_log:
            log_row_sum = log(row_sum)
            for j in range(C):
                yr[j] = <floating>c_log_softmax(xr[j], row_max, log_row_sum)
        else:
            for j in range(C):
                yr[j] = <floating>c_softmax(xr[j], row_max, row_sum)


cdef void activation_backward(int act, const floating* gy, const floating* y, floating* gx,
                              Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    """gx = gy * f'(x), written in terms of the forward output y.  IN gy, y (N, C); OUT gx."""
    cdef Py_ssize_t i, n = N * C
    if act == SIGMOID:
        for i in range(n):
            gx[i] = <floating>c_sigmoid_grad(gy[i], y[i])
    elif act == RELU:
        for i in range(n):
            gx[i] = <floating>c_relu_grad(gy[i], y[i])
    elif act == TANH:
        for i in range(n):
            gx[i] = <floating>c_tanh_grad(gy[i], y[i])
    elif act == SOFTMAX or act == LOG_SOFTMAX:
        softmax_rows_backward(act == LOG_SOFTMAX, gy, y, gx, N, C)
    elif gx != gy:
        memcpy(gx, gy, n * sizeof(floating))


cdef void softmax_rows_backward(bint take_log, const floating* gy, const floating* y,
                                floating* gx, Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    """Row-wise backward: softmax needs Σ gy·y, log_softmax Σ gy, before the row is written.

    IN gy, y (N, C); OUT gx (N, C).
    """
    cdef Py_ssize_t r, j
    cdef const floating* gyr
    cdef const floating* yr
    cdef floating* gxr
    cdef double total
    for r in range(N):
        gyr = gy + r * C
        yr = y + r * C
        gxr = gx + r * C
        total = 0
        if take_log:
            for j in range(C):
                total += gyr[j]
            for j in range(C):
                gxr[j] = <floating>c_log_softmax_grad(gyr[j], yr[j], total)
        else:
            for j in range(C):
                total += <double>gyr[j] * yr[j]
            for j in range(C):
                gxr[j] = <floating>c_softmax_grad(gyr[j], yr[j], total)


cdef bint act_needs_input(int code) noexcept nogil:
    return code > LOG_SOFTMAX  # the v2 activations, every one of specs/activations


cdef void act_forward(const ActRecord* act, const floating* z, floating* y,
                      Py_ssize_t N, Py_ssize_t C) noexcept nogil:
    if act_needs_input(act.code):
        activation2_forward(act.code, z, y, N * C, act.option0, act.option1)
    else:
        activation_forward(act.code, z, y, N, C)


cdef void act_backward(const ActRecord* act, const floating* gy, const floating* z,
                       const floating* y, floating* gz, Py_ssize_t N,
                       Py_ssize_t C) noexcept nogil:
    if act_needs_input(act.code):
        activation2_backward(act.code, gy, z, gz, N * C, act.option0, act.option1)
    else:
        activation_backward(act.code, gy, y, gz, N, C)


def forward(int act, const floating[::1] x, floating[::1] out, Py_ssize_t n_rows):
    """out = f(x) over a flat buffer seen as n_rows rows (the softmaxes work per row).  OUT out."""
    cdef Py_ssize_t cols = x.shape[0] // n_rows if n_rows else 0
    with nogil:
        activation_forward(act, &x[0], &out[0], n_rows, cols)


def backward(int act, const floating[::1] grad_y, const floating[::1] y, floating[::1] out,
             Py_ssize_t n_rows):
    """out = grad_y * f'(x) from the forward output y, over n_rows rows.  OUT out."""
    cdef Py_ssize_t cols = y.shape[0] // n_rows if n_rows else 0
    with nogil:
        activation_backward(act, &grad_y[0], &y[0], &out[0], n_rows, cols)


# --- v2 activations: C kernels, backward from the forward input ---------------------------

cdef extern from "fastbp_activations.h" nogil:
    void fastbp_sigmoid_forward_f32(const float* x, float* y, Py_ssize_t n)
    void fastbp_tanh_forward_f32(const float* x, float* y, Py_ssize_t n)
    void fastbp_sigmoid_forward_f64(const double* x, double* y, Py_ssize_t n)
    void fastbp_tanh_forward_f64(const double* x, double* y, Py_ssize_t n)
    void fastbp_activation2_forward_f32(int act, const float* x, float* y, Py_ssize_t n,
                                        double p1, double p2)
    void fastbp_activation2_forward_f64(int act, const double* x, double* y, Py_ssize_t n,
                                        double p1, double p2)
    void fastbp_activation2_backward_f32(int act, const float* gy, const float* x, float* gx,
                                         Py_ssize_t n, double p1, double p2)
    void fastbp_activation2_backward_f64(int act, const double* gy, const double* x,
                                         double* gx, Py_ssize_t n, double p1, double p2)
    int fastbp_math32_apply(const char* name, const float* x, float* out, Py_ssize_t n)


cdef void activation2_forward(int act, const floating* x, floating* y, Py_ssize_t n,
                              double p1, double p2) noexcept nogil:
    """y = f(x) over n elements.  IN x (n,); OUT y (n,), may be x."""
    if floating is float:
        fastbp_activation2_forward_f32(act, x, y, n, p1, p2)
    else:
        fastbp_activation2_forward_f64(act, x, y, n, p1, p2)


cdef void activation2_backward(int act, const floating* gy, const floating* x, floating* gx,
                               Py_ssize_t n, double p1, double p2) noexcept nogil:
    """gx = gy * f'(x) from the forward input x.  IN gy, x (n,); OUT gx (n,), may be gy."""
    if floating is float:
        fastbp_activation2_backward_f32(act, gy, x, gx, n, p1, p2)
    else:
        fastbp_activation2_backward_f64(act, gy, x, gx, n, p1, p2)


def forward2(int act, const floating[::1] x, floating[::1] out, double p1=0.0, double p2=0.0):
    """out = f(x) for a v2 activation code, over a flat buffer.  OUT out."""
    if x.shape[0]:
        with nogil:
            activation2_forward(act, &x[0], &out[0], x.shape[0], p1, p2)


def backward2(int act, const floating[::1] grad_y, const floating[::1] x, floating[::1] out,
              double p1=0.0, double p2=0.0):
    """out = grad_y * f'(x) from the forward input x, for a v2 code.  OUT out."""
    if x.shape[0]:
        with nogil:
            activation2_backward(act, &grad_y[0], &x[0], &out[0], x.shape[0], p1, p2)


def math32(str name, const float[::1] x, float[::1] out):
    """out = f(x) by fastbp_math32.h's float32 "exp", "expm1", "erf", "tanh" or "log1p"
    (test-only: the kernels inline them)."""
    cdef bytes key = name.encode()
    cdef int status
    if x.shape[0] == 0:
        return
    status = fastbp_math32_apply(key, &x[0], &out[0], x.shape[0])
    if status:
        raise ValueError(f"name: unknown float32 function {name!r}")
