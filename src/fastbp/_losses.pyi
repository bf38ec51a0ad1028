import enum

import numpy as np
from numpy.typing import NDArray

_Float = np.float32 | np.float64

class Reduction(enum.IntEnum):
    REDUCTION_NONE = 0
    REDUCTION_MEAN = 1
    REDUCTION_SUM = 2

def mse_loss(input: NDArray[_Float], target: NDArray[_Float], out: NDArray[_Float] | None,
             grad: NDArray[_Float] | None, reduction: int) -> float: ...
