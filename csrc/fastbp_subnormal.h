/* fastbp_subnormal.h: float32 products at full speed when the values are subnormal.
 *
 * On x86 a multiply whose operand or result is subnormal (or underflows to 0) takes a
 * microcode assist, about 60 ns; adds and float <-> double conversions take none
 * (bench/README.md has the timings).  Optimizer state decays into that range: the momentum
 * of a unit whose gradient stays 0 (a dead ReLU) shrinks by 0.9 a step and turns subnormal
 * after some 800 steps.  (float)((double)x * c) is the float x * c rounds to, since the
 * double product of two floats is exact, and no double in it is subnormal; so the update
 * loops multiply in double in the blocks that hold tiny values, in float elsewhere
 * (twice as fast).  float64 has no wider type that is as fast. */
#ifndef FASTBP_SUBNORMAL_H
#define FASTBP_SUBNORMAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fastbp_math32.h" /* FASTBP_INLINE */

/* Elements per block that the loops check, then run in float or in double */
#define FASTBP_SUBNORMAL_BLOCK 512

/* x, in a form the compiler cannot see through: GCC rewrites (float)((double)f * (double)c)
 * back to the float product f * c when it knows both are widened floats. */
FASTBP_INLINE double fastbp_opaque(double x)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__("" : "+x"(x));
#elif defined(__GNUC__)
    __asm__("" : "+m"(x));
#else
    volatile double v = x;
    x = v;
#endif
    return x;
}

/* The magnitude below which a float times up to four of the `count` factors (an update
 * rule's longest chain) may underflow, with a factor 4 to spare: 2^-124 over the smallest
 * nonzero |factor| (at most 1) to the fourth.  As float bits; 0x7f800000 (every finite
 * value) when that bound is not a float. */
FASTBP_INLINE uint32_t fastbp_tiny_bound_f32(const double* factors, int count)
{
    double smallest = 1.0, bound;
    for (int k = 0; k < count; k++) {
        double a = fabs(factors[k]);
        smallest = a > 0 && a < smallest ? a : smallest;
    }
    bound = ldexp(1.0, -124) / pow(smallest, 4);
    if (!(bound < 0x1p127))
        return 0x7f800000u;
    return fastbp_bits_f32((float)bound);
}

/* Whether some a[i], i a multiple of `stride`, is nonzero with |a[i]| below the bound's
 * bits (inf and nan never are).  Sampled: the state these checks look for decays a row at
 * a time, and a tiny value a check misses costs an assist, never a float. */
FASTBP_INLINE int fastbp_any_tiny_f32(const float* a, ptrdiff_t n, uint32_t bound,
                                      ptrdiff_t stride)
{
    uint32_t tiny = 0;
    ptrdiff_t i;
    for (i = 0; i < n; i += stride) /* |a| - 1 wraps for 0 */
        tiny |= ((fastbp_bits_f32(a[i]) & 0x7fffffffu) - 1u) < bound - 1u;
    return tiny != 0;
}

/* Whether the block from lo holds a tiny value (fastbp_any_tiny_f32) in one of the `count`
 * arrays (NULL ones skipped); 0 past the end. */
FASTBP_INLINE int fastbp_block_is_tiny(const float* const* arrays, int count, ptrdiff_t lo,
                                       ptrdiff_t n, uint32_t bound, ptrdiff_t stride)
{
    ptrdiff_t m = n - lo < FASTBP_SUBNORMAL_BLOCK ? n - lo : FASTBP_SUBNORMAL_BLOCK;
    for (int k = 0; k < count && lo < n; k++)
        if (arrays[k] != NULL && fastbp_any_tiny_f32(arrays[k] + lo, m, bound, stride))
            return 1;
    return 0;
}

#endif
