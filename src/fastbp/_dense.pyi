from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import disjoint_base

_Float = np.float32 | np.float64

def linear(x: NDArray[_Float], weight: NDArray[_Float], bias: NDArray[_Float] | None,
           out: NDArray[_Float]) -> None: ...
def linear_backward(grad_y: NDArray[_Float], x: NDArray[_Float], weight: NDArray[_Float],
                    grad_x: NDArray[_Float] | None, grad_weight: NDArray[_Float],
                    grad_bias: NDArray[_Float] | None) -> None: ...

@disjoint_base  # a cdef class: its C layout cannot be combined with another base
class ForwardCache:
    x: NDArray[_Float] | None
    z: NDArray[_Float] | None
    y: NDArray[_Float] | None
    def __init__(self, x: NDArray[_Float] | None = None, z: NDArray[_Float] | None = None,
                 y: NDArray[_Float] | None = None) -> None: ...
    def __reduce__(self) -> Any: ...

@disjoint_base  # a cdef class: its C layout cannot be combined with another base
class LayerArgs:
    arrays: tuple[NDArray[_Float] | None, ...]
    cache: ForwardCache | None
    def __new__(cls, weight: NDArray[_Float], bias: NDArray[_Float] | None,
                grad_weight: NDArray[_Float], grad_bias: NDArray[_Float] | None, act: int,
                option0: float = 0.0, option1: float = 0.0, flag: int = 0,
                cache: ForwardCache | None = None) -> LayerArgs: ...
