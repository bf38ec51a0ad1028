"""Kernels of fastbp.distributed: a flat buffer that stands for a list of arrays (one MPI
message instead of one per parameter), and the class-weight sum of the 'mean' divisor.

Trusts: the arrays are C-contiguous, of the buffer's dtype, do not overlap the buffer,
and the buffer holds at least their total size (fastbp.distributed allocates all of it).
"""

cimport cython
cimport numpy as cnp
from cython cimport floating
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

import numpy as np

cnp.import_array()


cdef void scaled_copy(const floating* src, floating* dst, Py_ssize_t n,
                      double factor) noexcept nogil:
    """dst = src * factor, rounded to the dtype (a plain copy for factor 1).
    IN src; OUT dst."""
    cdef Py_ssize_t i
    cdef floating f = <floating>factor
    if factor == 1.0:
        memcpy(dst, src, n * sizeof(floating))
        return
    for i in range(n):
        dst[i] = src[i] * f


@cython.auto_pickle(False)  # it holds raw pointers
cdef class FlatBuffer:
    """``arrays`` (a list of ndarrays) laid end to end in ``flat`` (1-D, same dtype):
    ``gather()`` copies them in, ``scatter(factor)`` copies ``flat * factor`` back out."""

    cdef list arrays, flat_ref  # kept alive while the pointers below are used
    cdef Py_ssize_t n_arrays
    cdef char** data
    cdef Py_ssize_t* sizes
    cdef char* flat
    cdef bint is_double
    cdef Py_ssize_t itemsize

    def __cinit__(self, list arrays, cnp.ndarray flat):
        self.arrays, self.flat_ref = list(arrays), [flat]
        self.n_arrays = len(arrays)
        self.data = <char**>calloc(max(self.n_arrays, 1), sizeof(char*))
        self.sizes = <Py_ssize_t*>calloc(max(self.n_arrays, 1), sizeof(Py_ssize_t))
        if self.data == NULL or self.sizes == NULL:
            raise MemoryError()
        for k, arr in enumerate(self.arrays):
            self.data[k] = <char*>cnp.PyArray_DATA(<cnp.ndarray>arr)
            self.sizes[k] = cnp.PyArray_SIZE(<cnp.ndarray>arr)
        self.flat = <char*>cnp.PyArray_DATA(flat)
        self.is_double = cnp.PyArray_TYPE(flat) == cnp.NPY_DOUBLE
        self.itemsize = cnp.PyArray_ITEMSIZE(flat)

    def __dealloc__(self):
        free(self.data)
        free(self.sizes)

    def gather(self):
        """flat[offset_k : offset_k + size_k] = arrays[k], for every k."""
        cdef Py_ssize_t k, offset = 0
        with nogil:
            for k in range(self.n_arrays):
                memcpy(self.flat + offset * self.itemsize, self.data[k],
                       self.sizes[k] * self.itemsize)
                offset += self.sizes[k]

    def scatter(self, double factor=1.0):
        """arrays[k] = flat[offset_k : offset_k + size_k] * factor, for every k."""
        cdef Py_ssize_t k, offset = 0
        with nogil:
            for k in range(self.n_arrays):
                if self.is_double:
                    scaled_copy(<double*>self.flat + offset, <double*>self.data[k],
                                self.sizes[k], factor)
                else:
                    scaled_copy(<float*>self.flat + offset, <float*>self.data[k],
                                self.sizes[k], factor)
                offset += self.sizes[k]


cdef double weight_sum(const int64_t[::1] target, const floating[::1] weight,
                       int64_t ignore_index) noexcept nogil:
    cdef Py_ssize_t i
    cdef double total = 0.0
    for i in range(target.shape[0]):
        if target[i] != ignore_index:
            total += <double>weight[target[i]]
    return total


def target_weight_sum(const int64_t[::1] target, weight, int64_t ignore_index):
    """Σ weight[target[i]] over the targets that are not ignore_index (their count when
    weight is None): the 'mean' divisor of cross entropy and nll_loss with class indices.

    Trusts: every target is ignore_index or an index into weight (float32 or float64).
    """
    cdef Py_ssize_t i, count = 0
    if weight is None:
        with nogil:
            for i in range(target.shape[0]):
                count += target[i] != ignore_index
        return <double>count
    cdef const double[::1] w64
    cdef const float[::1] w32
    cdef double total
    if weight.dtype == np.float64:
        w64 = weight
        with nogil:
            total = weight_sum(target, w64, ignore_index)
    else:
        w32 = weight
        with nogil:
            total = weight_sum(target, w32, ignore_index)
    return total
