import enum

import numpy as np
from numpy.typing import NDArray

_Float = np.float32 | np.float64

class Activation(enum.IntEnum):
    IDENTITY = 0
    SIGMOID = 1
    RELU = 2
    TANH = 3
    SOFTMAX = 4
    LOG_SOFTMAX = 5

def forward(act: int, x: NDArray[_Float], out: NDArray[_Float], n_rows: int) -> None: ...
def backward(act: int, grad_y: NDArray[_Float], y: NDArray[_Float], out: NDArray[_Float],
             n_rows: int) -> None: ...
