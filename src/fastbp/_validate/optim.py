"""Optimizers, learning-rate schedulers and clipping: torch's checks (ValueError where
torch raises one)."""

from __future__ import annotations

import numbers
import operator
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from fastbp._validate.arrays import as_float_array, shape_str
from fastbp._validate.options import flag_option, non_negative_int, real_number


def betas_option(betas) -> tuple:
    """Adam's ``betas``: a pair of reals (checked by :func:`adam_options`)."""
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise TypeError(f"betas: expected a pair (beta1, beta2), got {betas!r}") from None
    return beta1, beta2


def non_negative_reals(**values) -> dict:
    """Real options that torch requires >= 0 (lr, eps, weight_decay, ...), by name."""
    return {name: real_number(value, name, minimum=0.0) for name, value in values.items()}


def flags(**values) -> dict:
    return {name: flag_option(value, name) for name, value in values.items()}


def sgd_options(lr, momentum, dampening, weight_decay, nesterov, maximize) -> dict:
    options = {**non_negative_reals(lr=lr, momentum=momentum),
               "dampening": real_number(dampening, "dampening"),
               **non_negative_reals(weight_decay=weight_decay),
               **flags(nesterov=nesterov, maximize=maximize)}
    if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
        raise ValueError("nesterov: Nesterov momentum requires momentum > 0 and dampening == 0, "
                         f"got momentum={options['momentum']}, dampening={options['dampening']}")
    return options


def adam_options(lr, beta1, beta2, eps, weight_decay, amsgrad, maximize) -> dict:
    options = {"lr": real_number(lr, "lr", minimum=0.0),
               "beta1": real_number(beta1, "betas[0]", minimum=0.0),
               "beta2": real_number(beta2, "betas[1]", minimum=0.0),
               **non_negative_reals(eps=eps, weight_decay=weight_decay),
               **flags(amsgrad=amsgrad, maximize=maximize)}
    for k in (0, 1):
        if not options[f"beta{k + 1}"] < 1.0:
            raise ValueError(f"betas[{k}]: expected a value in [0, 1), "
                             f"got {options[f'beta{k + 1}']}")
    return options


def rmsprop_options(lr, alpha, eps, weight_decay, momentum, centered, maximize) -> dict:
    return {**non_negative_reals(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                 momentum=momentum),
            **flags(centered=centered, maximize=maximize)}


def adagrad_options(lr, lr_decay, weight_decay, initial_accumulator_value, eps,
                    maximize) -> dict:
    return {**non_negative_reals(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                 initial_accumulator_value=initial_accumulator_value, eps=eps),
            **flags(maximize=maximize)}


def optimizer_state(state, option_names: tuple, scalar_names: tuple) -> tuple:
    """An optimizer's load_state_dict argument, first part: a mapping holding every option
    and scalar (step count) by name.  Returns (options, scalars) as dicts; the options are
    checked by the optimizer's own options function, the scalars here."""
    if not isinstance(state, Mapping):
        raise TypeError(f"state_dict: expected a mapping, got {type(state).__name__}")
    for key in option_names + scalar_names:
        if key not in state:
            raise ValueError(f"state_dict: missing key {key!r}")
    scalars = {key: non_negative_int(state[key], f"state_dict[{key!r}]") for key in scalar_names}
    return {key: state[key] for key in option_names}, scalars


def optimizer_buffers(state, known: tuple, expected: dict, dtypes: dict) -> dict:
    """load_state_dict's buffers: exactly the keys of ``expected`` (name -> shape) besides
    ``known`` (options and scalars), each converted to its dtype and copied."""
    for key in expected:
        if key not in state:
            raise ValueError(f"state_dict: missing key {key!r} (expected shape "
                             f"{shape_str(expected[key])})")
    arrays = {}
    for key, value in state.items():
        if key in known:
            continue
        if key not in expected:
            raise ValueError(f"state_dict: unexpected key {key!r}")
        arr = as_float_array(value, f"state_dict[{key!r}]", dtypes[key])
        if arr.shape != tuple(expected[key]):
            raise ValueError(f"state_dict[{key!r}]: expected shape {shape_str(expected[key])}, "
                             f"got {shape_str(arr.shape)}")
        arrays[key] = np.array(arr, copy=True)
    return arrays


class ClipNormOptions(NamedTuple):
    max_norm: float
    norm_type: float
    error_if_nonfinite: bool


def clip_norm_options(max_norm, norm_type, error_if_nonfinite) -> ClipNormOptions:
    """clip_grad_norm_'s options; norm_type may be a string such as 'inf', as torch's float()."""
    if isinstance(norm_type, str):
        try:
            norm_type = float(norm_type)
        except ValueError:
            raise ValueError(f"norm_type: expected a number or 'inf', got {norm_type!r}") from None
    return ClipNormOptions(real_number(max_norm, "max_norm"), real_number(norm_type, "norm_type"),
                           flag_option(error_if_nonfinite, "error_if_nonfinite"))


# --- learning-rate schedulers (torch.optim.lr_scheduler's checks) ------------------

def scheduled_optimizer(optimizer):
    """A scheduler's optimizer: anything with a writable float ``lr`` and a ``step()``."""
    if not (isinstance(getattr(optimizer, "lr", None), numbers.Real)
            and callable(getattr(optimizer, "step", None))):
        raise TypeError(f"optimizer: {type(optimizer).__name__} is not an Optimizer "
                        "(expected an object with an lr and a step())")
    return optimizer


def int_list(values, name: str) -> list:
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"{name}: expected a list of integers, got {type(values).__name__}") from None
    for k, value in enumerate(values):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name}[{k}]: expected an integer, got {value!r}")
    return [operator.index(value) for value in values]


def linear_lr_factors(start_factor, end_factor) -> tuple:
    start = real_number(start_factor, "start_factor")
    end = real_number(end_factor, "end_factor")
    if start > 1.0 or start <= 0:
        raise ValueError(f"start_factor: expected a value in (0, 1], got {start}")
    if end > 1.0 or end < 0:
        raise ValueError(f"end_factor: expected a value in [0, 1], got {end}")
    return start, end


def plateau_factor(factor) -> float:
    factor = real_number(factor, "factor")
    if factor >= 1.0:
        raise ValueError(f"factor: expected a value < 1.0, got {factor}")
    return factor


def scheduler_state(state, current: dict) -> dict:
    """A scheduler's load_state_dict argument: a mapping whose keys its state_dict has."""
    if not isinstance(state, Mapping):
        raise TypeError(f"state_dict: expected a mapping, got {type(state).__name__}")
    for key in state:
        if key not in current:
            raise ValueError(f"state_dict: unexpected key {key!r}; expected the keys "
                             f"{', '.join(repr(k) for k in current)}")
    return dict(state)
