"""What every loss of specs/losses/ shares: running a loss record, and the loss classes' base
(the options' watch, the last gradient, backward(), the record of the compiled step)."""

from __future__ import annotations

import numpy as np

from fastbp import _losses
from fastbp import _validate as v
from fastbp._typing import ArrayLike, FloatArray
from fastbp._watched import WatchedOptions

_NONE = _losses.Reduction.REDUCTION_NONE

# The loss classes Net.train_step's compiled step runs (exactly these: not their
# subclasses, which may compute something else), each with the options its record is made
# from when that record may serve the next step too (LossArgs.made_for), or None.
# _loss_classes.py fills it.
COMPILED: dict[type, tuple[str, ...] | None] = {}


def run_loss(args, want):
    """What ``want`` asks of the loss record ``args`` (a _losses.LossArgs): the value
    ("value"), the gradient ("grad") or both ("both"), from one kernel call."""
    input = args.input
    none = args.reduction == _NONE
    out = None
    if none and want != "grad":  # per element, or per row for the class losses
        out = np.empty(input.shape[:1] if args.per_row else input.shape, input.dtype)
    grad = np.empty_like(input) if want != "value" else None
    value = _losses.value_grad(args, out, grad)
    shape = args.shape
    if shape != input.shape:  # a class loss's (C,) or (N, C, d1, ..., dK) input
        out = None if out is None else out.reshape(v.class_target_shape(shape))
        if grad is not None and len(shape) > 2:  # the class axis back in place
            grad = np.moveaxis(grad.reshape(shape[:1] + shape[2:] + shape[1:2]), -1, 1)
        grad = None if grad is None else np.ascontiguousarray(grad).reshape(shape)
    value = out if none else float(value)
    if want == "value":
        return value
    if want == "grad":
        return grad
    return value, grad


class _Loss(WatchedOptions):
    """Base: reduction handling and the backward() contract."""

    _repr_options: tuple[str, ...] = ("reduction",)

    def __init__(self, reduction: str = "mean") -> None:
        v.reduction_code(reduction)
        self.reduction = reduction
        self._last = _losses.LossGrad()  # the last gradient, which backward() returns

    def __call__(self, input: ArrayLike, target: ArrayLike) -> float | FloatArray:
        last = self._last
        value, last.grad = run_loss(self._args(input, target), "both")
        last.is_workspace = False
        return value

    def _args(self, input, target, input_values=None):
        """The loss record (_losses.LossArgs) of one call, from this loss's options, by the
        function its functional form uses (see _validate.elementwise_loss_args for
        ``input_values``)."""
        raise NotImplementedError

    def _fused_args(self, output, target, input_values=None):
        """The record Net.train_step's compiled step runs, or None when it cannot run this
        loss: a subclass (it may compute something else) or reduction 'none' (the loss is
        then an array)."""
        cls = type(self)
        if cls not in COMPILED or self.reduction not in ("mean", "sum"):
            return None
        args = self._args(output, target, input_values)
        args.grad_cache = self._last
        names = COMPILED[cls]
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
        return ", ".join(f"{name}={_option_repr(getattr(self, name))}"
                         for name in self._repr_options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._options()})"


def _option_repr(value):
    if isinstance(value, np.ndarray):
        return f"array of shape {v.shape_str(value.shape)}"
    return repr(value)
