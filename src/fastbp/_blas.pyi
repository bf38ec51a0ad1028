import numpy as np
from numpy.typing import NDArray

_Float = np.float32 | np.float64

def gemm_memview(trans_a: bool, trans_b: bool, alpha: float, a: NDArray[_Float],
                 b: NDArray[_Float], beta: float, c: NDArray[_Float]) -> None: ...
