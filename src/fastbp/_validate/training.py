"""Net.fit, fastbp.distributed and the scikit-learn estimators: their options and arrays."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from fastbp._validate.arrays import _as_ndarray, shape_str
from fastbp._validate.model import layer_input
from fastbp._validate.options import positive_int, real_number


# --- fastbp.distributed ------------------------------------------------------------------

def instance_of(value, name: str, cls, what: str):
    if not isinstance(value, cls):
        raise TypeError(f"{name}: expected {what}, got {type(value).__name__}")
    return value


def same_on_every_rank(records: list, name: str) -> None:
    """records[r] is rank r's description of its ``name``; all must equal rank 0's.  Every
    rank calls this with the same gathered list, so every rank raises the same error."""
    for rank, record in enumerate(records[1:], 1):
        if record != records[0]:
            raise ValueError(f"{name}: every rank needs the same architecture (layer sizes, "
                             f"activations, bias, dtype), but rank 0 has {records[0]} and "
                             f"rank {rank} has {record}")


def data_parallel_loss(loss_fn, loss_types: tuple) -> bool:
    """A loss DataParallel can split across ranks: one of fastbp's loss classes with
    reduction 'mean' (True) or 'sum' (False)."""
    instance_of(loss_fn, "loss_fn", loss_types, "one of fastbp's loss classes")
    if loss_fn.reduction not in ("mean", "sum"):
        raise ValueError(f"loss_fn: a data-parallel step needs reduction 'mean' or 'sum' "
                         f"(one global loss), got {loss_fn.reduction!r}")
    return loss_fn.reduction == "mean"


# --- Net.fit / predict / evaluate ---------------------------------------------------------

def rows_like(y, name: str, n_rows: int, x_name: str) -> np.ndarray:
    """A target array whose first axis matches the N rows of ``x_name`` (its values are
    the loss's to check); the caller's array itself when it is one."""
    y = _as_ndarray(y, name)
    if y.ndim == 0 or y.shape[0] != n_rows:
        raise ValueError(f"{name}: expected {n_rows} rows (as {x_name} has), got shape "
                         f"{shape_str(y.shape)}")
    return y


def optional_batch_size(batch_size):
    return None if batch_size is None else positive_int(batch_size, "batch_size")


class FitOptions(NamedTuple):
    epochs: int
    batch_size: int
    validation_split: float
    patience: int | None
    callbacks: tuple


def fit_options(epochs, batch_size, validation_split, patience, callbacks,
                loss_fn) -> FitOptions:
    epochs = int(positive_int(epochs, "epochs"))
    batch_size = positive_int(batch_size, "batch_size")
    split = real_number(validation_split, "validation_split", minimum=0.0)
    if not split < 1.0:
        raise ValueError(f"validation_split: expected a value in [0, 1), got {split}")
    if patience is not None:
        patience = positive_int(patience, "patience")
    callbacks = tuple(callbacks)
    for k, cb in enumerate(callbacks):
        if not callable(cb):
            raise TypeError(f"callbacks[{k}]: expected a function cb(epoch, logs), "
                            f"got {type(cb).__name__}")
    if getattr(loss_fn, "reduction", "mean") == "none":
        raise ValueError("loss_fn: fit needs one number per batch: reduction 'mean' or 'sum', "
                         "got 'none'")
    return FitOptions(epochs, batch_size, split, patience, callbacks)


def validation_pair(data, in_features: int, dtype):
    """fit's validation_data: a pair (x_val (M, in_features), y_val with M rows)."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError("validation_data: expected a pair (x_val, y_val), got "
                        f"{type(data).__name__}" + (f" of length {len(data)}"
                                                    if isinstance(data, (tuple, list)) else ""))
    x_val = layer_input(data[0], "validation_data[0]", in_features, dtype)
    y_val = rows_like(data[1], "validation_data[1]", x_val.shape[0], "validation_data[0]")
    return x_val, y_val


# --- scikit-learn estimators ------------------------------------------------------------

def mlp_parameters(coefs, intercepts, layer_units, dtype) -> tuple[list, list]:
    """A scikit-learn MLP's coefs_ and intercepts_ (attributes a user may set) as C-contiguous
    ``dtype`` arrays of the shapes the layer sizes give: (units[l], units[l+1]) and
    (units[l+1],).  Arrays already so are returned as they are (training updates them)."""
    n = len(layer_units) - 1
    if len(coefs) != n or len(intercepts) != n:
        raise ValueError(f"coefs_, intercepts_: expected {n} arrays each for the layer sizes "
                         f"{list(layer_units)}, got {len(coefs)} and {len(intercepts)}")
    coefs = [np.ascontiguousarray(c, dtype=dtype) for c in coefs]
    intercepts = [np.ascontiguousarray(b, dtype=dtype) for b in intercepts]
    for k in range(n):
        expected = (layer_units[k], layer_units[k + 1])
        if coefs[k].shape != expected:
            raise ValueError(f"coefs_[{k}]: expected shape {shape_str(expected)}, "
                             f"got {shape_str(coefs[k].shape)}")
        if intercepts[k].shape != expected[1:]:
            raise ValueError(f"intercepts_[{k}]: expected shape {shape_str(expected[1:])}, "
                             f"got {shape_str(intercepts[k].shape)}")
    return coefs, intercepts
