"""Gradient clipping: torch.nn.utils.clip_grad_norm_ and clip_grad_value_ over compiled kernels."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from fastbp import _clip
from fastbp import _validate as v
from fastbp._typing import ParameterPair

if TYPE_CHECKING:
    from fastbp.net import Net

__all__ = ["clip_grad_norm_", "clip_grad_value_"]

FLOAT32 = np.dtype(np.float32)


def clip_grad_norm_(params: Net | Iterable[ParameterPair], max_norm: float,
                    norm_type: float | str = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale the gradients in place so that their joint norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the per-parameter gradient norms (as if all
    gradients were one vector); the gradients are multiplied by
    ``max_norm / (total + 1e-6)`` when that is below 1 (or nan).

    Parameters
    ----------
    params : a Net, or a list of (value, grad) array pairs such as ``net.parameters()``
    max_norm : float
    norm_type : float, default 2.0; ``float('inf')`` or ``'inf'`` for the max-norm
    error_if_nonfinite : bool, default False; True raises RuntimeError when the total norm
        is nan or infinite (the gradients are then left as they are)

    Returns
    -------
    float
        The total norm of the gradients before clipping, in their dtype (float32 rounded
        when every gradient is float32).

    PyTorch equivalent: ``torch.nn.utils.clip_grad_norm_``.
    """
    grads = [g.reshape(-1) for _, g in v.parameter_pairs(params)]
    max_norm, norm_type, error_if_nonfinite = v.clip_norm_options(max_norm, norm_type,
                                                                  error_if_nonfinite)
    if not grads:
        return 0.0
    # each parameter's norm is a tensor of its dtype in torch, and so is the total
    norms = np.array([g.dtype.type(_clip.grad_norm(g, norm_type)) for g in grads], np.float64)
    single = all(g.dtype == FLOAT32 for g in grads)
    total = _clip.total_norm(norms, norm_type)
    total = float(np.float32(total)) if single else total
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coefficient = _clip.coefficient(total, max_norm, single)
    if coefficient != 1.0:  # torch multiplies by 1.0 too: the same floats
        for g in grads:
            _clip.scale_grad(g, coefficient)
    return total


def clip_grad_value_(params: Net | Iterable[ParameterPair], clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place (nan stays nan).

    PyTorch equivalent: ``torch.nn.utils.clip_grad_value_``.
    """
    grads = [g.reshape(-1) for _, g in v.parameter_pairs(params)]
    clip_value = v.real_number(clip_value, "clip_value")
    for g in grads:
        _clip.clamp_grad(g, clip_value)
