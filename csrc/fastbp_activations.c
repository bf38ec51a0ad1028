/* fastbp_activations.c: the v2 activation kernels declared in fastbp_activations.h.
 *
 * One loop per activation and direction, each `#pragma omp simd` (the point functions are
 * branch-free, so GCC vectorizes them: 8 float32 lanes in the x86-64-v3 clone), over
 * blocks of ACT_BLOCK elements; the blocks run on OpenMP threads when n is at least
 * PARALLEL_MIN_ACTIVATION (elementwise: the result never depends on the thread count).
 */
#if defined(__GNUC__) && !defined(__clang__)
/* Fused multiply-adds where the clone's ISA has them (x86-64-v3 and v4; the baseline has
 * none), as torch's AVX2 and AVX-512 activation kernels use: half the instructions of the
 * polynomials.  Here alone: the loss kernels keep -ffp-contract=off (setup.py says why).
 * Before the includes, so the inlined point functions are contracted too.  Their sums
 * never add two products (a*b + c*d): which one GCC fuses would differ between a loop's
 * vector body and its scalar tail, and so would the floats. */
#pragma GCC optimize("fp-contract=fast")
#endif
#include "fastbp_activations.h"

#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* The activation loops also get an AVX-512 clone where target_clones works (the loss
 * loops' x86-64-v3 and baseline ones besides): 16 float32 lanes, as torch's own AVX-512
 * kernels have. */
#if defined(FASTBP_CLONE_LEVEL) && !defined(FASTBP_ACT_TARGET_CLONES)
#define FASTBP_ACT_TARGET_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FASTBP_ACT_TARGET_CLONES FASTBP_TARGET_CLONES
#endif

#define ACT_BLOCK 8192
/* Below this an OpenMP region (~1 us) costs more than it saves; torch's GELU threshold. */
#ifndef PARALLEL_MIN_ACTIVATION
#define PARALLEL_MIN_ACTIVATION 16384
#endif

typedef struct {
    int act;
    const void* gy; /* NULL for the forward */
    const void* x;
    void* out;
    double p1, p2;
} act_args;

typedef void (*act_block_fn)(const act_args* a, ptrdiff_t lo, ptrdiff_t hi);

static void run_blocks(act_block_fn f, const act_args* a, ptrdiff_t n)
{
    ptrdiff_t b, n_blocks = (n + ACT_BLOCK - 1) / ACT_BLOCK;
#ifdef _OPENMP
    if (n_blocks > 1 && n >= PARALLEL_MIN_ACTIVATION && omp_get_max_threads() > 1) {
#pragma omp parallel for schedule(static)
        for (b = 0; b < n_blocks; b++)
            f(a, b * ACT_BLOCK, (b + 1) * ACT_BLOCK < n ? (b + 1) * ACT_BLOCK : n);
        return;
    }
#endif
    for (b = 0; b < n_blocks; b++)
        f(a, b * ACT_BLOCK, (b + 1) * ACT_BLOCK < n ? (b + 1) * ACT_BLOCK : n);
}

/* One simd loop: out[i] = EXPR over [lo, hi), EXPR reading xi (and gi for a backward). */
#define FORWARD_LOOP(T, EXPR)                                                               \
    _Pragma("omp simd") for (ptrdiff_t i = lo; i < hi; i++)                                 \
    {                                                                                       \
        const T xi = x[i];                                                                  \
        out[i] = EXPR;                                                                      \
    }
#define BACKWARD_LOOP(T, EXPR)                                                              \
    _Pragma("omp simd") for (ptrdiff_t i = lo; i < hi; i++)                                 \
    {                                                                                       \
        const T gi = gy[i], xi = x[i];                                                      \
        out[i] = EXPR;                                                                      \
    }

/* The forward and backward block functions of one element type; SFX names them. */
#define DEFINE_ACTIVATION_BLOCKS(T, SFX)                                                    \
    FASTBP_ACT_TARGET_CLONES                                                                \
    static void forward_block##SFX(const act_args* a, ptrdiff_t lo, ptrdiff_t hi)           \
    {                                                                                       \
        const T* x = (const T*)a->x;                                                        \
        T* out = (T*)a->out;                                                                \
        const T p1 = (T)a->p1, p2 = (T)a->p2;                                               \
        switch (a->act) {                                                                   \
            FASTBP_ACTIVATION_FORWARD_CASES(T, SFX)                                         \
        default:                                                                            \
            break;                                                                          \
        }                                                                                   \
    }                                                                                       \
    FASTBP_ACT_TARGET_CLONES                                                                \
    static void backward_block##SFX(const act_args* a, ptrdiff_t lo, ptrdiff_t hi)          \
    {                                                                                       \
        const T* gy = (const T*)a->gy;                                                      \
        const T* x = (const T*)a->x;                                                        \
        T* out = (T*)a->out;                                                                \
        const T p1 = (T)a->p1, p2 = (T)a->p2;                                               \
        switch (a->act) {                                                                   \
            FASTBP_ACTIVATION_BACKWARD_CASES(T, SFX)                                        \
        default:                                                                            \
            break;                                                                          \
        }                                                                                   \
    }                                                                                       \
    void fastbp_activation2_forward##SFX(int act, const T* x, T* y, ptrdiff_t n, double p1, \
                                         double p2)                                         \
    {                                                                                       \
        act_args a = {act, NULL, x, y, p1, p2};                                             \
        run_blocks(forward_block##SFX, &a, n);                                              \
    }                                                                                       \
    void fastbp_activation2_backward##SFX(int act, const T* gy, const T* x, T* gx,          \
                                          ptrdiff_t n, double p1, double p2)                \
    {                                                                                       \
        act_args a = {act, gy, x, gx, p1, p2};                                              \
        run_blocks(backward_block##SFX, &a, n);                                             \
    }

DEFINE_ACTIVATION_BLOCKS(float, _f32)
DEFINE_ACTIVATION_BLOCKS(double, _f64)

/* The sigmoid and tanh of v1, vectorized, both computed in double.  float32: rounded once
 * to float, as the double loops over glibc's exp and tanh they replace: every float32 x
 * gives the same float (checked over all 2^32, each clone).  float64: sigmoid within 2.5
 * ulp of the exact result and tanh within 1.4 (tests/test_activations.py); the scalar
 * loops over glibc's exp and tanh they replace measured 2.3 and 2.2. */

/* A forward of element type T computed by the double expression EXPR of xi: its block
 * and entry point. */
#define DEFINE_DOUBLE_FORWARD(NAME, T, SFX, EXPR)                                          \
    FASTBP_ACT_TARGET_CLONES                                                                \
    static void NAME##_block##SFX(const act_args* a, ptrdiff_t lo, ptrdiff_t hi)           \
    {                                                                                       \
        const T* x = (const T*)a->x;                                                        \
        T* out = (T*)a->out;                                                                \
        FORWARD_LOOP(T, (T)(EXPR))                                                          \
    }                                                                                       \
    void fastbp_##NAME##_forward##SFX(const T* x, T* y, ptrdiff_t n)                        \
    {                                                                                       \
        act_args a = {0, NULL, x, y, 0.0, 0.0};                                             \
        run_blocks(NAME##_block##SFX, &a, n);                                               \
    }

DEFINE_DOUBLE_FORWARD(sigmoid, float, _f32, 1.0 / (1.0 + fastbp_exp(-(double)xi)))
DEFINE_DOUBLE_FORWARD(tanh, float, _f32, fastbp_tanh((double)xi))
DEFINE_DOUBLE_FORWARD(sigmoid, double, _f64, 1.0 / (1.0 + fastbp_exp(-xi)))
DEFINE_DOUBLE_FORWARD(tanh, double, _f64, fastbp_tanh(xi))

int fastbp_math32_apply(const char* name, const float* x, float* out, ptrdiff_t n)
{
    ptrdiff_t i;
    if (strcmp(name, "exp") == 0) {
        for (i = 0; i < n; i++) out[i] = fastbp_exp_f32(x[i]);
    } else if (strcmp(name, "expm1") == 0) {
        for (i = 0; i < n; i++) out[i] = fastbp_expm1_f32(x[i]);
    } else if (strcmp(name, "erf") == 0) {
        for (i = 0; i < n; i++) out[i] = fastbp_erf_f32(x[i]);
    } else if (strcmp(name, "tanh") == 0) {
        for (i = 0; i < n; i++) out[i] = fastbp_tanh_f32(x[i]);
    } else if (strcmp(name, "log1p") == 0) {
        for (i = 0; i < n; i++) out[i] = fastbp_log1p_f32(x[i]);
    } else {
        return -1;
    }
    return 0;
}
