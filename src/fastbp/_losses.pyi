import enum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import disjoint_base

from fastbp._options import OptionWatch

_Float = np.float32 | np.float64

class Reduction(enum.IntEnum):
    REDUCTION_NONE = 0
    REDUCTION_MEAN = 1
    REDUCTION_SUM = 2

@disjoint_base  # a cdef class: its C layout cannot be combined with another base
class LossGrad:
    grad: NDArray[_Float] | None
    is_workspace: bool
    def __init__(self, grad: NDArray[_Float] | None = None, is_workspace: bool = False
                 ) -> None: ...
    def __reduce__(self) -> Any: ...

@disjoint_base  # a cdef class: its C layout cannot be combined with another base
class LossArgs:
    input: NDArray[_Float]
    arrays: tuple[Any, ...]
    input_unchecked: bool
    shape: tuple[int, ...]
    def __new__(cls, kind: int, reduction: int, input: NDArray[_Float], target: NDArray[Any],
                weights: tuple[NDArray[_Float] | None, ...] = (), params: tuple[float, ...] = (),
                ignore_index: int = -100, label_smoothing: float = 0.0,
                input_unchecked: bool = False, shape: tuple[int, ...] | None = None
                ) -> LossArgs: ...
    @property
    def kind(self) -> int: ...
    @property
    def reduction(self) -> int: ...
    @property
    def per_row(self) -> bool: ...
    grad_cache: LossGrad | None
    def remember_options(self, watch: OptionWatch, loss: object, names: tuple[str, ...]
                         ) -> None: ...
    def made_for(self, input: object, target: object) -> bool: ...
    def mean_divisor(self) -> float: ...

def value_grad(args: LossArgs, out: NDArray[_Float] | None,
               grad: NDArray[_Float] | None) -> float: ...
def ready_pair(a: object, b: object) -> bool: ...
def count_outside_unit_interval(x: NDArray[_Float]) -> int: ...
def math_function(name: str, x: NDArray[_Float], out: NDArray[_Float]) -> None: ...
def kernel_dispatch() -> str: ...
