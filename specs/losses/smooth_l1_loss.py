"""smooth_l1_loss: quadratic below beta, linear above."""

CLASS = "SmoothL1Loss"
ORDER = 3
FAMILY = "elementwise"
# name: (annotation, default, check); the check runs in the constructor and at each call
OPTIONS = {"beta": ("float", "1.0", 'v.real_number(beta, "beta", minimum=0.0)')}
FUNCTION_ARGS = ("reduction", "beta")
CLASS_ARGS = ("reduction", "beta")
PARAMS = ("beta",)

C_POINT = r"""
/* torch smooth_l1: z < beta ? 0.5 z^2 / beta : z - 0.5 beta, z = |x - t|; beta > 0 here
 * (beta == 0 is L1, as torch routes it) */
FASTBP_INLINE double fastbp_smooth_l1(double x, double t, double beta)
{
    double z = fabs(x - t);
    return z < beta ? 0.5 * z * z / beta : z - 0.5 * beta;
}

/* torch smooth_l1_backward: d < -beta ? -1 : d > beta ? 1 : d / beta (nan stays nan) */
FASTBP_INLINE double fastbp_smooth_l1_grad(double x, double t, double beta)
{
    double d = x - t;
    return d < -beta ? -1.0 : (d > beta ? 1.0 : d / beta);
}
"""
VALUE = "fastbp_smooth_l1(x, t, beta)"
GRAD = "fastbp_smooth_l1_grad(x, t, beta)"
# torch's smooth_l1_loss with beta == 0 is l1_loss, gradient included (sgn(0) = 0 where
# d / beta would be nan)
ROUTE = ("beta == 0.0", "l1_loss")

FUNCTION_DOC = """
Smooth L1: reduce(z < beta ? 0.5 z² / beta : z - 0.5 beta), z = |input - target|.

Parameters
----------
input, target : arrays of the same shape (any ndim)
reduction : 'mean' | 'sum' | 'none'
beta : float >= 0, where the loss turns from quadratic to linear; 0 gives L1 (as torch)

Returns
-------
float for 'mean' and 'sum'; for 'none' an ndarray of input's shape and dtype.

PyTorch equivalent: ``torch.nn.functional.smooth_l1_loss``.

>>> smooth_l1_loss(np.array([1.0, 2.0, 3.0, 6.0]), np.array([1.5, 2.5, 3.5, 4.5]))
0.34375
"""

GRAD_DOC = """
d(smooth_l1_loss)/d(input) = clip((input - target) / beta, -1, 1) (sign for beta=0),
divided by input.size for 'mean'; for 'none' the gradient of the sum.

PyTorch equivalent: the gradient autograd computes for ``F.smooth_l1_loss``.
"""

CLASS_DOC = """
Smooth L1: quadratic below ``beta``, linear above (``beta=0`` is L1).

Parameters
----------
reduction : 'mean' | 'sum' | 'none'
beta : float >= 0

PyTorch equivalent: ``torch.nn.SmoothL1Loss``.

>>> SmoothL1Loss()(np.array([1.0, 2.0, 3.0, 6.0]), np.array([1.5, 2.5, 3.5, 4.5]))
0.34375
"""
