/* fastbp_dense.c: see fastbp_dense.h.  The loops are in fastbp_dense_passes.h, once per
 * element type, with an AVX2 clone (they vectorize: the cases that would need a branch in
 * the loop, bias or not, ReLU or not, gz in place or not, are separate loops). */
#include "fastbp_kernels.h" /* FASTBP_TARGET_CLONES, FASTBP_INLINE, restrict */
#include "fastbp_dense.h"

#define T float
#define SFX(name) name##_f32
#include "fastbp_dense_passes.h"
#define T double
#define SFX(name) name##_f64
#include "fastbp_dense_passes.h"
