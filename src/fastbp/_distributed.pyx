"""Kernels of fastbp.distributed: a flat buffer that stands for a list of arrays (one MPI
message instead of one per parameter), and the class-weight sum of the 'mean' divisor.

Trusts: the arrays are C-contiguous, of the buffer's dtype, do not overlap the buffer,
and the buffer holds at least their total size (fastbp.distributed allocates all of it).
"""

cimport cython
cimport numpy as cnp
from cython cimport floating
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
