/* sk_solvers.h: scikit-learn's AdamOptimizer update (sklearn/neural_network/
 * _stochastic_optimizers.py) over one parameter array:
 *
 *   m = b1·m + c1·g;  v = b2·v + c2·(g·g);  p = p + neg_lr·m / (sqrt(v) + eps)
 *
 * with c1 = 1 - b1, c2 = 1 - b2 and neg_lr = -lr_t already rounded to the element type
 * (NumPy casts sklearn's Python-float scalars to the array's dtype).
 * Trusts: p, m, v, g are n-element arrays that do not overlap.
 */
#ifndef FASTBP_SK_SOLVERS_H
#define FASTBP_SK_SOLVERS_H

#include <stddef.h>

void fastbp_sk_adam_f32(float *p, float *m, float *v, const float *g, ptrdiff_t n,
                        float neg_lr, float b1, float c1, float b2, float c2, float eps);
void fastbp_sk_adam_f64(double *p, double *m, double *v, const double *g, ptrdiff_t n,
                        double neg_lr, double b1, double c1, double b2, double c2, double eps);

/* scikit-learn's inplace_softmax over N rows of C, and the coef gradients' L2 term and
 * division, g = (g + alpha w) / sw_sum, over n elements (sk_solvers_passes.h) */
#define FASTBP_SK_PASSES(T, SFX)                                                             \
    void fastbp_sk_softmax##SFX(T* y, ptrdiff_t N, ptrdiff_t C);                             \
    void fastbp_sk_finish_coef_grad##SFX(T* g, const T* w, ptrdiff_t n, T alpha, T sw_sum);
FASTBP_SK_PASSES(float, _f32)
FASTBP_SK_PASSES(double, _f64)

#endif
