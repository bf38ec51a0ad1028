/* fastbp_sgd_passes.h: fastbp_sgd.h's function for the element type T; fastbp_sgd.c
 * includes it once per type with SFX, TIMES and HAS_WIDE defined, and it undefines them.
 * No include guard: included twice on purpose. */

typedef struct {
    T neg_lr, wd, mom, keep;         /* the hyper-parameters cast to T */
    double neg_lr_w, wd_w, mom_w, keep_w; /* the same values, for the double products */
    int decay, nesterov, maximize;
} SFX(sgd_constants);

/* n elements; `wide` is a constant at each call, so each loop compiles twice */
FASTBP_INLINE void SFX(sgd_block)(T* restrict p, const T* restrict g, T* restrict buf,
                                  ptrdiff_t n, const SFX(sgd_constants)* c, int plain,
                                  int first_step, int wide)
{
    const T neg_lr = c->neg_lr, wd = c->wd, mom = c->mom, keep = c->keep;
    const double neg_lr_w = c->neg_lr_w, wd_w = c->wd_w, mom_w = c->mom_w, keep_w = c->keep_w;
    const int decay = c->decay, nesterov = c->nesterov, maximize = c->maximize;
    (void)neg_lr_w, (void)wd_w, (void)mom_w, (void)keep_w;
    if (plain) {
        for (ptrdiff_t i = 0; i < n; i++) {
            T d = maximize ? -g[i] : g[i];
            d = decay ? d + TIMES(p[i], wd, wd_w, wide) : d;
            p[i] = p[i] + TIMES(d, neg_lr, neg_lr_w, wide);
        }
    } else if (first_step) {
        for (ptrdiff_t i = 0; i < n; i++) {
            T d = maximize ? -g[i] : g[i];
            d = decay ? d + TIMES(p[i], wd, wd_w, wide) : d;
            buf[i] = d;
            T step = nesterov ? d + TIMES(d, mom, mom_w, wide) : d;
            p[i] = p[i] + TIMES(step, neg_lr, neg_lr_w, wide);
        }
    } else {
        for (ptrdiff_t i = 0; i < n; i++) {
            T d = maximize ? -g[i] : g[i];
            d = decay ? d + TIMES(p[i], wd, wd_w, wide) : d;
            T b = TIMES(buf[i], mom, mom_w, wide) + TIMES(d, keep, keep_w, wide);
            buf[i] = b;
            T step = nesterov ? d + TIMES(b, mom, mom_w, wide) : b;
            p[i] = p[i] + TIMES(step, neg_lr, neg_lr_w, wide);
        }
    }
}

FASTBP_TARGET_CLONES
void SFX(fastbp_sgd)(T* p, const T* g, T* buf, ptrdiff_t n, double lr, double momentum,
                     double dampening, double weight_decay, int nesterov, int maximize,
                     int first_step)
{
    SFX(sgd_constants) c;
    int plain = momentum == 0, reads_buf = !plain && !first_step, decay = weight_decay != 0;
    c.neg_lr = (T)(-lr), c.wd = (T)weight_decay, c.mom = (T)momentum;
    c.keep = (T)(1.0 - dampening);
    c.neg_lr_w = fastbp_opaque(c.neg_lr), c.wd_w = fastbp_opaque(c.wd);
    c.mom_w = fastbp_opaque(c.mom), c.keep_w = fastbp_opaque(c.keep);
    c.decay = decay, c.nesterov = nesterov, c.maximize = maximize;
#if HAS_WIDE
    /* Only the values that decay are checked: the momentum buffer, and p under weight
     * decay.  A tiny gradient comes and goes with the batch; missed, it costs an assist,
     * never a float (both paths give the same floats). */
    if (reads_buf || decay) {
        const double factors[4] = {c.neg_lr, c.wd, c.mom, c.keep};
        const uint32_t bound = fastbp_tiny_bound_f32(factors, 4);
        const float* checked[2] = {reads_buf ? buf : NULL, decay ? p : NULL};
        for (ptrdiff_t lo = 0; lo < n; lo += FASTBP_SUBNORMAL_BLOCK) {
            ptrdiff_t m = n - lo < FASTBP_SUBNORMAL_BLOCK ? n - lo : FASTBP_SUBNORMAL_BLOCK;
            T* b = buf == NULL ? NULL : buf + lo;
            /* one element in 64 (bench/README.md: checking all cost an epoch 4%) */
            if (fastbp_block_is_tiny(checked, 2, lo, n, bound, 64))
                SFX(sgd_block)(p + lo, g + lo, b, m, &c, plain, first_step, 1);
            else
                SFX(sgd_block)(p + lo, g + lo, b, m, &c, plain, first_step, 0);
        }
        return;
    }
#endif
    SFX(sgd_block)(p, g, buf, n, &c, plain, first_step, 0);
}

#undef T
#undef SFX
#undef TIMES
#undef HAS_WIDE
