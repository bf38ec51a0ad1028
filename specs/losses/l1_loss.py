"""l1_loss: the mean absolute error."""

CLASS = "L1Loss"
ORDER = 1
FAMILY = "elementwise"
FUNCTION_ARGS = ("reduction",)
CLASS_ARGS = ("reduction",)

C_POINT = r"""
FASTBP_INLINE double fastbp_l1(double x, double t) { return fabs(x - t); }

/* torch's l1_loss backward is sgn(x - t): -1, 0 or 1, and 0 for nan (torch.sign(nan) == 0) */
FASTBP_INLINE double fastbp_l1_grad(double x, double t)
{
    double d = x - t;
    return (double)(d > 0.0) - (double)(d < 0.0);
}
"""
VALUE = "fastbp_l1(x, t)"
GRAD = "fastbp_l1_grad(x, t)"

FUNCTION_DOC = """
Mean absolute error: reduce(|input - target|).

Parameters
----------
input, target : arrays of the same shape (any ndim)
reduction : 'mean' | 'sum' | 'none'

Returns
-------
float for 'mean' and 'sum' (nan for 'mean' over an empty input, 0.0 for 'sum');
for 'none' an ndarray of input's shape and dtype.

PyTorch equivalent: ``torch.nn.functional.l1_loss``.

>>> l1_loss(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 3.5]))
0.5
"""

GRAD_DOC = """
d(l1_loss)/d(input) = sign(input - target) (0 where they are equal or nan, as torch),
divided by input.size for 'mean'; for 'none' the gradient of the sum.

Same arguments as :func:`l1_loss`; returns an ndarray of input's shape and dtype.
PyTorch equivalent: the gradient autograd computes for ``F.l1_loss``.
"""

CLASS_DOC = """
Mean absolute error: reduce(|input - target|).

Parameters
----------
reduction : 'mean' | 'sum' | 'none'

PyTorch equivalent: ``torch.nn.L1Loss``.

>>> loss_fn = L1Loss()
>>> loss_fn(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 3.5]))
0.5
>>> loss_fn.backward()
array([-0.33333333, -0.33333333, -0.33333333])
"""
