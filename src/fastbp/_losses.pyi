import enum

import numpy as np
from numpy.typing import NDArray

_Float = np.float32 | np.float64

class Reduction(enum.IntEnum):
    REDUCTION_NONE = 0
    REDUCTION_MEAN = 1
    REDUCTION_SUM = 2

class ElementwiseLoss(enum.IntEnum):
    L1_LOSS = 0
    MSE_LOSS = 1
    SMOOTH_L1_LOSS = 2
    HUBER_LOSS = 3
    BINARY_CROSS_ENTROPY = 4
    BINARY_CROSS_ENTROPY_WITH_LOGITS = 5

def elementwise_loss(loss: int, input: NDArray[_Float], target: NDArray[_Float],
                     out: NDArray[_Float] | None, grad: NDArray[_Float] | None, reduction: int,
                     param: float = 0.0, weight: NDArray[_Float] | None = None,
                     pos_weight: NDArray[_Float] | None = None) -> float: ...
def cross_entropy(input: NDArray[_Float], target: NDArray[np.int64], out: NDArray[_Float] | None,
                  grad: NDArray[_Float] | None, reduction: int, weight: NDArray[_Float] | None,
                  ignore_index: int, label_smoothing: float) -> float: ...
def cross_entropy_probs(input: NDArray[_Float], target: NDArray[_Float],
                        out: NDArray[_Float] | None, grad: NDArray[_Float] | None,
                        reduction: int, weight: NDArray[_Float] | None,
                        label_smoothing: float) -> float: ...
def nll_loss(input: NDArray[_Float], target: NDArray[np.int64], out: NDArray[_Float] | None,
             grad: NDArray[_Float] | None, reduction: int, weight: NDArray[_Float] | None,
             ignore_index: int) -> float: ...
def count_outside_unit_interval(x: NDArray[_Float]) -> int: ...
def math_function(name: str, x: NDArray[_Float], out: NDArray[_Float]) -> None: ...
def kernel_dispatch() -> str: ...
