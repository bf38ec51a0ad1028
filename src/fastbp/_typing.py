"""Types of the public signatures, for mypy and editors; nothing here runs any math.

Results are float32 or float64 ndarrays (the input decides); inputs are anything
``np.asarray`` accepts.  ``LossFunction`` and ``Optimizer`` say what ``Net.train_step``
needs: any object with those methods fits, not only fastbp's own classes.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

__all__ = ["ArrayLike", "DTypeLike", "FloatArray", "LossFunction", "Optimizer", "ParameterPair"]

FloatArray = NDArray[np.floating[Any]]
ParameterPair = tuple[FloatArray, FloatArray]  # (value, grad)


class LossFunction(Protocol):
    def __call__(self, input: FloatArray, target: ArrayLike, /) -> float | FloatArray: ...

    def backward(self) -> FloatArray: ...


class Optimizer(Protocol):
    def step(self) -> None: ...
