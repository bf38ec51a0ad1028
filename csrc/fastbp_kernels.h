/* fastbp_kernels.h: the loss kernels in plain C (no Python API).
 *
 * Two parts:
 *  - point functions: one element, in double, static inline, so every loop that applies
 *    them (here, and any Cython module that cimports them through _losses.pxd) compiles
 *    the same arithmetic.  fastbp_<loss>(x, t) is the per-element loss value,
 *    fastbp_<loss>_grad(x, t) its derivative d(value)/dx.  Where torch computes float32
 *    tensors in float32 and float32 lanes are faster, a _f32 twin does too: binary cross
 *    entropy entirely, bce_with_logits and cross entropy their exp and log;
 *  - kernels: one pass over memory that computes the reduced value, the per-element
 *    values and the gradient, each only when asked; suffix _f32/_f64 for the element type.
 *
 * Kernel contract (every fastbp_*_f32/_f64 below):
 *  Trusts: C-contiguous arrays of the sizes stated, one element type, class indices in
 *  range or equal to ignore_index (the Python layer, fastbp._validate, checked all of it).
 *  reduction: FASTBP_REDUCTION_NONE / _MEAN / _SUM (the values of _losses.Reduction).
 *  out  (OUT, may be NULL): per-element (per-row for cross entropy / nll) values; only
 *       written for reduction 'none'.
 *  grad (OUT, may be NULL): d(loss)/d(x), same size as x; for 'none' the gradient of the sum.
 *  Returns the reduced value, already rounded to the element type ('mean' over nothing is
 *  nan, 'sum' over nothing 0, as torch); 0 for 'none'.  For 'mean'/'sum' the value is
 *  computed even when only grad is wanted.
 *  Reductions sum per-element values rounded to the element type (as torch's per-element
 *  tensor is) in double, over fixed blocks added in block order: the result does not
 *  depend on the number of OpenMP threads.
 */
#ifndef FASTBP_KERNELS_H
#define FASTBP_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(restrict)
#define restrict __restrict
#endif

#include "fastbp_math32.h" /* FASTBP_INLINE and the float32 math */

#define FASTBP_REDUCTION_NONE 0
#define FASTBP_REDUCTION_MEAN 1
#define FASTBP_REDUCTION_SUM 2

/* Runtime ISA dispatch through GNU ifunc: an AVX2+FMA clone and the baseline x86-64 one.
 * Only where it is known to work: gcc >= 11 (it names x86-64-v3; clang reports __GNUC__ 4
 * and gets no clones) on x86-64 Linux; elsewhere this expands to nothing.  Measured on a
 * Zen 2, 10^7 float32, 1 thread, clone vs baseline: binary_cross_entropy 64 vs 152 ms,
 * with_logits 56 vs 118, smooth_l1 12 vs 26, huber 9.4 vs 20, l1 8 vs 12, cross_entropy
 * (N = 1e5, C = 100) 30 vs 42; mse and nll are memory-bound either way. */
#ifndef FASTBP_TARGET_CLONES /* -DFASTBP_TARGET_CLONES= builds the baseline alone */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(__clang__) \
    && __GNUC__ >= 11
#define FASTBP_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define FASTBP_CLONE_LEVEL "x86-64-v3"
#else
#define FASTBP_TARGET_CLONES
#endif
#endif

/* Which version of the loss loops this process runs: the x86-64-v3 clone, the baseline
 * one, or the baseline alone (a build without runtime dispatch); for show_config(). */
const char* fastbp_kernel_dispatch(void);

/* ---- exp, log, log1p that loops can vectorize ------------------------------------------
 * glibc's are scalar calls, so a loop calling them never vectorizes (and libmvec needs
 * -ffast-math and a newer glibc than manylinux_2_28).  These are branch-free (selects only),
 * so `#pragma omp simd` loops vectorize them.  Accuracy, against the exact result over
 * random doubles in each function's whole range, subnormals included: exp and log within
 * 1 ulp, log1p within 2.1 ulp (tests/test_losses.py::test_vectorizable_math_accuracy);
 * inf, nan, 0 and negative arguments give C99's results. */

FASTBP_INLINE uint64_t fastbp_bits(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
FASTBP_INLINE double fastbp_from_bits(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

/* Adding 1.5*2^52 rounds a double of magnitude < 2^51 to an integer k held in the low bits
 * of the sum: int64 <-> double without a conversion instruction (AVX2 has none for 64-bit). */
#define FASTBP_ROUND_SHIFT 0x1.8p52

/* e^r - 1 - r - r^2/2 = r^3 Q(r) for |r| <= ln2/2: Q of degree 9 fitted (Chebyshev, mpmath at
 * 50 digits) to within 8e-18 of itself (degree 8 cost 0.2 ulp more), evaluated by Estrin's
 * scheme (shorter dependency chains than Horner's: 10% faster measured). */
FASTBP_INLINE double fastbp_exp_reduced(double r)
{
    double r2 = r * r, r4 = r2 * r2;
    double q0 = 0x1.5555555555556p-3 + r * 0x1.5555555555555p-5;
    double q2 = 0x1.11111111109b5p-7 + r * 0x1.6c16c16c167e2p-10;
    double q4 = 0x1.a01a01a7c2efep-13 + r * 0x1.a01a01a47a591p-16;
    double q6 = 0x1.71de0db2f6b19p-19 + r * 0x1.27e4e1f7222cbp-22;
    double q8 = 0x1.af389ecfc4b9cp-26 + r * 0x1.1f66d948a47d2p-29;
    double q = (q0 + r2 * q2) + r4 * ((q4 + r2 * q6) + r4 * q8);
    return 1.0 + (r + r2 * (0.5 + r * q));
}

/* e^x = 2^k e^r, k = round(x/ln2), |r| <= ln2/2 (Cody-Waite: ln2 split so k*LN2_HI is
 * exact).  Returns e^r; *kd = k as a double, *k = k as an integer. */
FASTBP_INLINE double fastbp_exp_split(double x, double* kd, uint64_t* k)
{
    const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
    double shifted = x * 1.44269504088896338700e+00 + FASTBP_ROUND_SHIFT;
    double kf = shifted - FASTBP_ROUND_SHIFT;
    *k = fastbp_bits(shifted) - fastbp_bits(FASTBP_ROUND_SHIFT);
    *kd = kf;
    return fastbp_exp_reduced((x - kf * LN2_HI) - kf * LN2_LO);
}

/* 2^k for an integer k in [-1022, 1023] (two's complement in a uint64), on the bits */
FASTBP_INLINE double fastbp_pow2(uint64_t k) { return fastbp_from_bits((k + 1023) << 52); }

FASTBP_INLINE double fastbp_exp(double x)
{
    double kd, p;
    uint64_t k;
    /* beyond these e^x is inf or 0 anyway; clamping keeps 2^k representable.  nan passes
       both comparisons unchanged and stays nan. */
    x = x > 710.0 ? 710.0 : x;
    x = x < -746.0 ? -746.0 : x;
    p = fastbp_exp_split(x, &kd, &k);
    /* 2^k as two factors 2^k1 2^(k-k1), each a normal double for k in [-1076, 1024]: the
       product then rounds once, into the subnormal range or to inf, as it should. */
    {
        uint64_t k1 = fastbp_bits(kd * 0.5 + FASTBP_ROUND_SHIFT) - fastbp_bits(FASTBP_ROUND_SHIFT);
        return (p * fastbp_pow2(k1)) * fastbp_pow2(k - k1);
    }
}

/* e^x for x <= 0 or nan (softmax's e^(x - max)): no overflow side, and results below
 * 2^-1022 (x < -708.39) flushed to 0: such a term is 0 in float32 and vanishes against the
 * 1 it is added to in float64.  Cross entropy 20% faster with it than with fastbp_exp
 * (measured; bce_with_logits's e^-|x|, oddly, 20% slower: it keeps fastbp_exp). */
FASTBP_INLINE double fastbp_exp_nonpositive(double x)
{
    double kd, p;
    uint64_t k;
    double xc = x < -708.0 ? -708.0 : x;
    p = fastbp_exp_split(xc, &kd, &k) * fastbp_pow2(k);
    return x < -708.0 ? 0.0 : p;
}

/* x = 2^k m, sqrt(2)/2 <= m < sqrt(2), for a positive normal x: k (as a double) and m, on
 * the bits.  The 2^63 offset keeps the difference non-negative so an unsigned shift works
 * (AVX2 has no signed 64-bit one). */
FASTBP_INLINE double fastbp_split_exponent(double x, double* m)
{
    const uint64_t SQRT_HALF_BITS = 0x3fe6a09e667f3bcdULL;
    uint64_t u = fastbp_bits(x);
    uint64_t tmp = u - SQRT_HALF_BITS + (2048ULL << 52);
    *m = fastbp_from_bits(u - (tmp & (0xfffULL << 52)) + (1ULL << 63));
    return fastbp_from_bits(fastbp_bits(FASTBP_ROUND_SHIFT) + (tmp >> 52))
           - FASTBP_ROUND_SHIFT - 2048.0;
}

/* k ln2 + log(1+f) + c for sqrt(2)/2 - 1 <= f < sqrt(2) - 1 and a tiny correction c:
 * fdlibm's e_log.c / s_log1p.c (s = f/(2+f), a degree-14 polynomial in s, error < 1 ulp). */
FASTBP_INLINE double fastbp_log_reduced(double kd, double f, double c)
{
    const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
    const double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                 Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                 Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                 Lg7 = 1.479819860511658591e-01;
    double hfsq = 0.5 * f * f;
    double s = f / (2.0 + f);
    double s2 = s * s, s4 = s2 * s2;
    double t1 = s4 * (Lg2 + s4 * (Lg4 + s4 * Lg6));
    double t2 = s2 * (Lg1 + s4 * (Lg3 + s4 * (Lg5 + s4 * Lg7)));
    double R = t2 + t1;
    return kd * LN2_HI - ((hfsq - (s * (hfsq + R) + (kd * LN2_LO + c))) - f);
}

FASTBP_INLINE double fastbp_log(double x)
{
    double m;
    /* subnormals: scale into the normal range first */
    int subnormal = x < 0x1p-1022;
    double kd = fastbp_split_exponent(x * (subnormal ? 0x1p52 : 1.0), &m)
                - (subnormal ? 52.0 : 0.0);
    double r = fastbp_log_reduced(kd, m - 1.0, 0.0);
    r = x == INFINITY ? x : r;
    r = x == 0.0 ? -INFINITY : r;
    r = x < 0.0 ? NAN : r;
    r = x != x ? x : r;
    return r;
}

/* log(1+x) as fdlibm's s_log1p.c: u = 1+x; where u is within [sqrt(2)/2, sqrt(2)) the
 * argument x itself is exact (k = 0), elsewhere c corrects for the rounding of u (the
 * k ln2 + log(u/2) sum costs up to 2.1 ulp on [0.41, 1]).
 * (Multiplying c by 1/(1+x) rather than dividing lets a loop that also needs that
 * reciprocal compute it once.) */
FASTBP_INLINE double fastbp_log1p(double x)
{
    double m;
    double u = 1.0 + x;
    double kd = fastbp_split_exponent(u, &m);
    double c = (kd > 0.0 ? 1.0 - (u - x) : x - (u - 1.0)) * (1.0 / (1.0 + x));
    double r = fastbp_log_reduced(kd, kd == 0.0 ? x : m - 1.0, kd == 0.0 ? 0.0 : c);
    r = x == INFINITY ? x : r;
    r = x == -1.0 ? -INFINITY : r;
    r = x < -1.0 ? NAN : r;
    r = x != x ? x : r;
    return r;
}

/* tanh as Cephes' tanh: |x| < 0.625: x + x z P(z)/Q(z), z = x^2; beyond:
 * 1 - 2 / (e^(2|x|) + 1) with x's sign (inf for |x| > 355 gives 1); -0.0 stays -0.0.
 * Within 1.4 ulp (tests/test_activations.py); glibc's tanh measured 2.2 on such a sample. */
FASTBP_INLINE double fastbp_tanh(double x)
{
    double a = fabs(x), z = x * x;
    double P = (-9.64399179425052238628e-1 * z + -9.92877231001918586564e1) * z
               + -1.61468768441708447952e3;
    double Q = ((z + 1.12811678491632931402e2) * z + 2.23548839060100448583e3) * z
               + 4.84406305325125486048e3;
    double small = x + x * (z * P / Q);
    double large = copysign(1.0 - 2.0 / (fastbp_exp(2.0 * a) + 1.0), x);
    double r = a < 0.625 ? small : large; /* nan: large, nan */
    return x == 0.0 ? x : r;
}

/* log1p(z) for z in [0, 1] or nan (log1p(exp(-|x|)) in bce_with_logits): fastbp_log1p
 * without its range checks, u = 1+z in [1, 2] so k is 0 or 1 by one comparison.  Makes
 * bce_with_logits 20% faster (measured, 10^7 float32). */
FASTBP_INLINE double fastbp_log1p_unit(double z)
{
    double u = 1.0 + z;
    int k1 = u >= 1.41421356237309504880; /* k = 1: u/2 in [sqrt(2)/2, 1] */
    double f = k1 ? 0.5 * u - 1.0 : z;    /* both exact */
    double c = k1 ? (1.0 - (u - z)) * (1.0 / (1.0 + z)) : 0.0;
    return fastbp_log_reduced(k1 ? 1.0 : 0.0, f, c);
}

/* ---- point functions: value and derivative of one element, as torch computes them --- */

/* fastbp_<loss>(x, t, ...) and fastbp_<loss>_grad(x, t, ...) of every elementwise loss, from
 * its spec (specs/losses/), with the kind codes FASTBP_LOSS_<NAME> of LossRecord.kind */
#include "fastbp_loss_specs.h"

/* ---- kernels ----------------------------------------------------------------------- */

/* A loss call's arguments besides its input, filled by _losses.LossArgs from what
 * fastbp._validate prepared (the public functions and the fused step run the same record). */
typedef struct {
    int kind;                      /* FASTBP_LOSS_<NAME> */
    int reduction;                 /* FASTBP_REDUCTION_* */
    const void* target;            /* T (rows, cols), or int64 class indices (rows,) */
    double params[FASTBP_MAX_LOSS_PARAMS]; /* the spec's PARAMS */
    const void* weights[2];        /* NULL or T: the spec's WEIGHTS, element i weighted by
                                      weights[w][i % weight_periods[w]] (a weight broadcast over
                                      the trailing axes of x); the class losses' (C,) weight */
    ptrdiff_t weight_periods[2];
    int64_t ignore_index;          /* the class losses' */
    double label_smoothing;        /* cross entropy's */
    ptrdiff_t rows, cols;          /* x as (N, C) for the class losses, (n, 1) otherwise */
} fastbp_loss_record;

/* The loss of a record on x (rows * cols elements); out and grad as above. */
double fastbp_loss_f32(const fastbp_loss_record* r, const float* x, float* out, float* grad);
double fastbp_loss_f64(const fastbp_loss_record* r, const double* x, double* out, double* grad);

/* How many of x's n elements are outside [0, 1] or nan (binary_cross_entropy's check of
 * its input and target, for fastbp._validate) */
ptrdiff_t fastbp_count_outside_unit_interval_f32(const float* x, ptrdiff_t n);
ptrdiff_t fastbp_count_outside_unit_interval_f64(const double* x, ptrdiff_t n);

/* Class losses: x (N, C) row-major, out (N,), grad (N, C), weight NULL or (C,).
 * cross_entropy: x are logits, target (N,) class indices; 0 <= label_smoothing <= 1. */
double fastbp_cross_entropy_f32(const float* x, const int64_t* target, float* out, float* grad,
                                ptrdiff_t N, ptrdiff_t C, int reduction,
                                const float* weight, int64_t ignore_index,
                                double label_smoothing);
double fastbp_cross_entropy_f64(const double* x, const int64_t* target, double* out,
                                double* grad, ptrdiff_t N, ptrdiff_t C, int reduction,
                                const double* weight, int64_t ignore_index,
                                double label_smoothing);
/* cross_entropy with class-probability targets (N, C) */
double fastbp_cross_entropy_probs_f32(const float* x, const float* target, float* out,
                                      float* grad, ptrdiff_t N, ptrdiff_t C, int reduction,
                                      const float* weight, double label_smoothing);
double fastbp_cross_entropy_probs_f64(const double* x, const double* target, double* out,
                                      double* grad, ptrdiff_t N, ptrdiff_t C, int reduction,
                                      const double* weight, double label_smoothing);
/* nll_loss: x are log-probabilities, target (N,) class indices */
double fastbp_nll_loss_f32(const float* x, const int64_t* target, float* out, float* grad,
                           ptrdiff_t N, ptrdiff_t C, int reduction,
                           const float* weight, int64_t ignore_index);
double fastbp_nll_loss_f64(const double* x, const int64_t* target, double* out, double* grad,
                           ptrdiff_t N, ptrdiff_t C, int reduction,
                           const double* weight, int64_t ignore_index);

#endif /* FASTBP_KERNELS_H */
