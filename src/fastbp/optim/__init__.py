"""Optimizers: torch.optim's update rules, one kernel call per parameter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from fastbp import _optim
from fastbp import _validate as v
from fastbp._typing import ParameterPair
from fastbp.optim import lr_scheduler
from fastbp.optim._optimizers import Adagrad, Adam, AdamW, Optimizer, RMSprop

if TYPE_CHECKING:
    from fastbp.net import Net

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


class SGD(Optimizer):
    """Stochastic gradient descent with torch.optim.SGD's exact update rule.

    Parameters
    ----------
    params : a Net, or a list of (value, grad) array pairs such as ``net.parameters()``
    lr : float >= 0
    momentum : float >= 0, default 0
    dampening : float, default 0
    weight_decay : float >= 0, default 0
    nesterov : bool, default False; needs momentum > 0 and dampening == 0
    maximize : bool, default False

    For each parameter p with gradient g (``maximize`` negates g first)::

        g = g + weight_decay * p
        buf = g on the first step, else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf        (when momentum != 0)
        p = p - lr * g

    PyTorch equivalent: ``torch.optim.SGD`` (single-tensor implementation).
    """

    def __init__(self, params: Net | Iterable[ParameterPair], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(params, self._check_options(dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov, maximize=maximize)))
        self._buffers = [None] * len(self.params)  # momentum buffers, made on the first step

    _option_names = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")
    _scalar_names = ()  # torch's SGD counts no steps: "first step" is "no buffer yet"

    @staticmethod
    def _check_options(options: dict[str, Any]) -> dict[str, Any]:
        return v.sgd_options(**options)

    def _buffer_names(self, options, state):
        # Made by the first step with momentum != 0, so saved only once they exist.
        has_buffers = state is not None and bool(self.params) and "momentum_buffer.0" in state
        return ("momentum_buffer",) if has_buffers else ()

    def _scalars(self) -> dict[str, int]:
        return {}

    def _set_scalars(self, scalars: dict[str, int]) -> None:
        pass

    def _buffers_by_name(self) -> dict[str, list]:
        if not self._buffers or any(buf is None for buf in self._buffers):
            return {}
        return {"momentum_buffer": self._buffers}

    def _set_buffers(self, buffers: dict[str, list]) -> None:
        self._buffers = buffers.get("momentum_buffer", [None] * len(self.params))

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        for k, (p, g) in enumerate(self._flat):
            buf = self._buffers[k]
            first = buf is None
            if self.momentum != 0 and first:
                buf = self._buffers[k] = np.empty_like(p)
            _optim.sgd_step(p, g, buf, self.lr, self.momentum, self.dampening,
                            self.weight_decay, self.nesterov, self.maximize, first)
