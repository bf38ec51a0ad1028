/* sk_solvers.c: see sk_solvers.h.  The loops are in sk_solvers_passes.h, once per element
 * type; they vectorize (sqrt too: the build passes -fno-math-errno) in the same order of
 * IEEE operations as the scalar code, so the floats do not depend on the vector width. */
#include <math.h>

#include "fastbp_kernels.h" /* FASTBP_TARGET_CLONES, restrict, the vectorizable exp */
#include "sk_solvers.h"

#define T float
#define SFX(name) name##_f32
#define SQRT sqrtf
#define EXP_NONPOSITIVE fastbp_exp_nonpositive_f32
#include "sk_solvers_passes.h"
#define T double
#define SFX(name) name##_f64
#define SQRT sqrt
#define EXP_NONPOSITIVE fastbp_exp_nonpositive
#include "sk_solvers_passes.h"
