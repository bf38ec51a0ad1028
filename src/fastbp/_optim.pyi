import numpy as np
from numpy.typing import NDArray

_Float = np.float32 | np.float64

def sgd_step(param: NDArray[_Float], grad: NDArray[_Float],
             momentum_buffer: NDArray[_Float] | None, lr: float, momentum: float,
             dampening: float, weight_decay: float, nesterov: bool, maximize: bool,
             first_step: bool) -> None: ...
