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
    GELU = 6
    GELU_TANH = 7
    SILU = 8
    LEAKY_RELU = 9
    ELU = 10
    SOFTPLUS = 11

def forward(act: int, x: NDArray[_Float], out: NDArray[_Float], n_rows: int) -> None: ...
def backward(act: int, grad_y: NDArray[_Float], y: NDArray[_Float], out: NDArray[_Float],
             n_rows: int) -> None: ...
def forward2(act: int, x: NDArray[_Float], out: NDArray[_Float], p1: float = 0.0,
             p2: float = 0.0) -> None: ...
def backward2(act: int, grad_y: NDArray[_Float], x: NDArray[_Float], out: NDArray[_Float],
              p1: float = 0.0, p2: float = 0.0) -> None: ...
def math32(name: str, x: NDArray[np.float32], out: NDArray[np.float32]) -> None: ...
