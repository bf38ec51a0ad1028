"""Loss classes: keep the options, call ``functional``, keep the last gradient.

``loss_fn(input, target)`` computes the value and, in the same pass, the
gradient that ``loss_fn.backward()`` then returns.
"""

from __future__ import annotations

from fastbp import _validate as v
from fastbp import functional as F
from fastbp._typing import ArrayLike, FloatArray

__all__ = ["MSELoss"]


class _Loss:
    """Base: reduction handling and the backward() contract."""

    def __init__(self, reduction: str = "mean") -> None:
        v.reduction_code(reduction)
        self.reduction = reduction
        self._grad = None

    def __call__(self, input: ArrayLike, target: ArrayLike) -> float | FloatArray:
        value, self._grad = self._value_and_grad(input, target)
        return value

    def _value_and_grad(self, input, target):
        raise NotImplementedError

    def backward(self) -> FloatArray:
        """d(loss)/d(input) of the most recent call: an ndarray of input's shape and dtype.

        For reduction='none' it is the gradient of the sum of the per-element losses.
        """
        if self._grad is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before any loss was computed")
        return self._grad

    def _options(self):
        return f"reduction={self.reduction!r}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._options()})"


class MSELoss(_Loss):
    """Mean squared error, as ``torch.nn.MSELoss``: reduce((input - target)²).

    >>> loss_fn = MSELoss()
    >>> loss_fn(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 3.5]))
    0.25
    >>> loss_fn.backward()
    array([-0.33333333, -0.33333333, -0.33333333])
    """

    def _value_and_grad(self, input, target):
        return F.mse_loss_and_grad(input, target, self.reduction)
