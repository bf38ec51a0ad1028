"""Optimizers: torch.optim's update rules, one kernel call per parameter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from fastbp import _optim
from fastbp import _validate as v
from fastbp._typing import ParameterPair

if TYPE_CHECKING:
    from fastbp.net import Net

__all__ = ["SGD"]

_MOMENTUM_BUFFER = 0  # SGD's state buffer


class SGD:
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
        self.lr = v.real_number(lr, "lr", minimum=0.0)
        self.momentum = v.real_number(momentum, "momentum", minimum=0.0)
        self.dampening = v.real_number(dampening, "dampening")
        self.weight_decay = v.real_number(weight_decay, "weight_decay", minimum=0.0)
        for flag, name in ((nesterov, "nesterov"), (maximize, "maximize")):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name}: expected True or False, got {flag!r}")
        self.nesterov, self.maximize = bool(nesterov), bool(maximize)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov: Nesterov momentum requires momentum > 0 and dampening == 0, "
                             f"got momentum={self.momentum}, dampening={self.dampening}")
        self.params = v.parameter_pairs(params)
        self._state = _optim.OptimizerState(_optim.OptimizerKind.OPTIM_SGD, self.params)

    def _fused_record(self):
        """The record Net.train_step's compiled step updates with; None for a subclass,
        which may step differently, or after ``params`` was replaced."""
        if type(self) is not SGD or self.params is not self._state.params:
            return None
        return self._record()

    def _record(self):
        """The record optimizer_step runs (step() and the compiled step): the options as
        they are now, and the momentum buffers made as torch makes them."""
        state = self._state
        state.configure(self.lr, momentum=self.momentum, dampening=self.dampening,
                        weight_decay=self.weight_decay, nesterov=self.nesterov,
                        maximize=self.maximize)
        if self.momentum != 0:
            state.need_buffer(_MOMENTUM_BUFFER)  # the first update copies into it
        return state

    @property
    def _buffers(self):
        """The momentum buffer of each parameter (flat), None before its first use."""
        return [self._state.buffer(k, _MOMENTUM_BUFFER) for k in range(len(self.params))]

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        self._record().step()

    def zero_grad(self) -> None:
        """Set every gradient to zero."""
        for _, g in self.params:
            g.fill(0)

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, dampening={self.dampening}, "
                f"weight_decay={self.weight_decay}, nesterov={self.nesterov}, "
                f"maximize={self.maximize})")
