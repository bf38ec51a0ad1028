import numpy as np
from typing_extensions import disjoint_base
from numpy.typing import NDArray

_Float = np.float32 | np.float64

@disjoint_base  # a cdef class: its C layout cannot be combined with another base
class FlatBuffer:
    def __new__(cls, arrays: list[NDArray[_Float]], flat: NDArray[_Float]) -> FlatBuffer: ...
    def gather(self) -> None: ...
    def scatter(self, factor: float = 1.0) -> None: ...
