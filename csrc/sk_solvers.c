/* sk_solvers.c: see sk_solvers.h.
 *
 * gcc neither inlines nor vectorizes sqrt without -fno-math-errno (errno for a negative
 * argument), which the build does not pass, and `#pragma GCC optimize` does not turn it
 * off for builtins.  So on x86-64 the loops run on SSE2 (the baseline ISA) explicitly:
 * _mm_mul/add/div/sqrt are IEEE operations rounded like the scalar ones, in the same
 * order, so the floats are the scalar loop's; the tail runs the scalar loop.
 */
#include <math.h>

#include "sk_solvers.h"

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define FASTBP_SSE2 1
#endif

void fastbp_sk_adam_f32(float *restrict p, float *restrict m, float *restrict v,
                        const float *restrict g, ptrdiff_t n, float neg_lr, float b1,
                        float c1, float b2, float c2, float eps)
{
    ptrdiff_t i = 0;
#ifdef FASTBP_SSE2
    const __m128 B1 = _mm_set1_ps(b1), C1 = _mm_set1_ps(c1), B2 = _mm_set1_ps(b2),
                 C2 = _mm_set1_ps(c2), EPS = _mm_set1_ps(eps), LR = _mm_set1_ps(neg_lr);
    for (; i + 4 <= n; i += 4) {
        __m128 gi = _mm_loadu_ps(g + i);
        __m128 mi = _mm_add_ps(_mm_mul_ps(B1, _mm_loadu_ps(m + i)), _mm_mul_ps(C1, gi));
        __m128 vi = _mm_add_ps(_mm_mul_ps(B2, _mm_loadu_ps(v + i)),
                               _mm_mul_ps(C2, _mm_mul_ps(gi, gi)));
        _mm_storeu_ps(m + i, mi);
        _mm_storeu_ps(v + i, vi);
        __m128 up = _mm_div_ps(_mm_mul_ps(LR, mi), _mm_add_ps(_mm_sqrt_ps(vi), EPS));
        _mm_storeu_ps(p + i, _mm_add_ps(_mm_loadu_ps(p + i), up));
    }
#endif
    for (; i < n; i++) {
        float mi = b1 * m[i] + c1 * g[i];
        float vi = b2 * v[i] + c2 * (g[i] * g[i]);
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] + neg_lr * mi / (sqrtf(vi) + eps);
    }
}

void fastbp_sk_adam_f64(double *restrict p, double *restrict m, double *restrict v,
                        const double *restrict g, ptrdiff_t n, double neg_lr, double b1,
                        double c1, double b2, double c2, double eps)
{
    ptrdiff_t i = 0;
#ifdef FASTBP_SSE2
    const __m128d B1 = _mm_set1_pd(b1), C1 = _mm_set1_pd(c1), B2 = _mm_set1_pd(b2),
                  C2 = _mm_set1_pd(c2), EPS = _mm_set1_pd(eps), LR = _mm_set1_pd(neg_lr);
    for (; i + 2 <= n; i += 2) {
        __m128d gi = _mm_loadu_pd(g + i);
        __m128d mi = _mm_add_pd(_mm_mul_pd(B1, _mm_loadu_pd(m + i)), _mm_mul_pd(C1, gi));
        __m128d vi = _mm_add_pd(_mm_mul_pd(B2, _mm_loadu_pd(v + i)),
                                _mm_mul_pd(C2, _mm_mul_pd(gi, gi)));
        _mm_storeu_pd(m + i, mi);
        _mm_storeu_pd(v + i, vi);
        __m128d up = _mm_div_pd(_mm_mul_pd(LR, mi), _mm_add_pd(_mm_sqrt_pd(vi), EPS));
        _mm_storeu_pd(p + i, _mm_add_pd(_mm_loadu_pd(p + i), up));
    }
#endif
    for (; i < n; i++) {
        double mi = b1 * m[i] + c1 * g[i];
        double vi = b2 * v[i] + c2 * (g[i] * g[i]);
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] + neg_lr * mi / (sqrt(vi) + eps);
    }
}
