/* fastbp_math32.h: private float32 math (log, log(1 - p), exp, log1p) that loops vectorize.
 *
 * Where torch computes float32 tensors in float32 arithmetic, the float32 kernels do too,
 * with these branch-free functions (selects only), in torch's order.  Their accuracy test:
 * tests/test_losses.py::test_float32_math_accuracy (through _losses.math_function).
 * New float32 math (the activations' too) goes here, with a case in that test. */
#ifndef FASTBP_MATH32_H
#define FASTBP_MATH32_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The point functions must inline into every loop or the loop does not vectorize; GCC's
 * inliner gives up on the larger loops (bce_with_logits's) without being told. */
#if defined(__GNUC__)
#define FASTBP_INLINE static inline __attribute__((always_inline))
#else
#define FASTBP_INLINE static inline
#endif

/* ---- float32 log for the float32 binary cross entropy ----------------------------------
 * torch computes binary_cross_entropy of float32 tensors in float32 arithmetic; so does the
 * float32 kernel here, in torch's order, and its gradient is then torch's to the bit.
 * Eight float lanes per AVX2 vector instead of four doubles, and a degree-8 polynomial
 * instead of a division and degree 14 (bench/README.md has the timing).
 * Accuracy against the exact result (tests/test_losses.py::test_float32_math_accuracy,
 * exhaustive over [2^-31, 1] when written): log within 0.86 ulp, log(1 - p) within 0.92. */

FASTBP_INLINE uint32_t fastbp_bits_f32(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }
FASTBP_INLINE float fastbp_from_bits_f32(uint32_t u) { float x; memcpy(&x, &u, 4); return x; }

/* k ln2 + log(1+f) + c for sqrt(2)/2 - 1 <= f < sqrt(2) - 1, c a tiny correction:
 * log(1+f) = f - f^2/2 + f^3 P(f), P of degree 8 (Cephes' logf coefficients, Estrin's
 * scheme), ln2 split so that k*LN2_HI is exact. */
FASTBP_INLINE float fastbp_log_reduced_f32(float kf, float f, float c)
{
    const float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    float z = f * f, z2 = z * z, z4 = z2 * z2;
    float p01 = 3.3333331174e-1f + f * -2.4999993993e-1f;
    float p23 = 2.0000714765e-1f + f * -1.6668057665e-1f;
    float p45 = 1.4249322787e-1f + f * -1.2420140846e-1f;
    float p67 = 1.1676998740e-1f + f * -1.1514610310e-1f;
    float P = ((p01 + z * p23) + z2 * (p45 + z * p67)) + z4 * 7.0376836292e-2f;
    float y = f * z * P;
    y = y + (kf * LN2_LO + c);
    y = y + -0.5f * z;
    return (f + y) + kf * LN2_HI;
}

/* q = 2^k m with sqrt(2)/2 <= m < sqrt(2), for a positive normal q: k (as a float) and m */
FASTBP_INLINE float fastbp_split_exponent_f32(float q, float* m)
{
    const uint32_t SQRT_HALF_BITS = 0x3f3504f3u;
    uint32_t u = fastbp_bits_f32(q);
    int32_t k = (int32_t)(u - SQRT_HALF_BITS) >> 23; /* arithmetic shift: AVX2 has it */
    *m = fastbp_from_bits_f32(u - ((uint32_t)k << 23));
    return (float)k;
}

/* log(p) for p in [0, 1] (not nan: the callers' input is validated): -inf at 0 */
FASTBP_INLINE float fastbp_log_unit_f32(float p)
{
    float m;
    int subnormal = p < 0x1p-126f; /* scale into the normal range first */
    float kf = fastbp_split_exponent_f32(p * (subnormal ? 0x1p23f : 1.0f), &m)
               - (subnormal ? 23.0f : 0.0f);
    float r = fastbp_log_reduced_f32(kf, m - 1.0f, 0.0f);
    return p == 0.0f ? -INFINITY : r;
}

/* log1p(-p) for p in [0, 1] (not nan): -inf at 1.  For p <= 1 - sqrt(2)/2, 1 - p needs
 * no exponent shift and f = -p is exact (log1p's accuracy for tiny p); above, 1 - p is
 * rounded and c = (1 - q) - p, exact, corrects for it. */
FASTBP_INLINE float fastbp_log1m_unit_f32(float p)
{
    float m;
    float q = 1.0f - p;
    float kq = fastbp_split_exponent_f32(q, &m);
    int small = p <= 0.29289321881f;
    float c = small ? 0.0f : ((1.0f - q) - p) / q;
    float r = fastbp_log_reduced_f32(small ? 0.0f : kq, small ? -p : m - 1.0f, c);
    return p == 1.0f ? -INFINITY : r;
}

/* e^r - 1 for x = k ln2 + r, |r| <= ln2/2: r + r^2/2 + r^3 Q(r), Q of degree 5 (Cephes'
 * expf coefficients); k is left for the caller to scale by. */
FASTBP_INLINE float fastbp_expm1_reduced_f32(float x, int32_t* k)
{
    const float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f, SHIFT = 0x1.8p23f;
    float shifted = x * 1.44269504088896341f + SHIFT;
    float kf = shifted - SHIFT;
    *k = (int32_t)(fastbp_bits_f32(shifted) - fastbp_bits_f32(SHIFT));
    float r = (x - kf * LN2_HI) - kf * LN2_LO;
    float r2 = r * r, r4 = r2 * r2;
    float q = ((1.6666665459e-1f + r * 4.1665795894e-2f) + r2 * (8.3334519073e-3f
              + r * 1.3981999507e-3f)) + r4 * 1.9875691500e-4f;
    return r + r2 * (5.0000001201e-1f + r * q);
}

/* e^x for x <= 0 or nan (e^-|x| in the float32 bce_with_logits); 2^k as two factors so
 * that results below 2^-126 round once into the subnormals. */
FASTBP_INLINE float fastbp_exp_nonpositive_f32(float x)
{
    int32_t k;
    /* e^-104 < 2^-150 rounds to 0; nan stays */
    float p = 1.0f + fastbp_expm1_reduced_f32(x < -104.0f ? -104.0f : x, &k);
    int32_t k1 = k / 2; /* k in [-150, 0]: both factors normal */
    return (p * fastbp_from_bits_f32((uint32_t)(k1 + 127) << 23))
           * fastbp_from_bits_f32((uint32_t)(k - k1 + 127) << 23);
}

/* e^x for x <= 0 or nan, but e^-87 (a normal float) for any x below: one scale factor.
 * For terms added to 1, where anything below 2^-25 is lost anyway. */
FASTBP_INLINE float fastbp_exp_normal_f32(float x)
{
    int32_t k;
    float p = 1.0f + fastbp_expm1_reduced_f32(x < -87.0f ? -87.0f : x, &k);
    return p * fastbp_from_bits_f32((uint32_t)(k + 127) << 23);
}

/* log1p(z) for z in [0, 1] or nan: u = 1 + z in [1, 2], so k is 0 (then f = z, exact) or 1
 * (f = u/2 - 1, exact, and c = ((1 + z) - u) / u for the rounding of u). */
FASTBP_INLINE float fastbp_log1p_unit_f32(float z)
{
    float u = 1.0f + z;
    int k1 = u >= 1.41421356f;
    float c = k1 ? (z - (u - 1.0f)) * (1.0f / u) : 0.0f; /* 1/u: the gradient's too */
    return fastbp_log_reduced_f32(k1 ? 1.0f : 0.0f, k1 ? 0.5f * u - 1.0f : z, c);
}


/* ==== Section: exp, expm1, erf, tanh, log1p for the activations (GELU, SiLU, ELU,
 * Softplus) ================================================================================
 * torch computes float32 activations in float32 arithmetic (its vectorized kernels); these
 * do too, 8 lanes per AVX2 vector.  They build on the float32 helpers of the loss section
 * (fastbp_bits_f32, fastbp_exp_nonpositive_f32, fastbp_exp_normal_f32,
 * fastbp_split_exponent_f32, fastbp_log_reduced_f32), above.
 * Accuracy against the exact result (tests/test_activations_v2.py::test_float32_math_accuracy,
 * every float of the range tested when written, ulp of the float32 result): exp 0.99,
 * expm1 1.56, tanh 1.31, log1p 0.86; erf, torch's approximation, within 6.5e-7 absolute.
 * inf, nan and overflow give C99's results.
 */

/* e^x for any x: beyond 89, e^x overflows to inf anyway; the clamp keeps k <= 129, where
 * fastbp_exp_nonpositive_f32's two factors 2^(k/2) 2^(k - k/2) are still normal floats
 * (their product then rounds to inf).  nan fails the comparison and stays nan. */
FASTBP_INLINE float fastbp_exp_f32(float x)
{
    return fastbp_exp_nonpositive_f32(x > 89.0f ? 89.0f : x);
}

/* e^x - 1: x = k ln2 + r, |r| <= ln2/2, u = e^r - 1 (fastbp_expm1_reduced_f32); then
 * k >= 0: 2^k (u + (1 - 2^-k)), k < 0: 2^k u + (2^k - 1), each rounded once (the
 * parenthesised terms are exact for |k| <= 24, and rounding-dominated beyond). */
FASTBP_INLINE float fastbp_expm1_f32(float x)
{
    /* e^-87 < 2^-125: expm1 is -1 in float32 below; above 89 it overflows */
    int32_t k; /* in [-126, 128] */
    float u = fastbp_expm1_reduced_f32(x > 89.0f ? 89.0f : (x < -87.0f ? -87.0f : x), &k);
    int32_t k_pos = k > 0 ? k : 0, k_neg = k < 0 ? k : 0;
    int32_t k1 = k_pos / 2; /* 2^k for k up to 128 as two normal factors */
    float up = (u + (1.0f - fastbp_from_bits_f32((uint32_t)(127 - (k_pos > 126 ? 126 : k_pos))
                                                 << 23)))
               * fastbp_from_bits_f32((uint32_t)(k1 + 127) << 23)
               * fastbp_from_bits_f32((uint32_t)(k_pos - k1 + 127) << 23);
    float two_k = fastbp_from_bits_f32((uint32_t)(k_neg + 127) << 23);
    float down = two_k * u + (two_k - 1.0f);
    float r0 = k < 0 ? down : up;
    return x == 0.0f ? x : r0; /* -0.0 stays -0.0 */
}

/* erf(x) by the approximation torch's vectorized float32 GELU uses (ATen's
 * Vectorized<float>::erf): Abramowitz-Stegun 7.1.26, erf(|x|) = 1 - t P(t) e^(-x^2),
 * t = 1 / (1 + p|x|), P of degree 4, with x's sign: one division and one exp, cheap enough
 * for GELU to stay near a copy's speed (bench/README.md).  Within 6.5e-7 absolute (1.5e-7
 * from the formula, the rest from P's alternating terms in float32, as in torch); GELU adds
 * it to 1, and stays as close to the exact result as torch's.  nan stays nan; +-inf gives
 * +-1. */
FASTBP_INLINE float fastbp_erf_f32(float x)
{
    float t = 1.0f / (0.3275911f * fabsf(x) + 1.0f);
    float P = (((1.061405429f * t + -1.453152027f) * t + 1.421413741f) * t + -0.284496736f) * t
              + 0.254829592f;
    float e = fastbp_exp_normal_f32(-(x * x));
    return copysignf((-e * t) * P + 1.0f, x);
}

/* tanh(x) as Cephes' tanhf: |x| < 0.625: x + x^3 P(x^2); beyond: 1 - 2 / (e^(2|x|) + 1)
 * with x's sign (e^(2|x|) = inf for |x| > 44 gives 1). */
FASTBP_INLINE float fastbp_tanh_f32(float x)
{
    float a = fabsf(x);
    float z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z
                    + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    float large = copysignf(1.0f - 2.0f / (fastbp_exp_f32(2.0f * a) + 1.0f), x);
    float r = a < 0.625f ? small : large; /* nan: large, nan */
    return x == 0.0f ? x : r;             /* -0.0 stays -0.0 */
}

/* log(1 + x) for x > -1 (fdlibm's s_log1p.c scheme): u = 1 + x rounded, u = 2^k m;
 * k = 0: log1p from the exact f = x; else log(m) + k ln2 + c, c = ((1 + x) - u) / u for
 * the rounding of u.  inf -> inf, -1 -> -inf, below -1 or nan -> nan. */
FASTBP_INLINE float fastbp_log1p_f32(float x)
{
    float m;
    float u = 1.0f + x;
    float kf = fastbp_split_exponent_f32(u, &m);
    /* (1 + x) - u exactly: u - 1 is exact below 2, u - x from 2 on (Sterbenz) */
    float c = (u < 2.0f ? x - (u - 1.0f) : 1.0f - (u - x)) / u;
    float r = fastbp_log_reduced_f32(kf, kf == 0.0f ? x : m - 1.0f, kf == 0.0f ? 0.0f : c);
    r = x == INFINITY ? x : r;
    r = x == -1.0f ? -INFINITY : r;
    r = x < -1.0f ? NAN : r;
    r = x != x ? x : r;
    r = x == 0.0f ? x : r; /* -0.0 stays -0.0 (apart from the nan select: GCC does not
                              vectorize softplus's loop with the two in one condition) */
    return r;
}

#endif /* FASTBP_MATH32_H */
