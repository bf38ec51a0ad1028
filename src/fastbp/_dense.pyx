"""Dense layer kernels: y = x Wᵀ + b and its backward, GEMM through scipy's BLAS.

Trusts (every function here): C-contiguous buffers of the stated shapes, one
dtype, every dimension < 2**31 -- ``fastbp._validate`` checked all of it.
Shape letters: N batch, I in_features, O out_features.
"""

cimport numpy as cnp
cimport cython
from cython cimport floating

from fastbp._activations cimport c_relu
from fastbp._blas cimport gemm

cnp.import_array()

# At or below this many multiply-adds (N*I*O) a plain loop beats a BLAS call.
# Measured here (Zen 5, 1 thread, float64): 64 MACs loop 51 ns vs dgemm 116 ns;
# 512 MACs loop 356 ns vs dgemm 169 ns; the crossover is near 150 (a BLAS call
# costs ~90 ns before any work).  The teaching text's 2x2 layers need 4.
cdef enum:
    SMALL_GEMM = 128


cdef void dense_forward(const floating* x_ni, const floating* w_oi, const floating* b_o,
                         floating* y_no, Py_ssize_t N, Py_ssize_t I, Py_ssize_t O,
                         bint then_relu) noexcept nogil:
    """y[n, o] = Σ_i x[n, i] w[o, i] + b[o], then relu(y) when ``then_relu``

    IN x_ni (N, I), w_oi (O, I), b_o (O,) or NULL for no bias; OUT y_no (N, O).
    The bias is added to each finished sum, and the ReLU applied in that same pass over
    y: the floats of Layer.forward's two passes (linear, then the activation), in one.
    """
    cdef Py_ssize_t n, i, o
    cdef floating s
    if N * I * O <= SMALL_GEMM:  # includes every empty axis: sums over nothing are 0
        for n in range(N):
            for o in range(O):
                s = 0
                for i in range(I):
                    s = s + x_ni[n * I + i] * w_oi[o * I + i]
                if b_o != NULL:
                    s = s + b_o[o]
                y_no[n * O + o] = <floating>c_relu(s) if then_relu else s
        return
    # (N*I*O > SMALL_GEMM here, so no dimension is 0)
    # y[N,O] = x[N,I] @ w[O,I]ᵀ
    gemm(False, True, <int>N, <int>O, <int>I, <floating>1, x_ni, <int>I, w_oi, <int>I,
         <floating>0, y_no, <int>O)
    add_bias(y_no, b_o, N, O, then_relu)


cdef extern from "fastbp_dense.h" nogil:
    void fastbp_add_bias_f32(float* y, const float* b, Py_ssize_t N, Py_ssize_t O,
                             int then_relu)
    void fastbp_add_bias_f64(double* y, const double* b, Py_ssize_t N, Py_ssize_t O,
                             int then_relu)
    void fastbp_bias_grad_f32(const float* gy, const float* relu_y, float* gz, float* gb,
                              Py_ssize_t N, Py_ssize_t O, int accumulate)
    void fastbp_bias_grad_f64(const double* gy, const double* relu_y, double* gz, double* gb,
                              Py_ssize_t N, Py_ssize_t O, int accumulate)


cdef void add_bias(floating* y_no, const floating* b_o, Py_ssize_t N, Py_ssize_t O,
                   bint then_relu) noexcept nogil:
    """y[n, o] = y[n, o] + b[o] (b_o NULL: no bias), then relu(y) when ``then_relu``, in one
    pass over y (csrc/fastbp_dense.h).  IN/OUT y_no (N, O); IN b_o (O,)."""
    if floating is float:
        fastbp_add_bias_f32(y_no, b_o, N, O, then_relu)
    else:
        fastbp_add_bias_f64(y_no, b_o, N, O, then_relu)


cdef void bias_grad(const floating* gy_no, const floating* relu_y_no, floating* gz_no,
                    floating* gb_o, Py_ssize_t N, Py_ssize_t O, bint accumulate) noexcept nogil:
    """gb[o] (+)= Σ_n gz[n, o], where gz = gy, or with ``relu_y_no`` (the output y of a
    ReLU) gz = relu'(y)·gy, written to gz_no in the same pass (may be gy_no).

    Summed in double and added once: torch also sums the batch fully (a cascade sum)
    before AccumulateGrad adds it to .grad.  Each column is summed over n = 0..N-1 in
    order, whatever the blocking (csrc/fastbp_dense.h).
    Without ``accumulate``, gb is overwritten: what zero_grad then adding gives.
    """
    if floating is float:
        fastbp_bias_grad_f32(gy_no, relu_y_no, gz_no, gb_o, N, O, accumulate)
    else:
        fastbp_bias_grad_f64(gy_no, relu_y_no, gz_no, gb_o, N, O, accumulate)


cdef void dense_backward(const floating* gy_no, const floating* x_ni, const floating* w_oi,
                          floating* gx_ni, floating* gw_oi, floating* gb_o,
                          Py_ssize_t N, Py_ssize_t I, Py_ssize_t O,
                          bint accumulate) noexcept nogil:
    """Backward of y = x Wᵀ + b, accumulating into the parameter gradients as torch does.

    gx[n, i]  = Σ_o gy[n, o] w[o, i]     overwritten; skipped when gx_ni is NULL
    gw[o, i] += Σ_n gy[n, o] x[n, i]
    gb[o]    += Σ_n gy[n, o]             skipped when gb_o is NULL

    Without ``accumulate``, gw and gb are overwritten with the sums: what zero_grad then
    accumulating gives (0 + s == s), without a pass that zeroes them first.
    IN gy_no (N, O), x_ni (N, I), w_oi (O, I); OUT gx_ni (N, I);
    IN/OUT gw_oi (O, I), gb_o (O,).
    """
    cdef Py_ssize_t n, i, o
    cdef floating s
    if gb_o != NULL:
        bias_grad(gy_no, <floating*>NULL, <floating*>NULL, gb_o, N, O, accumulate)
    if N * I * O <= SMALL_GEMM:  # includes every empty axis: sums over nothing are 0
        if gx_ni != NULL:
            for n in range(N):
                for i in range(I):
                    s = 0
                    for o in range(O):
                        s = s + gy_no[n * O + o] * w_oi[o * I + i]
                    gx_ni[n * I + i] = s
        for o in range(O):
            for i in range(I):
                s = 0
                for n in range(N):
                    s = s + gy_no[n * O + o] * x_ni[n * I + i]
                gw_oi[o * I + i] = gw_oi[o * I + i] + s if accumulate else s
        return
    if gx_ni != NULL:
        # gx[N,I] = gy[N,O] @ w[O,I]
        gemm(False, False, <int>N, <int>I, <int>O, <floating>1, gy_no, <int>O, w_oi, <int>I,
             <floating>0, gx_ni, <int>I)
    # gw[O,I] += gy[N,O]ᵀ @ x[N,I]: beta = 1 is torch's accumulate
    gemm(True, False, <int>O, <int>I, <int>N, <floating>1, gy_no, <int>O, x_ni, <int>I,
         <floating>(1 if accumulate else 0), gw_oi, <int>I)


def linear(const floating[:, ::1] x, const floating[:, ::1] weight, const floating[::1] bias,
           floating[:, ::1] out):
    """out = x @ weight.T + bias (bias None: no bias).  OUT out (N, O), overwritten."""
    cdef const floating* b_o = NULL
    if bias is not None:
        b_o = &bias[0]
    with nogil:
        dense_forward(&x[0, 0], &weight[0, 0], b_o, &out[0, 0],
                       x.shape[0], x.shape[1], weight.shape[0], False)


def linear_backward(const floating[:, ::1] grad_y, const floating[:, ::1] x,
                    const floating[:, ::1] weight, floating[:, ::1] grad_x,
                    floating[:, ::1] grad_weight, floating[::1] grad_bias):
    """grad_x = grad_y @ weight;  grad_weight += grad_y.T @ x;  grad_bias += grad_y.sum(0).

    grad_x and grad_bias may be None (not computed).  OUT grad_x; IN/OUT the others.
    """
    cdef floating* gx = NULL
    cdef floating* gb = NULL
    if grad_x is not None:
        gx = &grad_x[0, 0]
    if grad_bias is not None:
        gb = &grad_bias[0]
    with nogil:
        dense_backward(&grad_y[0, 0], &x[0, 0], &weight[0, 0], gx, &grad_weight[0, 0], gb,
                        x.shape[0], x.shape[1], weight.shape[0], True)


cdef inline char* data_or_null(object arr) noexcept:
    return NULL if arr is None else <char*>cnp.PyArray_DATA(<cnp.ndarray>arr)


cdef class ForwardCache:
    """A Layer's last forward, which its backward reads: the input x, the pre-activation z
    (None unless the activation's backward reads it) and the output y.  The compiled step
    sets them to its workspaces through the Layer's record."""

    def __init__(self, x=None, z=None, y=None):
        self.x, self.z, self.y = x, z, y

    def __reduce__(self):
        return (ForwardCache, (self.x, self.z, self.y))


@cython.auto_pickle(False)  # pointers: never pickled
cdef class LayerArgs:
    """A Layer's record (see LayerRecord); the arrays are the Layer's own, trusted:
    C-contiguous, of one dtype, weight (O, I); ``cache`` the Layer's forward cache."""

    def __cinit__(self, weight, bias, grad_weight, grad_bias, int act, double option0=0.0,
                  double option1=0.0, int flag=0, ForwardCache cache=None):
        self.cache = cache
        cdef LayerRecord* r = &self.rec
        r.n_out, r.n_in = weight.shape
        r.act.code, r.act.option0, r.act.option1, r.act.flag = act, option0, option1, flag
        r.w, r.gw = data_or_null(weight), data_or_null(grad_weight)
        r.b, r.gb = data_or_null(bias), data_or_null(grad_bias)
        self.arrays = (weight, bias, grad_weight, grad_bias)
