/* fastbp_small_gemm.h: a register-blocked GEMM for small products, in plain C (no Python API).
 *
 * fastbp_small_sgemm / fastbp_small_dgemm take the arguments of _blas.gemm:
 *   C[m,n] := alpha op(A)[m,k] op(B)[k,n] + beta C, all row-major, leading dimensions honored,
 * for alpha == 1 and beta 0 or 1 only.  beta == 0 never reads C.
 * Return 1 when done, 0 when refused (alpha != 1, beta not 0 or 1, a dimension < 1,
 * k > FASTBP_SMALL_GEMM_MAX_K, or a leading dimension too short): the caller then runs BLAS.
 *
 * Every element of C is computed the same way wherever it sits in a block and whatever the
 * alignment or the leading dimensions (a sub-block computed alone gives the same bits):
 *   s = +0; for p = 0, 1, ..., k-1: s = s + op(A)[i,p] op(B)[p,j]   (one fused multiply-add
 *   where the instruction set has FMA, else a product then a sum); C[i,j] = s, or C[i,j] + s.
 * The instruction set (and so FMA or not) is chosen once per process, by the CPU.
 *
 * Trusts: the arrays hold what the dimensions and leading dimensions say.
 */
#ifndef FASTBP_SMALL_GEMM_H
#define FASTBP_SMALL_GEMM_H

/* op(B)'s panel is packed on the stack, k rows of at most 128 bytes: 32 KB. */
#define FASTBP_SMALL_GEMM_MAX_K 256

int fastbp_small_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                       const float* a, int lda, const float* b, int ldb, float beta, float* c,
                       int ldc);
int fastbp_small_dgemm(int trans_a, int trans_b, int m, int n, int k, double alpha,
                       const double* a, int lda, const double* b, int ldb, double beta,
                       double* c, int ldc);

/* The instantiations this build holds, best first (tests run each one this CPU can):
 * variant v's name when it exists and this CPU runs it, else NULL.  fastbp_small_?gemm run
 * the first one that is not NULL. */
const char* fastbp_small_gemm_variant(int v);
int fastbp_small_sgemm_variant(int v, int trans_a, int trans_b, int m, int n, int k,
                               float alpha, const float* a, int lda, const float* b, int ldb,
                               float beta, float* c, int ldc);
int fastbp_small_dgemm_variant(int v, int trans_a, int trans_b, int m, int n, int k,
                               double alpha, const double* a, int lda, const double* b, int ldb,
                               double beta, double* c, int ldc);

#endif
