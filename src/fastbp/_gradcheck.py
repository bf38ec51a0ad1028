"""gradcheck: a Net's backward against central differences of its loss, on a float64 copy."""

from __future__ import annotations

import copy
import math
import numpy as np

from fastbp import _validate as v
from fastbp._typing import ArrayLike, LossFunction
from fastbp.net import Net

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when an analytic gradient differs from the numeric one.

    Attributes
    ----------
    parameter : str, the state_dict key of the worst entry ("1.weight")
    index : tuple of int, its index in that array
    analytic, numeric : float, the two gradients there

    PyTorch equivalent: ``torch.autograd.GradcheckError``.
    """

    def __init__(self, message: str, parameter: str, index: tuple, analytic: float,
                 numeric: float) -> None:
        super().__init__(message)
        self.parameter, self.index = parameter, index
        self.analytic, self.numeric = analytic, numeric


def _float64_copy(net):
    """The same Net (same Layer and Net classes, so an overridden backward stays) in float64."""
    layers = [type(layer)(layer.in_features, layer.out_features, layer.activation,
                          bias=layer.bias is not None, dtype=np.float64) for layer in net]
    twin = type(net)(layers)
    twin.load_state_dict(net.state_dict())
    return twin


def _loss(net, x, target, loss_fn):
    value = loss_fn(net(x), target)
    if isinstance(value, np.ndarray):  # reduction='none': backward is the gradient of the sum
        return math.fsum(value.ravel().tolist())
    return float(value)


def gradcheck(net: Net, x: ArrayLike, target: ArrayLike, loss_fn: LossFunction,
              eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check ``net.backward`` against central differences of the loss, entry by entry.

    On a float64 copy of ``net`` (the caller's Net, arrays and ``loss_fn`` are not
    changed): the analytic gradient is that of ``zero_grad``, forward, ``loss_fn``,
    ``backward``; the numeric gradient of each parameter entry p is
    ``(L(p + eps) - L(p - eps)) / (2 eps)``.  Each pair must satisfy
    ``|analytic - numeric| <= atol + rtol * |numeric|`` (torch.allclose's rule).

    Parameters
    ----------
    net : Net
    x : array (N, in_features)
    target : what ``loss_fn`` takes as its target
    loss_fn : a loss object, e.g. ``MSELoss()`` (reduction 'none' checks the sum)
    eps : float > 0, the step
    atol, rtol : float >= 0

    Returns
    -------
    True

    Raises
    ------
    GradcheckError
        naming the parameter (state_dict key), index, analytic and numeric values of
        the entry furthest outside the tolerance, and how many entries fail.

    PyTorch equivalent: ``torch.autograd.gradcheck(lambda *p: loss, params, eps, atol, rtol)``.
    """
    if not isinstance(net, Net):
        raise TypeError(f"net: expected a fastbp.Net, got {type(net).__name__}")
    eps = v.real_number(eps, "eps", minimum=0.0, strict=True)
    atol = v.real_number(atol, "atol", minimum=0.0)
    rtol = v.real_number(rtol, "rtol", minimum=0.0)
    twin = _float64_copy(net)
    loss_fn = copy.deepcopy(loss_fn)  # its cache of the last call is the caller's
    x = v.layer_input(x, "x", twin.in_features, np.float64)

    twin.zero_grad()
    loss_fn(twin(x), target)
    twin.backward(loss_fn.backward())

    worst, failures, total = None, 0, 0
    for name, (value, grad) in zip(twin.state_dict(), twin.parameters()):
        for index in np.ndindex(value.shape):
            saved = value[index]
            value[index] = saved + eps
            plus = _loss(twin, x, target, loss_fn)
            value[index] = saved - eps
            minus = _loss(twin, x, target, loss_fn)
            value[index] = saved
            numeric = (plus - minus) / (2 * eps)
            analytic = float(grad[index])
            excess = abs(analytic - numeric) - (atol + rtol * abs(numeric))
            if not excess <= 0:  # nan fails too
                excess = math.inf if excess != excess else excess
                failures += 1
                if worst is None or excess > worst[0]:
                    worst = (excess, name, index, analytic, numeric)
            total += 1
    if worst is None:
        return True
    _, name, index, analytic, numeric = worst
    where = f"{name}[{', '.join(str(i) for i in index)}]"
    raise GradcheckError(
        f"gradcheck: the gradient of {where} is wrong: analytic {analytic!r}, numeric "
        f"{numeric!r} (|difference| {abs(analytic - numeric):.3g} > atol + rtol*|numeric| = "
        f"{atol + rtol * abs(numeric):.3g}); {failures} of {total} entries fail",
        name, index, analytic, numeric)
