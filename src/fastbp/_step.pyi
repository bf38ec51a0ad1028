from typing import Any, Sequence

from fastbp.layers import Layer

# loss class -> the fused step's code for it; reduction name -> _losses.Reduction code
FUSED_LOSSES: dict[type, int]
FUSED_REDUCTIONS: dict[str, int]

class TrainStep:
    def __init__(self, layers: Sequence[Layer]) -> None: ...
    def run(self, x: Any, target: Any, loss_fn: Any, optimizer: Any) -> float | None: ...
