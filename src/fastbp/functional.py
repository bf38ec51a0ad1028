"""Pure functions with PyTorch's semantics: validate, call the trusted kernel, shape the result.

Every function takes NumPy arrays (or anything ``np.asarray`` accepts) and
returns new arrays; none ever writes into an argument.  float16, integer and
bool inputs compute in float32; the first array argument decides the dtype and
the others are converted to it.
"""

from __future__ import annotations

import numpy as np

from fastbp import _activations, _dense, _losses
from fastbp import _validate as v
from fastbp._typing import ArrayLike, FloatArray

__all__ = [
    "linear", "linear_backward",
    "sigmoid", "sigmoid_backward",
    "relu", "relu_backward",
    "tanh", "tanh_backward",
    "softmax", "softmax_backward",
    "log_softmax", "log_softmax_backward",
    "gelu", "gelu_backward",
    "silu", "silu_backward",
    "leaky_relu", "leaky_relu_backward",
    "elu", "elu_backward",
    "softplus", "softplus_backward",
    "l1_loss", "l1_loss_grad",
    "mse_loss", "mse_loss_grad",
    "smooth_l1_loss", "smooth_l1_loss_grad",
    "huber_loss", "huber_loss_grad",
    "cross_entropy", "cross_entropy_grad",
    "nll_loss", "nll_loss_grad",
    "binary_cross_entropy", "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_grad",
]


# --- dense -------------------------------------------------------------------------------

def linear(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None) -> FloatArray:
    """y = x @ weight.T + bias.

    Parameters
    ----------
    x : array, shape (N, in_features)
    weight : array, shape (out_features, in_features)
    bias : array, shape (out_features,), or None

    Returns
    -------
    ndarray, shape (N, out_features), dtype of x

    PyTorch equivalent: ``torch.nn.functional.linear``.

    >>> linear(np.ones((1, 2)), np.eye(2), np.array([0.5, 0.0]))
    array([[1.5, 1. ]])
    """
    x, weight, bias = v.linear_args(x, weight, bias)
    out = np.empty((x.shape[0], weight.shape[0]), dtype=x.dtype)
    _dense.linear(x, weight, bias, out)
    return out


def linear_backward(grad_y: ArrayLike, x: ArrayLike, weight: ArrayLike, bias: bool = True
                    ) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Gradients of y = x @ weight.T + bias given grad_y = d(loss)/dy.

    Parameters
    ----------
    grad_y : array, shape (N, out_features)
    x : array, shape (N, in_features), the forward input
    weight : array, shape (out_features, in_features)
    bias : bool, whether the layer has a bias

    Returns
    -------
    (grad_x, grad_weight, grad_bias) : grad_x = grad_y @ weight (N, in_features),
    grad_weight = grad_y.T @ x (out_features, in_features), grad_bias = grad_y.sum(0)
    (out_features,) or None when ``bias`` is False.  dtype of grad_y.

    PyTorch equivalent: the gradients autograd computes for ``F.linear``.
    """
    grad_y, x, weight, bias = v.linear_backward_args(grad_y, x, weight, bias)
    grad_x = np.empty(x.shape, dtype=grad_y.dtype)
    grad_weight = np.zeros(weight.shape, dtype=grad_y.dtype)
    grad_bias = np.zeros(weight.shape[0], dtype=grad_y.dtype) if bias else None
    _dense.linear_backward(grad_y, x, weight, grad_x, grad_weight, grad_bias)
    return grad_x, grad_weight, grad_bias


# --- activations ---------------------------------------------------------------------------

def _elementwise_activation(act, x):
    x = v.as_float_array(x, "x")
    out = np.empty_like(x)
    _activations.forward(act, x.reshape(-1), out.reshape(-1), 1)
    return out


def _elementwise_activation_backward(act, grad_y, y):
    grad_y, y = v.activation_backward_args(grad_y, y)
    out = np.empty_like(grad_y)
    _activations.backward(act, grad_y.reshape(-1), y.reshape(-1), out.reshape(-1), 1)
    return out


def _rowwise_activation(act, x):
    x = v.rowwise_activation_input(x)
    out = np.empty_like(x)
    _activations.forward(act, x.reshape(-1), out.reshape(-1), x.shape[0])
    return out


def _rowwise_activation_backward(act, grad_y, y):
    grad_y, y = v.rowwise_activation_backward_args(grad_y, y)
    out = np.empty_like(grad_y)
    _activations.backward(act, grad_y.reshape(-1), y.reshape(-1), out.reshape(-1),
                          grad_y.shape[0])
    return out


def sigmoid(x: ArrayLike) -> FloatArray:
    """y = 1 / (1 + exp(-x)), elementwise, any shape.  PyTorch equivalent: ``torch.sigmoid``.

    >>> sigmoid(np.array([0.0]))
    array([0.5])
    """
    return _elementwise_activation(_activations.Activation.SIGMOID, x)


def sigmoid_backward(grad_y: ArrayLike, y: ArrayLike) -> FloatArray:
    """grad_x = grad_y * (1 - y) * y, from the forward OUTPUT y = sigmoid(x).

    PyTorch equivalent: ``torch.ops.aten.sigmoid_backward(grad_y, y)``.
    """
    return _elementwise_activation_backward(_activations.Activation.SIGMOID, grad_y, y)


def relu(x: ArrayLike) -> FloatArray:
    """y = max(x, 0), elementwise, any shape; nan stays nan and -0.0 stays -0.0, as in torch.

    PyTorch equivalent: ``torch.relu``.

    >>> relu(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])
    """
    return _elementwise_activation(_activations.Activation.RELU, x)


def relu_backward(grad_y: ArrayLike, y: ArrayLike) -> FloatArray:
    """grad_x = grad_y where y > 0, else 0, from the forward OUTPUT y = relu(x).

    The gradient at exactly 0 is 0 (torch's rule); a nan output passes grad_y through.

    PyTorch equivalent: ``torch.ops.aten.threshold_backward(grad_y, y, 0)``, what autograd
    runs for ``torch.relu``.
    """
    return _elementwise_activation_backward(_activations.Activation.RELU, grad_y, y)


def tanh(x: ArrayLike) -> FloatArray:
    """y = tanh(x), elementwise, any shape.  PyTorch equivalent: ``torch.tanh``.

    >>> tanh(np.array([0.0]))
    array([0.])
    """
    return _elementwise_activation(_activations.Activation.TANH, x)


def tanh_backward(grad_y: ArrayLike, y: ArrayLike) -> FloatArray:
    """grad_x = grad_y * (1 - y²), from the forward OUTPUT y = tanh(x).

    PyTorch equivalent: ``torch.ops.aten.tanh_backward(grad_y, y)``.
    """
    return _elementwise_activation_backward(_activations.Activation.TANH, grad_y, y)


def softmax(x: ArrayLike) -> FloatArray:
    """y[n, c] = exp(x[n, c]) / Σ_j exp(x[n, j]), over the last axis of a 2-D array.

    Each row is shifted by its max first, so logits of ±1e4 give finite results.  A row
    of all -inf, or one holding +inf or nan, gives a row of nan, as torch does.

    Parameters
    ----------
    x : array, shape (N, C)

    Returns
    -------
    ndarray, shape (N, C), dtype of x

    PyTorch equivalent: ``torch.softmax(x, dim=-1)``.

    >>> softmax(np.array([[0.0, 0.0]]))
    array([[0.5, 0.5]])
    """
    return _rowwise_activation(_activations.Activation.SOFTMAX, x)


def softmax_backward(grad_y: ArrayLike, y: ArrayLike) -> FloatArray:
    """grad_x = y * (grad_y - Σ_j grad_y[:, j] y[:, j]), from the forward OUTPUT y = softmax(x).

    grad_y and y have shape (N, C).

    PyTorch equivalent: ``torch.ops.aten._softmax_backward_data(grad_y, y, -1, y.dtype)``.
    """
    return _rowwise_activation_backward(_activations.Activation.SOFTMAX, grad_y, y)


def log_softmax(x: ArrayLike) -> FloatArray:
    """y[n, c] = x[n, c] - max_j x[n, j] - log Σ_j exp(x[n, j] - max_j x[n, j]), 2-D x (N, C).

    Stable for logits of ±1e4; a row of all -inf, or one holding +inf or nan, gives a
    row of nan, and a -inf logit in an otherwise finite row gives -inf, as torch does.

    PyTorch equivalent: ``torch.log_softmax(x, dim=-1)``.

    >>> log_softmax(np.array([[0.0, 0.0]]))
    array([[-0.69314718, -0.69314718]])
    """
    return _rowwise_activation(_activations.Activation.LOG_SOFTMAX, x)


def log_softmax_backward(grad_y: ArrayLike, y: ArrayLike) -> FloatArray:
    """grad_x = grad_y - exp(y) * Σ_j grad_y[:, j], from the forward OUTPUT y = log_softmax(x).

    grad_y and y have shape (N, C).

    PyTorch equivalent: ``torch.ops.aten._log_softmax_backward_data(grad_y, y, -1, y.dtype)``.
    """
    return _rowwise_activation_backward(_activations.Activation.LOG_SOFTMAX, grad_y, y)


# --- v2 activations: the backward takes the forward INPUT x ---------------------------------

def _input_activation(code, x, p1=0.0, p2=0.0):
    x = v.as_float_array(x, "x")
    out = np.empty_like(x)
    _activations.forward2(code, x.reshape(-1), out.reshape(-1), p1, p2)
    return out


def _input_activation_backward(code, grad_y, x, p1=0.0, p2=0.0):
    grad_y, x = v.input_activation_backward_args(grad_y, x)
    out = np.empty_like(grad_y)
    _activations.backward2(code, grad_y.reshape(-1), x.reshape(-1), out.reshape(-1), p1, p2)
    return out


def gelu(x: ArrayLike, approximate: str = "none") -> FloatArray:
    """y = x Φ(x) = x/2 (1 + erf(x/√2)), elementwise, any shape; ``approximate='tanh'``:
    x/2 (1 + tanh(√(2/π) (x + 0.044715 x³))).

    float32 is computed in float32 arithmetic, as torch does; for x below about -5 the
    1 + erf(...) cancels, in torch as here.

    PyTorch equivalent: ``torch.nn.functional.gelu(x, approximate=approximate)``.

    >>> gelu(np.array([0.0, 1.0]))
    array([0.        , 0.84134475])
    """
    return _input_activation(v.gelu_approximate(approximate), x)


def gelu_backward(grad_y: ArrayLike, x: ArrayLike, approximate: str = "none") -> FloatArray:
    """grad_x = grad_y (Φ(x) + x φ(x)) (or the derivative of the tanh form), from the
    forward INPUT x.

    PyTorch equivalent: ``torch.ops.aten.gelu_backward(grad_y, x, approximate=...)``.
    """
    return _input_activation_backward(v.gelu_approximate(approximate), grad_y, x)


def silu(x: ArrayLike) -> FloatArray:
    """y = x / (1 + exp(-x)), elementwise, any shape.

    PyTorch equivalent: ``torch.nn.functional.silu``.

    >>> silu(np.array([0.0]))
    array([0.])
    """
    return _input_activation(_activations.Activation.SILU, x)


def silu_backward(grad_y: ArrayLike, x: ArrayLike) -> FloatArray:
    """grad_x = grad_y s (1 + x (1 - s)), s = sigmoid(x), from the forward INPUT x.

    PyTorch equivalent: ``torch.ops.aten.silu_backward(grad_y, x)``.
    """
    return _input_activation_backward(_activations.Activation.SILU, grad_y, x)


def _options(name, **options):
    code, p1, p2, _ = v.activation_options(name, options)
    return code, p1, p2


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> FloatArray:
    """y = x where x > 0, else negative_slope · x; elementwise, any shape.

    PyTorch equivalent: ``torch.nn.functional.leaky_relu``.

    >>> leaky_relu(np.array([-1.0, 2.0]), 0.5)
    array([-0.5,  2. ])
    """
    code, p1, p2 = _options("leaky_relu", negative_slope=negative_slope)
    return _input_activation(code, x, p1, p2)


def leaky_relu_backward(grad_y: ArrayLike, x: ArrayLike,
                        negative_slope: float = 0.01) -> FloatArray:
    """grad_x = grad_y where x > 0, else negative_slope · grad_y (so negative_slope at 0,
    as torch), from the forward INPUT x.

    PyTorch equivalent: ``torch.ops.aten.leaky_relu_backward(grad_y, x, negative_slope,
    False)``.
    """
    code, p1, p2 = _options("leaky_relu", negative_slope=negative_slope)
    return _input_activation_backward(code, grad_y, x, p1, p2)


def elu(x: ArrayLike, alpha: float = 1.0) -> FloatArray:
    """y = x where x > 0, else alpha (exp(x) - 1) (computed as expm1); elementwise.

    PyTorch equivalent: ``torch.nn.functional.elu``.

    >>> elu(np.array([0.0, 1.0]))
    array([0., 1.])
    """
    code, p1, p2 = _options("elu", alpha=alpha)
    return _input_activation(code, x, p1, p2)


def elu_backward(grad_y: ArrayLike, x: ArrayLike, alpha: float = 1.0) -> FloatArray:
    """grad_x = grad_y where x > 0, else grad_y alpha exp(x), from the forward INPUT x.

    PyTorch equivalent: ``torch.ops.aten.elu_backward(grad_y, alpha, 1, 1, False, x)``,
    what autograd runs for ``F.elu``.
    """
    code, p1, p2 = _options("elu", alpha=alpha)
    return _input_activation_backward(code, grad_y, x, p1, p2)


def softplus(x: ArrayLike, beta: float = 1.0, threshold: float = 20.0) -> FloatArray:
    """y = log(1 + exp(beta x)) / beta, and y = x where beta x > threshold; elementwise.

    PyTorch equivalent: ``torch.nn.functional.softplus``.

    >>> softplus(np.array([0.0, 30.0]))
    array([ 0.69314718, 30.        ])
    """
    code, p1, p2 = _options("softplus", beta=beta, threshold=threshold)
    return _input_activation(code, x, p1, p2)


def softplus_backward(grad_y: ArrayLike, x: ArrayLike, beta: float = 1.0,
                      threshold: float = 20.0) -> FloatArray:
    """grad_x = grad_y z / (z + 1), z = exp(beta x), and grad_y where beta x > threshold;
    from the forward INPUT x.

    PyTorch equivalent: ``torch.ops.aten.softplus_backward(grad_y, x, beta, threshold)``.
    """
    code, p1, p2 = _options("softplus", beta=beta, threshold=threshold)
    return _input_activation_backward(code, grad_y, x, p1, p2)


# --- losses --------------------------------------------------------------------------------
# Each loss is one kernel call that computes, in one pass, what is asked of it: the value
# ("value"), the gradient ("grad") or both ("both", what the loss classes use).  The
# <name>_and_grad functions are that "both" form; they are not part of the contract.

_E = _losses.LossKind
_NONE = _losses.Reduction.REDUCTION_NONE


def _run(args, want):
    """What ``want`` asks of the loss record ``args`` (a _losses.LossArgs): the value
    ("value"), the gradient ("grad") or both ("both")."""
    input = args.input
    none = args.reduction == _NONE
    out = None
    if none and want != "grad":  # per element, or per row for the class losses
        out = np.empty(input.shape[:1] if args.kind >= _E.CROSS_ENTROPY else input.shape,
                       input.dtype)
    grad = np.empty_like(input) if want != "value" else None
    value = _losses.value_grad(args, out, grad)
    shape = args.shape
    if shape != input.shape:  # a class loss's (C,) or (N, C, d1, ..., dK) input
        out = None if out is None else out.reshape(v.class_target_shape(shape))
        if grad is not None and len(shape) > 2:  # the class axis back in place
            grad = np.moveaxis(grad.reshape(shape[:1] + shape[2:] + shape[1:2]), -1, 1)
        grad = None if grad is None else np.ascontiguousarray(grad).reshape(shape)
    value = out if none else float(value)
    if want == "value":
        return value
    if want == "grad":
        return grad
    return value, grad


def _elementwise(loss, input, target, reduction, want, param=0.0, weight=None, pos_weight=None):
    return _run(v.elementwise_loss_args(loss, input, target, reduction, param, weight,
                                        pos_weight), want)


def l1_loss(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> float | FloatArray:
    """Mean absolute error: reduce(|input - target|).

    Parameters
    ----------
    input, target : arrays of the same shape (any ndim)
    reduction : 'mean' | 'sum' | 'none'

    Returns
    -------
    float for 'mean' and 'sum' (nan for 'mean' over an empty input, 0.0 for 'sum');
    for 'none' an ndarray of input's shape and dtype.

    PyTorch equivalent: ``torch.nn.functional.l1_loss``.

    >>> l1_loss(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 3.5]))
    0.5
    """
    return _elementwise(_E.L1_LOSS, input, target, reduction, "value")


def l1_loss_grad(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> FloatArray:
    """d(l1_loss)/d(input) = sign(input - target) (0 where they are equal or nan, as torch),
    divided by input.size for 'mean'; for 'none' the gradient of the sum.

    Same arguments as :func:`l1_loss`; returns an ndarray of input's shape and dtype.
    PyTorch equivalent: the gradient autograd computes for ``F.l1_loss``.
    """
    return _elementwise(_E.L1_LOSS, input, target, reduction, "grad")


def l1_loss_and_grad(input: ArrayLike, target: ArrayLike, reduction: str = "mean"
                     ) -> tuple[float | FloatArray, FloatArray]:
    """(l1_loss(...), l1_loss_grad(...)) from one pass; used by L1Loss."""
    return _elementwise(_E.L1_LOSS, input, target, reduction, "both")


def mse_loss(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> float | FloatArray:
    """Mean squared error: reduce((input - target)²).

    Parameters
    ----------
    input, target : arrays of the same shape (any ndim)
    reduction : 'mean' | 'sum' | 'none'

    Returns
    -------
    float for 'mean' and 'sum' (nan for 'mean' over an empty input, 0.0 for 'sum');
    for 'none' an ndarray of input's shape and dtype.

    PyTorch equivalent: ``torch.nn.functional.mse_loss``.

    >>> mse_loss(np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 3.5]))
    0.25
    """
    return _elementwise(_E.MSE_LOSS, input, target, reduction, "value")


def mse_loss_grad(input: ArrayLike, target: ArrayLike, reduction: str = "mean") -> FloatArray:
    """d(mse_loss)/d(input) = 2 (input - target), divided by input.size for 'mean'.

    For reduction='none' it is the gradient of the sum of the per-element losses.
    Returns an ndarray of input's shape and dtype.
    PyTorch equivalent: the gradient autograd computes for ``F.mse_loss``.
    """
    return _elementwise(_E.MSE_LOSS, input, target, reduction, "grad")


def mse_loss_and_grad(input: ArrayLike, target: ArrayLike, reduction: str = "mean"
                      ) -> tuple[float | FloatArray, FloatArray]:
    """(mse_loss(...), mse_loss_grad(...)) from one pass over the data; used by MSELoss."""
    return _elementwise(_E.MSE_LOSS, input, target, reduction, "both")


def smooth_l1_loss(input: ArrayLike, target: ArrayLike, reduction: str = "mean",
                   beta: float = 1.0) -> float | FloatArray:
    """Smooth L1: reduce(z < beta ? 0.5 z² / beta : z - 0.5 beta), z = |input - target|.

    Parameters
    ----------
    input, target : arrays of the same shape (any ndim)
    reduction : 'mean' | 'sum' | 'none'
    beta : float >= 0, where the loss turns from quadratic to linear; 0 gives L1 (as torch)

    Returns
    -------
    float for 'mean' and 'sum'; for 'none' an ndarray of input's shape and dtype.

    PyTorch equivalent: ``torch.nn.functional.smooth_l1_loss``.

    >>> smooth_l1_loss(np.array([1.0, 2.0, 3.0, 6.0]), np.array([1.5, 2.5, 3.5, 4.5]))
    0.34375
    """
    beta = v.beta_option(beta)
    return _elementwise(_E.SMOOTH_L1_LOSS, input, target, reduction, "value", beta)


def smooth_l1_loss_grad(input: ArrayLike, target: ArrayLike, reduction: str = "mean",
                        beta: float = 1.0) -> FloatArray:
    """d(smooth_l1_loss)/d(input) = clip((input - target) / beta, -1, 1) (sign for beta=0),
    divided by input.size for 'mean'; for 'none' the gradient of the sum.

    PyTorch equivalent: the gradient autograd computes for ``F.smooth_l1_loss``.
    """
    beta = v.beta_option(beta)
    return _elementwise(_E.SMOOTH_L1_LOSS, input, target, reduction, "grad", beta)


def smooth_l1_loss_and_grad(input: ArrayLike, target: ArrayLike, reduction: str = "mean",
                            beta: float = 1.0) -> tuple[float | FloatArray, FloatArray]:
    """(smooth_l1_loss(...), smooth_l1_loss_grad(...)) from one pass; used by SmoothL1Loss."""
    beta = v.beta_option(beta)
    return _elementwise(_E.SMOOTH_L1_LOSS, input, target, reduction, "both", beta)


def huber_loss(input: ArrayLike, target: ArrayLike, reduction: str = "mean",
               delta: float = 1.0) -> float | FloatArray:
    """Huber: reduce(z < delta ? 0.5 z² : delta (z - 0.5 delta)), z = |input - target|.

    Parameters
    ----------
    input, target : arrays of the same shape (any ndim)
    reduction : 'mean' | 'sum' | 'none'
    delta : float > 0

    Returns
    -------
    float for 'mean' and 'sum'; for 'none' an ndarray of input's shape and dtype.

    PyTorch equivalent: ``torch.nn.functional.huber_loss``.

    >>> huber_loss(np.array([0.0, 3.0]), np.array([0.5, 0.0]), delta=2.0)
    2.0625
    """
    delta = v.delta_option(delta)
    return _elementwise(_E.HUBER_LOSS, input, target, reduction, "value", delta)


def huber_loss_grad(input: ArrayLike, target: ArrayLike, reduction: str = "mean",
                    delta: float = 1.0) -> FloatArray:
    """d(huber_loss)/d(input) = clip(input - target, -delta, delta), divided by input.size
    for 'mean'; for 'none' the gradient of the sum.

    PyTorch equivalent: the gradient autograd computes for ``F.huber_loss``.
    """
    delta = v.delta_option(delta)
    return _elementwise(_E.HUBER_LOSS, input, target, reduction, "grad", delta)


def huber_loss_and_grad(input: ArrayLike, target: ArrayLike, reduction: str = "mean",
                        delta: float = 1.0) -> tuple[float | FloatArray, FloatArray]:
    """(huber_loss(...), huber_loss_grad(...)) from one pass; used by HuberLoss."""
    delta = v.delta_option(delta)
    return _elementwise(_E.HUBER_LOSS, input, target, reduction, "both", delta)


def binary_cross_entropy(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None,
                         reduction: str = "mean") -> float | FloatArray:
    """Binary cross entropy of probabilities:
    reduce(-weight (t max(log p, -100) + (1 - t) max(log(1 - p), -100))).

    Parameters
    ----------
    input : array of probabilities p in [0, 1] (any ndim; nan or outside: ValueError, as
        torch raises)
    target : array of input's shape, values in [0, 1]
    weight : None or an array that broadcasts to input's shape (without changing it)
    reduction : 'mean' | 'sum' | 'none'

    Returns
    -------
    float for 'mean' and 'sum'; for 'none' an ndarray of input's shape and dtype.
    Each log is clamped at -100, so p = 0 or 1 gives a finite loss, as in torch.

    PyTorch equivalent: ``torch.nn.functional.binary_cross_entropy``.

    >>> binary_cross_entropy(np.array([0.5, 1.0]), np.array([1.0, 0.0]), reduction="none")
    array([  0.69314718, 100.        ])
    """
    return _elementwise(_E.BINARY_CROSS_ENTROPY, input, target, reduction, "value",
                        weight=weight)


def binary_cross_entropy_grad(input: ArrayLike, target: ArrayLike,
                              weight: ArrayLike | None = None,
                              reduction: str = "mean") -> FloatArray:
    """d(binary_cross_entropy)/d(input) as torch computes it:
    weight (p - t) / max(p (1 - p), 1e-12) (not the derivative of the clamped value),
    divided by input.size for 'mean'; for 'none' the gradient of the sum.

    PyTorch equivalent: the gradient autograd computes for ``F.binary_cross_entropy``.
    """
    return _elementwise(_E.BINARY_CROSS_ENTROPY, input, target, reduction, "grad",
                        weight=weight)


def binary_cross_entropy_and_grad(input: ArrayLike, target: ArrayLike,
                                  weight: ArrayLike | None = None, reduction: str = "mean"
                                  ) -> tuple[float | FloatArray, FloatArray]:
    """(binary_cross_entropy(...), binary_cross_entropy_grad(...)) from one pass; used by
    BCELoss."""
    return _elementwise(_E.BINARY_CROSS_ENTROPY, input, target, reduction, "both",
                        weight=weight)


def binary_cross_entropy_with_logits(input: ArrayLike, target: ArrayLike,
                                     weight: ArrayLike | None = None,
                                     pos_weight: ArrayLike | None = None,
                                     reduction: str = "mean") -> float | FloatArray:
    """Binary cross entropy of logits x, stable for any x:
    reduce(weight ((1 - t) x - lw log σ(x))), lw = 1 + (pos_weight - 1) t,
    log σ(x) = min(x, 0) - log1p(exp(-|x|)).

    Parameters
    ----------
    input : array of logits (any ndim)
    target : array of input's shape
    weight : None or an array that broadcasts to input's shape
    pos_weight : None or an array that broadcasts to input's shape, typically (C,) for the
        class (last) axis: the weight of the positive term
    reduction : 'mean' | 'sum' | 'none'

    Returns
    -------
    float for 'mean' and 'sum'; for 'none' an ndarray of input's shape and dtype.

    PyTorch equivalent: ``torch.nn.functional.binary_cross_entropy_with_logits``.

    >>> binary_cross_entropy_with_logits(np.array([0.0]), np.array([1.0]))
    0.6931471805599453
    """
    return _elementwise(_E.BINARY_CROSS_ENTROPY_WITH_LOGITS, input, target, reduction, "value",
                        weight=weight, pos_weight=pos_weight)


def binary_cross_entropy_with_logits_grad(input: ArrayLike, target: ArrayLike,
                                          weight: ArrayLike | None = None,
                                          pos_weight: ArrayLike | None = None,
                                          reduction: str = "mean") -> FloatArray:
    """d(binary_cross_entropy_with_logits)/d(input) = weight ((1 - t) - lw σ(-x)),
    divided by input.size for 'mean'; for 'none' the gradient of the sum.

    PyTorch equivalent: the gradient autograd computes for
    ``F.binary_cross_entropy_with_logits``.
    """
    return _elementwise(_E.BINARY_CROSS_ENTROPY_WITH_LOGITS, input, target, reduction, "grad",
                        weight=weight, pos_weight=pos_weight)


def binary_cross_entropy_with_logits_and_grad(input: ArrayLike, target: ArrayLike,
                                              weight: ArrayLike | None = None,
                                              pos_weight: ArrayLike | None = None,
                                              reduction: str = "mean"
                                              ) -> tuple[float | FloatArray, FloatArray]:
    """(binary_cross_entropy_with_logits(...), ..._grad(...)) from one pass; used by
    BCEWithLogitsLoss."""
    return _elementwise(_E.BINARY_CROSS_ENTROPY_WITH_LOGITS, input, target, reduction, "both",
                        weight=weight, pos_weight=pos_weight)


def _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing, want):
    return _run(v.cross_entropy_args(input, target, weight, ignore_index, reduction,
                                     label_smoothing), want)


def cross_entropy(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> float | FloatArray:
    """Cross entropy of logits: the negative log of softmax(input) at the target class.

    Parameters
    ----------
    input : array (N, C) of logits; also (C,) unbatched or (N, C, d1, ..., dK), as torch
    target : integer class indices (N,) ((), (N, d1, ..., dK)) of any integer dtype, each in
        [0, C) or equal to ``ignore_index``; or class probabilities of the input's shape
    weight : None or an array (C,): a weight per class
    ignore_index : int, a class index whose rows count for nothing (index targets only;
        it must be negative with probability targets, as in torch)
    reduction : 'mean' | 'sum' | 'none'.  'mean' divides by the summed weights of the
        targets not ignored (index targets; nan when every target is ignored) or by N
        (probability targets), as torch does.
    label_smoothing : float in [0, 1]: the target becomes (1 - ε) target + ε/C

    Returns
    -------
    float for 'mean' and 'sum'; for 'none' an ndarray of the index target's shape and the
    input's dtype (0 for ignored rows).

    PyTorch equivalent: ``torch.nn.functional.cross_entropy``.

    >>> logits = np.array([[1.5, 2.0, 0.5], [0.5, 1.0, 1.5]], dtype=np.float32)
    >>> cross_entropy(logits, np.array([1, 2]))
    0.6422001123428345
    """
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing,
                          "value")


def cross_entropy_grad(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None,
                       ignore_index: int = -100, reduction: str = "mean",
                       label_smoothing: float = 0.0) -> FloatArray:
    """d(cross_entropy)/d(input), shape (N, C): for index targets y without smoothing
    weight[y] (softmax(input) - onehot(y)), divided by the 'mean' denominator; ignored rows
    are 0.  For 'none' the gradient of the sum.

    PyTorch equivalent: the gradient autograd computes for ``F.cross_entropy``.
    """
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing,
                          "grad")


def cross_entropy_and_grad(input: ArrayLike, target: ArrayLike,
                           weight: ArrayLike | None = None, ignore_index: int = -100,
                           reduction: str = "mean", label_smoothing: float = 0.0
                           ) -> tuple[float | FloatArray, FloatArray]:
    """(cross_entropy(...), cross_entropy_grad(...)) from one pass; used by CrossEntropyLoss."""
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing,
                          "both")


def _nll_loss(input, target, weight, ignore_index, reduction, want):
    return _run(v.nll_loss_args(input, target, weight, ignore_index, reduction), want)


def nll_loss(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> float | FloatArray:
    """Negative log likelihood: -weight[y] input[n, y] for each row n with target y.

    Parameters
    ----------
    input : array (N, C) of log-probabilities (e.g. log_softmax output); also (C,)
        unbatched or (N, C, d1, ..., dK), as torch
    target : integer class indices (N,) ((), (N, d1, ..., dK)) of any integer dtype, each
        in [0, C) or equal to ``ignore_index``
    weight : None or an array (C,): a weight per class
    ignore_index : int, a class index whose rows count for nothing
    reduction : 'mean' | 'sum' | 'none'.  'mean' divides by the summed weights of the
        targets not ignored (nan when every target is ignored), as torch does.

    Returns
    -------
    float for 'mean' and 'sum'; for 'none' an ndarray of the target's shape and the
    input's dtype.

    PyTorch equivalent: ``torch.nn.functional.nll_loss``.

    >>> nll_loss(np.log(np.array([[0.25, 0.75]])), np.array([1]))
    0.2876820724517809
    """
    return _nll_loss(input, target, weight, ignore_index, reduction, "value")


def nll_loss_grad(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None,
                  ignore_index: int = -100, reduction: str = "mean") -> FloatArray:
    """d(nll_loss)/d(input), shape (N, C): -weight[y] at each row's target, 0 elsewhere and on
    ignored rows, divided by the 'mean' denominator.

    PyTorch equivalent: the gradient autograd computes for ``F.nll_loss``.
    """
    return _nll_loss(input, target, weight, ignore_index, reduction, "grad")


def nll_loss_and_grad(input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None,
                      ignore_index: int = -100, reduction: str = "mean"
                      ) -> tuple[float | FloatArray, FloatArray]:
    """(nll_loss(...), nll_loss_grad(...)) from one pass; used by NLLLoss."""
    return _nll_loss(input, target, weight, ignore_index, reduction, "both")
