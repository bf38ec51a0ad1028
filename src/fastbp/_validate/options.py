"""Scalar options: dtypes, integers, reals, seeds, choices, flags, reductions."""

from __future__ import annotations

import numbers
import operator

import numpy as np

from fastbp._losses import Reduction
from fastbp._validate.arrays import FLOAT32, FLOAT64, MAX_DIM


REDUCTIONS = {"none": Reduction.REDUCTION_NONE, "mean": Reduction.REDUCTION_MEAN,
              "sum": Reduction.REDUCTION_SUM}


def reduction_code(reduction) -> int:
    try:
        return REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise ValueError(f"reduction: expected 'none', 'mean' or 'sum', got {reduction!r}") from None


def dtype_option(dtype, name: str = "dtype") -> np.dtype:
    """A Layer's dtype: float32 or float64 only (None is refused: NumPy reads it as float64)."""
    if dtype is None:
        raise TypeError(f"{name}: expected float32 or float64, got None")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name}: expected float32 or float64, got {dtype!r}") from None
    if dt not in (FLOAT32, FLOAT64):
        raise ValueError(f"{name}: expected float32 or float64, got {dt}")
    return dt


def positive_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected a positive integer, got {value!r}")
    value = operator.index(value)
    if value < 1 or value > MAX_DIM:
        raise ValueError(f"{name}: expected a positive integer below 2**31, got {value}")
    return value


def real_number(value, name: str, *, minimum=None, strict=False) -> float:
    """A real option (lr, beta, ...): finite or not, but a number; optional lower bound."""
    if type(value) is not float:  # float, the common case, skips the slower ABC checks
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name}: expected a real number, got {value!r}")
        value = float(value)
    if value != value:
        raise ValueError(f"{name}: expected a number, got nan")
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        bound = ">" if strict else ">="
        raise ValueError(f"{name}: expected a value {bound} {minimum}, got {value}")
    return value


def seed_option(seed):
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed: expected None or a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed: expected None or a non-negative integer, got {seed}")
    return int(seed)


def choice(value, name: str, choices: tuple) -> str:
    """One of a fixed set of string options (show_config's mode, ...)."""
    if value not in choices:
        names = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: expected one of {names}, got {value!r}")
    return value


def non_negative_int(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected a non-negative integer, got {value!r}")
    value = operator.index(value)
    if value < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {value}")
    return value


def flag_option(flag, name: str) -> bool:
    if not isinstance(flag, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {flag!r}")
    return bool(flag)
