"""binary_cross_entropy: the cross entropy of probabilities."""

CLASS = "BCELoss"
ORDER = 7
FAMILY = "elementwise"
# name: (annotation, default, check in the constructor); a weight is checked against the
# input's shape at each call
OPTIONS = {"weight": ("ArrayLike | None", "None", 'v.weight_option(weight, "weight")')}
FUNCTION_ARGS = ("weight", "reduction")
CLASS_ARGS = ("weight", "reduction")
WEIGHTS = ("weight",)
# input and target values in [0, 1] (torch raises otherwise)
UNIT_INTERVAL = True

C_POINT = r"""
/* torch binary_cross_entropy: (t - 1) max(log(1 - p), -100) - t max(log p, -100); the
 * clamp keeps p = 0 or 1 finite.  p in [0, 1] (validated: torch raises otherwise). */
FASTBP_INLINE double fastbp_bce(double p, double t)
{
    double log_p = fastbp_log(p), log_q = fastbp_log1p(-p);
    log_p = log_p < -100.0 ? -100.0 : log_p;
    log_q = log_q < -100.0 ? -100.0 : log_q;
    return (t - 1.0) * log_q - t * log_p;
}

/* torch binary_cross_entropy_backward: (p - t) / max((1 - p) p, EPSILON), not the derivative
 * of the clamped value.  torch's EPSILON is the float 1e-12f in float64 too: its float64
 * gradient at p = 0, t = 1 is -1000000003995.80 = -1 / (double)1e-12f. */
FASTBP_INLINE double fastbp_bce_grad(double p, double t)
{
    const double eps = (double)1e-12f;
    double pq = (1.0 - p) * p;
    return (p - t) / (pq < eps ? eps : pq);
}

/* The same two in float32 arithmetic, as torch computes them for float32 tensors. */
FASTBP_INLINE float fastbp_bce_f32(float p, float t)
{
    float log_p = fastbp_log_unit_f32(p), log_q = fastbp_log1m_unit_f32(p);
    log_p = log_p < -100.0f ? -100.0f : log_p;
    log_q = log_q < -100.0f ? -100.0f : log_q;
    return (t - 1.0f) * log_q - t * log_p;
}

FASTBP_INLINE float fastbp_bce_grad_f32(float p, float t)
{
    float pq = (1.0f - p) * p;
    return (p - t) / (pq < 1e-12f ? 1e-12f : pq);
}
"""
# torch multiplies the per-element loss by the weight, then reduces; the backward
# multiplies the gradient by the same weight, then divides it by n for 'mean'.  float32
# in float32 arithmetic in exactly that order (torch's gradient to the bit, and 3x faster:
# see fastbp_log_unit_f32); float64 in double with 1/n folded into one product.
VALUE = "weight * fastbp_bce(x, t)"
GRAD = "weight * fastbp_bce_grad(x, t)"
FLOAT32 = {"arithmetic": "float", "value": "weight * fastbp_bce_f32(x, t)",
           "grad": "fastbp_bce_grad_f32(x, t) * weight"}

FUNCTION_DOC = """
Binary cross entropy of probabilities:
reduce(-weight (t max(log p, -100) + (1 - t) max(log(1 - p), -100))).

Parameters
----------
input : array of probabilities p in [0, 1] (any ndim; nan or outside: ValueError, as
    torch raises)
target : array of input's shape, values in [0, 1]
weight : None or an array that broadcasts to input's shape (without changing it)
reduction : 'mean' | 'sum' | 'none'

Returns
-------
float for 'mean' and 'sum'; for 'none' an ndarray of input's shape and dtype.
Each log is clamped at -100, so p = 0 or 1 gives a finite loss, as in torch.

PyTorch equivalent: ``torch.nn.functional.binary_cross_entropy``.

>>> binary_cross_entropy(np.array([0.5, 1.0]), np.array([1.0, 0.0]), reduction="none")
array([  0.69314718, 100.        ])
"""

GRAD_DOC = """
d(binary_cross_entropy)/d(input) as torch computes it:
weight (p - t) / max(p (1 - p), 1e-12) (not the derivative of the clamped value),
divided by input.size for 'mean'; for 'none' the gradient of the sum.

PyTorch equivalent: the gradient autograd computes for ``F.binary_cross_entropy``.
"""

CLASS_DOC = """
Binary cross entropy of probabilities in [0, 1] (each log clamped at -100).

Parameters
----------
weight : None or an array that broadcasts to the input's shape
reduction : 'mean' | 'sum' | 'none'

PyTorch equivalent: ``torch.nn.BCELoss``.

>>> loss_fn = BCELoss()
>>> loss_fn(np.array([[0.7], [0.2], [0.9], [0.7]]), np.array([[1.0], [0.0], [1.0], [0.0]]))
0.4722879538091761
"""
