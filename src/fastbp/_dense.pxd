# Dense (fully connected) layer kernels over raw row-major buffers.
# Shape letters: N batch, I in_features, O out_features (w_oi is weight[O, I]).
from cython cimport floating

cdef void dense_forward(const floating* x_ni, const floating* w_oi, const floating* b_o,
                         floating* y_no, Py_ssize_t N, Py_ssize_t I, Py_ssize_t O,
                         bint then_relu) noexcept nogil

cdef void add_bias(floating* y_no, const floating* b_o, Py_ssize_t N, Py_ssize_t O,
                   bint then_relu) noexcept nogil

cdef void bias_grad(const floating* gy_no, const floating* relu_y_no, floating* gz_no,
                    floating* gb_o, Py_ssize_t N, Py_ssize_t O, bint accumulate) noexcept nogil

cdef void dense_backward(const floating* gy_no, const floating* x_ni, const floating* w_oi,
                          floating* gx_ni, floating* gw_oi, floating* gb_o,
                          Py_ssize_t N, Py_ssize_t I, Py_ssize_t O,
                          bint accumulate) noexcept nogil


from fastbp._activations cimport ActRecord

# A Layer as the fused step sees it: its sizes, its activation, pointers to its parameters
# and gradients (which live as long as the Layer: assignments copy into them).
cdef struct LayerRecord:
    Py_ssize_t n_in, n_out
    ActRecord act
    char* w       # (n_out, n_in)
    char* b       # (n_out,), NULL without bias
    char* gw      # (n_out, n_in)
    char* gb      # (n_out,), NULL without bias


cdef class ForwardCache:
    cdef public object x, z, y


cdef class LayerArgs:
    cdef LayerRecord rec
    cdef readonly tuple arrays   # kept alive while the record is used
    cdef readonly ForwardCache cache  # the Layer's, which the compiled step sets
