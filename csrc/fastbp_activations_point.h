/* fastbp_activations_point.h: the v2 activations' point functions, written once for the
 * element type T (float or double); fastbp_activations.h includes it once per type with
 * SFX (the name suffix) and EXP, EXPM1, ERF, TANH, LOG1P (that type's math) defined.
 * It undefines those macros at its end.  Every constant is cast to T, so float32 computes in float32 arithmetic, as torch does,
 * in torch's order of operations.  No include guard: included twice on purpose. */

/* x/2 (1 + erf(x/sqrt2)); at x < -5 the 1 + erf cancels, in torch too */
FASTBP_INLINE T SFX(fastbp_gelu)(T x)
{
    return x * (T)0.5 * ((T)1 + ERF(x * (T)FASTBP_GELU_ALPHA));
}

FASTBP_INLINE T SFX(fastbp_gelu_grad)(T gy, T x)
{
    T cdf = (T)0.5 + (T)0.5 * ERF(x * (T)FASTBP_GELU_ALPHA); /* = (1 + erf) / 2 exactly */
    T pdf = (T)FASTBP_GELU_PDF * EXP(x * x * (T)-0.5);
    return gy * (cdf + x * pdf);
}

FASTBP_INLINE T SFX(fastbp_gelu_tanh)(T x)
{
    T inner = (T)FASTBP_GELU_BETA * (x + (T)FASTBP_GELU_KAPPA * (x * x * x));
    return (T)0.5 * x * ((T)1 + TANH(inner));
}

FASTBP_INLINE T SFX(fastbp_gelu_tanh_grad)(T gy, T x)
{
    const T beta = (T)FASTBP_GELU_BETA, kappa = (T)FASTBP_GELU_KAPPA;
    T x_sq = x * x;
    T inner = beta * (x + kappa * (x * x * x));
    T th = TANH(inner);
    T left = (T)0.5 * x;
    T left_derivative = (T)0.5 + (T)0.5 * th; /* = right / 2 exactly */
    T tanh_derivative = (T)1 - th * th;
    T inner_derivative = beta * ((T)1 + (T)3 * kappa * x_sq);
    return gy * (left_derivative + left * tanh_derivative * inner_derivative);
}

/* x / (1 + e^-x): e^-x = inf for x below about -88.7 (float32) gives -0 */
FASTBP_INLINE T SFX(fastbp_silu)(T x) { return x / ((T)1 + EXP(-x)); }

FASTBP_INLINE T SFX(fastbp_silu_grad)(T gy, T x)
{
    T s = (T)1 / ((T)1 + EXP(-x));
    return gy * s * ((T)1 + x * ((T)1 - s));
}

/* torch: x * (x > 0 ? 1 : slope); the gradient at 0 is slope; nan stays nan */
FASTBP_INLINE T SFX(fastbp_leaky_relu)(T x, T slope) { return x * (x > (T)0 ? (T)1 : slope); }

FASTBP_INLINE T SFX(fastbp_leaky_relu_grad)(T gy, T x, T slope)
{
    return gy * (x > (T)0 ? (T)1 : slope);
}

/* torch: x > 0 ? x : expm1(x) alpha */
FASTBP_INLINE T SFX(fastbp_elu)(T x, T alpha) { return x > (T)0 ? x : EXPM1(x) * alpha; }

/* elu_backward from the input (is_result=False): x > 0 ? gy : gy alpha e^x (nan: nan, as
 * torch's vectorized path) */
FASTBP_INLINE T SFX(fastbp_elu_grad)(T gy, T x, T alpha)
{
    return x > (T)0 ? gy : gy * alpha * EXP(x);
}

/* torch: x beta > threshold ? x : log1p(e^(x beta)) / beta (the kernels run it in two
 * passes, see fastbp_activations.c) */
FASTBP_INLINE T SFX(fastbp_softplus)(T x, T beta, T threshold)
{
    T t = x * beta;
    return t > threshold ? x : LOG1P(EXP(t)) / beta;
}

FASTBP_INLINE T SFX(fastbp_softplus_grad)(T gy, T x, T beta, T threshold)
{
    T t = x * beta;
    T z = EXP(t);
    return t > threshold ? gy : gy * z / (z + (T)1);
}

#undef T
#undef SFX
#undef EXP
#undef EXPM1
#undef ERF
#undef TANH
#undef LOG1P
