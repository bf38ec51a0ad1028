"""functional.linear / linear_backward (the _dense kernels) against tests/reference.py."""

import numpy as np
import pytest
from conftest import DTYPES, assert_close, layouts

import reference as ref
from fastbp import functional as F

# Shapes on both sides of the plain-loop/BLAS switch (N*I*O <= 128 takes the loop).
SHAPES = [(1, 1, 1), (1, 2, 2), (2, 1, 3), (7, 13, 5), (1, 300, 1), (5, 1, 200),
          (16, 32, 8), (128, 784, 256), (33, 65, 17)]


def make(rng, n, i, o, dtype):
    return (rng.standard_normal((n, i)).astype(dtype), rng.standard_normal((o, i)).astype(dtype),
            rng.standard_normal(o).astype(dtype), rng.standard_normal((n, o)).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,i,o", SHAPES)
def test_linear_forward(rng, dtype, n, i, o):
    x, w, b, _ = make(rng, n, i, o, dtype)
    scale = ref.linear_scale(x, w) + np.abs(b).max()
    y = F.linear(x, w, b)
    assert y.dtype == dtype and y.shape == (n, o)
    assert_close(y, ref.linear(x, w, b), dtype, scale)
    y_nobias = F.linear(x, w)
    assert_close(y_nobias, ref.linear(x, w), dtype, scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,i,o", SHAPES)
def test_linear_backward(rng, dtype, n, i, o):
    x, w, _, gy = make(rng, n, i, o, dtype)
    gx, gw, gb = F.linear_backward(gy, x, w)
    egx, egw, egb = ref.linear_backward(gy, x, w)
    assert gx.dtype == gw.dtype == gb.dtype == dtype
    assert_close(gx, egx, dtype, ref.linear_scale(gy, w.T))
    assert_close(gw, egw, dtype, ref.linear_scale(gy.T, x.T))
    assert_close(gb, egb, dtype, float(np.abs(gy).sum(axis=0).max()))
    gx2, gw2, gb2 = F.linear_backward(gy, x, w, bias=False)
    assert gb2 is None
    np.testing.assert_array_equal(gx2, gx)
    np.testing.assert_array_equal(gw2, gw)


def test_linear_values_by_hand():
    # h = x W1ᵀ + b1 of the teaching text: 0.05*0.15 + 0.10*0.20 + 0.35 = 0.3775, ...
    y = F.linear(np.array([[0.05, 0.10]]), np.array([[0.15, 0.20], [0.25, 0.30]]),
                 np.array([0.35, 0.35]))
    np.testing.assert_allclose(y, [[0.3775, 0.3925]], rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,i,o", [(3, 4, 5), (40, 30, 20)])
def test_linear_any_layout_same_result_caller_arrays_unchanged(rng, dtype, n, i, o):
    x, w, b, gy = make(rng, n, i, o, dtype)
    expected_y = F.linear(x, w, b)
    expected_grads = F.linear_backward(gy, x, w)
    for kind, xl in layouts(x).items():
        for wkind, wl in layouts(w).items():
            before = (xl.copy(), wl.copy())
            np.testing.assert_array_equal(F.linear(xl, wl, b), expected_y, err_msg=kind + wkind)
            for got, exp in zip(F.linear_backward(gy, xl, wl), expected_grads):
                np.testing.assert_array_equal(got, exp, err_msg=kind + wkind)
            np.testing.assert_array_equal(xl, before[0])
            np.testing.assert_array_equal(wl, before[1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_empty_batch_and_zero_sized_axes(dtype):
    w = np.ones((3, 2), dtype)
    b = np.arange(3, dtype=dtype)
    assert F.linear(np.ones((0, 2), dtype), w, b).shape == (0, 3)
    gx, gw, gb = F.linear_backward(np.ones((0, 3), dtype), np.ones((0, 2), dtype), w)
    assert gx.shape == (0, 2)
    np.testing.assert_array_equal(gw, np.zeros((3, 2)))
    np.testing.assert_array_equal(gb, np.zeros(3))
    # no input features: y is the bias (torch: x @ W.T of an empty inner axis is 0)
    for n in (1, 40):
        y = F.linear(np.ones((n, 0), dtype), np.ones((600, 0), dtype), np.full(600, 2, dtype))
        np.testing.assert_array_equal(y, np.full((n, 600), 2.0))


def test_integer_and_float16_inputs_compute_in_float32(rng):
    x = rng.integers(-3, 3, (4, 5))
    w = rng.standard_normal((2, 5)).astype(np.float16)
    y = F.linear(x, w)
    assert y.dtype == np.float32
    assert_close(y, ref.linear(x, w.astype(np.float32)), np.float32, ref.linear_scale(x, w))
    assert F.linear(x.astype(bool), w).dtype == np.float32


def test_dtype_follows_x(rng):
    x = rng.standard_normal((2, 3))
    w = rng.standard_normal((4, 3)).astype(np.float32)
    assert F.linear(x, w).dtype == np.float64
    assert F.linear(x.astype(np.float32), w.astype(np.float64)).dtype == np.float32
