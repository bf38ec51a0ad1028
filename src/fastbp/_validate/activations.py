"""Activations: names and options, and the arguments of the functional forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from fastbp._activation_specs import KERNELS, OPTIONS
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


# The v2 activations, their options ({option: default}, torch.nn.functional's order) and
# kernels: specs/activations
ACTIVATION_OPTIONS = OPTIONS
INPUT_ACTIVATIONS = {code for _, codes in KERNELS.values() for code in codes.values()}


def kernel_choice(value, name: str, choices: dict) -> int:
    """The code of the kernel an option picks by its string value (gelu's approximate;
    torch: "approximate argument must be either none or tanh")."""
    if not isinstance(value, str):
        expected = " or ".join(repr(c) for c in choices)
        raise TypeError(f"{name}: expected {expected}, got {value!r}")
    return choices[choice(value, name, tuple(choices))]


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
    selector, codes = KERNELS[name]
    code, params, full = codes.get(None), [], {}
    for key, default in defaults.items():  # in order: the functional forms check so too
        value = options.get(key, default)
        if key == selector:
            code = kernel_choice(value, key, codes)
        else:
            value = real_number(value, key)
            params.append(value)
        full[key] = value
    params += [0.0, 0.0]
    return ActivationSpec(code, params[0], params[1], full)


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
