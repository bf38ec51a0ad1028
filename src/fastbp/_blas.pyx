"""Row-major GEMM over scipy's BLAS: the one place that knows BLAS is column-major."""

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm


cdef void gemm(bint trans_a, bint trans_b, int m, int n, int k,
               floating alpha, const floating* a, int lda,
               const floating* b, int ldb,
               floating beta, floating* c, int ldc) noexcept nogil:
    """C[m,n] := alpha * op(A)[m,k] @ op(B)[k,n] + beta * C, all row-major.

    A row-major matrix is its column-major transpose, so we ask BLAS for
    Cᵀ = op(B)ᵀ op(A)ᵀ: the same call with the operands swapped.
    Trusts: m, n, k >= 1 and leading dimensions that fit the arrays.
    """
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*>b, &ldb, <float*>a, &lda,
              &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>b, &ldb, <double*>a, &lda,
              &beta, c, &ldc)


def gemm_memview(bint trans_a, bint trans_b, double alpha,
                 const floating[:, ::1] a, const floating[:, ::1] b,
                 double beta, floating[:, ::1] c):
    """Test-only twin of the C-level ``gemm``: C := alpha op(A) op(B) + beta C.

    Trusts: shapes agree (the tests pass matching arrays) and none is empty.
    """
    cdef int m = c.shape[0]
    cdef int n = c.shape[1]
    cdef int k = a.shape[0] if trans_a else a.shape[1]
    gemm(trans_a, trans_b, m, n, k, <floating>alpha, &a[0, 0], a.shape[1],
         &b[0, 0], b.shape[1], <floating>beta, &c[0, 0], c.shape[1])
