import numpy as np
from numpy.typing import NDArray

_Float = np.float32 | np.float64

def linear(x: NDArray[_Float], weight: NDArray[_Float], bias: NDArray[_Float] | None,
           out: NDArray[_Float]) -> None: ...
def linear_backward(grad_y: NDArray[_Float], x: NDArray[_Float], weight: NDArray[_Float],
                    grad_x: NDArray[_Float] | None, grad_weight: NDArray[_Float],
                    grad_bias: NDArray[_Float] | None) -> None: ...
