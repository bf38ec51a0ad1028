import enum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import disjoint_base

_Float = np.float32 | np.float64

class OptimizerKind(enum.IntEnum):
    OPTIM_SGD = 0
    OPTIM_ADAM = 1
    OPTIM_ADAMW = 2
    OPTIM_RMSPROP = 3
    OPTIM_ADAGRAD = 4

@disjoint_base  # a cdef class: its C layout cannot be combined with another base
class OptimizerState:
    n_params: int
    params: list[tuple[NDArray[_Float], NDArray[_Float]]]
    def __new__(cls, kind: int, params: list[tuple[NDArray[_Float], NDArray[_Float]]]
                ) -> OptimizerState: ...
    def configure(self, lr: float, momentum: float = 0.0, dampening: float = 0.0,
                  weight_decay: float = 0.0, beta1: float = 0.0, beta2: float = 0.0,
                  eps: float = 0.0, alpha: float = 0.0, lr_decay: float = 0.0,
                  initial_accumulator_value: float = 0.0, nesterov: bool = False,
                  maximize: bool = False, amsgrad: bool = False,
                  centered: bool = False) -> None: ...
    def need_buffer(self, index: int, fill_value: float = ..., ready: bool = False) -> None: ...
    def prepare(self) -> None: ...
    def reset(self, steps: int) -> None: ...
    def load_buffer(self, k: int, index: int, buf: NDArray[_Float]) -> None: ...
    def buffer(self, k: int, index: int) -> NDArray[_Float] | None: ...
    @property
    def steps(self) -> int: ...
    def step(self) -> None: ...
    def __reduce__(self) -> Any: ...
    def __setstate__(self, state: Any) -> None: ...
