import numpy as np
from numpy.typing import NDArray

_Float = np.float32 | np.float64

def sgd_step(param: NDArray[_Float], grad: NDArray[_Float],
             momentum_buffer: NDArray[_Float] | None, lr: float, momentum: float,
             dampening: float, weight_decay: float, nesterov: bool, maximize: bool,
             first_step: bool) -> None: ...
def adam_step(param: NDArray[_Float], grad: NDArray[_Float], exp_avg: NDArray[_Float],
              exp_avg_sq: NDArray[_Float], max_exp_avg_sq: NDArray[_Float] | None, lr: float,
              beta1: float, beta2: float, eps: float, weight_decay: float, decoupled: bool,
              amsgrad: bool, maximize: bool, step: float) -> None: ...
def rmsprop_step(param: NDArray[_Float], grad: NDArray[_Float], square_avg: NDArray[_Float],
                 grad_avg: NDArray[_Float] | None, momentum_buffer: NDArray[_Float] | None,
                 lr: float, alpha: float, eps: float, weight_decay: float, momentum: float,
                 centered: bool, maximize: bool) -> None: ...
def adagrad_step(param: NDArray[_Float], grad: NDArray[_Float], state_sum: NDArray[_Float],
                 lr: float, lr_decay: float, weight_decay: float, eps: float, maximize: bool,
                 step: float) -> None: ...
