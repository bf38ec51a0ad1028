"""Losses: options, targets and the records (LossArgs) their kernels run."""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from fastbp._loss_kinds import LossKind
from fastbp._losses import LossArgs, count_outside_unit_interval, ready_pair
from fastbp._validate.arrays import (_as_ndarray, as_float_array, as_index_array, check_same_shape,
                                     check_shape, float_dtype, shape_str)
from fastbp._validate.options import real_number, reduction_code


# --- loss options ---------------------------------------------------------------------

def label_smoothing_option(label_smoothing) -> float:
    """In [0, 1].  (torch raises above 1 but silently treats a negative value as 0; the
    contract makes both a ValueError.)"""
    value = real_number(label_smoothing, "label_smoothing")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"label_smoothing: expected a value in [0, 1], got {value}")
    return value


def ignore_index_option(ignore_index) -> int:
    if type(ignore_index) is int and -2**63 <= ignore_index < 2**63:
        return ignore_index  # the common case, without the slower ABC checks below
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"ignore_index: expected an integer, got {ignore_index!r}")
    value = operator.index(ignore_index)
    if not -2**63 <= value < 2**63:
        raise ValueError(f"ignore_index: expected a 64-bit integer, got {value}")
    return value


def weight_option(weight, name: str):
    """A weight as the user gave it: None, or a real numeric ndarray (its shape is checked
    against the input at each call, its dtype converted to the input's)."""
    if weight is None:
        return None
    arr = _as_ndarray(weight, name)
    float_dtype(arr, name)
    return arr


def class_weight_option(weight):
    """cross_entropy / nll_loss weight: None or a 1-D array (one weight per class)."""
    arr = weight_option(weight, "weight")
    if arr is not None and arr.ndim != 1:
        raise ValueError(f"weight: expected a 1-D array (one weight per class), "
                         f"got shape {shape_str(arr.shape)}")
    return arr


def periodic_weight(weight, name: str, shape: tuple, dtype):
    """A weight broadcast against an input of ``shape`` as torch broadcasts it, returned as
    (values, period): the flat array whose repetition fills the flattened input
    (element i gets values[i % period]), or (None, 1) for no weight.

    A weight that varies along the trailing axes only (a scalar, per-class (C,), the full
    shape) is passed as it is; one with inner axes of length 1 (e.g. (N, 1) against (N, C))
    is expanded over the trailing axes it spans.  A weight that would enlarge the input's
    shape is a ValueError (torch: "doesn't match the broadcast shape").
    """
    if weight is None:
        return None, 1
    w = as_float_array(weight, name, dtype)
    shape = tuple(shape)
    try:
        broadcast = np.broadcast_shapes(w.shape, shape)
    except ValueError:
        broadcast = None
    if broadcast != shape:
        raise ValueError(f"{name}: expected a shape that broadcasts to the input's "
                         f"{shape_str(shape)}, got {shape_str(w.shape)}")
    dims = list(w.shape)
    while dims and dims[0] == 1:  # leading axes of length 1 repeat the whole rest
        dims.pop(0)
    trailing = shape[len(shape) - len(dims):] if dims else ()
    w = w.reshape(dims)
    if tuple(dims) != trailing:
        w = np.broadcast_to(w, trailing)
    w = np.ascontiguousarray(w).reshape(-1)
    return w, w.size


def unit_interval_values(arr: np.ndarray, name: str) -> None:
    """binary_cross_entropy's input and target: every value in [0, 1], no nan (torch raises
    "all elements of input should be between 0 and 1")."""
    if arr.size == 0:
        return
    if (arr.dtype in (np.float32, np.float64) and arr.dtype.isnative
            and arr.flags.c_contiguous and arr.flags.aligned):
        if count_outside_unit_interval(arr.reshape(-1)) == 0:  # one compiled pass
            return
    low, high = arr.min(), arr.max()  # nan propagates into both
    if not (low >= 0 and high <= 1):
        found = "nan" if np.isnan(low) or np.isnan(high) else f"values from {low} to {high}"
        raise ValueError(f"{name}: expected values in [0, 1], got {found}")


def elementwise_loss_args(kind: int, input, target, reduction, params: tuple = (),
                          weights: dict | None = None, unit_interval: bool = False,
                          input_values=None) -> LossArgs:
    """The record of an elementwise loss (``kind`` a LossKind code; ``params`` its checked
    scalar options), its checks in torch's order: the shapes of input and target, the
    values of input and target when ``unit_interval`` (binary_cross_entropy's [0, 1]), then
    each of ``weights`` (name: the weight as given, or None), broadcast to the input.

    ``input_values``: for the fused training step, whose input (the Net's output) has a
    shape but no values yet: a callable giving those values, called only when a later
    check fails, so that the input's error still comes first; the record then says that
    the input's values are left to check.
    """
    if not ready_pair(input, target):  # (the common case needs no conversion)
        input = as_float_array(input, "input")
        target = as_float_array(target, "target", input.dtype)
        check_same_shape(input, "input", target, "target")
    code = reduction_code(reduction)
    if unit_interval and input_values is None:
        unit_interval_values(input, "input")
    weights = weights or {}
    try:
        if unit_interval:
            unit_interval_values(target, "target")
        if any(w is not None for w in weights.values()):
            weights = {name: periodic_weight(w, name, input.shape, input.dtype)[0]
                       for name, w in weights.items()}
    except (ValueError, TypeError):
        if unit_interval and input_values is not None:
            unit_interval_values(input_values(), "input")
        raise
    return LossArgs(kind, code, input, target, tuple(weights.values()), params,
                    input_unchecked=unit_interval and input_values is not None)


def class_indices(target, n_rows: int, n_classes: int, ignore_index: int) -> np.ndarray:
    """Class-index targets (N,) of any integer dtype, as int64, each in [0, C) or equal to
    ignore_index (torch raises IndexError "Target 3 is out of bounds"; fastbp a ValueError)."""
    target = as_index_array(target, "target")
    check_shape(target, "target", (n_rows,))
    # Seen as unsigned, a negative index is at least 2**63: one reduction finds whether
    # every index is in [0, C), the common case, faster than the mask below.
    if n_rows == 0 or target.view(np.uint64).max() < n_classes:
        return target
    bad = ((target < 0) | (target >= n_classes)) & (target != ignore_index)
    if bad.any():
        index = int(target[np.argmax(bad)])
        raise ValueError(f"target: class index {index} is out of range for {n_classes} "
                         f"classes (expected 0 <= index < {n_classes}, or ignore_index="
                         f"{ignore_index})")
    return target


def class_loss_input(input, name: str = "input"):
    """A class loss's input, (N, C), unbatched (C,) or (N, C, d1, ..., dK), as the (M, C)
    rows the kernels read (the class axis moved last, the others flattened), and its shape."""
    input = as_float_array(input, name)
    shape = input.shape
    if input.ndim == 0:
        raise ValueError(f"{name}: expected an array (N, C), (C,) or (N, C, d1, ..., dK), "
                         f"got shape ()")
    if input.ndim == 2:
        return input, shape
    rows = math.prod(class_target_shape(shape))
    if input.ndim > 2:
        input = np.moveaxis(input, 1, -1)
    return np.ascontiguousarray(input).reshape(rows, shape[min(1, input.ndim - 1)]), shape


def class_target_shape(shape: tuple) -> tuple:
    """The shape of class-index targets (and of reduction='none') for an input ``shape``."""
    return shape[:1] + shape[2:] if len(shape) != 1 else ()


def class_rows(target, shape: tuple, name: str = "target"):
    """Targets shaped like the input (class probabilities) as the (M, C) rows of
    class_loss_input; (N, C) targets as they are."""
    if len(shape) == 2:
        return target
    return class_loss_input(target, name)[0]


def class_index_rows(target, shape: tuple, n_classes: int, ignore_index: int) -> np.ndarray:
    """Class-index targets of class_target_shape(shape) as the (M,) int64 of the rows."""
    if len(shape) == 2:
        return class_indices(target, shape[0], n_classes, ignore_index)
    target = as_index_array(target, "target")
    expected = class_target_shape(shape)
    if target.shape != expected:
        raise ValueError(f"target: expected class indices of shape {shape_str(expected)} for "
                         f"the input's {shape_str(shape)}, got {shape_str(target.shape)}")
    return class_indices(target.reshape(-1), target.size, n_classes, ignore_index)


def class_weight(weight, n_classes: int, dtype):
    """weight (C,) in the input's dtype, or None."""
    if weight is None:
        return None
    weight = as_float_array(class_weight_option(weight), "weight", dtype)
    if weight.shape != (n_classes,):
        raise ValueError(f"weight: expected shape ({n_classes},) (one weight per class), "
                         f"got {shape_str(weight.shape)}")
    return weight


def cross_entropy_args(input, target, weight, ignore_index, reduction,
                       label_smoothing) -> LossArgs:
    """The record of cross_entropy: target int64 class indices (N,) for an integer target
    (kind CROSS_ENTROPY), or class probabilities (N, C) in the input's dtype for a
    floating-point one (kind CROSS_ENTROPY_PROBS)."""
    input, shape = class_loss_input(input)
    ignore_index = ignore_index_option(ignore_index)
    label_smoothing = label_smoothing_option(label_smoothing)
    code = reduction_code(reduction)
    n_rows, n_classes = input.shape
    weight = class_weight(weight, n_classes, input.dtype)
    arr = _as_ndarray(target, "target")
    if arr.dtype.kind in "iu":
        target = class_index_rows(arr, shape, n_classes, ignore_index)
        return LossArgs(LossKind.CROSS_ENTROPY, code, input, target, (weight,),
                        ignore_index=ignore_index, label_smoothing=label_smoothing,
                        shape=shape)
    if arr.dtype.kind != "f":
        raise TypeError(f"target: expected integer class indices or floating-point class "
                        f"probabilities, got dtype {arr.dtype}")
    target = as_float_array(arr, "target", input.dtype)
    if target.shape != shape:
        raise ValueError(f"target: expected integer class indices of shape "
                         f"{shape_str(class_target_shape(shape))} or class probabilities of "
                         f"the input's shape {shape_str(shape)}, "
                         f"got {target.dtype} of shape {shape_str(target.shape)}")
    target = class_rows(target, shape)
    if ignore_index >= 0:
        raise ValueError(f"ignore_index: not supported with class-probability targets "
                         f"(as torch), got {ignore_index}")
    return LossArgs(LossKind.CROSS_ENTROPY_PROBS, code, input, target, (weight,),
                    ignore_index=ignore_index, label_smoothing=label_smoothing, shape=shape)


def nll_loss_args(input, target, weight, ignore_index, reduction) -> LossArgs:
    input, shape = class_loss_input(input)
    ignore_index = ignore_index_option(ignore_index)
    code = reduction_code(reduction)
    weight = class_weight(weight, input.shape[1], input.dtype)
    target = class_index_rows(target, shape, input.shape[1], ignore_index)
    return LossArgs(LossKind.NLL_LOSS, code, input, target, (weight,),
                    ignore_index=ignore_index, shape=shape)
