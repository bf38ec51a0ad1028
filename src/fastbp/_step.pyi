from typing import Any, Callable, Sequence

from typing_extensions import disjoint_base

from fastbp.layers import Layer

@disjoint_base  # a cdef class: its C layout cannot be combined with another base
class TrainStep:
    def __new__(cls, layers: Sequence[Layer]) -> TrainStep: ...
    compiled_steps: int
    def run(self, x: Any, target: Any, loss_fn: Any, optimizer: Any | None,
            max_grad_norm: float | None = None, rows: Any | None = None) -> float | None: ...
    def run_batches(self, x: Any, y: Any, order: Any, first: int, last: int, batch_size: int,
                    batch_target: Any, loss_fn: Any, optimizer: Any,
                    max_grad_norm: float | None, loss_sum: float, seconds: float,
                    stop: Callable[[], bool] | None = None) -> tuple[float, int]: ...
    def output_elsewhere(self) -> Any: ...
