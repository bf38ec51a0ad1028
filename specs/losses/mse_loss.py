"""mse_loss: the mean squared error."""

CLASS = "MSELoss"
ORDER = 2
FAMILY = "elementwise"
FUNCTION_ARGS = ("reduction",)
CLASS_ARGS = ("reduction",)

C_POINT = r"""
FASTBP_INLINE double fastbp_mse(double x, double t) { return (x - t) * (x - t); }

FASTBP_INLINE double fastbp_mse_grad(double x, double t) { return 2.0 * (x - t); }
"""
VALUE = "fastbp_mse(x, t)"
GRAD = "fastbp_mse_grad(x, t)"

FUNCTION_DOC = """
Mean squared error: reduce((input - target)²).

Parameters
----------
input, target : arrays of the same shape (any ndim)
reduction : 'mean' | 'sum' | 'none'

Returns
-------
float for 'mean' and 'sum' (nan for 'mean' over an empty input, 0.0 for 'sum');
for 'none' an ndarray of input's shape and dtype.

PyTorch equivalent: ``torch.nn.functional.mse_loss``.

>>> mse_loss(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 3.5]))
0.25
"""

GRAD_DOC = """
d(mse_loss)/d(input) = 2 (input - target), divided by input.size for 'mean'.

For reduction='none' it is the gradient of the sum of the per-element losses.
Returns an ndarray of input's shape and dtype.
PyTorch equivalent: the gradient autograd computes for ``F.mse_loss``.
"""

CLASS_DOC = """
Mean squared error: reduce((input - target)²).

Parameters
----------
reduction : 'mean' | 'sum' | 'none'

PyTorch equivalent: ``torch.nn.MSELoss``.

>>> loss_fn = MSELoss()
>>> loss_fn(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 3.5]))
0.25
>>> loss_fn.backward()
array([-0.33333333, -0.33333333, -0.33333333])
"""
