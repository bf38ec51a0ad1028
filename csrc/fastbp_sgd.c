/* fastbp_sgd.c: see fastbp_sgd.h.  The loops are in fastbp_sgd_passes.h, once per element
 * type, with an AVX2 clone; each momentum state is a loop of its own, so that the choices
 * left inside are selects and every loop vectorizes (bench/README.md has the timings). */
#include "fastbp_kernels.h" /* FASTBP_TARGET_CLONES, FASTBP_INLINE, restrict */
#include "fastbp_subnormal.h"
#include "fastbp_sgd.h"

/* x * c rounded to T; for float32 with `wide` (cw = c) through the exact double product */
#define T float
#define SFX(name) name##_f32
#define TIMES(x, c, cw, wide) ((wide) ? (float)((double)(x) * (cw)) : (x) * (c))
#define HAS_WIDE 1
#include "fastbp_sgd_passes.h"
#define T double
#define SFX(name) name##_f64
#define TIMES(x, c, cw, wide) ((x) * (c))
#define HAS_WIDE 0
#include "fastbp_sgd_passes.h"
