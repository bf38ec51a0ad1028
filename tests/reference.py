"""Plain NumPy reference implementations: the test oracle, written for clarity, not speed.

Each function computes in float64 unless it says otherwise, so float32 kernels are
compared against a more exact answer.
"""

import math

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
    # element by element with the C library's tanh: NumPy's vectorized tanh can be an ulp
    # off near saturation (np.tanh(-19.04135188) is -1.0, the rounded value -1 + 2**-53),
    # and an infinite gradient times 1 - y² then turns inf into nan
    return np.vectorize(math.tanh, otypes=[np.float64])(f64(x))


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


# --- v2 activations: the exact functions, in float64 (backward from the input x) ----------

_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x, approximate="none"):
    x = f64(x)
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_backward(grad_y, x, approximate="none"):
    x = f64(x)
    if approximate == "tanh":
        k = math.sqrt(2.0 / math.pi)
        th = np.tanh(k * (x + 0.044715 * x**3))
        d = 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * k * (1.0 + 3 * 0.044715 * x * x)
    else:
        with np.errstate(over="ignore"):
            d = 0.5 * (1.0 + _erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / math.sqrt(
                2.0 * math.pi)
    return f64(grad_y) * d


def silu(x):
    return f64(x) * sigmoid(x)


def silu_backward(grad_y, x):
    s = sigmoid(x)
    return f64(grad_y) * s * (1.0 + f64(x) * (1.0 - s))


def leaky_relu(x, negative_slope=0.01):
    x = f64(x)
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_backward(grad_y, x, negative_slope=0.01):
    return f64(grad_y) * np.where(f64(x) > 0, 1.0, negative_slope)  # negative_slope at 0


def elu(x, alpha=1.0):
    x = f64(x)
    with np.errstate(over="ignore"):
        return np.where(x > 0, x, alpha * np.expm1(x))


def elu_backward(grad_y, x, alpha=1.0):
    x = f64(x)
    with np.errstate(over="ignore"):
        return f64(grad_y) * np.where(x > 0, 1.0, alpha * np.exp(x))


def softplus(x, beta=1.0, threshold=20.0):
    x = f64(x)
    with np.errstate(over="ignore", divide="ignore"):
        return np.where(x * beta > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def softplus_backward(grad_y, x, beta=1.0, threshold=20.0):
    x = f64(x)
    with np.errstate(over="ignore", invalid="ignore"):
        return f64(grad_y) * np.where(x * beta > threshold, 1.0, sigmoid(beta * x))


# --- losses --------------------------------------------------------------------------------

def reduce(values, reduction):
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.mean() if values.size else np.nan


def mean_grad(grad, input, reduction):
    """The gradient of 'mean' is that of 'sum' divided by the element count."""
    return grad / input.size if reduction == "mean" else grad


def l1_loss(input, target, reduction="mean"):
    return reduce(np.abs(f64(input) - f64(target)), reduction)


def torch_sign(d):
    """torch.sign: -1, 0 or 1, and 0 for nan (np.sign gives nan)."""
    return np.nan_to_num(np.sign(d), nan=0.0)


def l1_loss_grad(input, target, reduction="mean"):
    return mean_grad(torch_sign(f64(input) - f64(target)), input, reduction)


def mse_loss(input, target, reduction="mean"):
    return reduce((f64(input) - f64(target)) ** 2, reduction)


def mse_loss_grad(input, target, reduction="mean"):
    return mean_grad(2.0 * (f64(input) - f64(target)), input, reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    z = np.abs(f64(input) - f64(target))
    if beta == 0:  # torch calls l1_loss
        return reduce(z, reduction)
    return reduce(np.where(z < beta, 0.5 * z**2 / beta, z - 0.5 * beta), reduction)


def smooth_l1_loss_grad(input, target, reduction="mean", beta=1.0):
    d = f64(input) - f64(target)
    if beta == 0:
        return l1_loss_grad(input, target, reduction)
    with np.errstate(invalid="ignore"):
        grad = np.where(d < -beta, -1.0, np.where(d > beta, 1.0, d / beta))
    return mean_grad(grad, input, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    z = np.abs(f64(input) - f64(target))
    return reduce(np.where(z < delta, 0.5 * z**2, delta * (z - 0.5 * delta)), reduction)


def huber_loss_grad(input, target, reduction="mean", delta=1.0):
    return mean_grad(np.clip(f64(input) - f64(target), -delta, delta), input, reduction)


def broadcast_weight(weight, input):
    return np.ones(np.shape(input)) if weight is None else np.broadcast_to(f64(weight), np.shape(input))


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    p, t = f64(input), f64(target)
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100.0)  # torch clamps each log at -100
        log_q = np.maximum(np.log1p(-p), -100.0)  # torch: log1p(-p), exact for tiny p
    return reduce(-broadcast_weight(weight, p) * (t * log_p + (1.0 - t) * log_q), reduction)


def binary_cross_entropy_grad(input, target, weight=None, reduction="mean"):
    p, t = f64(input), f64(target)
    # torch's EPSILON is the float32 1e-12, in float64 too
    grad = broadcast_weight(weight, p) * (p - t) / np.maximum(p * (1.0 - p), float(np.float32(1e-12)))
    return mean_grad(grad, input, reduction)


def log_sigmoid(x):
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None,
                                     reduction="mean"):
    x, t = f64(input), f64(target)
    log_weight = 1.0 if pos_weight is None else 1.0 + (f64(pos_weight) - 1.0) * t
    with np.errstate(invalid="ignore"):
        loss = (1.0 - t) * x - log_weight * log_sigmoid(x)
    return reduce(broadcast_weight(weight, x) * loss, reduction)


def binary_cross_entropy_with_logits_grad(input, target, weight=None, pos_weight=None,
                                          reduction="mean"):
    x, t = f64(input), f64(target)
    log_weight = 1.0 if pos_weight is None else 1.0 + (f64(pos_weight) - 1.0) * t
    with np.errstate(over="ignore"):
        sigmoid_minus_x = 1.0 / (1.0 + np.exp(x))
    grad = broadcast_weight(weight, x) * ((1.0 - t) - log_weight * sigmoid_minus_x)
    return mean_grad(grad, input, reduction)


def log_softmax(x):
    """Row-wise, the way torch computes it: x - max - log(sum(exp(x - max)))."""
    x = f64(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        shifted = x - x.max(axis=1, keepdims=True) if x.shape[1] else x
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def class_weights(weight, n_classes):
    return np.ones(n_classes) if weight is None else f64(weight)


def _index_target_parts(target, weight, ignore_index, n_classes):
    """(kept rows mask, target with ignored rows pointed at class 0, weight per class)"""
    target = np.asarray(target).astype(np.int64)
    kept = target != ignore_index
    return kept, np.where(kept, target, 0), class_weights(weight, n_classes)


def at_target(x, y):
    """x[n, y[n]] per row; with no classes at all every row is ignored, so 0 stands in."""
    return x[np.arange(len(y)), y] if x.shape[1] else np.zeros(len(y))


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    x = f64(input)
    kept, y, w = _index_target_parts(target, weight, ignore_index, x.shape[1])
    w = w if x.shape[1] else np.zeros(1)  # the weight of the stand-in class of no classes
    rows = np.where(kept, -w[y] * at_target(x, y), 0.0)
    if reduction == "mean":
        with np.errstate(invalid="ignore"):
            return rows.sum() / w[y][kept].sum()  # 0/0 = nan when all are ignored
    return reduce(rows, reduction)


def nll_loss_grad(input, target, weight=None, ignore_index=-100, reduction="mean"):
    x = f64(input)
    kept, y, w = _index_target_parts(target, weight, ignore_index, x.shape[1])
    w = w if x.shape[1] else np.zeros(1)
    grad = np.zeros_like(x)
    rows = np.arange(len(y))[kept]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # torch's order: -(1 / total weight) first, a number of the input's dtype, then
        # times w[y] (0 * -inf = nan; in float32 1/total is inf below 2^-128)
        total = in_dtype_of(input, w[y][kept].sum() if reduction == "mean" else 1.0)
        grad[rows, y[kept]] = w[y[kept]] * -f64(in_dtype_of(input, 1.0 / f64(total)))
    return grad


def in_dtype_of(input, value):
    """value rounded to the dtype fastbp and torch compute input in (overflow to inf
    included): float32 for float32, float16, integers and bool; else float64."""
    kind, size = np.asarray(input).dtype.kind, np.asarray(input).dtype.itemsize
    dtype = np.float32 if kind in "biu" or (kind == "f" and size <= 4) else np.float64
    with np.errstate(over="ignore"):
        return np.asarray(value).astype(dtype)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """torch's rules: integer targets are class indices, floating ones class probabilities."""
    x = f64(input)
    n_classes = x.shape[1]
    logp = log_softmax(x)
    eps = np.float64(label_smoothing)  # eps / 0 classes is nan, as in torch, not an error
    if np.asarray(target).dtype.kind == "f":
        q = f64(target) * (1.0 - eps) + eps / n_classes
        with np.errstate(invalid="ignore"):
            rows = -(logp * q * class_weights(weight, n_classes)).sum(axis=1)
        if reduction == "mean":  # torch divides by numel / C: N, and nan when C = 0
            with np.errstate(invalid="ignore", divide="ignore"):
                return rows.sum() / (np.float64(x.size) / n_classes)
        return reduce(rows, reduction)
    kept, y, w = _index_target_parts(target, weight, ignore_index, n_classes)
    wy_all = w[y] if n_classes else np.zeros(len(y))
    with np.errstate(invalid="ignore", divide="ignore"):
        nll = np.where(kept, -wy_all * at_target(logp, y), 0.0)
        if reduction == "mean":  # 'mean' divides by the weights of the kept targets
            nll = nll.sum() / wy_all[kept].sum()
        else:
            nll = reduce(nll, reduction)
        if eps == 0:
            return nll
        # torch reduces the smoothing term apart, then mixes: (1 - eps) nll + (eps/C) smooth;
        # each part is a tensor of the input's dtype, so in float32 either may overflow to
        # inf (a subnormal total weight) where the mixture would not
        smooth = np.where(kept, -(logp * w).sum(axis=1), 0.0)
        if reduction == "mean":
            smooth = smooth.sum() / wy_all[kept].sum()
        else:
            smooth = reduce(smooth, reduction)
        nll, smooth = f64(in_dtype_of(input, nll)), f64(in_dtype_of(input, smooth))
        return (1.0 - eps) * nll + eps / n_classes * smooth


def cross_entropy_grad(input, target, weight=None, ignore_index=-100, reduction="mean",
                       label_smoothing=0.0):
    """d/dx of -sum_c w_c q_c logp_c is p * sum_c(w_c q_c) - w * q, for q the (smoothed)
    target distribution; index targets weigh the nll part by w[y] instead."""
    x = f64(input)
    n, n_classes = x.shape
    with np.errstate(invalid="ignore"):
        p = np.exp(log_softmax(x))
    eps = np.float64(label_smoothing)
    if np.asarray(target).dtype.kind == "f":
        wq = f64(target) * (1.0 - eps) + eps / n_classes
        wq = wq * class_weights(weight, n_classes)
        with np.errstate(invalid="ignore"):
            grad = p * wq.sum(axis=1, keepdims=True) - wq
        return grad / n if reduction == "mean" else grad
    kept, y, w = _index_target_parts(target, weight, ignore_index, n_classes)
    wy = w[y] if n_classes else np.zeros(n)
    rows = np.arange(n)[kept]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # torch's chain, in its order: nll_loss_backward puts -(grad_out / total_weight) * w[y]
        # at each kept target (grad_out = 1 - eps), the smoothing term -w (eps/C) / total on
        # each kept row; log_softmax_backward then gives g - p * sum(g) on every row.  Both
        # quotients are numbers of the input's dtype (float32: inf for a tiny total).
        total = f64(in_dtype_of(input, wy[kept].sum() if reduction == "mean" else 1.0))
        nll_coef = f64(in_dtype_of(input, f64(in_dtype_of(input, 1.0 - eps)) / total))
        g = np.zeros((n, n_classes))
        g[rows, y[kept]] = wy[kept] * -nll_coef
        if eps > 0:
            smooth_coef = f64(in_dtype_of(input, f64(in_dtype_of(input, eps / n_classes)) / total))
            g[rows] += -(w * smooth_coef)
        return g - p * g.sum(axis=1, keepdims=True)


# --- a network of (weight, bias, activation) layers -------------------------------------


def _any_class_shape(fn, is_grad):
    """fn of (N, C) rows for torch's other class-loss shapes too: an unbatched (C,) input
    with a 0-d target, and (N, C, d1, ..., dK) with (N, d1, ..., dK) class indices or
    probabilities of the input's shape (the class axis moved last, the rest into rows)."""
    def wrapped(input, target, *args, **kwargs):
        x, t = np.asarray(input), np.asarray(target)
        if x.ndim == 2:
            return fn(input, target, *args, **kwargs)
        shape = x.shape
        lead = shape[:1] + shape[2:] if x.ndim > 1 else ()
        n_classes = shape[1] if x.ndim > 1 else shape[0]

        def rows(a):
            a = np.moveaxis(a, 1, -1) if a.ndim > 2 else a
            return a.reshape(math.prod(lead), n_classes)

        result = fn(rows(x), rows(t) if t.dtype.kind == "f" else t.reshape(-1), *args, **kwargs)
        if is_grad:
            result = result.reshape(lead + (n_classes,))
            return np.moveaxis(result, -1, 1) if x.ndim > 2 else result.reshape(shape)
        return result.reshape(lead) if np.ndim(result) == 1 else result
    wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
    return wrapped


nll_loss = _any_class_shape(nll_loss, False)
nll_loss_grad = _any_class_shape(nll_loss_grad, True)
cross_entropy = _any_class_shape(cross_entropy, False)
cross_entropy_grad = _any_class_shape(cross_entropy_grad, True)

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


def adam_step(param, grad, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
              decoupled=False, amsgrad=False, maximize=False):
    """torch.optim.Adam's single-tensor rule (AdamW's with ``decoupled``) on a NumPy array,
    in its own dtype (Python scalars cast to it, as torch's): the bias corrections by
    Python's ``**`` at every step, as torch's.

    ``state`` holds step, exp_avg, exp_avg_sq (and max_exp_avg_sq) between calls.  Returns
    the new param."""
    beta1, beta2 = betas
    state["step"] = step = state.get("step", 0) + 1
    m = state.get("exp_avg", np.zeros_like(param))
    v = state.get("exp_avg_sq", np.zeros_like(param))
    if maximize:
        grad = -grad
    if weight_decay != 0 and decoupled:
        param = param * (1 - lr * weight_decay)
    elif weight_decay != 0:
        grad = grad + weight_decay * param
    w = 1 - beta1  # torch's lerp(m, grad, w): the formula ATen picks for |w| < 0.5 or not
    m = m + w * (grad - m) if abs(w) < 0.5 else grad - (grad - m) * (1 - w)
    v = v * beta2 + ((1 - beta2) * grad) * grad
    bias_correction1 = 1 - beta1 ** float(step)
    bias_correction2_sqrt = (1 - beta2 ** float(step)) ** 0.5
    if amsgrad:
        # torch.maximum, as np.maximum, propagates nan
        v_max = np.maximum(state.get("max_exp_avg_sq", np.zeros_like(param)), v)
        state["max_exp_avg_sq"] = v_max
        denom = np.sqrt(v_max) / bias_correction2_sqrt + eps
    else:
        denom = np.sqrt(v) / bias_correction2_sqrt + eps
    state["exp_avg"], state["exp_avg_sq"] = m, v
    return param + (-(lr / bias_correction1) * m) / denom


def rmsprop_step(param, grad, state, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False, maximize=False):
    """torch.optim.RMSprop's single-tensor rule on a NumPy array, in its own dtype (Python
    scalars cast to it, as torch's).  ``state`` holds square_avg (and grad_avg,
    momentum_buffer) between calls.  Returns the new param."""
    zeros = np.zeros_like(param)
    d = -grad if maximize else grad
    if weight_decay != 0:
        d = d + weight_decay * param
    s = state.get("square_avg", zeros) * alpha + ((1 - alpha) * d) * d
    state["square_avg"] = s
    if centered:
        w = 1 - alpha  # torch's lerp(grad_avg, d, w)
        a = state.get("grad_avg", zeros)
        a = a + w * (d - a) if abs(w) < 0.5 else d - (d - a) * (1 - w)
        state["grad_avg"] = a
        avg = np.sqrt(s + (-1 * a) * a) + eps
    else:
        avg = np.sqrt(s) + eps
    if momentum > 0:
        buf = state.get("momentum_buffer", zeros) * momentum + d / avg
        state["momentum_buffer"] = buf
        return param + (-lr) * buf
    return param + ((-lr) * d) / avg
