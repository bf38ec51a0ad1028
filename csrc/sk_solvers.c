/* sk_solvers.c: see sk_solvers.h.
 *
 * gcc neither inlines nor vectorizes sqrt without -fno-math-errno (errno for a negative
 * argument), which the build does not pass, and `#pragma GCC optimize` does not turn it
 * off for builtins.  So on x86-64 the loops run on SSE2 (the baseline ISA) explicitly:
 * _mm_mul/add/div/sqrt are IEEE operations rounded like the scalar ones, in the same
 * order, so the floats are the scalar loop's; the tail runs the scalar loop.
 * One definition for both types: T the element, SQRT its square root, and on SSE2 V the
 * vector type, W its lanes and S the intrinsics' suffix.
 */
#include <math.h>

#include "sk_solvers.h"

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define SSE(...) __VA_ARGS__
#else
#define SSE(...)
#endif

#define MM(op, S) _mm_##op##_##S

#define DEFINE_ADAM(NAME, T, SQRT, V, W, S)                                                  \
void NAME(T *restrict p, T *restrict m, T *restrict v, const T *restrict g, ptrdiff_t n,     \
          T neg_lr, T b1, T c1, T b2, T c2, T eps)                                          \
{                                                                                            \
    ptrdiff_t i = 0;                                                                         \
    SSE(                                                                                     \
    const V B1 = MM(set1, S)(b1), C1 = MM(set1, S)(c1), B2 = MM(set1, S)(b2),                \
            C2 = MM(set1, S)(c2), EPS = MM(set1, S)(eps), LR = MM(set1, S)(neg_lr);          \
    for (; i + W <= n; i += W) {                                                             \
        V gi = MM(loadu, S)(g + i);                                                          \
        V mi = MM(add, S)(MM(mul, S)(B1, MM(loadu, S)(m + i)), MM(mul, S)(C1, gi));          \
        V vi = MM(add, S)(MM(mul, S)(B2, MM(loadu, S)(v + i)),                               \
                          MM(mul, S)(C2, MM(mul, S)(gi, gi)));                               \
        MM(storeu, S)(m + i, mi);                                                            \
        MM(storeu, S)(v + i, vi);                                                            \
        V up = MM(div, S)(MM(mul, S)(LR, mi), MM(add, S)(MM(sqrt, S)(vi), EPS));             \
        MM(storeu, S)(p + i, MM(add, S)(MM(loadu, S)(p + i), up));                           \
    })                                                                                       \
    for (; i < n; i++) {                                                                     \
        T mi = b1 * m[i] + c1 * g[i];                                                        \
        T vi = b2 * v[i] + c2 * (g[i] * g[i]);                                               \
        m[i] = mi;                                                                           \
        v[i] = vi;                                                                           \
        p[i] = p[i] + neg_lr * mi / (SQRT(vi) + eps);                                        \
    }                                                                                        \
}

DEFINE_ADAM(fastbp_sk_adam_f32, float, sqrtf, __m128, 4, ps)
DEFINE_ADAM(fastbp_sk_adam_f64, double, sqrt, __m128d, 2, pd)
