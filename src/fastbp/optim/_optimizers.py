"""The optimizer base (parameters, zero_grad, state_dict) and Adam, AdamW, RMSprop, Adagrad.

Each step() calls one compiled kernel per parameter (fastbp._optim); the state buffers are
flat arrays the kernels update in place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from fastbp import _optim
from fastbp import _validate as v
from fastbp._typing import ParameterPair

if TYPE_CHECKING:
    from fastbp.net import Net

__all__ = ["Optimizer", "Adam", "AdamW", "RMSprop", "Adagrad"]

# torch counts steps in a float32 tensor: the count stops at 2**24 (2**24 + 1 rounds to it).
MAX_STEP = 2**24


class Optimizer:
    """What every fastbp optimizer shares: the parameters, zero_grad and the state dict.

    A subclass names its options (``_option_names``, also its attributes), checks them with
    ``_check_options`` and lists its state buffers with ``_buffer_names``; its buffers live
    in ``_state`` (buffer name -> one flat array per parameter).
    """

    _option_names: tuple[str, ...] = ()
    _scalar_names: tuple[str, ...] = ("step",)

    def __init__(self, params: Net | Iterable[ParameterPair], options: dict[str, Any]) -> None:
        self.__dict__.update(options)
        self.params = v.parameter_pairs(params)
        self._flat = [(p.reshape(-1), g.reshape(-1)) for p, g in self.params]
        self.step_count = 0
        self._state = {name: [np.full_like(p, self._initial_value()) for p, _ in self._flat]
                       for name in self._buffer_names(options, None)}

    @staticmethod
    def _check_options(options: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _buffer_names(self, options: dict[str, Any], state: Any) -> tuple[str, ...]:
        """The state buffers these options need (``state``: a dict being loaded, or None)."""
        raise NotImplementedError

    def _initial_value(self) -> float:
        return 0.0

    def _next_step(self) -> float:
        """Count one more step (saturating as torch's float32 count); the new count."""
        self.step_count = min(self.step_count + 1, MAX_STEP)
        return float(self.step_count)

    def zero_grad(self) -> None:
        """Set every gradient to zero."""
        for _, g in self._flat:
            g.fill(0)

    def state_dict(self) -> dict[str, Any]:
        """The options, the step count and copies of the buffers (``"<buffer>.<k>"``, k the
        parameter's index in ``params``), as Python scalars and NumPy arrays."""
        state: dict[str, Any] = {name: getattr(self, name) for name in self._option_names}
        state.update(self._scalars())
        for name, arrays in self._buffers_by_name().items():
            for k, arr in enumerate(arrays):
                state[f"{name}.{k}"] = arr.reshape(self.params[k][0].shape).copy()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options, step count and buffers from ``state_dict()``'s output (copied in).

        ValueError naming the key when one is missing, unexpected or of the wrong shape;
        nothing changes unless everything fits.
        """
        options, scalars = v.optimizer_state(state_dict, self._option_names, self._scalar_names)
        options = self._check_options(options)
        names = self._buffer_names(options, state_dict)
        expected, dtypes = {}, {}
        for name in names:
            for k, (p, _) in enumerate(self.params):
                expected[f"{name}.{k}"], dtypes[f"{name}.{k}"] = p.shape, p.dtype
        arrays = v.optimizer_buffers(state_dict, self._option_names + self._scalar_names,
                                     expected, dtypes)
        self.__dict__.update(options)
        self._set_scalars(scalars)
        self._set_buffers({name: [arrays[f"{name}.{k}"].reshape(-1) for k in range(len(self.params))]
                           for name in names})

    # How the scalars and buffers are kept; SGD keeps its own (see fastbp.optim.SGD).
    def _scalars(self) -> dict[str, int]:
        return {"step": self.step_count}

    def _set_scalars(self, scalars: dict[str, int]) -> None:
        self.step_count = min(scalars["step"], MAX_STEP)

    def _buffers_by_name(self) -> dict[str, list]:
        return self._state

    def _set_buffers(self, buffers: dict[str, list]) -> None:
        self._state = buffers

    def __repr__(self) -> str:
        options = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._option_names)
        return f"{type(self).__name__}({options})"


class Adam(Optimizer):
    """Adam with torch.optim.Adam's exact single-tensor update rule.

    Parameters
    ----------
    params : a Net, or a list of (value, grad) array pairs such as ``net.parameters()``
    lr : float >= 0, default 1e-3
    betas : (float, float), each in [0, 1), default (0.9, 0.999)
    eps : float >= 0, default 1e-8
    weight_decay : float >= 0, default 0 (L2: added to the gradient)
    amsgrad : bool, default False
    maximize : bool, default False

    With t the step count, for each parameter p with gradient g (negated when maximize)::

        g = g + weight_decay * p
        m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
        vmax = maximum(vmax, v)   (amsgrad; v then stands for vmax)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    ``lr`` is read at every step (schedulers write it).

    PyTorch equivalent: ``torch.optim.Adam`` (foreach=False, fused=False).
    """

    _option_names = ("lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "maximize")
    _decoupled = False

    def __init__(self, params: Net | Iterable[ParameterPair], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False) -> None:
        beta1, beta2 = v.betas_option(betas)
        super().__init__(params, self._check_options(dict(
            lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
            amsgrad=amsgrad, maximize=maximize)))

    @staticmethod
    def _check_options(options: dict[str, Any]) -> dict[str, Any]:
        return v.adam_options(**options)

    def _buffer_names(self, options, state):
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if options["amsgrad"] else ())

    @property
    def betas(self) -> tuple[float, float]:
        """(beta1, beta2)."""
        return (self.beta1, self.beta2)

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        step = self._next_step()
        state = self._state
        vmax = state.get("max_exp_avg_sq")
        for k, (p, g) in enumerate(self._flat):
            _optim.adam_step(p, g, state["exp_avg"][k], state["exp_avg_sq"][k],
                             None if vmax is None else vmax[k], self.lr, self.beta1,
                             self.beta2, self.eps, self.weight_decay, self._decoupled,
                             self.amsgrad, self.maximize, step)


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, torch.optim.AdamW's exact update rule.

    As :class:`Adam`, except that the weight decay multiplies the parameter by
    ``1 - lr * weight_decay`` before the update instead of entering the gradient, and
    its default is 1e-2.

    PyTorch equivalent: ``torch.optim.AdamW`` (foreach=False, fused=False).
    """

    _decoupled = True

    def __init__(self, params: Net | Iterable[ParameterPair], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(Optimizer):
    """RMSprop with torch.optim.RMSprop's exact single-tensor update rule.

    Parameters
    ----------
    params : a Net, or a list of (value, grad) array pairs
    lr : float >= 0, default 1e-2
    alpha : float >= 0, default 0.99 (smoothing of the squared gradient's average)
    eps : float >= 0, default 1e-8
    weight_decay : float >= 0, default 0
    momentum : float >= 0, default 0
    centered : bool, default False (divide by the gradient's estimated variance)
    maximize : bool, default False

    For each parameter (g negated when maximize; g = g + weight_decay * p)::

        s = alpha * s + (1 - alpha) * g * g
        avg = sqrt(s - a * a) + eps, a = lerp(a, g, 1 - alpha)   (centered)
        avg = sqrt(s) + eps                                       (otherwise)
        buf = momentum * buf + g / avg;  p = p - lr * buf         (momentum > 0)
        p = p - lr * g / avg                                      (otherwise)

    PyTorch equivalent: ``torch.optim.RMSprop`` (foreach=False).
    """

    _option_names = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")

    def __init__(self, params: Net | Iterable[ParameterPair], lr: float = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, maximize: bool = False) -> None:
        super().__init__(params, self._check_options(dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
            centered=centered, maximize=maximize)))

    @staticmethod
    def _check_options(options: dict[str, Any]) -> dict[str, Any]:
        return v.rmsprop_options(**options)

    def _buffer_names(self, options, state):
        return (("square_avg",) + (("momentum_buffer",) if options["momentum"] > 0 else ())
                + (("grad_avg",) if options["centered"] else ()))

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        self._next_step()
        state = self._state
        buf, avg = state.get("momentum_buffer"), state.get("grad_avg")
        for k, (p, g) in enumerate(self._flat):
            _optim.rmsprop_step(p, g, state["square_avg"][k], None if avg is None else avg[k],
                                None if buf is None else buf[k], self.lr, self.alpha, self.eps,
                                self.weight_decay, self.momentum, self.centered, self.maximize)


class Adagrad(Optimizer):
    """Adagrad with torch.optim.Adagrad's exact single-tensor update rule.

    Parameters
    ----------
    params : a Net, or a list of (value, grad) array pairs
    lr : float >= 0, default 1e-2
    lr_decay : float >= 0, default 0
    weight_decay : float >= 0, default 0
    initial_accumulator_value : float >= 0, default 0 (the squared-gradient sum's start)
    eps : float >= 0, default 1e-10
    maximize : bool, default False

    With t the step count (g negated when maximize; g = g + weight_decay * p)::

        sum = sum + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)

    PyTorch equivalent: ``torch.optim.Adagrad`` (foreach=False, fused=False).
    """

    _option_names = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps",
                     "maximize")

    def __init__(self, params: Net | Iterable[ParameterPair], lr: float = 1e-2,
                 lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10,
                 maximize: bool = False) -> None:
        super().__init__(params, self._check_options(dict(
            lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)))

    @staticmethod
    def _check_options(options: dict[str, Any]) -> dict[str, Any]:
        return v.adagrad_options(**options)

    def _buffer_names(self, options, state):
        return ("sum",)

    def _initial_value(self) -> float:
        return self.initial_accumulator_value

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        step = self._next_step()
        sums = self._state["sum"]
        for k, (p, g) in enumerate(self._flat):
            _optim.adagrad_step(p, g, sums[k], self.lr, self.lr_decay, self.weight_decay,
                                self.eps, self.maximize, step)
