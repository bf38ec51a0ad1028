/* sk_solvers_passes.h: scikit-learn's own elementwise math in _forward_pass, _backprop and
 * AdamOptimizer (sklearn/neural_network/), for the element type T, in the array's dtype as
 * NumPy computes it (the intercept and ReLU passes are the dense layer's, fastbp_dense.c).
 * sk_solvers.c includes it once per type with SFX (the name suffix), SQRT and
 * EXP_NONPOSITIVE (e^x for x <= 0 or nan, fastbp_kernels.h's vectorizable one, within
 * 1 ulp) defined; it undefines them at its end.
 * No include guard: included twice on purpose. */

/* inplace_softmax: per row, tmp = y - max(y); y = exp(tmp); y /= sum(y).  The row sum is
 * taken in double and rounded to T (NumPy's pairwise sum in T differs from it in the last
 * bit at most); a nan or inf in a row gives a row of nan, as NumPy's max and sum do.
 * The exps run as one flat loop over the N C elements (a row of 10 would leave most of them
 * to the scalar tail of each row's loop), and the max and the sum of ROWS rows at a time,
 * so that their chains of dependent operations overlap. */
FASTBP_TARGET_CLONES
void SFX(fastbp_sk_softmax)(T* restrict y, ptrdiff_t N, ptrdiff_t C)
{
    enum { ROWS = 8 };
    T top[ROWS];
    double total[ROWS];
    for (ptrdiff_t n0 = 0; n0 < N; n0 += ROWS) {
        ptrdiff_t rows = N - n0 < ROWS ? N - n0 : ROWS;
        T* restrict block = y + n0 * C;
        for (ptrdiff_t r = 0; r < rows; r++)
            top[r] = block[r * C];
        for (ptrdiff_t c = 1; c < C; c++)
            for (ptrdiff_t r = 0; r < rows; r++) {
                T x = block[r * C + c];
                top[r] = x > top[r] || x != x ? x : top[r];
            }
        for (ptrdiff_t r = 0; r < rows; r++)
            for (ptrdiff_t c = 0; c < C; c++)
                block[r * C + c] = block[r * C + c] - top[r];
    }
    for (ptrdiff_t i = 0; i < N * C; i++)
        y[i] = EXP_NONPOSITIVE(y[i]);
    for (ptrdiff_t n0 = 0; n0 < N; n0 += ROWS) {
        ptrdiff_t rows = N - n0 < ROWS ? N - n0 : ROWS;
        T* restrict block = y + n0 * C;
        for (ptrdiff_t r = 0; r < rows; r++)
            total[r] = 0;
        for (ptrdiff_t c = 0; c < C; c++)
            for (ptrdiff_t r = 0; r < rows; r++)
                total[r] += block[r * C + c];
        for (ptrdiff_t r = 0; r < rows; r++) {
            T total_t = (T)total[r];
            for (ptrdiff_t c = 0; c < C; c++)
                block[r * C + c] = block[r * C + c] / total_t;
        }
    }
}

/* coef_grads = (A.T @ delta + alpha W) / sw_sum, given g = A.T @ delta: n elements */
FASTBP_TARGET_CLONES
void SFX(fastbp_sk_finish_coef_grad)(T* restrict g, const T* restrict w, ptrdiff_t n,
                                     T alpha, T sw_sum)
{
    for (ptrdiff_t i = 0; i < n; i++)
        g[i] = (g[i] + alpha * w[i]) / sw_sum;
}

/* AdamOptimizer's update (_stochastic_optimizers.py), see sk_solvers.h */
FASTBP_TARGET_CLONES
void SFX(fastbp_sk_adam)(T* restrict p, T* restrict m, T* restrict v, const T* restrict g,
                         ptrdiff_t n, T neg_lr, T b1, T c1, T b2, T c2, T eps)
{
    for (ptrdiff_t i = 0; i < n; i++) {
        T mi = b1 * m[i] + c1 * g[i];
        T vi = b2 * v[i] + c2 * (g[i] * g[i]);
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] + neg_lr * mi / (SQRT(vi) + eps);
    }
}

#undef T
#undef SFX
#undef SQRT
#undef EXP_NONPOSITIVE
