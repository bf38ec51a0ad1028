/* fastbp_activations.h: the activations of specs/activations (v2's) in C.
 *
 * Point functions: one element, as torch's CPU kernels (aten/src/ATen/native/cpu/
 * Activation.cpp) compute it, in the same order of operations: float32 in float32
 * arithmetic (fastbp_math32.h), float64 in double (each type's math below).  The backward
 * point functions take the forward INPUT x, as the torch backwards that autograd runs for
 * them.
 * Options are cast to the element type first, as torch's Scalar.to<scalar_t>().
 *
 * Kernels: y (or gx) over n elements, any of them may be the same buffer as x (or gy)
 * (elementwise: each element is read before it is written).  Trusts: n elements each,
 * act one of the FASTBP_ACT_* codes, options as validated by fastbp._validate.
 */
#ifndef FASTBP_ACTIVATIONS_H
#define FASTBP_ACTIVATIONS_H

#include "fastbp_kernels.h" /* FASTBP_TARGET_CLONES, restrict and the float32 math */

/* The codes of the kernels (the values of _activations.Activation after v1's IDENTITY..
 * LOG_SOFTMAX = 0..5), their constants and switch cases: generated from specs/activations */
#include "fastbp_activation_table.h"

/* The point functions, once per element type: fastbp_<name>_f32 in float32 arithmetic
 * with fastbp_math32.h, fastbp_<name>_f64 in double with fastbp_kernels.h's exp, tanh
 * and log1p (branch-free, so the loops vectorize; within 1, 1.4 and 2.1 ulp) and libm's
 * expm1 and erf. */
#define T float
#define SFX(name) name##_f32
#define EXP fastbp_exp_f32
#define EXPM1 fastbp_expm1_f32
#define ERF fastbp_erf_f32
#define TANH fastbp_tanh_f32
#define LOG1P fastbp_log1p_f32
#include "fastbp_activation_points.h"
#define T double
#define SFX(name) name##_f64
#define EXP fastbp_exp
#define EXPM1 expm1
#define ERF erf
#define TANH fastbp_tanh
#define LOG1P fastbp_log1p
#include "fastbp_activation_points.h"

/* ---- kernels ------------------------------------------------------------------------------ */

/* y = f(x), n elements; p1, p2 the options (see the codes above) */
void fastbp_activation2_forward_f32(int act, const float* x, float* y, ptrdiff_t n,
                                    double p1, double p2);
void fastbp_activation2_forward_f64(int act, const double* x, double* y, ptrdiff_t n,
                                    double p1, double p2);
/* gx = gy f'(x), from the forward input x */
void fastbp_activation2_backward_f32(int act, const float* gy, const float* x, float* gx,
                                     ptrdiff_t n, double p1, double p2);
void fastbp_activation2_backward_f64(int act, const double* gy, const double* x, double* gx,
                                     ptrdiff_t n, double p1, double p2);

/* v1's sigmoid, y = 1 / (1 + e^-x), and tanh, computed in double and vectorized, n
 * elements: float32 the same floats as glibc's exp and tanh would give, float64 within
 * 2.5 and 1.4 ulp of the exact result (fastbp_activations.c) */
void fastbp_sigmoid_forward_f32(const float* x, float* y, ptrdiff_t n);
void fastbp_tanh_forward_f32(const float* x, float* y, ptrdiff_t n);
void fastbp_sigmoid_forward_f64(const double* x, double* y, ptrdiff_t n);
void fastbp_tanh_forward_f64(const double* x, double* y, ptrdiff_t n);

/* Test-only: out = f(x) by the float32 functions of fastbp_math32.h ("exp", "expm1",
 * "erf", "tanh", "log1p"); returns 0, or -1 for an unknown name. */
int fastbp_math32_apply(const char* name, const float* x, float* out, ptrdiff_t n);

#endif /* FASTBP_ACTIVATIONS_H */
