"""Layers and Nets: the linear kernels' arguments, layer inputs, parameters, state dicts."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from fastbp._validate.arrays import (FLOAT32, FLOAT64, as_float_array, check_allocation,
                                     check_blas_dims, check_ndim, check_shape, shape_str)


# --- composite checks used by functional.py and the classes -------------------------

def linear_args(x, weight, bias):
    """x (N, I), weight (O, I), bias (O,) or None, all in x's float dtype."""
    x = as_float_array(x, "x")
    weight = as_float_array(weight, "weight", x.dtype)
    check_ndim(x, "x", 2, "(N, in_features)")
    check_ndim(weight, "weight", 2, "(out_features, in_features)")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"x: expected shape (N, {weight.shape[1]}) to match weight "
                         f"{shape_str(weight.shape)}, got {shape_str(x.shape)}")
    check_blas_dims(x, "x")
    check_blas_dims(weight, "weight")
    if bias is not None:
        bias = as_float_array(bias, "bias", x.dtype)
        check_shape(bias, "bias", (weight.shape[0],))
    check_allocation((x.shape[0], weight.shape[0]), x.dtype, "linear output (N, out_features)")
    return x, weight, bias


def linear_backward_args(grad_y, x, weight, bias):
    grad_y = as_float_array(grad_y, "grad_y")
    x = as_float_array(x, "x", grad_y.dtype)
    weight = as_float_array(weight, "weight", grad_y.dtype)
    check_ndim(grad_y, "grad_y", 2, "(N, out_features)")
    check_ndim(x, "x", 2, "(N, in_features)")
    check_ndim(weight, "weight", 2, "(out_features, in_features)")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"x: expected shape (N, {weight.shape[1]}) to match weight "
                         f"{shape_str(weight.shape)}, got {shape_str(x.shape)}")
    check_shape(grad_y, "grad_y", (x.shape[0], weight.shape[0]))
    for arr, name in ((grad_y, "grad_y"), (x, "x"), (weight, "weight")):
        check_blas_dims(arr, name)
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"bias: expected True or False, got {bias!r}")
    return grad_y, x, weight, bool(bias)


def layer_input(x, name: str, in_features: int, dtype) -> np.ndarray:
    """A Layer's input: converted to the layer's dtype, shape (N, in_features)."""
    x = as_float_array(x, name, dtype)
    check_ndim(x, name, 2, f"(N, {in_features})")
    if x.shape[1] != in_features:
        raise ValueError(f"{name}: expected shape (N, {in_features}), got {shape_str(x.shape)}")
    check_blas_dims(x, name)
    return x


def net_layers(layers, layer_type) -> tuple:
    """A Net's layers: Layer objects, distinct, consecutive sizes agreeing, one dtype."""
    if isinstance(layers, layer_type):
        raise TypeError("layers: expected a list of Layer, got a single Layer (wrap it in a list)")
    try:
        layers = tuple(layers)
    except TypeError:
        raise TypeError(f"layers: expected a list of Layer, got {type(layers).__name__}") from None
    if not layers:
        raise ValueError("layers: expected at least one Layer, got an empty list")
    for k, layer in enumerate(layers):
        if not isinstance(layer, layer_type):
            raise TypeError(f"layers[{k}]: expected a Layer, got {type(layer).__name__}")
        for j in range(k):
            if layers[j] is layer:
                raise ValueError(f"layers[{k}]: the same Layer object as layers[{j}]; "
                                 "each position needs its own Layer")
    for k in range(len(layers) - 1):
        a, b = layers[k], layers[k + 1]
        if a.out_features != b.in_features:
            raise ValueError(f"layers: layers[{k}] has out_features {a.out_features} but "
                             f"layers[{k + 1}] has in_features {b.in_features}")
        if a.dtype != b.dtype:
            raise ValueError(f"layers: layers[{k}] is {a.dtype} but layers[{k + 1}] is {b.dtype}; "
                             "a Net computes in one dtype")
    return layers


def parameter_pairs(params) -> list:
    """An optimizer's parameters: (value, grad) pairs of writable, C-contiguous float arrays."""
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"params: expected a Net or a list of (value, grad) pairs, "
                        f"got {type(params).__name__}") from None
    pairs = []
    for k, pair in enumerate(params):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"params[{k}]: expected a (value, grad) pair of arrays, "
                            f"got {type(pair).__name__}")
        value, grad = pair
        for arr, what in ((value, "value"), (grad, "grad")):
            if not isinstance(arr, np.ndarray):
                raise TypeError(f"params[{k}] {what}: expected an ndarray, got {type(arr).__name__}")
            if arr.dtype not in (FLOAT32, FLOAT64):
                raise TypeError(f"params[{k}] {what}: expected float32 or float64, got {arr.dtype}")
            if not (arr.flags.c_contiguous and arr.flags.writeable and arr.dtype.isnative):
                raise ValueError(f"params[{k}] {what}: expected a writable, C-contiguous, "
                                 "native-byte-order array (the optimizer updates it in place)")
        if value.shape != grad.shape or value.dtype != grad.dtype:
            raise ValueError(f"params[{k}]: value {shape_str(value.shape)} {value.dtype} and grad "
                             f"{shape_str(grad.shape)} {grad.dtype} differ")
        if np.shares_memory(value, grad):
            raise ValueError(f"params[{k}]: value and grad share memory")
        pairs.append((value, grad))
    return pairs


def state_dict_arrays(state, expected: dict, dtype) -> dict:
    """load_state_dict's argument: exactly the keys of ``expected`` (name -> shape), each
    an array of that shape, returned converted to ``dtype``.  Checks everything before
    the caller copies anything, so a bad state_dict leaves the Net as it was."""
    if not isinstance(state, Mapping):
        raise TypeError(f"state_dict: expected a mapping of name -> array, got {type(state).__name__}")
    for key, shape in expected.items():
        if key not in state:
            raise ValueError(f"state_dict: missing key {key!r} (expected shape {shape_str(shape)}, "
                             "got no array)")
    arrays = {}
    for key, value in state.items():
        name = f"state_dict[{key!r}]"
        arr = as_float_array(value, name, dtype)
        if key not in expected:
            raise ValueError(f"state_dict: unexpected key {key!r} (shape {shape_str(arr.shape)}); "
                             f"expected the keys {', '.join(repr(k) for k in expected)}")
        if arr.shape != tuple(expected[key]):
            raise ValueError(f"{name}: expected shape {shape_str(expected[key])}, "
                             f"got {shape_str(arr.shape)}")
        arrays[key] = arr
    return arrays
