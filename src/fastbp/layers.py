"""Layer: a dense layer with an optional activation, its parameters, gradients and forward cache."""

from __future__ import annotations

import math

import numpy as np

from fastbp import _activations, _dense
from fastbp import _validate as v
from fastbp._activation_specs import INIT_GAINS, OPTIONS
from fastbp._typing import ArrayLike, DTypeLike, FloatArray, ParameterPair

__all__ = ["Layer"]

INITS = ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal")


def init_gain(activation) -> float:
    """torch.nn.init.calculate_gain for the layer's activation: relu sqrt(2), tanh 5/3, a v2
    activation's INIT_GAIN of its options (leaky_relu sqrt(2 / (1 + slope**2))), every
    other (and none) 1."""
    name, options = activation if isinstance(activation, tuple) else (activation, {})
    if name == "relu":
        return math.sqrt(2.0)
    if name == "tanh":
        return 5.0 / 3
    if name in INIT_GAINS:
        return INIT_GAINS[name](**{**OPTIONS[name], **options})
    return 1.0


def initial_weight(rng: np.random.Generator, init: str, activation, shape: tuple) -> np.ndarray:
    """A (out, in) weight drawn (float64) as ``init`` says; see Layer."""
    fan_out, fan_in = shape
    if init == "default":
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape)
    gain = init_gain(activation)
    if init.startswith("xavier"):
        std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    else:
        std = gain / math.sqrt(fan_in)
    if init.endswith("uniform"):
        bound = math.sqrt(3.0) * std
        return rng.uniform(-bound, bound, shape)
    return rng.normal(0.0, std, shape)


class Layer:
    """A fully connected layer y = activation(x @ weight.T + bias), as torch.nn.Linear
    followed by the activation module (nn.Sigmoid, nn.ReLU, nn.Tanh, nn.Softmax(dim=-1),
    nn.LogSoftmax(dim=-1), nn.GELU, nn.SiLU, nn.LeakyReLU, nn.ELU, nn.Softplus).

    Parameters
    ----------
    in_features, out_features : int
    activation : None | 'sigmoid' | 'relu' | 'tanh' | 'softmax' | 'log_softmax' | 'gelu' |
        'silu' | 'leaky_relu' | 'elu' | 'softplus', or a pair (name, {options}) such as
        ('leaky_relu', {'negative_slope': 0.2}) or ('gelu', {'approximate': 'tanh'})
        (the options of torch.nn.functional's function of that name, defaults as there);
        applied to the layer's output (the softmaxes over out_features)
    bias : bool, keyword-only, default True
    dtype : float32 (default) or float64; inputs are converted to it
    seed : int or None; the random initialization draws with this seed
    init : 'default' | 'xavier_uniform' | 'xavier_normal' | 'kaiming_uniform' |
        'kaiming_normal', keyword-only.  'default' is torch.nn.Linear's: weight and bias
        from U(-1/sqrt(in_features), 1/sqrt(in_features)).  The others are
        torch.nn.init's formulas (fan_in = in_features, fan_out = out_features; kaiming
        in mode 'fan_in') with the gain of the activation as ``calculate_gain``, and a zero bias.

    Attributes
    ----------
    weight : ndarray (out_features, in_features), writable in place
    bias : ndarray (out_features,) or None
    grad_weight, grad_bias : same shapes; ``backward`` adds to them (torch's
        accumulation) and ``Net.zero_grad``/``SGD.zero_grad`` clear them

    Assigning ``layer.weight = array`` copies the values into the existing
    array, so an optimizer built earlier keeps updating the right memory.

    >>> layer = Layer(2, 2, activation="sigmoid", dtype=np.float64, seed=0)
    >>> y = layer(np.array([[0.05, 0.10]]))
    >>> grad_x = layer.backward(np.ones_like(y))
    """

    def __init__(self, in_features: int, out_features: int,
                 activation: str | tuple[str, dict] | None = None, *,
                 bias: bool = True, dtype: DTypeLike = np.float32, seed: int | None = None,
                 init: str = "default") -> None:
        self.in_features = v.positive_int(in_features, "in_features")
        self.out_features = v.positive_int(out_features, "out_features")
        self._act, self._p1, self._p2, self._options = v.activation_spec(activation)
        self._keeps_z = self._act in v.INPUT_ACTIVATIONS
        if isinstance(activation, (tuple, list)):  # (name, {the options given, validated})
            activation = (activation[0], {key: (self._options or {})[key]
                                          for key in activation[1]})
        self.activation = activation
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias: expected True or False, got {bias!r}")
        self.dtype = v.dtype_option(dtype)
        rng = np.random.default_rng(v.seed_option(seed))
        init = v.choice(init, "init", INITS)
        bound = 1.0 / math.sqrt(self.in_features)
        shape = (self.out_features, self.in_features)
        self._weight = initial_weight(rng, init, activation, shape).astype(self.dtype)
        self._grad_weight = np.zeros(shape, dtype=self.dtype)
        if bias:
            self._bias = (rng.uniform(-bound, bound, self.out_features).astype(self.dtype)
                          if init == "default" else np.zeros(self.out_features, self.dtype))
            self._grad_bias = np.zeros(self.out_features, dtype=self.dtype)
        else:
            self._bias = None
            self._grad_bias = None
        # the last forward's input (N, in), owned by the layer, output (N, out), as returned
        # to the caller, and pre-activation (N, out), kept for the activations whose
        # backward reads the forward input (v.INPUT_ACTIVATIONS)
        self._cache = _dense.ForwardCache()

    # --- parameters ------------------------------------------------------------------

    @property
    def weight(self) -> FloatArray:
        return self._weight

    @weight.setter
    def weight(self, value: ArrayLike) -> None:
        value = v.as_float_array(value, "weight", self.dtype)
        v.check_shape(value, "weight", self._weight.shape)
        np.copyto(self._weight, value)

    @property
    def bias(self) -> FloatArray | None:
        return self._bias

    @bias.setter
    def bias(self, value: ArrayLike) -> None:
        if self._bias is None:
            raise ValueError("bias: this layer was built with bias=False")
        value = v.as_float_array(value, "bias", self.dtype)
        v.check_shape(value, "bias", self._bias.shape)
        np.copyto(self._bias, value)

    @property
    def grad_weight(self) -> FloatArray:
        return self._grad_weight

    @property
    def grad_bias(self) -> FloatArray | None:
        return self._grad_bias

    def parameters(self) -> list[ParameterPair]:
        """[(weight, grad_weight), (bias, grad_bias)]; the bias pair only when there is a bias."""
        pairs = [(self._weight, self._grad_weight)]
        if self._bias is not None:
            pairs.append((self._bias, self._grad_bias))
        return pairs

    def zero_grad(self) -> None:
        self._grad_weight.fill(0)
        if self._grad_bias is not None:
            self._grad_bias.fill(0)

    @property
    def activation_options(self) -> dict | None:
        """Every option of the activation (defaults filled in), or None for the activations
        without options (sigmoid, relu, tanh, softmax, log_softmax, None)."""
        return None if self._options is None else dict(self._options)

    # --- forward / backward ------------------------------------------------------------

    def forward(self, x: ArrayLike) -> FloatArray:
        """y = activation(x @ weight.T + bias) for x of shape (N, in_features)."""
        given = x
        x = v.layer_input(x, "x", self.in_features, self.dtype)
        if x is given:
            x = x.copy()  # backward must see this input even if the caller changes theirs
        return self._forward(x)

    __call__ = forward

    def _forward(self, x):
        """Forward on an input already validated and owned by fastbp."""
        cache = self._cache
        if self._keeps_z:
            z = cache.z = self._output(x, activate=False)
            y = np.empty_like(z)
            _activations.forward2(self._act, z.reshape(-1), y.reshape(-1), self._p1, self._p2)
        else:
            y = self._output(x)
        cache.x, cache.y = x, y
        return y

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # a copy holds the same arrays, in a cache of its own: its forward leaves ours alone
        cache = self._cache
        state["_cache"] = _dense.ForwardCache(cache.x, cache.z, cache.y)
        return state

    @property
    def _x(self):
        return self._cache.x

    @property
    def _y(self):
        return self._cache.y

    @property
    def _z(self):
        return self._cache.z

    def _output(self, x, activate=True):
        """y for an input already validated, cached nowhere (backward will not see it)."""
        y = np.empty((x.shape[0], self.out_features), dtype=self.dtype)
        _dense.linear(x, self._weight, self._bias, y)
        if not activate:
            return y
        if self._act in v.INPUT_ACTIVATIONS:
            flat = y.reshape(-1)
            _activations.forward2(self._act, flat, flat, self._p1, self._p2)
        elif self._act != _activations.Activation.IDENTITY:
            flat = y.reshape(-1)
            _activations.forward(self._act, flat, flat, y.shape[0])
        return y

    def _fused_record(self):
        """This layer's record (_dense.LayerArgs) for Net.train_step's compiled step."""
        return _dense.LayerArgs(self._weight, self._bias, self._grad_weight, self._grad_bias,
                                self._act, self._p1, self._p2, cache=self._cache)

    def backward(self, grad_y: ArrayLike) -> FloatArray:
        """grad_x for grad_y = d(loss)/dy of the most recent forward; adds to the parameter grads."""
        if self._y is None:
            raise RuntimeError("Layer.backward() called before forward()")
        grad_y = v.as_float_array(grad_y, "grad_y", self.dtype)
        v.check_shape(grad_y, "grad_y", self._y.shape)
        return self._backward(grad_y)

    def _backward(self, grad_y, need_grad_x=True):
        cache = self._cache
        grad_z = grad_y
        if self._keeps_z:
            grad_z = np.empty_like(grad_y)
            _activations.backward2(self._act, grad_y.reshape(-1), cache.z.reshape(-1),
                                   grad_z.reshape(-1), self._p1, self._p2)
        elif self._act != _activations.Activation.IDENTITY:
            grad_z = np.empty_like(grad_y)
            _activations.backward(self._act, grad_y.reshape(-1), cache.y.reshape(-1),
                                  grad_z.reshape(-1), grad_y.shape[0])
        grad_x = np.empty_like(cache.x) if need_grad_x else None
        _dense.linear_backward(grad_z, cache.x, self._weight, grad_x, self._grad_weight,
                               self._grad_bias)
        return grad_x

    def __repr__(self) -> str:
        act = "" if self.activation is None else f", activation={self.activation!r}"
        bias = "" if self._bias is not None else ", bias=False"
        return f"Layer({self.in_features}, {self.out_features}{act}{bias}, dtype={self.dtype.name})"
