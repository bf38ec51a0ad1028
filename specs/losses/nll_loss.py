"""nll_loss: the negative log likelihood of log-probabilities."""

CLASS = "NLLLoss"
ORDER = 6
# The class losses' rows are written by hand (csrc/fastbp_kernels.c): KERNELS names the
# kernels of this spec, ARGS the _validate function that makes its record.
FAMILY = "class"
KERNELS = ("nll_loss",)
ARGS = "v.nll_loss_args(input, target, weight, ignore_index, reduction)"
# name: (annotation, default, check in the constructor); ARGS checks them at each call
OPTIONS = {"weight": ("ArrayLike | None", "None", "v.class_weight_option(weight)"),
           "ignore_index": ("int", "-100", "v.ignore_index_option(ignore_index)")}
FUNCTION_ARGS = ("weight", "ignore_index", "reduction")
CLASS_ARGS = ("weight", "ignore_index", "reduction")

FUNCTION_DOC = """
Negative log likelihood: -weight[y] input[n, y] for each row n with target y.

Parameters
----------
input : array (N, C) of log-probabilities (e.g. log_softmax output); also (C,)
    unbatched or (N, C, d1, ..., dK), as torch
target : integer class indices (N,) ((), (N, d1, ..., dK)) of any integer dtype, each
    in [0, C) or equal to ``ignore_index``
weight : None or an array (C,): a weight per class
ignore_index : int, a class index whose rows count for nothing
reduction : 'mean' | 'sum' | 'none'.  'mean' divides by the summed weights of the
    targets not ignored (nan when every target is ignored), as torch does.

Returns
-------
float for 'mean' and 'sum'; for 'none' an ndarray of the target's shape and the
input's dtype.

PyTorch equivalent: ``torch.nn.functional.nll_loss``.

>>> nll_loss(np.log(np.array([[0.25, 0.75]])), np.array([1]))
0.2876820724517809
"""

GRAD_DOC = """
d(nll_loss)/d(input), shape (N, C): -weight[y] at each row's target, 0 elsewhere and on
ignored rows, divided by the 'mean' denominator.

PyTorch equivalent: the gradient autograd computes for ``F.nll_loss``.
"""

CLASS_DOC = """
Negative log likelihood of log-probabilities (N, C) and class indices (N,).

Parameters
----------
weight : None or array (C,), a weight per class
ignore_index : int, the class index whose rows count for nothing
reduction : 'mean' | 'sum' | 'none'

PyTorch equivalent: ``torch.nn.NLLLoss``.

>>> NLLLoss()(np.log(np.array([[0.25, 0.75]])), np.array([1]))
0.2876820724517809
"""
