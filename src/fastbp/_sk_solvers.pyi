import enum

import numpy as np
from numpy.typing import NDArray

_Float = np.float32 | np.float64

class Loss(enum.IntEnum):
    SQUARED = 0
    POISSON = 1
    LOG = 2
    BINARY_LOG = 3

class OutputActivation(enum.IntEnum):
    EXP = 100

def forward(X: NDArray[_Float], coefs: list[NDArray[_Float]],
            intercepts: list[NDArray[_Float]], outs: list[NDArray[_Float]],
            activation: int, out_activation: int) -> None: ...
def loss_grad(X: NDArray[_Float], Y: NDArray[_Float], sample_weight: NDArray[_Float] | None,
              coefs: list[NDArray[_Float]], intercepts: list[NDArray[_Float]],
              coef_grads: list[NDArray[_Float]], intercept_grads: list[NDArray[_Float]],
              activations: list[NDArray[_Float]], deltas: list[NDArray[_Float]],
              activation: int, out_activation: int, loss: int, alpha: float) -> float: ...
def epoch(X: NDArray[_Float], Y: NDArray[_Float], sample_weight: NDArray[_Float] | None,
          sample_idx: NDArray[np.intp] | None, batch_size: int,
          coefs: list[NDArray[_Float]], intercepts: list[NDArray[_Float]],
          state_1: list[NDArray[_Float]], state_2: list[NDArray[_Float]],
          coef_grads: list[NDArray[_Float]], intercept_grads: list[NDArray[_Float]],
          activations: list[NDArray[_Float]], deltas: list[NDArray[_Float]],
          X_batch: NDArray[_Float], Y_batch: NDArray[_Float], sw_batch: NDArray[_Float],
          activation: int, out_activation: int, loss: int, alpha: float,
          adam: bool, learning_rate: float, momentum: float, nesterov: bool,
          beta_1: float, beta_2: float, epsilon: float, t: int) -> tuple[float, int, float]: ...
