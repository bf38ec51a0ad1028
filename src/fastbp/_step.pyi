from typing import Any, Sequence

from typing_extensions import disjoint_base

from fastbp.layers import Layer

# loss class -> the fused step's code for it; reduction name -> _losses.Reduction code
FUSED_LOSSES: dict[type, int]
FUSED_REDUCTIONS: dict[str, int]

@disjoint_base  # a cdef class: its C layout cannot be combined with another base
class TrainStep:
    def __new__(cls, layers: Sequence[Layer]) -> TrainStep: ...
    def run(self, x: Any, target: Any, loss_fn: Any, optimizer: Any) -> float | None: ...
