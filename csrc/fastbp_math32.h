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

/* e^x for x <= 0 or nan (e^-|x| in the float32 bce_with_logits): x = k ln2 + r,
 * |r| <= ln2/2, e^r = 1 + r + r^2/2 + r^3 Q(r), Q of degree 5 (Cephes' expf coefficients);
 * 2^k as two factors so that results below 2^-126 round once into the subnormals. */
FASTBP_INLINE float fastbp_exp_nonpositive_f32(float x)
{
    const float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f, SHIFT = 0x1.8p23f;
    float xc = x < -104.0f ? -104.0f : x; /* e^-104 < 2^-150 rounds to 0; nan stays */
    float shifted = xc * 1.44269504088896341f + SHIFT;
    float kf = shifted - SHIFT;
    int32_t k = (int32_t)(fastbp_bits_f32(shifted) - fastbp_bits_f32(SHIFT));
    float r = (xc - kf * LN2_HI) - kf * LN2_LO;
    float r2 = r * r, r4 = r2 * r2;
    float q = ((1.6666665459e-1f + r * 4.1665795894e-2f) + r2 * (8.3334519073e-3f
              + r * 1.3981999507e-3f)) + r4 * 1.9875691500e-4f;
    float p = 1.0f + (r + r2 * (5.0000001201e-1f + r * q));
    int32_t k1 = k / 2; /* k in [-150, 0]: both factors normal */
    return (p * fastbp_from_bits_f32((uint32_t)(k1 + 127) << 23))
           * fastbp_from_bits_f32((uint32_t)(k - k1 + 127) << 23);
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

#endif /* FASTBP_MATH32_H */
