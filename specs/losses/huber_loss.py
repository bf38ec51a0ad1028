"""huber_loss: quadratic below delta, then linear with slope delta."""

CLASS = "HuberLoss"
ORDER = 4
FAMILY = "elementwise"
# name: (annotation, default, check); the check runs in the constructor and at each call
OPTIONS = {"delta": ("float", "1.0", 'v.real_number(delta, "delta", minimum=0.0, strict=True)')}
FUNCTION_ARGS = ("reduction", "delta")
CLASS_ARGS = ("reduction", "delta")
PARAMS = ("delta",)

C_POINT = r"""
/* torch huber: z < delta ? 0.5 z^2 : delta (z - 0.5 delta) */
FASTBP_INLINE double fastbp_huber(double x, double t, double delta)
{
    double z = fabs(x - t);
    return z < delta ? 0.5 * z * z : delta * (z - 0.5 * delta);
}

/* torch huber_backward: d < -delta ? -delta : d > delta ? delta : d */
FASTBP_INLINE double fastbp_huber_grad(double x, double t, double delta)
{
    double d = x - t;
    return d < -delta ? -delta : (d > delta ? delta : d);
}
"""
VALUE = "fastbp_huber(x, t, delta)"
GRAD = "fastbp_huber_grad(x, t, delta)"

FUNCTION_DOC = """
Huber: reduce(z < delta ? 0.5 z² : delta (z - 0.5 delta)), z = |input - target|.

Parameters
----------
input, target : arrays of the same shape (any ndim)
reduction : 'mean' | 'sum' | 'none'
delta : float > 0

Returns
-------
float for 'mean' and 'sum'; for 'none' an ndarray of input's shape and dtype.

PyTorch equivalent: ``torch.nn.functional.huber_loss``.

>>> huber_loss(np.array([0.0, 3.0]), np.array([0.5, 0.0]), delta=2.0)
2.0625
"""

GRAD_DOC = """
d(huber_loss)/d(input) = clip(input - target, -delta, delta), divided by input.size
for 'mean'; for 'none' the gradient of the sum.

PyTorch equivalent: the gradient autograd computes for ``F.huber_loss``.
"""

CLASS_DOC = """
Huber loss: quadratic below ``delta``, then linear with slope ``delta``.

Parameters
----------
reduction : 'mean' | 'sum' | 'none'
delta : float > 0

PyTorch equivalent: ``torch.nn.HuberLoss``.

>>> HuberLoss(delta=2.0)(np.array([0.0, 3.0]), np.array([0.5, 0.0]))
2.0625
"""
