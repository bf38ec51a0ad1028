"""cross_entropy: the negative log of softmax(input) at the target class."""

CLASS = "CrossEntropyLoss"
ORDER = 5
# The class losses' rows are written by hand (csrc/fastbp_kernels.c): KERNELS names the
# kernels of this spec, ARGS the _validate function that makes its record.
FAMILY = "class"
KERNELS = ("cross_entropy", "cross_entropy_probs")
ARGS = "v.cross_entropy_args(input, target, weight, ignore_index, reduction, label_smoothing)"
# name: (annotation, default, check in the constructor); ARGS checks them at each call
OPTIONS = {"weight": ("ArrayLike | None", "None", "v.class_weight_option(weight)"),
           "ignore_index": ("int", "-100", "v.ignore_index_option(ignore_index)"),
           "label_smoothing": ("float", "0.0", "v.label_smoothing_option(label_smoothing)")}
FUNCTION_ARGS = ("weight", "ignore_index", "reduction", "label_smoothing")
CLASS_ARGS = ("weight", "ignore_index", "reduction", "label_smoothing")

FUNCTION_DOC = """
Cross entropy of logits: the negative log of softmax(input) at the target class.

Parameters
----------
input : array (N, C) of logits; also (C,) unbatched or (N, C, d1, ..., dK), as torch
target : integer class indices (N,) ((), (N, d1, ..., dK)) of any integer dtype, each in
    [0, C) or equal to ``ignore_index``; or class probabilities of the input's shape
weight : None or an array (C,): a weight per class
ignore_index : int, a class index whose rows count for nothing (index targets only;
    it must be negative with probability targets, as in torch)
reduction : 'mean' | 'sum' | 'none'.  'mean' divides by the summed weights of the
    targets not ignored (index targets; nan when every target is ignored) or by N
    (probability targets), as torch does.
label_smoothing : float in [0, 1]: the target becomes (1 - ε) target + ε/C

Returns
-------
float for 'mean' and 'sum'; for 'none' an ndarray of the index target's shape and the
input's dtype (0 for ignored rows).

PyTorch equivalent: ``torch.nn.functional.cross_entropy``.

>>> logits = np.array([[1.5, 2.0, 0.5], [0.5, 1.0, 1.5]], dtype=np.float32)
>>> cross_entropy(logits, np.array([1, 2]))
0.6422001123428345
"""

GRAD_DOC = """
d(cross_entropy)/d(input), shape (N, C): for index targets y without smoothing
weight[y] (softmax(input) - onehot(y)), divided by the 'mean' denominator; ignored rows
are 0.  For 'none' the gradient of the sum.

PyTorch equivalent: the gradient autograd computes for ``F.cross_entropy``.
"""

CLASS_DOC = """
Cross entropy of logits (N, C); targets are class indices (N,) or class
probabilities (N, C).  See :func:`fastbp.functional.cross_entropy`.

Parameters
----------
weight : None or array (C,), a weight per class
ignore_index : int, the class index whose rows count for nothing
reduction : 'mean' | 'sum' | 'none'
label_smoothing : float in [0, 1]

PyTorch equivalent: ``torch.nn.CrossEntropyLoss``.

>>> loss_fn = CrossEntropyLoss()
>>> loss_fn(np.array([[1.5, 2.0, 0.5], [0.5, 1.0, 1.5]], np.float32), np.array([1, 2]))
0.6422001123428345
"""
