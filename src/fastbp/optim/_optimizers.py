"""The optimizer base (parameters, zero_grad, state_dict) and SGD, Adam, AdamW, RMSprop, Adagrad.

Each optimizer fills one record (``_optim.OptimizerState``: its rule's code, its options
as they are now, its state buffers) that ``step()`` and ``Net.train_step``'s compiled step
both run: one nogil update kernel per parameter.  A new optimizer: a code, an update
kernel and a case in ``_optim``, and a class here that names its options and buffers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from fastbp import _optim
from fastbp import _validate as v
from fastbp._optim import OptimizerKind
from fastbp._typing import ParameterPair
from fastbp._watched import WatchedOptions

if TYPE_CHECKING:
    from fastbp.net import Net

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


class Optimizer(WatchedOptions):
    """What every fastbp optimizer shares: the parameters, zero_grad and the state dict.

    A subclass gives its rule (``_kind``), names its options (``_option_names``, also its
    attributes, checked by ``_options_check``, a _validate function of those names), its
    state buffers in the record's order (``_buffer_names``) and which of them the options
    need, with their initial value (``_needed_buffers``).

    ``state_dict()`` holds the options by their attribute names (Adam's betas as ``beta1``
    and ``beta2``), the step count ``step`` and the buffers made so far as
    ``"<buffer>.<k>"``, e.g. ``"exp_avg.0"`` for the first parameter's first moment
    (torch's state names).

    PyTorch equivalent: ``torch.optim.Optimizer`` (one parameter group).
    """

    _kind: int
    _option_names: tuple[str, ...] = ()
    _scalar_names: tuple[str, ...] = ("step",)
    _buffer_names: tuple[str, ...] = ()
    _options_check: Callable[..., dict[str, Any]]

    def __init__(self, params: Net | Iterable[ParameterPair], **options: Any) -> None:
        self.__dict__.update(self._options_check(**options))
        self.params = v.parameter_pairs(params)
        self._state = _optim.OptimizerState(self._kind, self.params)

    def _needed_buffers(self, o: dict[str, Any]) -> list[tuple[int, float]]:
        """[(buffer index, initial value)] of the buffers the options ``o`` need (nan: made
        empty, for a rule whose first update writes it)."""
        raise NotImplementedError

    def _record(self) -> Any:
        """The record the update runs on: the options as they are now (a scheduler may
        have changed lr), and the buffers asked for as torch makes its state, lazily.
        (Options that are the same objects as at the last call leave it as it is.)"""
        state = self._state
        if not state.configured():
            state.configure(**{name: getattr(self, name) for name in self._option_names})
            for index, value in self._needed_buffers(vars(self)):
                state.need_buffer(index, value, ready=value == value)
            state.remember_options(self._watch, self, self._option_names)
        return state

    def _fused_record(self) -> Any:
        """The record for Net.train_step's compiled step; None for a subclass defined
        elsewhere (it may step differently) or after ``params`` was replaced."""
        if type(self).__module__ != __name__ or self.params is not self._state.params:
            return None
        return self._record()

    def step(self) -> None:
        """Update every parameter in place from its current gradient."""
        self._record().step()

    def zero_grad(self) -> None:
        """Set every gradient to zero."""
        for _, g in self.params:
            g.fill(0)

    def state_dict(self) -> dict[str, Any]:
        """The options, the step count and copies of the buffers made so far
        (``"<buffer>.<k>"``, k the parameter's index in ``params``)."""
        state: dict[str, Any] = {name: getattr(self, name) for name in self._option_names}
        if self._scalar_names:
            state["step"] = self._state.steps
        for index, name in enumerate(self._buffer_names):
            for k, (p, _) in enumerate(self.params):
                buf = self._state.buffer(k, index)
                if buf is not None:
                    state[f"{name}.{k}"] = buf.reshape(p.shape).copy()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options, step count and buffers from ``state_dict()``'s output (copied in).

        ValueError naming the key when one is missing, unexpected or of the wrong shape;
        nothing changes unless everything fits.
        """
        options, scalars = v.optimizer_state(state_dict, self._option_names, self._scalar_names)
        options = self._options_check(**options)
        names = [name for name in self._buffer_names
                 if any(key.startswith(name + ".") for key in state_dict)]
        if names:  # a state that has stepped holds every buffer its options need
            names = sorted({*names, *(self._buffer_names[index]
                                      for index, _ in self._needed_buffers(options))},
                           key=self._buffer_names.index)
        expected, dtypes = {}, {}
        for name in names:
            for k, (p, _) in enumerate(self.params):
                expected[f"{name}.{k}"], dtypes[f"{name}.{k}"] = p.shape, p.dtype
        arrays = v.optimizer_buffers(state_dict, self._option_names + self._scalar_names,
                                     expected, dtypes)
        self.__dict__.update(options)
        self._watch.changed()
        self._state.reset(scalars.get("step", 0))
        for name in names:
            index = self._buffer_names.index(name)
            for k in range(len(self.params)):
                self._state.load_buffer(k, index, arrays[f"{name}.{k}"].reshape(-1))

    def __repr__(self) -> str:
        options = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._option_names)
        return f"{type(self).__name__}({options})"


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

    _kind = OptimizerKind.OPTIM_SGD
    _option_names = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")
    _scalar_names = ()  # torch's SGD counts no steps: "first step" is "no buffer yet"
    _buffer_names = ("momentum_buffer",)
    _options_check = staticmethod(v.sgd_options)

    def __init__(self, params: Net | Iterable[ParameterPair], lr: float, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(
            params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov, maximize=maximize)

    def _needed_buffers(self, o):
        # made empty: the first update with momentum copies the gradient into it
        return [(0, float("nan"))] if o["momentum"] != 0 else []

    @property
    def _buffers(self) -> list:
        """The momentum buffer of each parameter (flat), None before its first use."""
        return [self._state.buffer(k, 0) for k in range(len(self.params))]


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

    _kind = OptimizerKind.OPTIM_ADAM
    _option_names = ("lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad", "maximize")
    _buffer_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _options_check = staticmethod(v.adam_options)

    def __init__(self, params: Net | Iterable[ParameterPair], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False) -> None:
        beta1, beta2 = v.betas_option(betas)
        super().__init__(
            params, lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
            amsgrad=amsgrad, maximize=maximize)

    @property
    def betas(self) -> tuple[float, float]:
        """(beta1, beta2)."""
        return (self.beta1, self.beta2)

    def _needed_buffers(self, o):
        return [(0, 0.0), (1, 0.0)] + ([(2, 0.0)] if o["amsgrad"] else [])


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, torch.optim.AdamW's exact update rule.

    As :class:`Adam`, except that the weight decay multiplies the parameter by
    ``1 - lr * weight_decay`` before the update instead of entering the gradient, and
    its default is 1e-2.

    PyTorch equivalent: ``torch.optim.AdamW`` (foreach=False, fused=False).
    """

    _kind = OptimizerKind.OPTIM_ADAMW

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

    _kind = OptimizerKind.OPTIM_RMSPROP
    _option_names = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")
    _buffer_names = ("square_avg", "momentum_buffer", "grad_avg")
    _options_check = staticmethod(v.rmsprop_options)

    def __init__(self, params: Net | Iterable[ParameterPair], lr: float = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, maximize: bool = False) -> None:
        super().__init__(
            params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
            centered=centered, maximize=maximize)

    def _needed_buffers(self, o):
        return ([(0, 0.0)] + ([(1, 0.0)] if o["momentum"] > 0 else [])
                + ([(2, 0.0)] if o["centered"] else []))


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

    _kind = OptimizerKind.OPTIM_ADAGRAD
    _option_names = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps",
                     "maximize")
    _buffer_names = ("sum",)
    _options_check = staticmethod(v.adagrad_options)

    def __init__(self, params: Net | Iterable[ParameterPair], lr: float = 1e-2,
                 lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10,
                 maximize: bool = False) -> None:
        super().__init__(
            params, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)

    def _needed_buffers(self, o):
        return [(0, o["initial_accumulator_value"])]
