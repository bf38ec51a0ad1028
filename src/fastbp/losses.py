"""Loss classes: keep the options, call ``functional``, keep the last gradient.

``loss_fn(input, target)`` computes the value and, in the same pass, the gradient that
``loss_fn.backward()`` then returns.  Options are validated once, in the constructor, and
kept as attributes (``reduction``, ``beta``, ``delta``, ``weight``, ``ignore_index``,
``label_smoothing``, ``pos_weight``); the PyTorch equivalent of each class is the
``torch.nn`` class of the same name.
"""

from __future__ import annotations

from fastbp import _losses
from fastbp import _validate as v
from fastbp import functional as F
from fastbp._losses import LossKind as _K
from fastbp._typing import ArrayLike, FloatArray
from fastbp._watched import WatchedOptions

__all__ = ["L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss",
           "BCELoss", "BCEWithLogitsLoss"]


class _Loss(WatchedOptions):
    """Base: reduction handling and the backward() contract."""

    def __init__(self, reduction: str = "mean") -> None:
        v.reduction_code(reduction)
        self.reduction = reduction
        self._last = _losses.LossGrad()  # the last gradient, which backward() returns

    def __call__(self, input: ArrayLike, target: ArrayLike) -> float | FloatArray:
        last = self._last
        value, last.grad = F._run(self._args(input, target), "both")
        last.is_workspace = False
        return value

    def _args(self, input, target, input_values=None):
        """The loss record (_losses.LossArgs) of one call, from this loss's options, by the
        _validate function its functional form uses (see elementwise_loss_args for
        ``input_values``)."""
        raise NotImplementedError

    def _fused_args(self, output, target, input_values=None):
        """The record Net.train_step's compiled step runs, or None when it cannot run this
        loss: a subclass (it may compute something else) or reduction 'none' (the loss is
        then an array)."""
        if type(self) not in _FUSED or self.reduction not in ("mean", "sum"):
            return None
        args = self._args(output, target, input_values)
        args.grad_cache = self._last
        names = _REUSABLE.get(type(self))
        if names is not None and args.arrays[0] is target:  # (not a converted copy)
            args.remember_options(self._watch, self, names)  # the next step may run it again
        return args

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        # a copy holds the same gradient, in a holder of its own: its steps leave ours alone
        state["_last"] = _losses.LossGrad(self._last.grad, self._last.is_workspace)
        return state

    @property
    def _grad(self):
        return self._last.grad

    @_grad.setter
    def _grad(self, grad):
        self._last.grad, self._last.is_workspace = grad, False

    def backward(self) -> FloatArray:
        """d(loss)/d(input) of the most recent call: an ndarray of input's shape and dtype.

        For reduction='none' it is the gradient of the sum of the per-element losses.
        """
        last = self._last
        if last.grad is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before any loss was computed")
        return last.grad.copy() if last.is_workspace else last.grad

    def _options(self):
        return f"reduction={self.reduction!r}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._options()})"


def _array_repr(arr):
    return "None" if arr is None else f"array of shape {v.shape_str(arr.shape)}"


class L1Loss(_Loss):
    """Mean absolute error: reduce(|input - target|).

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

    def _args(self, input, target, input_values=None):
        return v.elementwise_loss_args(_K.L1_LOSS, input, target, self.reduction,
                                       input_values=input_values)


class MSELoss(_Loss):
    """Mean squared error: reduce((input - target)²).

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

    def _args(self, input, target, input_values=None):
        return v.elementwise_loss_args(_K.MSE_LOSS, input, target, self.reduction,
                                       input_values=input_values)


class SmoothL1Loss(_Loss):
    """Smooth L1: quadratic below ``beta``, linear above (``beta=0`` is L1).

    Parameters
    ----------
    reduction : 'mean' | 'sum' | 'none'
    beta : float >= 0

    PyTorch equivalent: ``torch.nn.SmoothL1Loss``.

    >>> SmoothL1Loss()(np.array([1.0, 2.0, 3.0, 6.0]), np.array([1.5, 2.5, 3.5, 4.5]))
    0.34375
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = v.beta_option(beta)

    def _args(self, input, target, input_values=None):
        return v.elementwise_loss_args(_K.SMOOTH_L1_LOSS, input, target, self.reduction,
                                       v.beta_option(self.beta), input_values=input_values)

    def _options(self):
        return f"reduction={self.reduction!r}, beta={self.beta!r}"


class HuberLoss(_Loss):
    """Huber loss: quadratic below ``delta``, then linear with slope ``delta``.

    Parameters
    ----------
    reduction : 'mean' | 'sum' | 'none'
    delta : float > 0

    PyTorch equivalent: ``torch.nn.HuberLoss``.

    >>> HuberLoss(delta=2.0)(np.array([0.0, 3.0]), np.array([0.5, 0.0]))
    2.0625
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = v.delta_option(delta)

    def _args(self, input, target, input_values=None):
        return v.elementwise_loss_args(_K.HUBER_LOSS, input, target, self.reduction,
                                       v.delta_option(self.delta), input_values=input_values)

    def _options(self):
        return f"reduction={self.reduction!r}, delta={self.delta!r}"


class CrossEntropyLoss(_Loss):
    """Cross entropy of logits (N, C); targets are class indices (N,) or class
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

    def __init__(self, weight: ArrayLike | None = None, ignore_index: int = -100,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        self.weight = v.class_weight_option(weight)
        self.ignore_index = v.ignore_index_option(ignore_index)
        self.label_smoothing = v.label_smoothing_option(label_smoothing)

    def _args(self, input, target, input_values=None):
        return v.cross_entropy_args(input, target, self.weight, self.ignore_index,
                                    self.reduction, self.label_smoothing)

    def _options(self):
        return (f"weight={_array_repr(self.weight)}, ignore_index={self.ignore_index}, "
                f"reduction={self.reduction!r}, label_smoothing={self.label_smoothing!r}")


class NLLLoss(_Loss):
    """Negative log likelihood of log-probabilities (N, C) and class indices (N,).

    Parameters
    ----------
    weight : None or array (C,), a weight per class
    ignore_index : int, the class index whose rows count for nothing
    reduction : 'mean' | 'sum' | 'none'

    PyTorch equivalent: ``torch.nn.NLLLoss``.

    >>> NLLLoss()(np.log(np.array([[0.25, 0.75]])), np.array([1]))
    0.2876820724517809
    """

    def __init__(self, weight: ArrayLike | None = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = v.class_weight_option(weight)
        self.ignore_index = v.ignore_index_option(ignore_index)

    def _args(self, input, target, input_values=None):
        return v.nll_loss_args(input, target, self.weight, self.ignore_index, self.reduction)

    def _options(self):
        return (f"weight={_array_repr(self.weight)}, ignore_index={self.ignore_index}, "
                f"reduction={self.reduction!r}")


class BCELoss(_Loss):
    """Binary cross entropy of probabilities in [0, 1] (each log clamped at -100).

    Parameters
    ----------
    weight : None or an array that broadcasts to the input's shape
    reduction : 'mean' | 'sum' | 'none'

    PyTorch equivalent: ``torch.nn.BCELoss``.

    >>> loss_fn = BCELoss()
    >>> loss_fn(np.array([[0.7], [0.2], [0.9], [0.7]]), np.array([[1.0], [0.0], [1.0], [0.0]]))
    0.4722879538091761
    """

    def __init__(self, weight: ArrayLike | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = v.weight_option(weight, "weight")

    def _args(self, input, target, input_values=None):
        return v.elementwise_loss_args(_K.BINARY_CROSS_ENTROPY, input, target, self.reduction,
                                       weight=self.weight, input_values=input_values)

    def _options(self):
        return f"weight={_array_repr(self.weight)}, reduction={self.reduction!r}"


class BCEWithLogitsLoss(_Loss):
    """Binary cross entropy of logits, stable for any logit.

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

    def __init__(self, weight: ArrayLike | None = None, reduction: str = "mean",
                 pos_weight: ArrayLike | None = None) -> None:
        super().__init__(reduction)
        self.weight = v.weight_option(weight, "weight")
        self.pos_weight = v.weight_option(pos_weight, "pos_weight")

    def _args(self, input, target, input_values=None):
        return v.elementwise_loss_args(_K.BINARY_CROSS_ENTROPY_WITH_LOGITS, input, target,
                                       self.reduction, weight=self.weight,
                                       pos_weight=self.pos_weight, input_values=input_values)

    def _options(self):
        return (f"weight={_array_repr(self.weight)}, reduction={self.reduction!r}, "
                f"pos_weight={_array_repr(self.pos_weight)}")


# The classes Net.train_step's compiled step runs (exactly these: not their subclasses)
_FUSED = frozenset({L1Loss, MSELoss, SmoothL1Loss, HuberLoss, CrossEntropyLoss, NLLLoss,
                    BCELoss, BCEWithLogitsLoss})

# The losses whose record depends on the shapes and dtypes of input and target but not
# their values (not BCELoss, which checks the target's values; the class losses' indices
# made_for checks again), with the options it is made from: while those are the same
# (immutable) objects, unset since, and the arrays the same, the fused step runs the record
# again (LossArgs.made_for).
_REUSABLE = {L1Loss: ("reduction",), MSELoss: ("reduction",),
             SmoothL1Loss: ("reduction", "beta"), HuberLoss: ("reduction", "delta"),
             CrossEntropyLoss: ("reduction", "weight", "ignore_index", "label_smoothing"),
             NLLLoss: ("reduction", "weight", "ignore_index"),
             BCEWithLogitsLoss: ("reduction", "weight", "pos_weight")}
