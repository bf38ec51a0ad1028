# Row-major GEMM over scipy.linalg.cython_blas, fused over float32/float64.
# BLAS dimensions are 32-bit int (LP64): fastbp._validate rejects any dimension >= 2**31.
from cython cimport floating

cdef void gemm(bint trans_a, bint trans_b, int m, int n, int k,
               floating alpha, const floating* a, int lda,
               const floating* b, int ldb,
               floating beta, floating* c, int ldc) noexcept nogil
