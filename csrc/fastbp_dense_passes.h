/* fastbp_dense_passes.h: fastbp_dense.h's functions for the element type T; fastbp_dense.c
 * includes it once per type with SFX (the name suffix) defined, and it undefines both.
 * No include guard: included twice on purpose. */

FASTBP_TARGET_CLONES
void SFX(fastbp_add_bias)(T* restrict y, const T* restrict b, ptrdiff_t N, ptrdiff_t O,
                          int then_relu)
{
    if (b != NULL && then_relu) {
        for (ptrdiff_t n = 0; n < N; n++)
            for (ptrdiff_t o = 0; o < O; o++) {
                T s = y[n * O + o] + b[o];
                y[n * O + o] = s < 0 ? (T)0 : s;
            }
    } else if (b != NULL) {
        for (ptrdiff_t n = 0; n < N; n++)
            for (ptrdiff_t o = 0; o < O; o++)
                y[n * O + o] = y[n * O + o] + b[o];
    } else if (then_relu) {
        for (ptrdiff_t i = 0; i < N * O; i++)
            y[i] = y[i] < 0 ? (T)0 : y[i];
    }
}

/* The bias gradient's column sums, COLUMNS columns at a time (a stack array of doubles) so
 * that the rows are read contiguously; one helper per case, each a loop without branches. */
enum { SFX(COLUMNS) = 256 };

FASTBP_INLINE void SFX(sum_rows)(const T* restrict gy, double* restrict total, ptrdiff_t N,
                                 ptrdiff_t O, ptrdiff_t width)
{
    for (ptrdiff_t n = 0; n < N; n++)
        for (ptrdiff_t o = 0; o < width; o++)
            total[o] += gy[n * O + o];
}

FASTBP_INLINE void SFX(relu_grad_sum_rows)(const T* restrict gy, const T* restrict relu_y,
                                           T* restrict gz, double* restrict total,
                                           ptrdiff_t N, ptrdiff_t O, ptrdiff_t width)
{
    for (ptrdiff_t n = 0; n < N; n++)
        for (ptrdiff_t o = 0; o < width; o++) {
            T g = relu_y[n * O + o] <= 0 ? (T)0 : gy[n * O + o];
            gz[n * O + o] = g;
            total[o] += g;
        }
}

FASTBP_INLINE void SFX(relu_grad_sum_rows_in_place)(T* restrict g_io, const T* restrict relu_y,
                                                    double* restrict total, ptrdiff_t N,
                                                    ptrdiff_t O, ptrdiff_t width)
{
    for (ptrdiff_t n = 0; n < N; n++)
        for (ptrdiff_t o = 0; o < width; o++) {
            T g = relu_y[n * O + o] <= 0 ? (T)0 : g_io[n * O + o];
            g_io[n * O + o] = g;
            total[o] += g;
        }
}

FASTBP_TARGET_CLONES
void SFX(fastbp_bias_grad)(const T* gy, const T* relu_y, T* gz, T* gb, ptrdiff_t N,
                           ptrdiff_t O, int accumulate)
{
    double total[SFX(COLUMNS)];
    for (ptrdiff_t o0 = 0; o0 < O; o0 += SFX(COLUMNS)) {
        ptrdiff_t width = O - o0 < SFX(COLUMNS) ? O - o0 : SFX(COLUMNS);
        for (ptrdiff_t o = 0; o < width; o++)
            total[o] = 0;
        if (relu_y == NULL)
            SFX(sum_rows)(gy + o0, total, N, O, width);
        else if (gz == gy)
            SFX(relu_grad_sum_rows_in_place)(gz + o0, relu_y + o0, total, N, O, width);
        else
            SFX(relu_grad_sum_rows)(gy + o0, relu_y + o0, gz + o0, total, N, O, width);
        for (ptrdiff_t o = 0; o < width; o++)
            gb[o0 + o] = accumulate ? gb[o0 + o] + (T)total[o] : (T)total[o];
    }
}

#undef T
#undef SFX
