"""binary_cross_entropy_with_logits: the cross entropy of logits, stable for any logit."""

CLASS = "BCEWithLogitsLoss"
ORDER = 8
FAMILY = "elementwise"
# name: (annotation, default, check in the constructor); a weight is checked against the
# input's shape at each call
OPTIONS = {"weight": ("ArrayLike | None", "None", 'v.weight_option(weight, "weight")'),
           "pos_weight": ("ArrayLike | None", "None", 'v.weight_option(pos_weight, "pos_weight")')}
FUNCTION_ARGS = ("weight", "pos_weight", "reduction")
CLASS_ARGS = ("weight", "reduction", "pos_weight")
WEIGHTS = ("weight", "pos_weight")

C_POINT = r"""
/* torch binary_cross_entropy_with_logits: (1 - t) x - lw log_sigmoid(x) with
 * lw = 1 + (pos_weight - 1) t (lw = 1 without pos_weight) and
 * log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|)), stable for any x. */
FASTBP_INLINE double fastbp_log_sigmoid(double x)
{
    double min_x0 = 0.0 < x ? 0.0 : x; /* std::min(x, 0): nan stays nan */
    return min_x0 - fastbp_log1p_unit(fastbp_exp(-fabs(x)));
}

FASTBP_INLINE double fastbp_bce_logits(double x, double t, double log_weight)
{
    return (1.0 - t) * x - log_weight * fastbp_log_sigmoid(x);
}

/* d/dx: (1 - t) - lw d(log_sigmoid)/dx, the latter as torch's log_sigmoid_backward:
 * x < 0 ? 1 - z/(1+z) : z/(1+z), z = exp(-|x|) */
FASTBP_INLINE double fastbp_bce_logits_grad(double x, double t, double log_weight)
{
    double z = fastbp_exp(-fabs(x));
    double zq = z * (1.0 / (1.0 + z)); /* the reciprocal log1p_unit(z) computes too */
    double dls = x < 0.0 ? 1.0 - zq : zq;
    return (1.0 - t) - log_weight * dls;
}

/* The same two for float32 x: e^-|x| and log1p of it in float32 arithmetic (8 lanes per
 * AVX2 vector), the rest in double as above (no cancellation then: with t in [0, 1] the
 * value is at least log1p(e^-|x|), whose relative error is a float32 ulp). */
FASTBP_INLINE double fastbp_bce_logits_f32(double x, double t, double log_weight)
{
    float z = fastbp_exp_nonpositive_f32(-fabsf((float)x));
    double min_x0 = 0.0 < x ? 0.0 : x;
    return (1.0 - t) * x - log_weight * (min_x0 - (double)fastbp_log1p_unit_f32(z));
}

FASTBP_INLINE double fastbp_bce_logits_grad_f32(double x, double t, double log_weight)
{
    float z = fastbp_exp_nonpositive_f32(-fabsf((float)x));
    double zq = (double)(z * (1.0f / (1.0f + z)));
    double dls = x < 0.0 ? 1.0 - zq : zq;
    return (1.0 - t) - log_weight * dls;
}
"""
# Without pos_weight, torch's formula has no log_weight at all: lw = 1 even when t is
# inf/nan, where 1 + (1 - 1) t would be nan.
PROLOGUE = "const double lw = has_pos_weight ? 1.0 + (pos_weight - 1.0) * t : 1.0;"
VALUE = "weight * fastbp_bce_logits(x, t, lw)"
GRAD = "weight * fastbp_bce_logits_grad(x, t, lw)"
FLOAT32 = {"value": "weight * fastbp_bce_logits_f32(x, t, lw)",
           "grad": "weight * fastbp_bce_logits_grad_f32(x, t, lw)"}

FUNCTION_DOC = """
Binary cross entropy of logits x, stable for any x:
reduce(weight ((1 - t) x - lw log σ(x))), lw = 1 + (pos_weight - 1) t,
log σ(x) = min(x, 0) - log1p(exp(-|x|)).

Parameters
----------
input : array of logits (any ndim)
target : array of input's shape
weight : None or an array that broadcasts to input's shape
pos_weight : None or an array that broadcasts to input's shape, typically (C,) for the
    class (last) axis: the weight of the positive term
reduction : 'mean' | 'sum' | 'none'

Returns
-------
float for 'mean' and 'sum'; for 'none' an ndarray of input's shape and dtype.

PyTorch equivalent: ``torch.nn.functional.binary_cross_entropy_with_logits``.

>>> binary_cross_entropy_with_logits(np.array([0.0]), np.array([1.0]))
0.6931471805599453
"""

GRAD_DOC = """
d(binary_cross_entropy_with_logits)/d(input) = weight ((1 - t) - lw σ(-x)),
divided by input.size for 'mean'; for 'none' the gradient of the sum.

PyTorch equivalent: the gradient autograd computes for
``F.binary_cross_entropy_with_logits``.
"""

CLASS_DOC = """
Binary cross entropy of logits, stable for any logit.

Parameters
----------
weight : None or an array that broadcasts to the input's shape
reduction : 'mean' | 'sum' | 'none'
pos_weight : None or an array that broadcasts to the input's shape, typically (C,):
    one weight per class of the last axis for the positive term

PyTorch equivalent: ``torch.nn.BCEWithLogitsLoss``.

>>> BCEWithLogitsLoss(pos_weight=np.array([2.0]))(np.array([[0.0]]), np.array([[1.0]]))
1.3862943611198906
"""
