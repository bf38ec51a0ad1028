"""Activations: names and options, and the arguments of the functional forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from fastbp._activations import Activation
from fastbp._validate.arrays import as_float_array, check_ndim, check_same_shape
from fastbp._validate.options import choice, real_number


ACTIVATIONS = {None: Activation.IDENTITY, "sigmoid": Activation.SIGMOID, "relu": Activation.RELU,
               "tanh": Activation.TANH, "softmax": Activation.SOFTMAX,
               "log_softmax": Activation.LOG_SOFTMAX}


def activation_code(activation) -> int:
    try:
        return ACTIVATIONS[activation]
    except (KeyError, TypeError):
        names = ", ".join(repr(a) for a in ACTIVATIONS)
        raise ValueError(f"activation: expected one of {names}, got {activation!r}") from None


# name -> {option: default}, in the order of torch.nn.functional's signature
ACTIVATION_OPTIONS = {"gelu": {"approximate": "none"}, "silu": {},
                      "leaky_relu": {"negative_slope": 0.01}, "elu": {"alpha": 1.0},
                      "softplus": {"beta": 1.0, "threshold": 20.0}}
GELU_APPROXIMATIONS = {"none": Activation.GELU, "tanh": Activation.GELU_TANH}
INPUT_ACTIVATIONS = {Activation.GELU, Activation.GELU_TANH, Activation.SILU,
                     Activation.LEAKY_RELU, Activation.ELU, Activation.SOFTPLUS}
_V2_CODES = {"silu": Activation.SILU, "leaky_relu": Activation.LEAKY_RELU,
             "elu": Activation.ELU, "softplus": Activation.SOFTPLUS}


def gelu_approximate(approximate) -> int:
    """gelu's approximate: 'none' or 'tanh' (torch: "approximate argument must be either
    none or tanh"); returns the activation code."""
    if not isinstance(approximate, str):
        raise TypeError(f"approximate: expected 'none' or 'tanh', got {approximate!r}")
    return GELU_APPROXIMATIONS[choice(approximate, "approximate", tuple(GELU_APPROXIMATIONS))]


class ActivationSpec(NamedTuple):
    """An activation as the kernels take it: its code, its two numeric options (see
    _activations.pxd) and the full options of a v2 activation (None for the v1 ones)."""
    code: int
    option0: float
    option1: float
    options: dict | None


def activation_options(name: str, options: dict) -> ActivationSpec:
    """The spec of a v2 activation ``name`` given ``options`` (a dict of some of its
    options); an unknown option is a ValueError naming it, a non-numeric one a
    TypeError."""
    defaults = ACTIVATION_OPTIONS[name]
    if not isinstance(options, Mapping):
        raise TypeError(f"activation: the options of {name!r} must be a dict, got "
                        f"{type(options).__name__}")
    for key in options:
        if key not in defaults:
            known = ", ".join(repr(k) for k in defaults) or "none"
            raise ValueError(f"activation: {name!r} has no option {key!r} (its options: {known})")
    full = {}
    for key, default in defaults.items():
        value = options.get(key, default)
        full[key] = value if key == "approximate" else real_number(value, key)
    if name == "gelu":
        return ActivationSpec(gelu_approximate(full["approximate"]), 0.0, 0.0, full)
    params = list(full.values()) + [0.0, 0.0]
    return ActivationSpec(_V2_CODES[name], params[0], params[1], full)


def activation_spec(activation) -> ActivationSpec:
    """A Layer's activation: None, a name, or (name, {options}) (a list [name, {options}],
    as a model file holds it, too).  Its options are None for the v1 activations, else
    every option of the activation, defaults filled in."""
    if isinstance(activation, (tuple, list)):
        if len(activation) != 2 or not isinstance(activation[0], str):
            raise ValueError(f"activation: expected a name or a (name, {{options}}) pair, "
                             f"got {activation!r}")
        name, options = activation
        if name not in ACTIVATION_OPTIONS:
            if name in ACTIVATIONS and isinstance(options, Mapping) and not options:
                return ActivationSpec(activation_code(name), 0.0, 0.0, None)
            if name in ACTIVATIONS:
                raise ValueError(f"activation: {name!r} takes no options, got {options!r}")
            activation = name  # unknown: the message below names it
        else:
            return activation_options(name, options)
    if isinstance(activation, str) and activation in ACTIVATION_OPTIONS:
        return activation_options(activation, {})
    try:
        return ActivationSpec(ACTIVATIONS[activation], 0.0, 0.0, None)
    except (KeyError, TypeError):
        names = ", ".join(repr(a) for a in (*ACTIVATIONS, *ACTIVATION_OPTIONS))
        raise ValueError(f"activation: expected one of {names}, or (name, {{options}}), "
                         f"got {activation!r}") from None


def input_activation_backward_args(grad_y, x):
    """A v2 activation backward's grad_y and forward input x: same shape, grad_y's dtype."""
    grad_y = as_float_array(grad_y, "grad_y")
    x = as_float_array(x, "x", grad_y.dtype)
    check_same_shape(grad_y, "grad_y", x, "x")
    return grad_y, x


def activation_backward_args(grad_y, y):
    grad_y = as_float_array(grad_y, "grad_y")
    y = as_float_array(y, "y", grad_y.dtype)
    check_same_shape(y, "y", grad_y, "grad_y")
    return grad_y, y


def rowwise_activation_input(x):
    """softmax/log_softmax input: a 2-D float array (N, C), normalised over C."""
    x = as_float_array(x, "x")
    check_ndim(x, "x", 2, "(N, C)")
    return x


def rowwise_activation_backward_args(grad_y, y):
    grad_y, y = activation_backward_args(grad_y, y)
    check_ndim(grad_y, "grad_y", 2, "(N, C)")
    return grad_y, y
