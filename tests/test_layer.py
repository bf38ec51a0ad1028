"""Layer: init, forward/backward against tests/reference.py, accumulation, errors."""

import math

import numpy as np
import pytest
from conftest import DTYPES, assert_close

import reference as ref
from fastbp import Layer


@pytest.mark.parametrize("dtype", DTYPES)
def test_default_init_is_torch_linear_uniform(dtype):
    layer = Layer(50, 400, seed=1, dtype=dtype)
    bound = 1 / math.sqrt(50)
    for p in (layer.weight, layer.bias):
        assert p.dtype == dtype
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.95 * bound  # spread over the whole interval
        # U(-b, b) has mean 0 and variance b²/3
        assert abs(p.mean()) < 0.05 * bound
        assert abs(p.var() - bound**2 / 3) < 0.1 * bound**2 / 3
    assert layer.weight.shape == (400, 50) and layer.bias.shape == (400,)
    np.testing.assert_array_equal(layer.grad_weight, np.zeros((400, 50)))
    np.testing.assert_array_equal(layer.grad_bias, np.zeros(400))


def test_seed_reproducible_and_distinct():
    a, b, c = Layer(3, 4, seed=7), Layer(3, 4, seed=7), Layer(3, 4, seed=8)
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.bias, b.bias)
    assert not np.array_equal(a.weight, c.weight)


def test_no_bias():
    layer = Layer(3, 2, bias=False)
    assert layer.bias is None and layer.grad_bias is None
    assert len(layer.parameters()) == 1
    assert repr(layer) == "Layer(3, 2, bias=False, dtype=float32)"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", [None, "sigmoid", "relu", "tanh", "softmax", "log_softmax"])
@pytest.mark.parametrize("n,i,o", [(1, 2, 2), (7, 13, 5), (64, 100, 30)])
def test_forward_backward_match_reference(rng, dtype, activation, n, i, o):
    layer = Layer(i, o, activation, dtype=dtype, seed=3)
    x = rng.standard_normal((n, i))
    gy = rng.standard_normal((n, o))
    spec = [(layer.weight, layer.bias, activation)]
    outs = ref.net_forward(spec, x.astype(dtype))
    y = layer(x)
    assert y.dtype == dtype and y.shape == (n, o)
    scale = ref.linear_scale(x, layer.weight)
    assert_close(y, outs[-1], dtype, scale)
    gx = layer.backward(gy)
    egx, [(egw, egb)] = ref.net_backward(spec, x.astype(dtype), [y], gy.astype(dtype))
    assert_close(gx, egx, dtype, scale)
    assert_close(layer.grad_weight, egw, dtype, n * 4)
    assert_close(layer.grad_bias, egb, dtype, n * 4)


def test_backward_accumulates_until_zero_grad(rng):
    layer = Layer(4, 3, "sigmoid", dtype=np.float64, seed=0)
    x = rng.standard_normal((6, 4))
    gy = rng.standard_normal((6, 3))
    layer(x)
    layer.backward(gy)
    once = (layer.grad_weight.copy(), layer.grad_bias.copy())
    layer.backward(gy)
    # a second identical backward adds the same sums again: exactly twice
    np.testing.assert_array_equal(layer.grad_weight, 2 * once[0])
    np.testing.assert_array_equal(layer.grad_bias, 2 * once[1])
    layer.zero_grad()
    assert not layer.grad_weight.any() and not layer.grad_bias.any()


def test_backward_accumulates_on_blas_path(rng):
    layer = Layer(64, 32, dtype=np.float64, seed=0)
    x = rng.standard_normal((16, 64))
    gy = rng.standard_normal((16, 32))
    layer(x)
    layer.backward(gy)
    once = layer.grad_weight.copy()
    layer.backward(gy)
    assert_close(layer.grad_weight, 2 * once, np.float64, 16 * 4)


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="before forward"):
        Layer(2, 2).backward(np.ones((1, 2)))


def test_forward_keeps_its_own_copy_of_the_input(rng):
    layer = Layer(3, 2, dtype=np.float64, seed=0)
    x = rng.standard_normal((4, 3))
    gy = rng.standard_normal((4, 2))
    layer(x)
    layer.backward(gy)
    expected = layer.grad_weight.copy()
    layer.zero_grad()
    layer(x)
    x[:] = 1000.0  # the caller reuses its buffer before backward
    layer.backward(gy)
    np.testing.assert_array_equal(layer.grad_weight, expected)


def test_input_converted_to_layer_dtype(rng):
    layer = Layer(3, 2, dtype=np.float64, seed=0)
    y = layer(rng.standard_normal((2, 3)).astype(np.float32))
    assert y.dtype == np.float64
    assert layer(np.array([[1, 2, 3]])).dtype == np.float64


def test_weight_assignment_copies_in_place():
    layer = Layer(2, 2, dtype=np.float64)
    w = layer.weight
    layer.weight = [[0.15, 0.20], [0.25, 0.30]]
    layer.bias = [0.35, 0.35]
    assert layer.weight is w
    np.testing.assert_array_equal(w, [[0.15, 0.20], [0.25, 0.30]])
    with pytest.raises(ValueError, match=r"weight: expected shape \(2, 2\), got \(3,\)"):
        layer.weight = [1, 2, 3]
    with pytest.raises(ValueError, match="bias=False"):
        Layer(2, 2, bias=False).bias = [1, 2]


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="in_features: expected a positive integer"):
        Layer(0, 2)
    with pytest.raises(TypeError, match="out_features: expected a positive integer"):
        Layer(2, 2.5)
    with pytest.raises(ValueError, match="activation: expected one of .*got 'swish'"):
        Layer(2, 2, "swish")
    with pytest.raises(ValueError, match="dtype: expected float32 or float64, got float16"):
        Layer(2, 2, dtype=np.float16)
    with pytest.raises(TypeError, match="bias: expected True or False"):
        Layer(2, 2, bias="yes")
    with pytest.raises(ValueError, match=r"seed: expected None or a non-negative integer"):
        Layer(2, 2, seed=-1)
    layer = Layer(3, 2)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 3\), got \(4, 2\)"):
        layer(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"x: expected a 2-D array \(N, 3\), got shape \(3,\)"):
        layer(np.ones(3))
    layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"grad_y: expected shape \(4, 2\), got \(2, 4\)"):
        layer.backward(np.ones((2, 4)))
    with pytest.raises(TypeError, match="x: expected a real numeric array, got dtype complex128"):
        layer(np.ones((4, 3), complex))


def test_repr():
    assert repr(Layer(2, 3, "sigmoid", dtype=np.float64)) == \
        "Layer(2, 3, activation='sigmoid', dtype=float64)"
