"""Optimizers: torch.optim's update rules, one kernel call per parameter."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from fastbp import _optim
from fastbp import _validate as v
from fastbp._typing import ParameterPair
from fastbp.optim import lr_scheduler

if TYPE_CHECKING:
    from fastbp.net import Net

__all__ = ["SGD", "lr_scheduler"]


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
        self._flat = [(p.reshape(-1), g.reshape(-1)) for p, g in self.params]
        self._buffers = [None] * len(self.params)  # momentum buffers, made on the first step

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        for k, (p, g) in enumerate(self._flat):
            buf = self._buffers[k]
            first = buf is None
            if self.momentum != 0 and first:
                buf = self._buffers[k] = np.empty_like(p)
            _optim.sgd_step(p, g, buf, self.lr, self.momentum, self.dampening,
                            self.weight_decay, self.nesterov, self.maximize, first)

    def zero_grad(self) -> None:
        """Set every gradient to zero."""
        for _, g in self._flat:
            g.fill(0)

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, dampening={self.dampening}, "
                f"weight_decay={self.weight_decay}, nesterov={self.nesterov}, "
                f"maximize={self.maximize})")
