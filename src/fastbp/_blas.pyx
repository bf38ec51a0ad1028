"""Row-major GEMM: the one place that knows BLAS is column-major, and which kernel runs.

Three kernels, by the product's shape:
- fastbp's own register-blocked kernel (``csrc/fastbp_small_gemm.c``) for the small x·Wᵀ
  products it wins (``small_route``: SMALL_ROUTE), where it was measured (its x86-64-v4
  variant: AVX-512);
- a faster library's ``sgemm``/``dgemm`` when ``fastbp._gemm_backend`` has handed one over
  (MKL, the ``mkl`` extra), for the products of at least ``large_min_mnk`` multiply-adds;
- scipy's BLAS (``cython_blas``) for everything else.
The measurements behind both thresholds are in bench/README.md.
"""

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm

cdef extern from "fastbp_small_gemm.h" nogil:
    int fastbp_small_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                           const float* a, int lda, const float* b, int ldb, float beta,
                           float* c, int ldc)
    int fastbp_small_dgemm(int trans_a, int trans_b, int m, int n, int k, double alpha,
                           const double* a, int lda, const double* b, int ldb, double beta,
                           double* c, int ldc)
    const char* fastbp_small_gemm_variant(int v)
    int fastbp_small_sgemm_variant(int v, int trans_a, int trans_b, int m, int n, int k,
                                   float alpha, const float* a, int lda, const float* b,
                                   int ldb, float beta, float* c, int ldc)
    int fastbp_small_dgemm_variant(int v, int trans_a, int trans_b, int m, int n, int k,
                                   double alpha, const double* a, int lda, const double* b,
                                   int ldb, double beta, double* c, int ldc)

# The Fortran BLAS interface, 32-bit integers (LP64), as scipy's own pointers have it.
ctypedef void (*sgemm_fn)(char*, char*, int*, int*, int*, float*, float*, int*,
                          float*, int*, float*, float*, int*) noexcept nogil
ctypedef void (*dgemm_fn)(char*, char*, int*, int*, int*, double*, double*, int*,
                          double*, int*, double*, double*, int*) noexcept nogil

cdef sgemm_fn large_sgemm = NULL
cdef dgemm_fn large_dgemm = NULL
cdef long long large_min_mnk = 0

# fastbp's own kernel (csrc/fastbp_small_gemm.c) takes x·Wᵀ (trans_b, not trans_a) of
# m·n·k <= small_max_mnk where it beat OpenBLAS's AVX-512 kernels at 1 thread
# (bench/bench_small_gemm.py, bench/README.md): m >= 16 rows and n >= 32 columns (below,
# packing Wᵀ costs more than it saves), or m >= 128 for narrower n (it then amortizes the
# vector's unused lanes).  Below 2**20 multiply-adds: above, MKL when installed.  The other
# transpositions are not routed: on the training shapes the kernel ran at 0.74-1.04x
# OpenBLAS's speed there.
cdef enum:
    SMALL_MIN_M = 16
    SMALL_MIN_N = 32
    SMALL_MIN_M_NARROW = 128
SMALL_MAX_MNK = (1 << 20) - 1
SMALL_ROUTE = (f"x·Wᵀ (trans_b) of m*n*k < 2^20 with m >= {SMALL_MIN_M} and n >= "
               f"{SMALL_MIN_N}, or m >= {SMALL_MIN_M_NARROW}")
# Only where it was measured: the x86-64-v4 variant against OpenBLAS's SkylakeX kernels.
# (v3 against OpenBLAS forced to its Haswell kernels, OPENBLAS_CORETYPE=Haswell on the same
# CPU, won everywhere, but that OpenBLAS paid ~0.5-3 µs a call, unlike a real Haswell or
# Zen machine's ~50 ns: not evidence enough.)  The 16-byte and plain C ones are fallbacks.
SMALL_ROUTED_VARIANTS = ("x86-64-v4",)
cdef long long small_max_mnk = 0


cdef inline bint small_route(bint trans_a, bint trans_b, int m, int n, int k) noexcept nogil:
    return (trans_b and not trans_a and <long long>m * n * k <= small_max_mnk
            and (m >= SMALL_MIN_M_NARROW or (m >= SMALL_MIN_M and n >= SMALL_MIN_N)))


cdef void gemm(bint trans_a, bint trans_b, int m, int n, int k,
               floating alpha, const floating* a, int lda,
               const floating* b, int ldb,
               floating beta, floating* c, int ldc) noexcept nogil:
    """C[m,n] := alpha * op(A)[m,k] @ op(B)[k,n] + beta * C, all row-major.

    The small x·Wᵀ products go to fastbp's own kernel (``small_route``), which reads
    row-major directly.  For BLAS, a row-major matrix is its column-major transpose, so we
    ask for Cᵀ = op(B)ᵀ op(A)ᵀ: the same call with the operands swapped.
    Trusts: m, n, k >= 1 and leading dimensions that fit the arrays.
    """
    if small_route(trans_a, trans_b, m, n, k):  # (the kernel refuses alpha != 1 and the like)
        if floating is float:
            if fastbp_small_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
                return
        else:
            if fastbp_small_dgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
                return
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef bint large = <long long>m * n * k >= large_min_mnk
    if floating is float:
        if large and large_sgemm != NULL:
            large_sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*>b, &ldb, <float*>a, &lda,
                        &beta, c, &ldc)
        else:
            sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*>b, &ldb, <float*>a, &lda,
                  &beta, c, &ldc)
    else:
        if large and large_dgemm != NULL:
            large_dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>b, &ldb, <double*>a, &lda,
                        &beta, c, &ldc)
        else:
            dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*>b, &ldb, <double*>a, &lda,
                  &beta, c, &ldc)


def set_large_gemm(size_t sgemm_address, size_t dgemm_address, long long min_mnk):
    """Route products of at least ``min_mnk`` multiply-adds to the Fortran-interface
    ``sgemm``/``dgemm`` at these addresses (0, 0: scipy's BLAS for every product).

    Trusts: the addresses are LP64 ``sgemm``/``dgemm`` of a library kept loaded for the
    life of the process (``fastbp._gemm_backend`` holds it); called at import, before
    any kernel runs.
    """
    global large_sgemm, large_dgemm, large_min_mnk
    if (sgemm_address == 0) != (dgemm_address == 0):
        raise ValueError("set_large_gemm: give both GEMM addresses or neither")
    large_sgemm = <sgemm_fn>sgemm_address
    large_dgemm = <dgemm_fn>dgemm_address
    large_min_mnk = min_mnk


def large_gemm_min_mnk():
    """The size (m·n·k) from which the large-product GEMM runs, or None without one."""
    return None if large_sgemm == NULL else large_min_mnk


def set_small_gemm(long long max_mnk):
    """Route products of at most ``max_mnk`` multiply-adds to the small kernel, the shapes
    it wins (see ``small_route``); 0: none (benchmarks and tests, openblas_only())."""
    global small_max_mnk
    small_max_mnk = max_mnk


def small_gemm_max_mnk():
    """The size (m·n·k) up to which the small kernel takes products, 0 when it is off."""
    return small_max_mnk


def small_gemm_routes(bint trans_a, bint trans_b, int m, int n, int k):
    """Test twin of the router: whether ``gemm`` gives this product to the small kernel."""
    return small_route(trans_a, trans_b, m, n, k)


def small_gemm_variant(int v=-1):
    """The name of the small kernel's variant ``v`` (-1: the one this CPU runs), or None
    when this build has no such variant or this CPU cannot run it."""
    cdef const char* name
    if v < 0:
        v = 0
        while fastbp_small_gemm_variant(v) == NULL:
            v += 1
    name = fastbp_small_gemm_variant(v)
    return None if name == NULL else name.decode()


def gemm_strided(str kernel, bint trans_a, bint trans_b, double alpha,
                 const floating[:, :] a, const floating[:, :] b, double beta,
                 floating[:, :] c, int variant=-1, int repeat=1):
    """Test and benchmark twin: C := alpha op(A) op(B) + beta C through ``kernel``:
    "gemm" (routed as every product is), "blas" (scipy's) or "small" (the small kernel's
    ``variant``, -1: the one this CPU runs), ``repeat`` times in one nogil block.
    The rows may be strided (the leading dimensions), the elements not.
    Returns False when the small kernel refused the product (then C is untouched).

    Trusts: shapes agree, none is empty, unit element strides.
    """
    cdef int m = c.shape[0]
    cdef int n = c.shape[1]
    cdef int k = a.shape[0] if trans_a else a.shape[1]
    cdef int lda = a.strides[0] // sizeof(floating)
    cdef int ldb = b.strides[0] // sizeof(floating)
    cdef int ldc = c.strides[0] // sizeof(floating)
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    cdef floating alpha_ = <floating>alpha
    cdef floating beta_ = <floating>beta
    cdef int which = 0 if kernel == "gemm" else 1 if kernel == "blas" else 2
    cdef int done = 1, r
    with nogil:
        for r in range(repeat):
            if which == 0:
                gemm(trans_a, trans_b, m, n, k, alpha_, &a[0, 0], lda, &b[0, 0], ldb,
                     beta_, &c[0, 0], ldc)
            elif which == 1:
                if floating is float:
                    sgemm(&tb, &ta, &n, &m, &k, &alpha_, <float*>&b[0, 0], &ldb,
                          <float*>&a[0, 0], &lda, &beta_, &c[0, 0], &ldc)
                else:
                    dgemm(&tb, &ta, &n, &m, &k, &alpha_, <double*>&b[0, 0], &ldb,
                          <double*>&a[0, 0], &lda, &beta_, &c[0, 0], &ldc)
            elif variant < 0:
                if floating is float:
                    done = fastbp_small_sgemm(trans_a, trans_b, m, n, k, alpha_, &a[0, 0], lda,
                                              &b[0, 0], ldb, beta_, &c[0, 0], ldc)
                else:
                    done = fastbp_small_dgemm(trans_a, trans_b, m, n, k, alpha_, &a[0, 0], lda,
                                              &b[0, 0], ldb, beta_, &c[0, 0], ldc)
            elif floating is float:
                done = fastbp_small_sgemm_variant(variant, trans_a, trans_b, m, n, k, alpha_,
                                                  &a[0, 0], lda, &b[0, 0], ldb, beta_,
                                                  &c[0, 0], ldc)
            else:
                done = fastbp_small_dgemm_variant(variant, trans_a, trans_b, m, n, k, alpha_,
                                                  &a[0, 0], lda, &b[0, 0], ldb, beta_,
                                                  &c[0, 0], ldc)
    return done != 0


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


if small_gemm_variant() in SMALL_ROUTED_VARIANTS:
    set_small_gemm(SMALL_MAX_MNK)
