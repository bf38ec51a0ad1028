/* fastbp_kernels.c: the loss kernels declared in fastbp_kernels.h.
 *
 * Layout: the type-independent part (block driver, mode flags) comes first; then this
 * file includes itself twice with FASTBP_T = float / double and FASTBP_SFX = _f32 / _f64,
 * and that second part (below "#else") holds every kernel once, written for FASTBP_T.
 *
 * Every loop over elements carries `#pragma omp simd`: GCC does not vectorize a float
 * reduction without it (reassociation), and the pragma keeps IEEE semantics, unlike
 * -ffast-math.  The branches in the point functions become selects; setup.py builds with
 * -fno-trapping-math so GCC may evaluate both arms (values are unchanged; only the FP
 * exception flags, which nothing here reads, may differ).
 */
#ifndef FASTBP_KERNELS_TEMPLATE_PASS

#include "fastbp_kernels.h"

#ifdef _OPENMP
#include <omp.h>
#endif

const char* fastbp_kernel_dispatch(void)
{
#ifdef FASTBP_CLONE_LEVEL
    /* the same test the ifunc resolver of target_clones makes */
    __builtin_cpu_init();
    return __builtin_cpu_supports(FASTBP_CLONE_LEVEL) ? FASTBP_CLONE_LEVEL " clone"
                                                     : "baseline clone (no " FASTBP_CLONE_LEVEL ")";
#else
    return "baseline only (no runtime dispatch in this build)";
#endif
}

/* What one pass computes (bit flags): the sum of the values, the per-element values, the
 * gradient.  'none' asks for OUT, 'mean'/'sum' for SUM. */
enum { WANT_SUM = 1, WANT_OUT = 2, WANT_GRAD = 4 };

static int pass_mode(int reduction, const void* out, const void* grad)
{
    int mode = reduction == FASTBP_REDUCTION_NONE ? (out != NULL ? WANT_OUT : 0) : WANT_SUM;
    return mode | (grad != NULL ? WANT_GRAD : 0);
}

static double reduced(double sum, double count, int reduction)
{
    if (reduction == FASTBP_REDUCTION_MEAN)
        return sum / count; /* 0/0 = nan for an empty input or all targets ignored, as torch */
    if (reduction == FASTBP_REDUCTION_SUM)
        return sum;
    return 0.0;
}

/* Elements per block of the elementwise losses; a block's values are summed by one SIMD
 * loop, the block sums then in order.  4096 float32 = 16 KB per array. */
#define ELEMENT_BLOCK 4096
/* Rows per block of the class losses: ROW_BLOCK_ELEMENTS / C (20 rows of 100 classes). */
#define ROW_BLOCK_ELEMENTS 2048
#define MAX_BLOCKS 1024

/* Parallel thresholds in elements (N*C for the class losses).  Measured on the 2-core Zen 2
 * (float32, 1 vs 2 threads, these thresholds compiled to 0): mse 1.6x faster at 8192
 * elements (2 blocks), bce_with_logits 1.95x; cross_entropy with C = 100 1.86x at 4096;
 * nll_loss (memset + scatter, memory-bound) 0.8-1.1x below 65536, 1.4x at 65536.  Below
 * two blocks everything stays serial anyway. */
#ifndef PARALLEL_MIN_ELEMENTWISE /* -D overrides are for measuring the crossover only */
#define PARALLEL_MIN_ELEMENTWISE 8192
#endif
#ifndef PARALLEL_MIN_SOFTMAX
#define PARALLEL_MIN_SOFTMAX 4096
#endif
#ifndef PARALLEL_MIN_NLL
#define PARALLEL_MIN_NLL 65536
#endif

/* What a block of work sums: the loss values and, for cross entropy with label smoothing,
 * the smoothing term apart (torch reduces the two separately; see cross_entropy_rows). */
typedef struct {
    double loss;
    double smooth;
} block_sums;

typedef block_sums (*block_fn)(const void* args, ptrdiff_t lo, ptrdiff_t hi);

/* The sums of f(args, block b) over blocks of `block` items (more when n needs over
 * MAX_BLOCKS of them), added in block order: the same floats for any thread count.
 * OpenMP only when n * work_per_item >= min_parallel (an OpenMP region costs ~1 us). */
static block_sums sum_blocks(block_fn f, const void* args, ptrdiff_t n, ptrdiff_t block,
                             ptrdiff_t work_per_item, ptrdiff_t min_parallel)
{
    block_sums partial[MAX_BLOCKS];
    block_sums sum = {0.0, 0.0};
    ptrdiff_t b, n_blocks;
    if (n <= 0)
        return sum;
    if (block < 1)
        block = 1;
    if (n / block >= MAX_BLOCKS)
        block = n / MAX_BLOCKS + 1;
    n_blocks = (n + block - 1) / block;
#ifdef _OPENMP
    if (n_blocks > 1 && n * work_per_item >= min_parallel && omp_get_max_threads() > 1) {
#pragma omp parallel for schedule(static, 1) /* round robin: the last block is short */
        for (b = 0; b < n_blocks; b++) {
            ptrdiff_t hi = (b + 1) * block < n ? (b + 1) * block : n;
            partial[b] = f(args, b * block, hi);
        }
    } else
#endif
    {
        (void)work_per_item;
        (void)min_parallel;
        for (b = 0; b < n_blocks; b++) {
            ptrdiff_t hi = (b + 1) * block < n ? (b + 1) * block : n;
            partial[b] = f(args, b * block, hi);
        }
    }
    for (b = 0; b < n_blocks; b++) {
        sum.loss += partial[b].loss;
        sum.smooth += partial[b].smooth;
    }
    return sum;
}

#define FASTBP_KERNELS_TEMPLATE_PASS
#define FASTBP_T float
#define FASTBP_SFX(name) name##_f32
#define FASTBP_FLOAT32_ARITHMETIC 1
#include "fastbp_kernels.c"
#undef FASTBP_T
#undef FASTBP_SFX
#undef FASTBP_FLOAT32_ARITHMETIC
#define FASTBP_FLOAT32_ARITHMETIC 0
#define FASTBP_T double
#define FASTBP_SFX(name) name##_f64
#include "fastbp_kernels.c"
#undef FASTBP_T
#undef FASTBP_SFX

#else /* FASTBP_KERNELS_TEMPLATE_PASS: everything below is compiled once per element type */

#define T FASTBP_T
#define SFX FASTBP_SFX

/* v rounded to T, overflowing to +-inf as IEEE rounding does.  A plain (T) cast of a
 * scalar double is not enough: gcc -O2 dropped the cast of (1 - eps)/W to float, keeping
 * 9e39 where torch's float32 has inf. */
FASTBP_INLINE double SFX(rounded)(double v)
{
#if FASTBP_FLOAT32_ARITHMETIC
    /* FLT_MAX plus half its ulp: from there on, round to nearest gives inf */
    if (fabs(v) >= 0x1.ffffffp127)
        return copysign(INFINITY, v);
#endif
    {
        volatile T r = (T)v; /* a store the optimizer must keep: the rounding happens */
        return r;
    }
}

/* ---- elementwise losses ---------------------------------------------------------------- */

typedef struct {
    const T* x;
    const T* t;
    T* out;
    T* grad;
    int mode;
    double grad_divisor;   /* n for 'mean', else 1: the double losses multiply by its
                              reciprocal, the float32-arithmetic ones divide, as torch */
    const double* params;  /* the spec's PARAMS */
    const T* weights[2];   /* the spec's WEIGHTS: NULL or weight_periods[w] elements */
    ptrdiff_t weight_periods[2];
} SFX(elementwise_args);

/* One loop per mode over [lo, hi) (gcc does not unswitch an omp simd loop on the mode by
 * itself).  E is the arithmetic type (double, or float for the float32-arithmetic losses);
 * FIRST declares per-element values (k = i - lo indexes the weight buffers); VALUE and
 * SCALED_GRAD are expressions in x, t and those.  The value is rounded to T before it
 * is summed or stored, as torch computes the per-element tensor in T. */
#define ELEMENTWISE_LOOP(E, FIRST, BODY)                                                    \
    _Pragma("omp simd reduction(+:sum)")                                                    \
    for (ptrdiff_t i = lo; i < hi; i++) {                                                   \
        const ptrdiff_t k = i - lo;                                                         \
        const E x = xs[i], t = ts[i];                                                       \
        (void)k;                                                                            \
        FIRST                                                                               \
        BODY                                                                                \
    }

#define ELEMENTWISE_PASS(E, FIRST, VALUE, SCALED_GRAD)                                      \
    switch (mode) {                                                                         \
    case WANT_SUM:                                                                          \
        ELEMENTWISE_LOOP(E, FIRST, { const T v = (T)(VALUE); sum += v; })                   \
        break;                                                                              \
    case WANT_OUT:                                                                          \
        ELEMENTWISE_LOOP(E, FIRST, { out[i] = (T)(VALUE); })                                \
        break;                                                                              \
    case WANT_GRAD:                                                                         \
        ELEMENTWISE_LOOP(E, FIRST, { grad[i] = (T)(SCALED_GRAD); })                         \
        break;                                                                              \
    case WANT_SUM | WANT_GRAD:                                                              \
        ELEMENTWISE_LOOP(E, FIRST,                                                          \
                         { const T v = (T)(VALUE); sum += v; grad[i] = (T)(SCALED_GRAD); }) \
        break;                                                                              \
    case WANT_OUT | WANT_GRAD:                                                              \
        ELEMENTWISE_LOOP(E, FIRST,                                                          \
                         { out[i] = (T)(VALUE); grad[i] = (T)(SCALED_GRAD); })              \
        break;                                                                              \
    default:                                                                                \
        break;                                                                              \
    }

/* The start of every elementwise block function: the arguments as restrict pointers; gs
 * scales the gradient of the losses computed in double, gn divides that of the float32
 * ones. */
#define ELEMENTWISE_BLOCK_ARGS                                                              \
    const SFX(elementwise_args)* a = (const SFX(elementwise_args)*)args;                    \
    const T* restrict xs = a->x;                                                            \
    const T* restrict ts = a->t;                                                            \
    T* restrict out = a->out;                                                               \
    T* restrict grad = a->grad;                                                             \
    const double gs = 1.0 / a->grad_divisor;                                                \
    const float gn = (float)a->grad_divisor;                                                \
    const int mode = a->mode;                                                               \
    double sum = 0.0;                                                                       \
    (void)gs;                                                                               \
    (void)gn;

/* The block function of a loss without weights; PARAMS declares its options. */
#define DEFINE_ELEMENTWISE_BLOCK(NAME, E, PARAMS, FIRST, VALUE, SCALED_GRAD)                \
    FASTBP_TARGET_CLONES                                                                    \
    static block_sums SFX(NAME##_block)(const void* args, ptrdiff_t lo, ptrdiff_t hi)       \
    {                                                                                       \
        ELEMENTWISE_BLOCK_ARGS                                                              \
        PARAMS                                                                              \
        ELEMENTWISE_PASS(E, FIRST, VALUE, SCALED_GRAD)                                      \
        return (block_sums){sum, 0.0};                                                      \
    }

/* The weighted losses read their weights from two block-local buffers, filled per chunk
 * from the periodic (broadcast) weights: one SIMD loop serves every broadcast pattern. */
#define WEIGHT_CHUNK 1024

/* buf[k] = w[(lo + k) % period] for k < len; 1 when w is NULL */
static void SFX(fill_periodic)(double* buf, const T* w, ptrdiff_t period, ptrdiff_t lo,
                               ptrdiff_t len)
{
    ptrdiff_t k = 0, j;
    if (w == NULL || period == 1) {
        const double value = w == NULL ? 1.0 : (double)w[0];
        for (k = 0; k < len; k++)
            buf[k] = value;
        return;
    }
    j = lo % period;
    while (k < len) {
        ptrdiff_t m = period - j < len - k ? period - j : len - k;
        for (ptrdiff_t q = 0; q < m; q++)
            buf[k + q] = (double)w[j + q];
        k += m;
        j = 0;
    }
}

/* The block function of a weighted loss.  WEIGHTED declares the weights (and has_<weight>)
 * from the buffers weight0_buf, weight1_buf; PLAIN declares them for no weights at all:
 * that common case gets loops without the buffers (15% faster bce_with_logits, measured). */
#define DEFINE_WEIGHTED_BLOCK(NAME, E, PARAMS, WEIGHTED, PLAIN, VALUE, SCALED_GRAD)         \
    FASTBP_TARGET_CLONES                                                                    \
    static block_sums SFX(NAME##_block)(const void* args, ptrdiff_t lo0, ptrdiff_t hi0)     \
    {                                                                                       \
        ELEMENTWISE_BLOCK_ARGS                                                              \
        PARAMS                                                                              \
        double weight0_buf[WEIGHT_CHUNK], weight1_buf[WEIGHT_CHUNK];                        \
        if (a->weights[0] == NULL && a->weights[1] == NULL) {                               \
            const ptrdiff_t lo = lo0, hi = hi0;                                             \
            ELEMENTWISE_PASS(E, PLAIN, VALUE, SCALED_GRAD)                                  \
            return (block_sums){sum, 0.0};                                                  \
        }                                                                                   \
        for (ptrdiff_t lo = lo0; lo < hi0; lo += WEIGHT_CHUNK) {                            \
            const ptrdiff_t hi = lo + WEIGHT_CHUNK < hi0 ? lo + WEIGHT_CHUNK : hi0;         \
            SFX(fill_periodic)(weight0_buf, a->weights[0], a->weight_periods[0], lo, hi - lo); \
            SFX(fill_periodic)(weight1_buf, a->weights[1], a->weight_periods[1], lo, hi - lo); \
            ELEMENTWISE_PASS(E, WEIGHTED, VALUE, SCALED_GRAD)                               \
        }                                                                                   \
        return (block_sums){sum, 0.0};                                                      \
    }

static double SFX(elementwise)(block_fn block, SFX(elementwise_args)* a, ptrdiff_t n,
                               int reduction)
{
    block_sums sums;
    a->mode = pass_mode(reduction, a->out, a->grad);
    a->grad_divisor = reduction == FASTBP_REDUCTION_MEAN ? (double)n : 1.0;
    sums = sum_blocks(block, a, n, ELEMENT_BLOCK, 1, PARALLEL_MIN_ELEMENTWISE);
    /* torch rounds the sum to T, then divides (mean = sum / numel, in T) */
    return (T)reduced((T)sums.loss, (double)n, reduction);
}

/* Every elementwise loss's block function, and elementwise_loss (the block of a kind), from
 * the specs (specs/losses/) */
#include "fastbp_loss_blocks.h"

/* ---- validation helper ----------------------------------------------------------------- */

/* The number of x[i] outside [0, 1] (nan included) in [lo, hi): one compare-and-count SIMD
 * pass, instead of NumPy's min and max (two passes; 10 of binary_cross_entropy's 38 ms at
 * 10^7 float32 went to checking input and target, measured). */
static block_sums SFX(outside_unit_interval_block)(const void* args, ptrdiff_t lo, ptrdiff_t hi)
{
    const T* restrict x = (const T*)args;
    double outside = 0.0;
#pragma omp simd reduction(+:outside)
    for (ptrdiff_t i = lo; i < hi; i++)
        outside += !(x[i] >= 0 && x[i] <= 1);
    return (block_sums){outside, 0.0};
}

ptrdiff_t SFX(fastbp_count_outside_unit_interval)(const T* x, ptrdiff_t n)
{
    return (ptrdiff_t)sum_blocks(SFX(outside_unit_interval_block), x, n, ELEMENT_BLOCK, 1,
                                 PARALLEL_MIN_ELEMENTWISE).loss;
}

/* ---- class losses: one pass per row ---------------------------------------------------- */

typedef struct {
    const T* x;              /* (N, C) */
    const int64_t* target;   /* (N,) class indices, or NULL */
    const T* probs;          /* (N, C) class probabilities, or NULL */
    T* out;
    T* grad;
    ptrdiff_t C;
    int mode;
    double grad_scale;       /* 1/W for 'mean', else 1 (rounded to T, as torch's is) */
    const T* weight;         /* NULL or (C,) */
    double smooth_grad_sum;  /* sum_c -(weight[c] smooth_grad_coef): a row's smoothing gradient */
    double nll_grad_coef;    /* cross entropy: (1 - eps)/W for 'mean', else 1 - eps, in T */
    double smooth_grad_coef; /* cross entropy: (eps/C)/W for 'mean', else eps/C, in T */
    int64_t ignore_index;
    double label_smoothing;
} SFX(class_args);

/* max_c x[c], in T (exact; twice the SIMD width of double for float32).  A nan row comes
 * out nan later whatever m is: exp(nan - m) poisons the sum. */
FASTBP_INLINE double SFX(row_max)(const T* restrict x, ptrdiff_t C)
{
    T m = -INFINITY;
#pragma omp simd reduction(max:m)
    for (ptrdiff_t c = 0; c < C; c++)
        m = x[c] > m ? x[c] : m;
    return m;
}

/* sum_c exp(x[c] - m); e[c] = exp(x[c] - m) too when e is not NULL (the gradient row,
 * scaled in place later: the row stays in L1 cache) */
FASTBP_INLINE double SFX(row_sum_exp)(const T* restrict x, double m, T* restrict e,
                                      ptrdiff_t C)
{
    double s = 0.0;
#if FASTBP_FLOAT32_ARITHMETIC
    /* float32: x - m and its exp in float32, as torch's log_softmax computes them (8 lanes
       per AVX2 vector; cross entropy 29 -> 21 ms, measured); the sum in double */
    const float mf = (float)m;
#define ROW_EXP(xc) fastbp_exp_nonpositive_f32((xc) - mf)
#else
#define ROW_EXP(xc) fastbp_exp_nonpositive((xc) - m)
#endif
    if (e != NULL) {
#pragma omp simd reduction(+:s)
        for (ptrdiff_t c = 0; c < C; c++) {
            const T v = (T)ROW_EXP(x[c]);
            e[c] = v;
            s += v;
        }
    } else {
#pragma omp simd reduction(+:s)
        for (ptrdiff_t c = 0; c < C; c++)
            s += ROW_EXP(x[c]);
    }
#undef ROW_EXP
    return s;
}

/* Rows go through the softmax kernels ROW_CHUNK at a time: first each row's max and sum of
 * exps, then the logs of all those sums in one SIMD loop (one scalar log per row cost 9% of
 * cross entropy at C = 100, measured), then each row's value and gradient. */
#define ROW_CHUNK 16

/* For rows r0 <= i < r1 (at most ROW_CHUNK): m[k] = max of row i, lse[k] = log sum_c
 * exp(x[i, c] - m[k]), inv_se[k] = 1 / that sum, k = i - r0; the exps go into the
 * gradient rows when a gradient is wanted.  Rows whose target is ignore_index are skipped
 * (target NULL: no row is). */
FASTBP_INLINE void SFX(rows_log_sum_exp)(const SFX(class_args)* a, ptrdiff_t r0, ptrdiff_t r1,
                                         double* m, double* lse, double* inv_se)
{
    const ptrdiff_t C = a->C;
    double se[ROW_CHUNK];
    for (ptrdiff_t i = r0; i < r1; i++) {
        const ptrdiff_t k = i - r0;
        if (a->target != NULL && a->target[i] == a->ignore_index) {
            m[k] = 0.0;
            se[k] = 1.0;
            continue;
        }
        m[k] = SFX(row_max)(a->x + i * C, C);
        se[k] = SFX(row_sum_exp)(a->x + i * C, m[k], a->mode & WANT_GRAD ? a->grad + i * C : NULL,
                                 C);
    }
#pragma omp simd
    for (ptrdiff_t k = 0; k < r1 - r0; k++) {
        lse[k] = fastbp_log(se[k]);
        inv_se[k] = 1.0 / se[k];
    }
}

/* torch differentiates an ignored row too: log_softmax's backward gives it 0 - p * 0, which
 * is nan wherever p = softmax(row) is nan -- the row holds a nan or a +inf, or is all -inf. */
FASTBP_INLINE int SFX(softmax_row_is_nan)(const T* restrict x, ptrdiff_t C)
{
    int has_nan = 0;
    T m = -INFINITY;
#pragma omp simd reduction(|:has_nan) reduction(max:m)
    for (ptrdiff_t c = 0; c < C; c++) {
        has_nan |= x[c] != x[c];
        m = x[c] > m ? x[c] : m;
    }
    return has_nan || m == INFINITY || (C > 0 && m == -INFINITY);
}

/* Cross entropy with class-index targets, label smoothing eps, weights w (1 without):
 *   row value  L = (1 - eps) nll + (eps/C) smooth,
 *              nll = -w[y] logp[y],  smooth = -sum_c w[c] logp[c],  logp = x - m - lse,
 *   gradient   dL/dx[c] = (a w[y] + b sum_k w[k]) p[c] - b w[c] - a w[y] [c == y],
 *              a = nll_grad_coef ((1 - eps)/W for 'mean'), b = smooth_grad_coef ((eps/C)/W),
 * (computed in torch's order, below), which is torch's cross_entropy_loss_label_smoothing
 * (and plain nll of log_softmax for eps == 0, computed without the smoothing terms:
 * eps * inf would be nan).  The block sums nll and smooth apart: torch reduces them
 * separately, and 'mean' with a zero total weight is nan (0/0 in the nll part) even where
 * smooth/0 alone would be inf. */
FASTBP_TARGET_CLONES
static block_sums SFX(cross_entropy_rows)(const void* args, ptrdiff_t lo, ptrdiff_t hi)
{
    const SFX(class_args)* a = (const SFX(class_args)*)args;
    const ptrdiff_t C = a->C;
    const T* w = a->weight;
    const double eps = a->label_smoothing;
    const double eps_c = eps / (double)C;
    block_sums sums = {0.0, 0.0};
    double m_k[ROW_CHUNK], lse_k[ROW_CHUNK], inv_se_k[ROW_CHUNK];
    for (ptrdiff_t i = lo; i < hi; i++) {
        const T* restrict x = a->x + i * C;
        T* restrict g = a->mode & WANT_GRAD ? a->grad + i * C : NULL;
        const int64_t y = a->target[i];
        const ptrdiff_t k = (i - lo) % ROW_CHUNK;
        double m, lse, inv_se, wy;
        T nll, smooth = 0;
        if (k == 0)
            SFX(rows_log_sum_exp)(a, i, i + ROW_CHUNK < hi ? i + ROW_CHUNK : hi, m_k, lse_k,
                                  inv_se_k);
        if (y == a->ignore_index) {
            if (g != NULL && SFX(softmax_row_is_nan)(x, C)) {
                for (ptrdiff_t c = 0; c < C; c++)
                    g[c] = (T)NAN;
            } else if (g != NULL) {
                memset(g, 0, (size_t)C * sizeof(T));
            }
            if (a->mode & WANT_OUT)
                a->out[i] = 0;
            continue;
        }
        m = m_k[k];
        lse = lse_k[k];
        inv_se = inv_se_k[k];
        wy = w != NULL ? (double)w[y] : 1.0;
        nll = (T)(-(wy * (x[y] - m - lse)));
        sums.loss += nll;
        if (eps > 0.0) {
            /* -sum_c w[c] logp[c], summed as torch sums it: term by term, not as
             * sum w (x - m) - lse sum w, which turns an infinite weight times a zero
             * (x[c] == m) into nan where torch's w * logp is -inf */
            const double shift = m + lse;
            double swlogp = 0.0;
            if (w != NULL) {
#pragma omp simd reduction(+:swlogp)
                for (ptrdiff_t c = 0; c < C; c++)
                    swlogp += (double)w[c] * (x[c] - shift);
            } else {
#pragma omp simd reduction(+:swlogp)
                for (ptrdiff_t c = 0; c < C; c++)
                    swlogp += x[c] - shift;
            }
            smooth = (T)(-swlogp);
            sums.smooth += smooth;
        }
        if (a->mode & WANT_OUT)
            a->out[i] = eps > 0.0 ? (T)((1.0 - eps) * nll + eps_c * smooth) : nll;
        if (g != NULL) {
            /* torch's chain in torch's order (cross_entropy_loss_label_smoothing, then
             * log_softmax_backward): dL/dlogp[c] = -(w[c] b) + [c == y] gyv, the
             * smoothing part (absent for eps == 0) plus the nll part gyv = w[y] (-a);
             * then dL/dx[c] = dL/dlogp[c] - p[c] G, G the row sum of dL/dlogp.  In this
             * order nan and inf land where torch puts them, even for infinite weights or a
             * zero or tiny total weight. */
            const double gyv = wy * -a->nll_grad_coef;
            const double G = eps > 0.0 ? a->smooth_grad_sum + gyv : gyv;
            const double ey = g[y];
            if (eps == 0.0) {
#pragma omp simd
                for (ptrdiff_t c = 0; c < C; c++)
                    g[c] = (T)(0.0 - (g[c] * inv_se) * G);
                g[y] = (T)(gyv - (ey * inv_se) * G);
            } else {
                const double s = a->smooth_grad_coef;
                if (w != NULL) {
#pragma omp simd
                    for (ptrdiff_t c = 0; c < C; c++)
                        g[c] = (T)(-(w[c] * s) - (g[c] * inv_se) * G);
                } else {
#pragma omp simd
                    for (ptrdiff_t c = 0; c < C; c++)
                        g[c] = (T)(-s - (g[c] * inv_se) * G);
                }
                g[y] = (T)((-(wy * s) + gyv) - (ey * inv_se) * G);
            }
        }
    }
    return sums;
}

/* Cross entropy with class probabilities q (torch's cross_entropy_loss_prob_target):
 *   q' = q (1 - eps) + eps/C,  L = -sum_c logp[c] q'[c] w[c],
 *   dL/dx[c] = p[c] sum_k w[k] q'[k] - w[c] q'[c]   (times grad_scale = 1/N for 'mean'). */
FASTBP_TARGET_CLONES
static block_sums SFX(cross_entropy_probs_rows)(const void* args, ptrdiff_t lo, ptrdiff_t hi)
{
    const SFX(class_args)* a = (const SFX(class_args)*)args;
    const ptrdiff_t C = a->C;
    const T* restrict w = a->weight;
    const double keep = 1.0 - a->label_smoothing, spread = a->label_smoothing / (double)C;
    const double gs = a->grad_scale;
    block_sums sums = {0.0, 0.0};
    double m_k[ROW_CHUNK], lse_k[ROW_CHUNK], inv_se_k[ROW_CHUNK];
    for (ptrdiff_t i = lo; i < hi; i++) {
        const T* restrict x = a->x + i * C;
        const T* restrict q = a->probs + i * C;
        T* restrict g = a->mode & WANT_GRAD ? a->grad + i * C : NULL;
        const ptrdiff_t k = (i - lo) % ROW_CHUNK;
        double m, lse, inv_se;
        if (k == 0)
            SFX(rows_log_sum_exp)(a, i, i + ROW_CHUNK < hi ? i + ROW_CHUNK : hi, m_k, lse_k,
                                  inv_se_k);
        m = m_k[k];
        lse = lse_k[k];
        inv_se = inv_se_k[k];
        double swq = 0.0, slq = 0.0; /* sum_c w q',  sum_c logp q' w */
        if (w != NULL) {
#pragma omp simd reduction(+:swq, slq)
            for (ptrdiff_t c = 0; c < C; c++) {
                const double qc = q[c] * keep + spread;
                slq += (x[c] - m - lse) * qc * (double)w[c];
                swq += qc * (double)w[c];
            }
        } else {
#pragma omp simd reduction(+:swq, slq)
            for (ptrdiff_t c = 0; c < C; c++) {
                const double qc = q[c] * keep + spread;
                slq += (x[c] - m - lse) * qc;
                swq += qc;
            }
        }
        {
            const T v = (T)(-slq);
            sums.loss += v;
            if (a->mode & WANT_OUT)
                a->out[i] = v;
        }
        if (g != NULL) {
            const double coef = gs * swq * inv_se;
            if (w != NULL) {
#pragma omp simd
                for (ptrdiff_t c = 0; c < C; c++)
                    g[c] = (T)(coef * g[c] - gs * (q[c] * keep + spread) * (double)w[c]);
            } else {
#pragma omp simd
                for (ptrdiff_t c = 0; c < C; c++)
                    g[c] = (T)(coef * g[c] - gs * (q[c] * keep + spread));
            }
        }
    }
    return sums;
}

/* nll: L = -w[y] x[y];  dL/dx[c] = -w[y] [c == y]   (times grad_scale) */
static block_sums SFX(nll_rows)(const void* args, ptrdiff_t lo, ptrdiff_t hi)
{
    const SFX(class_args)* a = (const SFX(class_args)*)args;
    const ptrdiff_t C = a->C;
    block_sums sums = {0.0, 0.0};
    if (a->mode & WANT_GRAD)
        memset(a->grad + lo * C, 0, (size_t)((hi - lo) * C) * sizeof(T));
    for (ptrdiff_t i = lo; i < hi; i++) {
        const int64_t y = a->target[i];
        const int ignored = y == a->ignore_index;
        const double wy = ignored || a->weight == NULL ? 1.0 : (double)a->weight[y];
#if defined(__GNUC__)
        /* x[i, y] is one scattered read per row: fetching 16 rows ahead takes nll from 6.2
           to 5.6 ms at N = 1e5, C = 100 (measured) */
        if (i + 16 < hi) {
            const int64_t y_ahead = a->target[i + 16];
            __builtin_prefetch(a->x + (i + 16) * C + (y_ahead >= 0 && y_ahead < C ? y_ahead : 0));
        }
#endif
        if ((a->mode & WANT_GRAD) && !ignored)
            a->grad[i * C + y] = (T)(-(wy * a->grad_scale));
        if (!ignored) {
            const T v = (T)(-(wy * a->x[i * C + y]));
            sums.loss += v;
            if (a->mode & WANT_OUT)
                a->out[i] = v;
        } else if (a->mode & WANT_OUT) {
            a->out[i] = 0;
        }
    }
    return sums;
}

/* W = sum of w[y] over the targets that are not ignored: torch's 'mean' denominator
 * (nll_loss's total_weight; the count when there is no weight). */
static double SFX(target_weight_sum)(const int64_t* target, ptrdiff_t N, const T* w,
                                     int64_t ignore_index)
{
    double total = 0.0;
    for (ptrdiff_t i = 0; i < N; i++)
        if (target[i] != ignore_index)
            total += w != NULL ? (double)w[target[i]] : 1.0;
    return total;
}

/* Runs `rows` over N rows with 'mean' denominator `count`; returns the two sums. */
static block_sums SFX(class_loss)(block_fn rows, SFX(class_args)* a, ptrdiff_t N, double count,
                                  int reduction, ptrdiff_t min_parallel)
{
    const ptrdiff_t C = a->C;
    a->mode = pass_mode(reduction, a->out, a->grad);
    /* torch's 1/W is a T: in float32 it overflows to inf for W below 2^-128 */
    a->grad_scale = reduction == FASTBP_REDUCTION_MEAN ? SFX(rounded)(1.0 / SFX(rounded)(count))
                                                       : 1.0;
    return sum_blocks(rows, a, N, ROW_BLOCK_ELEMENTS / (C > 0 ? C : 1), C > 0 ? C : 1,
                      min_parallel);
}

double SFX(fastbp_cross_entropy)(const T* x, const int64_t* target, T* out, T* grad,
                                 ptrdiff_t N, ptrdiff_t C, int reduction, const T* weight,
                                 int64_t ignore_index, double label_smoothing)
{
    SFX(class_args) a = {x, target, NULL, out, grad, C, 0, 1.0, weight, 0.0, 0.0, 0.0,
                         ignore_index, label_smoothing};
    const double count = SFX(target_weight_sum)(target, N, weight, ignore_index);
    const double eps = label_smoothing;
    /* torch's backward divides each part's upstream gradient, 1 - eps and eps/C, by the
       total weight W, in T (float32: inf for a tiny W, then nan as in torch) */
    const double divisor = reduction == FASTBP_REDUCTION_MEAN ? SFX(rounded)(count) : 1.0;
    block_sums sums;
    double nll, smooth;
    a.nll_grad_coef = SFX(rounded)(SFX(rounded)(1.0 - eps) / divisor);
    a.smooth_grad_coef = SFX(rounded)(SFX(rounded)(eps / (double)C) / divisor);
    if (eps > 0.0) {  /* the smoothing gradient's row sum is the same for every row */
        const double s = a.smooth_grad_coef;
        for (ptrdiff_t c = 0; c < C; c++)
            a.smooth_grad_sum += weight != NULL ? -(weight[c] * s) : -s;
    }
    sums = SFX(class_loss)(SFX(cross_entropy_rows), &a, N, count, reduction,
                           PARALLEL_MIN_SOFTMAX);
    /* torch: (1 - eps) reduce(nll) + (eps/C) reduce(smooth), each reduced in T */
    nll = (T)reduced((T)sums.loss, count, reduction);
    if (eps == 0.0 || reduction == FASTBP_REDUCTION_NONE)
        return nll;
    smooth = (T)reduced((T)sums.smooth, count, reduction);
    return (T)((1.0 - eps) * nll + smooth * (eps / (double)C));
}

double SFX(fastbp_cross_entropy_probs)(const T* x, const T* target, T* out, T* grad,
                                       ptrdiff_t N, ptrdiff_t C, int reduction,
                                       const T* weight, double label_smoothing)
{
    SFX(class_args) a = {x, NULL, target, out, grad, C, 0, 1.0, weight, 0.0, 0.0, 0.0, 0,
                         label_smoothing};
    if (C == 0) {
        /* no classes: every row's sum is empty; torch's 'mean' over an empty input is nan */
        if (out != NULL && reduction == FASTBP_REDUCTION_NONE)
            memset(out, 0, (size_t)N * sizeof(T));
        return reduction == FASTBP_REDUCTION_MEAN ? NAN : 0.0;
    }
    /* torch divides the sum by the number of rows, whatever the weights */
    return (T)reduced((T)SFX(class_loss)(SFX(cross_entropy_probs_rows), &a, N, (double)N,
                                         reduction, PARALLEL_MIN_SOFTMAX).loss,
                      (double)N, reduction);
}

double SFX(fastbp_nll_loss)(const T* x, const int64_t* target, T* out, T* grad, ptrdiff_t N,
                            ptrdiff_t C, int reduction, const T* weight, int64_t ignore_index)
{
    SFX(class_args) a = {x, target, NULL, out, grad, C, 0, 1.0, weight, 0.0, 0.0, 0.0,
                         ignore_index, 0.0};
    const double count = SFX(target_weight_sum)(target, N, weight, ignore_index);
    return (T)reduced((T)SFX(class_loss)(SFX(nll_rows), &a, N, count, reduction,
                                         PARALLEL_MIN_NLL).loss, count, reduction);
}

double SFX(fastbp_loss)(const fastbp_loss_record* r, const T* x, T* out, T* grad)
{
    const T* weight = (const T*)r->weights[0];
    switch (r->kind) {
    case FASTBP_LOSS_CROSS_ENTROPY:
        return SFX(fastbp_cross_entropy)(x, (const int64_t*)r->target, out, grad, r->rows, r->cols,
                                         r->reduction, weight, r->ignore_index,
                                         r->label_smoothing);
    case FASTBP_LOSS_CROSS_ENTROPY_PROBS:
        return SFX(fastbp_cross_entropy_probs)(x, (const T*)r->target, out, grad, r->rows,
                                               r->cols, r->reduction, weight,
                                               r->label_smoothing);
    case FASTBP_LOSS_NLL_LOSS:
        return SFX(fastbp_nll_loss)(x, (const int64_t*)r->target, out, grad, r->rows, r->cols,
                                    r->reduction, weight, r->ignore_index);
    default:
        return SFX(elementwise_loss)(r, x, out, grad);
    }
}

#undef T
#undef SFX

#endif /* FASTBP_KERNELS_TEMPLATE_PASS */
