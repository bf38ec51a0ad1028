/* fastbp_activations.h: the v2 activations (GELU, SiLU, LeakyReLU, ELU, Softplus) in C.
 *
 * Point functions: one element, as torch's CPU kernels (aten/src/ATen/native/cpu/
 * Activation.cpp) compute it, in the same order of operations: float32 in float32
 * arithmetic (fastbp_math32.h), float64 in double with libm.  The backward point
 * functions take the forward INPUT x (torch's gelu/silu/softplus/leaky_relu backwards do;
 * for elu it is elu_backward(..., is_result=False, self), what autograd runs for F.elu).
 * Options are cast to the element type first, as torch's Scalar.to<scalar_t>().
 *
 * Kernels: y (or gx) over n elements, any of them may be the same buffer as x (or gy)
 * (elementwise: each element is read before it is written).  Trusts: n elements each,
 * act one of the FASTBP_ACT_* codes, options as validated by fastbp/_validate.py.
 */
#ifndef FASTBP_ACTIVATIONS_H
#define FASTBP_ACTIVATIONS_H

#include "fastbp_math32.h"

/* The values of _activations.Activation (after v1's IDENTITY..LOG_SOFTMAX = 0..5) */
#define FASTBP_ACT_GELU 6
#define FASTBP_ACT_GELU_TANH 7
#define FASTBP_ACT_SILU 8
#define FASTBP_ACT_LEAKY_RELU 9 /* p1: negative_slope */
#define FASTBP_ACT_ELU 10       /* p1: alpha */
#define FASTBP_ACT_SOFTPLUS 11  /* p1: beta, p2: threshold */

/* torch's constants: M_SQRT1_2; M_2_SQRTPI * M_SQRT1_2 * 0.5 = 1/sqrt(2 pi);
 * M_SQRT2 * M_2_SQRTPI * 0.5 = sqrt(2/pi); 0.044715 */
#define FASTBP_GELU_ALPHA 0.70710678118654752440
#define FASTBP_GELU_PDF 0.39894228040143267794
#define FASTBP_GELU_BETA 0.79788456080286535588
#define FASTBP_GELU_KAPPA 0.044715

/* ---- float32 ---------------------------------------------------------------------------- */

/* x/2 (1 + erf(x/sqrt2)); at x < -5 the 1 + erf cancels, in torch too */
FASTBP_INLINE float fastbp_gelu_f32(float x)
{
    return x * 0.5f * (1.0f + fastbp_erf_f32(x * (float)FASTBP_GELU_ALPHA));
}

FASTBP_INLINE float fastbp_gelu_grad_f32(float gy, float x)
{
    float cdf = 0.5f * (1.0f + fastbp_erf_f32(x * (float)FASTBP_GELU_ALPHA));
    float pdf = (float)FASTBP_GELU_PDF * fastbp_exp_f32(x * x * -0.5f);
    return gy * (cdf + x * pdf);
}

FASTBP_INLINE float fastbp_gelu_tanh_f32(float x)
{
    float inner = (float)FASTBP_GELU_BETA * (x + (float)FASTBP_GELU_KAPPA * (x * x * x));
    return 0.5f * x * (1.0f + fastbp_tanh_f32(inner));
}

FASTBP_INLINE float fastbp_gelu_tanh_grad_f32(float gy, float x)
{
    const float beta = (float)FASTBP_GELU_BETA, kappa = (float)FASTBP_GELU_KAPPA;
    float x_sq = x * x;
    float inner = beta * (x + kappa * (x * x * x));
    float th = fastbp_tanh_f32(inner);
    float left = 0.5f * x, right = 1.0f + th;
    float left_derivative = 0.5f * right;
    float tanh_derivative = 1.0f - th * th;
    float inner_derivative = beta * (1.0f + 3.0f * kappa * x_sq);
    return gy * (left_derivative + left * tanh_derivative * inner_derivative);
}

/* x / (1 + e^-x): e^-x = inf for x < -88.7 gives -0 */
FASTBP_INLINE float fastbp_silu_f32(float x) { return x / (1.0f + fastbp_exp_f32(-x)); }

FASTBP_INLINE float fastbp_silu_grad_f32(float gy, float x)
{
    float s = 1.0f / (1.0f + fastbp_exp_f32(-x));
    return gy * s * (1.0f + x * (1.0f - s));
}

/* torch: x * (x > 0 ? 1 : slope); the gradient at 0 is slope; nan stays nan */
FASTBP_INLINE float fastbp_leaky_relu_f32(float x, float slope)
{
    return x * (x > 0.0f ? 1.0f : slope);
}

FASTBP_INLINE float fastbp_leaky_relu_grad_f32(float gy, float x, float slope)
{
    return gy * (x > 0.0f ? 1.0f : slope);
}

/* torch: x > 0 ? x : expm1(x) alpha */
FASTBP_INLINE float fastbp_elu_f32(float x, float alpha)
{
    return x > 0.0f ? x : fastbp_expm1_f32(x) * alpha;
}

/* elu_backward from the input (is_result=False): x > 0 ? gy : gy alpha e^x */
FASTBP_INLINE float fastbp_elu_grad_f32(float gy, float x, float alpha)
{
    return x > 0.0f ? gy : gy * alpha * fastbp_exp_f32(x);
}

/* torch: x beta > threshold ? x : log1p(e^(x beta)) / beta */
FASTBP_INLINE float fastbp_softplus_f32(float x, float beta, float threshold)
{
    float t = x * beta;
    return t > threshold ? x : fastbp_log1p_f32(fastbp_exp_f32(t)) / beta;
}

FASTBP_INLINE float fastbp_softplus_grad_f32(float gy, float x, float beta, float threshold)
{
    float t = x * beta;
    float z = fastbp_exp_f32(t);
    return t > threshold ? gy : gy * z / (z + 1.0f);
}

/* ---- float64: the same formulas with libm ------------------------------------------------ */

FASTBP_INLINE double fastbp_gelu_f64(double x)
{
    return x * 0.5 * (1.0 + erf(x * FASTBP_GELU_ALPHA));
}

FASTBP_INLINE double fastbp_gelu_grad_f64(double gy, double x)
{
    double cdf = 0.5 * (1.0 + erf(x * FASTBP_GELU_ALPHA));
    double pdf = FASTBP_GELU_PDF * exp(x * x * -0.5);
    return gy * (cdf + x * pdf);
}

FASTBP_INLINE double fastbp_gelu_tanh_f64(double x)
{
    double inner = FASTBP_GELU_BETA * (x + FASTBP_GELU_KAPPA * (x * x * x));
    return 0.5 * x * (1.0 + tanh(inner));
}

FASTBP_INLINE double fastbp_gelu_tanh_grad_f64(double gy, double x)
{
    double x_sq = x * x;
    double inner = FASTBP_GELU_BETA * (x + FASTBP_GELU_KAPPA * (x * x * x));
    double th = tanh(inner);
    double left = 0.5 * x, right = 1.0 + th;
    double left_derivative = 0.5 * right;
    double tanh_derivative = 1.0 - th * th;
    double inner_derivative = FASTBP_GELU_BETA * (1.0 + 3.0 * FASTBP_GELU_KAPPA * x_sq);
    return gy * (left_derivative + left * tanh_derivative * inner_derivative);
}

FASTBP_INLINE double fastbp_silu_f64(double x) { return x / (1.0 + exp(-x)); }

FASTBP_INLINE double fastbp_silu_grad_f64(double gy, double x)
{
    double s = 1.0 / (1.0 + exp(-x));
    return gy * s * (1.0 + x * (1.0 - s));
}

FASTBP_INLINE double fastbp_leaky_relu_f64(double x, double slope)
{
    return x * (x > 0.0 ? 1.0 : slope);
}

FASTBP_INLINE double fastbp_leaky_relu_grad_f64(double gy, double x, double slope)
{
    return gy * (x > 0.0 ? 1.0 : slope);
}

FASTBP_INLINE double fastbp_elu_f64(double x, double alpha)
{
    return x > 0.0 ? x : expm1(x) * alpha;
}

FASTBP_INLINE double fastbp_elu_grad_f64(double gy, double x, double alpha)
{
    return x > 0.0 ? gy : gy * alpha * exp(x);
}

FASTBP_INLINE double fastbp_softplus_f64(double x, double beta, double threshold)
{
    double t = x * beta;
    return t > threshold ? x : log1p(exp(t)) / beta;
}

FASTBP_INLINE double fastbp_softplus_grad_f64(double gy, double x, double beta, double threshold)
{
    double t = x * beta;
    double z = exp(t);
    return t > threshold ? gy : gy * z / (z + 1.0);
}

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

/* Test-only: out = f(x) by the float32 functions of fastbp_math32.h ("exp", "expm1",
 * "erf", "tanh", "log1p"); returns 0, or -1 for an unknown name. */
int fastbp_math32_apply(const char* name, const float* x, float* out, ptrdiff_t n);

#endif /* FASTBP_ACTIVATIONS_H */
