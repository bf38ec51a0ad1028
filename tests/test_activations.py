"""functional.sigmoid / sigmoid_backward (the _activations kernels) against tests/reference.py."""

import numpy as np
import pytest
from conftest import DTYPES, assert_close, layouts

import reference as ref
from fastbp import functional as F

EXTREMES = [0.0, -0.0, 1e-30, -1e-30, 5.0, -5.0, 30.0, -30.0, 88.0, -88.0, 104.0, -104.0,
            709.0, -709.0, 750.0, -750.0, 1e4, -1e4, np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 4), (2, 3, 5), (0,), (4, 0)])
def test_sigmoid_and_backward(rng, dtype, shape):
    x = (4 * rng.standard_normal(shape)).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    y = F.sigmoid(x)
    assert y.shape == x.shape and y.dtype == dtype
    assert_close(y, ref.sigmoid(x), dtype)
    gx = F.sigmoid_backward(gy, y)
    assert gx.shape == x.shape and gx.dtype == dtype
    assert_close(gx, ref.sigmoid_backward(gy, y), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_extremes(dtype):
    x = np.array(EXTREMES, dtype=dtype)
    y = F.sigmoid(x)
    assert_close(y, ref.sigmoid(x), dtype)
    assert np.all((y[~np.isnan(x)] >= 0) & (y[~np.isnan(x)] <= 1))
    assert y[x == np.inf][0] == 1.0 and y[x == -np.inf][0] == 0.0
    assert np.isnan(y[-1])
    gx = F.sigmoid_backward(np.ones_like(x), y)
    assert_close(gx, ref.sigmoid_backward(np.ones_like(x), y), dtype)


def test_sigmoid_by_hand():
    # the text's chain-rule snippet: sigmoid(0) = 0.5 and its derivative 0.25
    y = F.sigmoid(np.array([0.0]))
    assert y[0] == 0.5
    assert F.sigmoid_backward(np.array([1.0]), y)[0] == 0.25


@pytest.mark.parametrize("dtype", DTYPES)
def test_layouts_and_caller_arrays_unchanged(rng, dtype):
    x = rng.standard_normal((5, 6)).astype(dtype)
    gy = rng.standard_normal((5, 6)).astype(dtype)
    y = F.sigmoid(x)
    gx = F.sigmoid_backward(gy, y)
    for kind, xl in layouts(x).items():
        before = xl.copy()
        np.testing.assert_array_equal(F.sigmoid(xl), y, err_msg=kind)
        np.testing.assert_array_equal(xl, before)
    for kind, gl in layouts(gy).items():
        for ykind, yl in layouts(y).items():
            np.testing.assert_array_equal(F.sigmoid_backward(gl, yl), gx, err_msg=kind + ykind)
