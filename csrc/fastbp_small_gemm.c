/* fastbp_small_gemm.c: the small-product GEMM declared in fastbp_small_gemm.h.
 *
 * An MR x (NV vectors) block of C stays in registers while p runs over k: each step loads
 * NV vectors of row p of op(B) and, for each of the MR rows, broadcasts op(A)[i,p] and
 * multiply-adds.  op(A) is read in place: row i of A (trans_a == 0), or MR consecutive
 * elements of row p of A (trans_a == 1).  op(B) is read in place when its rows are
 * contiguous (trans_b == 0); B^T (trans_b == 1, the forward's x W^T) is first packed, one
 * panel of columns at a time, into a k x panel-width copy on the stack, transposed in
 * registers L x L at a time.  Rows left over from the MR blocks run in blocks of 8, 4, 2,
 * 1.  The last, narrower panel of op(B) is always such a copy, zero-padded (masked loads
 * fill it where the instruction set has them, AVX-512 and AVX2), and its columns of C are
 * stored with masks (else through a copy): nothing outside the arrays is read or written.
 * One panel at a time bounds the copy by k (FASTBP_SMALL_GEMM_MAX_K), not by n.
 *
 * Layout: this file includes itself.  The outer part (FBS_PASS undefined) lists the
 * instruction sets and dispatches; FBS_PASS 1 instantiates one instruction set for float
 * and double; FBS_PASS 2 (below) is the kernel, written once for FBS_T.
 */
#if !defined(FBS_PASS)

#if defined(__GNUC__) && !defined(__clang__)
/* Fused multiply-adds where the instruction set has them, as BLAS uses them: half the
 * instructions and one rounding per step.  This file only: the elementwise kernels keep
 * -ffp-contract=off for their parity with torch (setup.py).  Each product feeds exactly
 * one sum, so every variant of the loop fuses the same operations (the header's order). */
#pragma GCC optimize("fp-contract=fast")
#elif defined(__clang__)
#pragma clang fp contract(fast)
#endif

#include "fastbp_small_gemm.h"
#include "fastbp_kernels.h" /* FASTBP_CLONE_LEVEL: where runtime ISA dispatch works */

#include <stddef.h>
#include <string.h>

/* -DFASTBP_SMALL_GEMM_PLAIN_C builds the plain C path alone (MSVC's), to check it compiles
 * as ISO C with GCC: gcc -std=c11 -Wpedantic -DFASTBP_SMALL_GEMM_PLAIN_C -Icsrc -c ... */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(FASTBP_SMALL_GEMM_PLAIN_C)
#define FBS_VECTORS 1 /* GCC/clang vector extensions */
#define FBS_ALIGNED __attribute__((aligned(64)))
#define FBS_INLINE static inline __attribute__((always_inline))
#define FBS_NOINLINE static __attribute__((noinline))
/* Loops over the accumulators unrolled fully, so they stay in registers (GCC's own limit
 * left some tiles' accumulators in memory, stored at every step). */
#define FBS_UNROLL _Pragma("GCC unroll 16")
#else
#define FBS_VECTORS 0
#define FBS_ALIGNED
#define FBS_UNROLL
#if defined(_MSC_VER)
#define FBS_INLINE static __forceinline
#define FBS_NOINLINE static __declspec(noinline)
#else
#define FBS_INLINE static inline
#define FBS_NOINLINE static
#endif
#endif
/* In-register transposes need GCC's __builtin_shuffle; clang packs B^T element by element. */
#if FBS_VECTORS && defined(__GNUC__) && !defined(__clang__)
#define FBS_SHUFFLE 1
#else
#define FBS_SHUFFLE 0
#endif

#if FBS_VECTORS && defined(FASTBP_CLONE_LEVEL)
#include <immintrin.h>
#endif
/* Plain C asks for the fused multiply-add by name where the target has one (aarch64):
 * GCC turns a one-accumulator tile's loop into a vector multiply and in-order scalar adds,
 * unfused, where every other tile fuses; fma() keeps each element's operations the same. */
#if defined(__FP_FAST_FMA) && defined(__FP_FAST_FMAF)
#define FBS_PLAIN_FMA 1
#else
#define FBS_PLAIN_FMA 0
#endif

#define FBS_CAT_(a, b) a##b
#define FBS_CAT(a, b) FBS_CAT_(a, b)
#define FBS_MIN(a, b) ((a) < (b) ? (a) : (b))

typedef int (*small_sgemm_fn)(int ta, int tb, int m, int n, int k, const float* a, int lda,
                              const float* b, int ldb, int beta, float* c, int ldc);
typedef int (*small_dgemm_fn)(int ta, int tb, int m, int n, int k, const double* a, int lda,
                              const double* b, int ldb, int beta, double* c, int ldc);

/* One pass per instruction set.  FBS_VBYTES: vector bytes (0: plain scalars).  Rows of a
 * tile, sized to the vector registers (x86-64-v4 and aarch64: 32; v3, SSE2: 16): FBS_MR
 * for two-vector panels, FBS_MR1 for one-vector panels (as many accumulators), FBS_MR1N
 * for those when each row of A needs its own address register (trans_a == 0: 15 general
 * registers; 12 rows measured faster than 8, 10 or 16 on v4).  FBS_MASKS: 4 AVX-512
 * masks, 3 AVX2 masked moves, 0 none. */



#define FBS_PASS 1
#if FBS_VECTORS && defined(FASTBP_CLONE_LEVEL) /* x86-64 Linux gcc: AVX-512, AVX2, SSE2 */
#define FBS_TARGET __attribute__((target("arch=x86-64-v4")))
#define FBS_VBYTES 64
#define FBS_MR 8
#define FBS_MR1 16
#define FBS_MR1N 12
#define FBS_MASKS 4
#define FBS_ISA v4
#include "fastbp_small_gemm.c"
#define FBS_TARGET __attribute__((target("arch=x86-64-v3")))
#define FBS_VBYTES 32
#define FBS_MR 6
#define FBS_MR1 12
#define FBS_MR1N 10
#define FBS_MASKS 3
#define FBS_ISA v3
#include "fastbp_small_gemm.c"
#endif
#if FBS_VECTORS /* the baseline: SSE2 on x86-64, NEON on aarch64 */
#define FBS_TARGET
#define FBS_VBYTES 16
#if defined(__aarch64__)
#define FBS_MR 8
#define FBS_MR1 16
#define FBS_MR1N 12
#else
#define FBS_MR 4
#define FBS_MR1 8
#define FBS_MR1N 8
#endif
#define FBS_MASKS 0
#define FBS_ISA vec16
#include "fastbp_small_gemm.c"
#endif
/* Plain C: MSVC's path, compiled everywhere so the tests run it too. */
#define FBS_TARGET
#define FBS_VBYTES 0
#define FBS_MR 4
#define FBS_MR1 8
#define FBS_MR1N 8
#define FBS_MASKS 0
#define FBS_ISA scalar
#include "fastbp_small_gemm.c"
#undef FBS_PASS

#if FBS_VECTORS && defined(FASTBP_CLONE_LEVEL)
static int runs_v4(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("x86-64-v4");
}
static int runs_v3(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("x86-64-v3");
}
#endif
static int runs_always(void) { return 1; }

static const struct {
    const char* name;
    int (*runs)(void);
    small_sgemm_fn s;
    small_dgemm_fn d;
} variants[] = {
#if FBS_VECTORS && defined(FASTBP_CLONE_LEVEL)
    {"x86-64-v4", runs_v4, small_s_v4, small_d_v4},
    {"x86-64-v3", runs_v3, small_s_v3, small_d_v3},
#endif
#if FBS_VECTORS
    {"16-byte vectors", runs_always, small_s_vec16, small_d_vec16},
#endif
    {"plain C", runs_always, small_s_scalar, small_d_scalar},
};
#define N_VARIANTS ((int)(sizeof variants / sizeof variants[0]))

const char* fastbp_small_gemm_variant(int v)
{
    return v >= 0 && v < N_VARIANTS && variants[v].runs() ? variants[v].name : NULL;
}

/* The first variant this CPU runs; found once (every thread finds the same one). */
static int chosen(void)
{
    static volatile int found = -1;
    int v = found;
    if (v < 0) {
        for (v = 0; !variants[v].runs(); v++) {
        }
        found = v;
    }
    return v;
}

/* What every variant needs; anything else goes to BLAS. */
static int accepted(int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc,
                    double alpha, double beta)
{
    return alpha == 1 && (beta == 0 || beta == 1) && m >= 1 && n >= 1 && k >= 1
           && k <= FASTBP_SMALL_GEMM_MAX_K && lda >= (ta ? m : k) && ldb >= (tb ? k : n)
           && ldc >= n;
}

/* The public entry points of one element type T (X: s or d, the variants' field). */
#define FBS_ENTRY_POINTS(T, X)                                                              \
    int fastbp_small_##X##gemm_variant(int v, int trans_a, int trans_b, int m, int n, int k, \
                                       T alpha, const T* a, int lda, const T* b, int ldb,   \
                                       T beta, T* c, int ldc)                               \
    {                                                                                       \
        if (!fastbp_small_gemm_variant(v)                                                   \
            || !accepted(trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta))            \
            return 0;                                                                       \
        return variants[v].X(trans_a != 0, trans_b != 0, m, n, k, a, lda, b, ldb,          \
                             beta == 1, c, ldc);                                            \
    }                                                                                       \
    int fastbp_small_##X##gemm(int trans_a, int trans_b, int m, int n, int k, T alpha,      \
                               const T* a, int lda, const T* b, int ldb, T beta, T* c,      \
                               int ldc)                                                     \
    {                                                                                       \
        if (!accepted(trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta))               \
            return 0;                                                                       \
        return variants[chosen()].X(trans_a != 0, trans_b != 0, m, n, k, a, lda, b, ldb,   \
                                    beta == 1, c, ldc);                                     \
    }

FBS_ENTRY_POINTS(float, s)
FBS_ENTRY_POINTS(double, d)

#elif FBS_PASS == 1 /* one instruction set: its float and double kernels */

#undef FBS_PASS
#define FBS_PASS 2
#define FBS_T float
#define FBS_F64 0
#define FBS_SFX s
#include "fastbp_small_gemm.c"
#define FBS_T double
#define FBS_F64 1
#define FBS_SFX d
#include "fastbp_small_gemm.c"
#undef FBS_PASS
#define FBS_PASS 1

#undef FBS_TARGET
#undef FBS_VBYTES
#undef FBS_MR
#undef FBS_MR1
#undef FBS_MR1N
#undef FBS_MASKS
#undef FBS_ISA

#else /* FBS_PASS 2: the kernel for the element type FBS_T and one instruction set */

#define L (FBS_VBYTES ? FBS_VBYTES / (FBS_F64 ? 8 : 4) : 1) /* lanes of a vector */
#define PW (2 * L)                                          /* columns of a full panel */
#define FN(name) FBS_CAT(FBS_CAT(name, FBS_SFX), FBS_CAT(_, FBS_ISA))
#define VEC FN(vec_)

#if FBS_VBYTES
typedef FBS_T VEC __attribute__((vector_size(FBS_VBYTES)));
#else
typedef FBS_T VEC;
#endif

/* Unaligned loads and stores (the compiler emits one vector move for each). */
FBS_INLINE FBS_TARGET VEC FN(load_)(const FBS_T* p)
{
    VEC v;
    memcpy(&v, p, sizeof v);
    return v;
}

FBS_INLINE FBS_TARGET void FN(store_)(FBS_T* p, VEC v) { memcpy(p, &v, sizeof v); }

/* The first cnt lanes (0 < cnt < L), zeros beyond; nothing past p + cnt is read. */
FBS_INLINE FBS_TARGET VEC FN(load_part_)(const FBS_T* p, int cnt)
{
#if FBS_MASKS == 4 && !FBS_F64
    return _mm512_maskz_loadu_ps((__mmask16)((1u << cnt) - 1), p);
#elif FBS_MASKS == 4
    return _mm512_maskz_loadu_pd((__mmask8)((1u << cnt) - 1), p);
#elif FBS_MASKS == 3 && !FBS_F64
    return _mm256_maskload_ps(
        p, _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
#elif FBS_MASKS == 3
    return _mm256_maskload_pd(
        p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(cnt), _mm256_setr_epi64x(0, 1, 2, 3)));
#else
    FBS_T t[L] = {0};
    memcpy(t, p, (size_t)cnt * sizeof(FBS_T));
    return FN(load_)(t);
#endif
}

/* The first cnt lanes of v to p[0:cnt] (0 < cnt < L). */
FBS_INLINE FBS_TARGET void FN(store_part_)(FBS_T* p, int cnt, VEC v)
{
#if FBS_MASKS == 4 && !FBS_F64
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << cnt) - 1), v);
#elif FBS_MASKS == 4
    _mm512_mask_storeu_pd(p, (__mmask8)((1u << cnt) - 1), v);
#elif FBS_MASKS == 3 && !FBS_F64
    _mm256_maskstore_ps(
        p, _mm256_cmpgt_epi32(_mm256_set1_epi32(cnt), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
        v);
#elif FBS_MASKS == 3
    _mm256_maskstore_pd(
        p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(cnt), _mm256_setr_epi64x(0, 1, 2, 3)), v);
#else
    FBS_T t[L];
    FN(store_)(t, v);
    memcpy(p, t, (size_t)cnt * sizeof(FBS_T));
#endif
}

/* C[0:mr, 0:width] (+)= op(A)[0:mr, 0:k] op(B)[0:k, 0:nv L], row p of op(B) at b + p ldb.
 * part: width < nv L (the last vector of C is partial; b is then a zero-padded copy).
 * mr, nv, ta and part are constants where this is inlined, so acc lives in registers. */
FBS_INLINE FBS_TARGET void FN(tile_)(const int mr, const int nv, const int ta, const int part,
                                     const int k, const FBS_T* a, const ptrdiff_t lda,
                                     const FBS_T* b, const ptrdiff_t ldb, FBS_T* c,
                                     const ptrdiff_t ldc, const int width, const int beta)
{
    VEC acc[FBS_MR1 > FBS_MR ? FBS_MR1 : FBS_MR][2], bv[2];
    const VEC zero = {0};
    const int last = width - (nv - 1) * L; /* lanes of the last vector */
    int r, v, p;
    FBS_UNROLL
    for (r = 0; r < mr; r++)
        FBS_UNROLL
        for (v = 0; v < nv; v++)
            acc[r][v] = zero;
    for (p = 0; p < k; p++) {
        FBS_UNROLL
        for (v = 0; v < nv; v++)
            bv[v] = FN(load_)(b + p * ldb + v * L);
        FBS_UNROLL
        for (r = 0; r < mr; r++) {
            const FBS_T s = ta ? a[p * lda + r] : a[r * lda + p];
            FBS_UNROLL
            for (v = 0; v < nv; v++)
#if FBS_VBYTES == 0 && FBS_PLAIN_FMA && FBS_F64
                acc[r][v] = fma(bv[v], s, acc[r][v]);
#elif FBS_VBYTES == 0 && FBS_PLAIN_FMA
                acc[r][v] = fmaf(bv[v], s, acc[r][v]);
#else
                acc[r][v] = acc[r][v] + bv[v] * s;
#endif
        }
    }
    FBS_UNROLL
    for (r = 0; r < mr; r++) {
        FBS_T* cr = c + r * ldc;
        FBS_UNROLL
        for (v = 0; v < nv; v++) {
            VEC x = acc[r][v];
            if (part && v == nv - 1) {
                if (beta)
                    x = FN(load_part_)(cr + v * L, last) + x;
                FN(store_part_)(cr + v * L, last, x);
            } else {
                if (beta)
                    x = FN(load_)(cr + v * L) + x;
                FN(store_)(cr + v * L, x);
            }
        }
    }
}

/* Every row block of one panel of C: FBS_MR, FBS_MR1 or FBS_MR1N rows at a time, then 8, 4,
 * 2, 1.  One function (not
 * inlined) per (nv, ta, part): the tile's loop then has the registers to itself (inlined
 * into the driver, GCC kept its pointers in vector registers, moved back at every step). */
#define DEFINE_PANEL(nv, ta, part)                                                          \
    FBS_NOINLINE FBS_TARGET void FN(panel_##nv##ta##part##_)(                               \
        const int m, const int k, const FBS_T* a, const ptrdiff_t lda, const FBS_T* b,      \
        const ptrdiff_t ldb, FBS_T* c, const ptrdiff_t ldc, const int width, const int beta) \
    {                                                                                       \
        const int nv_ = nv, ta_ = ta, part_ = part;                                         \
        const int rows = nv == 2 ? FBS_MR : ta ? FBS_MR1 : FBS_MR1N;                        \
        int i = 0;                                                                          \
        /* full tiles, but never a last one of fewer than 8 rows after them: 16 = 8 + 8,  \
         * not 12 + 4 (a 4-row, one-vector tile has 4 chains of multiply-adds: half speed) */ \
        for (; m - i >= rows + (rows > 8 ? 8 : 0) || m - i == rows; i += rows)              \
            TILE(rows);                                                                     \
        for (; rows > 8 && m - i >= 8; i += 8)                                              \
            TILE(8);                                                                        \
        if (rows > 4 && (m - i) & 4) {                                                      \
            TILE(4);                                                                        \
            i += 4;                                                                         \
        }                                                                                   \
        if ((m - i) & 2) {                                                                  \
            TILE(2);                                                                        \
            i += 2;                                                                         \
        }                                                                                   \
        if ((m - i) & 1)                                                                    \
            TILE(1);                                                                        \
    }
#define TILE(mr)                                                                            \
    FN(tile_)(mr, nv_, ta_, part_, k, ta_ ? a + i : a + i * lda, lda, b, ldb, c + i * ldc,  \
              ldc, width, beta)
DEFINE_PANEL(2, 0, 0)
DEFINE_PANEL(2, 1, 0)
DEFINE_PANEL(2, 0, 1)
DEFINE_PANEL(2, 1, 1)
DEFINE_PANEL(1, 0, 0)
DEFINE_PANEL(1, 1, 0)
DEFINE_PANEL(1, 0, 1)
DEFINE_PANEL(1, 1, 1)
#undef DEFINE_PANEL
#undef TILE

#if FBS_VBYTES && FBS_SHUFFLE
/* r[0:L] := its transpose, log2(L) rounds each swapping the off-diagonal s x s blocks of
 * every 2s x 2s block: row i (bit s clear) and row i + s exchange their lane blocks. */
#if L == 16
#define LANE_LIST(F, s)                                                                     \
    {F(s, 0),  F(s, 1),  F(s, 2),  F(s, 3),  F(s, 4),  F(s, 5),  F(s, 6),  F(s, 7),       \
     F(s, 8),  F(s, 9),  F(s, 10), F(s, 11), F(s, 12), F(s, 13), F(s, 14), F(s, 15)}
#elif L == 8
#define LANE_LIST(F, s) {F(s, 0), F(s, 1), F(s, 2), F(s, 3), F(s, 4), F(s, 5), F(s, 6), F(s, 7)}
#elif L == 4
#define LANE_LIST(F, s) {F(s, 0), F(s, 1), F(s, 2), F(s, 3)}
#else
#define LANE_LIST(F, s) {F(s, 0), F(s, 1)}
#endif
#define FROM_LOW(s, l) (((l) & (s)) ? L + (l) - (s) : (l))
#define FROM_HIGH(s, l) (((l) & (s)) ? L + (l) : (l) + (s))
#define ROUND(s)                                                                            \
    {                                                                                       \
        const IVEC lo = LANE_LIST(FROM_LOW, s), hi = LANE_LIST(FROM_HIGH, s);               \
        _Pragma("GCC unroll 16") for (i = 0; i < L; i++) if (!(i & (s)))                    \
        {                                                                                   \
            const VEC x = r[i], y = r[i + (s)];                                             \
            r[i] = __builtin_shuffle(x, y, lo);                                             \
            r[i + (s)] = __builtin_shuffle(x, y, hi);                                       \
        }                                                                                   \
    }
#if FBS_F64
typedef long long FN(ivec_) __attribute__((vector_size(FBS_VBYTES)));
#else
typedef int FN(ivec_) __attribute__((vector_size(FBS_VBYTES)));
#endif
#define IVEC FN(ivec_)

FBS_INLINE FBS_TARGET void FN(transpose_)(VEC r[L])
{
    int i;
#if L == 16
    ROUND(8)
#endif
#if L >= 8
    ROUND(4)
#endif
#if L >= 4
    ROUND(2)
#endif
    ROUND(1)
}
#undef LANE_LIST
#undef FROM_LOW
#undef FROM_HIGH
#undef ROUND
#undef IVEC

/* buf[p pw + j] = B[j0 + j, p] for j < width, 0 for width <= j < pw (B is n x k). */
FBS_INLINE FBS_TARGET void FN(pack_bt_)(const int k, const FBS_T* b, const ptrdiff_t ldb,
                                        const int j0, const int width, const int pw,
                                        FBS_T* buf)
{
    VEC r[L];
    const VEC zero = {0};
    int g, p0, i;
    for (g = 0; g < pw; g += L) { /* L rows of B become L columns of buf */
        const int rows = FBS_MIN(width - g, L);
        for (p0 = 0; p0 < k; p0 += L) {
            const int cnt = FBS_MIN(k - p0, L);
            const FBS_T* src = b + (j0 + g) * ldb + p0;
            _Pragma("GCC unroll 16") for (i = 0; i < L; i++)
            {
                if (i >= rows)
                    r[i] = zero;
                else if (cnt == L)
                    r[i] = FN(load_)(src + i * ldb);
                else
                    r[i] = FN(load_part_)(src + i * ldb, cnt);
            }
            FN(transpose_)(r);
            _Pragma("GCC unroll 16") for (i = 0; i < L; i++) if (i < cnt)
                FN(store_)(buf + (p0 + i) * pw + g, r[i]);
        }
    }
}
#else
FBS_INLINE FBS_TARGET void FN(pack_bt_)(const int k, const FBS_T* b, const ptrdiff_t ldb,
                                        const int j0, const int width, const int pw,
                                        FBS_T* buf)
{
    int p, j;
    for (p = 0; p < k; p++)
        for (j = 0; j < pw; j++)
            buf[p * pw + j] = j < width ? b[(j0 + j) * ldb + p] : 0;
}
#endif

/* buf[p pw + j] = B[p, j0 + j] for j < width, 0 for width <= j < pw (B is k x n, pw = nv L,
 * width > (nv - 1) L). */
FBS_INLINE FBS_TARGET void FN(pack_b_)(const int nv, const int k, const FBS_T* b,
                                       const ptrdiff_t ldb, const int j0, const int width,
                                       FBS_T* buf)
{
    int p;
    for (p = 0; p < k; p++) {
        const FBS_T* src = b + p * ldb + j0;
        if (nv == 2)
            FN(store_)(buf + p * 2 * L, FN(load_)(src));
        FN(store_)(buf + (p * nv + nv - 1) * L,
                   FN(load_part_)(src + (nv - 1) * L, width - (nv - 1) * L));
    }
}

/* The panel of columns j0 : j0 + width, nv vectors wide: op(B)'s panel in place or packed. */
FBS_INLINE FBS_TARGET void FN(columns_)(const int nv, const int part, const int ta,
                                        const int tb, const int m, const int k, const FBS_T* a,
                                        const ptrdiff_t lda, const FBS_T* b,
                                        const ptrdiff_t ldb, FBS_T* c, const ptrdiff_t ldc,
                                        const int j0, const int width, const int beta,
                                        FBS_T* buf)
{
    const FBS_T* bp = b + j0;
    ptrdiff_t bs = ldb;
    if (tb) {
        FN(pack_bt_)(k, b, ldb, j0, width, nv * L, buf);
        bp = buf;
        bs = nv * L;
    } else if (part) { /* zero-padded: the tile's loads stay whole, none past the row */
        FN(pack_b_)(nv, k, b, ldb, j0, width, buf);
        bp = buf;
        bs = nv * L;
    }
#define PANEL(nv, ta, part) FN(panel_##nv##ta##part##_)(m, k, a, lda, bp, bs, c + j0, ldc, width, beta)
    if (nv == 2)
        if (part)
            ta ? PANEL(2, 1, 1) : PANEL(2, 0, 1);
        else
            ta ? PANEL(2, 1, 0) : PANEL(2, 0, 0);
    else if (part)
        ta ? PANEL(1, 1, 1) : PANEL(1, 0, 1);
    else
        ta ? PANEL(1, 1, 0) : PANEL(1, 0, 0);
#undef PANEL
}

/* Panels of two vectors, then what is left: one or two vectors, the last one partial. */
FBS_TARGET static int FN(small_)(int ta, int tb, int m, int n, int k, const FBS_T* a, int lda,
                                 const FBS_T* b, int ldb, int beta, FBS_T* c, int ldc)
{
    FBS_ALIGNED FBS_T buf[FASTBP_SMALL_GEMM_MAX_K * PW];
    int j = 0;
    for (; j + PW <= n; j += PW)
        FN(columns_)(2, 0, ta, tb, m, k, a, lda, b, ldb, c, ldc, j, PW, beta, buf);
    if (n - j > L)
        FN(columns_)(2, 1, ta, tb, m, k, a, lda, b, ldb, c, ldc, j, n - j, beta, buf);
    else if (n - j == L)
        FN(columns_)(1, 0, ta, tb, m, k, a, lda, b, ldb, c, ldc, j, L, beta, buf);
    else if (n - j > 0)
        FN(columns_)(1, 1, ta, tb, m, k, a, lda, b, ldb, c, ldc, j, n - j, beta, buf);
    return 1;
}

#undef L
#undef PW
#undef FN
#undef VEC
#undef FBS_T
#undef FBS_F64
#undef FBS_SFX

#endif
