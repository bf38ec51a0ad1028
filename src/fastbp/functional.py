"""Pure functions with PyTorch's semantics: validate, call the trusted kernel, shape the result.

Every function takes NumPy arrays (or anything ``np.asarray`` accepts) and
returns new arrays; none ever writes into an argument.  float16, integer and
bool inputs compute in float32; the first array argument decides the dtype and
the others are converted to it.
"""

from __future__ import annotations

import numpy as np

from fastbp import _activations, _dense
from fastbp import _validate as v
from fastbp._typing import ArrayLike, FloatArray

__all__ = [
    "linear", "linear_backward",
    "sigmoid", "sigmoid_backward",
    "relu", "relu_backward",
    "tanh", "tanh_backward",
    "softmax", "softmax_backward",
    "log_softmax", "log_softmax_backward",
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
# Each is defined by its spec (specs/activations/<name>.py), from which the build generates
# <name> and <name>_backward.

from fastbp import _activation_functions  # noqa: E402
from fastbp._activation_functions import *  # noqa: E402,F401,F403

__all__ += _activation_functions.__all__


# --- losses --------------------------------------------------------------------------------
# Each loss is defined by its spec (specs/losses/<name>.py), from which the build generates
# <name>, <name>_grad and <name>_and_grad (both from one pass: what the loss classes use).

from fastbp import _loss_functions  # noqa: E402
from fastbp._loss_functions import *  # noqa: E402,F401,F403

__all__ += _loss_functions.__all__
