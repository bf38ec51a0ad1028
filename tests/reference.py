"""Plain NumPy reference implementations: the test oracle, written for clarity, not speed.

Each function computes in float64 unless it says otherwise, so float32 kernels are
compared against a more exact answer.
"""

import numpy as np


def f64(a):
    return np.asarray(a, dtype=np.float64)


# --- dense ---------------------------------------------------------------------------------

def linear(x, weight, bias=None):
    y = f64(x) @ f64(weight).T
    if bias is not None:
        y = y + f64(bias)
    return y


def linear_backward(grad_y, x, weight):
    """(grad_x, grad_weight, grad_bias) of y = x @ weight.T + bias."""
    grad_y = f64(grad_y)
    return grad_y @ f64(weight), grad_y.T @ f64(x), grad_y.sum(axis=0)


def linear_scale(x, weight):
    """Σ_i |x[n,i]| |w[o,i]|: the size of the terms a matrix product sums (for tolerances)."""
    return float((np.abs(f64(x)) @ np.abs(f64(weight)).T).max(initial=0.0)) + 1.0


# --- activations ---------------------------------------------------------------------------

def sigmoid(x):
    x = f64(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def sigmoid_backward(grad_y, y):
    y = f64(y)
    return f64(grad_y) * (1.0 - y) * y


def relu(x):
    x = f64(x)
    return np.where(x < 0, 0.0, x)  # only x < 0 is clamped: nan and -0.0 pass, as in torch


def relu_backward(grad_y, y):
    return np.where(f64(y) <= 0, 0.0, f64(grad_y))  # 0 at exactly y = 0


def tanh(x):
    return np.tanh(f64(x))


def tanh_backward(grad_y, y):
    y = f64(y)
    return f64(grad_y) * (1.0 - y * y)


def softmax(x):
    """Row-wise over the last axis of a 2-D array, shifted by the row max."""
    x = f64(x)
    with np.errstate(invalid="ignore"):  # a row of -inf: -inf - (-inf) is nan, as in torch
        e = np.exp(x - x.max(axis=1, keepdims=True, initial=-np.inf))
        return e / e.sum(axis=1, keepdims=True)


def softmax_backward(grad_y, y):
    grad_y, y = f64(grad_y), f64(y)
    return y * (grad_y - (grad_y * y).sum(axis=1, keepdims=True))


def log_softmax(x):
    x = f64(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        shifted = x - x.max(axis=1, keepdims=True, initial=-np.inf)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def log_softmax_backward(grad_y, y):
    grad_y, y = f64(grad_y), f64(y)
    return grad_y - np.exp(y) * grad_y.sum(axis=1, keepdims=True)


def identity(x):
    return f64(x)


def identity_backward(grad_y, y):
    return f64(grad_y)


# name -> (forward, backward from the forward output)
ACTIVATIONS = {
    None: (identity, identity_backward),
    "sigmoid": (sigmoid, sigmoid_backward),
    "relu": (relu, relu_backward),
    "tanh": (tanh, tanh_backward),
    "softmax": (softmax, softmax_backward),
    "log_softmax": (log_softmax, log_softmax_backward),
}


# --- losses --------------------------------------------------------------------------------

def reduce(values, reduction):
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.mean() if values.size else np.nan


def mse_loss(input, target, reduction="mean"):
    return reduce((f64(input) - f64(target)) ** 2, reduction)


def mse_loss_grad(input, target, reduction="mean"):
    grad = 2.0 * (f64(input) - f64(target))
    return grad / input.size if reduction == "mean" else grad


# --- a network of (weight, bias, activation) layers -------------------------------------

def net_forward(layers, x):
    """layers: [(weight, bias or None, activation name or None)]; returns the layer outputs."""
    outputs = []
    for weight, bias, act in layers:
        x = ACTIVATIONS[act][0](linear(x, weight, bias))
        outputs.append(x)
    return outputs


def net_backward(layers, x, outputs, grad_out):
    """(grad_in, [(grad_weight, grad_bias or None) per layer])."""
    grads = [None] * len(layers)
    grad = f64(grad_out)
    for k in reversed(range(len(layers))):
        weight, bias, act = layers[k]
        grad = ACTIVATIONS[act][1](grad, outputs[k])
        layer_in = outputs[k - 1] if k else f64(x)
        grad_x, grad_w, grad_b = linear_backward(grad, layer_in, weight)
        grads[k] = (grad_w, grad_b if bias is not None else None)
        grad = grad_x
    return grad, grads


# --- optimizers ----------------------------------------------------------------------------

def sgd_step(param, grad, state, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False):
    """torch.optim.SGD's rule on NumPy arrays, in the parameter's own dtype.

    ``state`` is a dict holding the momentum buffer between calls.  Returns the new param.
    """
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = d + param.dtype.type(weight_decay) * param
    if momentum != 0:
        mom = param.dtype.type(momentum)
        if "buf" not in state:
            state["buf"] = d.copy()
        else:
            state["buf"] = state["buf"] * mom + param.dtype.type(1 - dampening) * d
        d = d + mom * state["buf"] if nesterov else state["buf"]
    return param + param.dtype.type(-lr) * d
