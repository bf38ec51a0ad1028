"""functional.mse_loss / mse_loss_grad and MSELoss against tests/reference.py."""

import numpy as np
import pytest
from conftest import DTYPES, assert_close, layouts

import reference as ref
from fastbp import MSELoss
from fastbp import functional as F

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (1,), (3,), (4, 5), (2, 3, 7), (1000,)])
def test_mse_matches_reference(rng, dtype, reduction, shape):
    x = rng.standard_normal(shape).astype(dtype)
    t = rng.standard_normal(shape).astype(dtype)
    value = F.mse_loss(x, t, reduction)
    grad = F.mse_loss_grad(x, t, reduction)
    expected = ref.mse_loss(x, t, reduction)
    if reduction == "none":
        assert isinstance(value, np.ndarray) and value.dtype == dtype and value.shape == shape
    else:
        assert type(value) is float
    # a sum of n squares: its rounding is relative to the sum itself
    assert_close(value, expected, dtype)
    assert grad.shape == shape and grad.dtype == dtype
    assert_close(grad, ref.mse_loss_grad(x, t, reduction), dtype)


def test_mse_teaching_text_snippet():
    # nn.MSELoss()(tensor([1,2,3.]), tensor([1.5,2.5,3.5])) prints tensor(0.2500)
    pred = np.array([1, 2, 3], dtype=np.float32)
    true = np.array([1.5, 2.5, 3.5], dtype=np.float32)
    assert F.mse_loss(pred, true) == 0.25
    assert F.mse_loss(pred, true, reduction="sum") == 0.75
    np.testing.assert_array_equal(F.mse_loss_grad(pred, true), np.full(3, -1 / 3, np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_empty_input_follows_torch(dtype):
    empty = np.zeros((0, 3), dtype)
    assert np.isnan(F.mse_loss(empty, empty))
    assert F.mse_loss(empty, empty, reduction="sum") == 0.0
    assert F.mse_loss(empty, empty, reduction="none").shape == (0, 3)
    assert F.mse_loss_grad(empty, empty).shape == (0, 3)


def test_mse_nan_and_inf_propagate():
    x = np.array([np.nan, np.inf, 1.0])
    t = np.array([0.0, 0.0, np.inf])
    np.testing.assert_array_equal(F.mse_loss(x, t, reduction="none"), [np.nan, np.inf, np.inf])
    np.testing.assert_array_equal(F.mse_loss_grad(x, t, reduction="sum"), [np.nan, np.inf, -np.inf])


def test_mse_grad_finite_differences(rng):
    x = rng.standard_normal((3, 4))
    t = rng.standard_normal((3, 4))
    for reduction in REDUCTIONS:
        grad = F.mse_loss_grad(x, t, reduction)
        h = 1e-6
        for idx in np.ndindex(x.shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += h
            xm[idx] -= h
            fp = np.sum(F.mse_loss(xp, t, reduction))
            fm = np.sum(F.mse_loss(xm, t, reduction))
            # central differences of a quadratic are exact up to rounding of f (~1e-16/h)
            assert abs((fp - fm) / (2 * h) - grad[idx]) < 1e-8


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_layouts_and_caller_arrays_unchanged(rng, dtype):
    x = rng.standard_normal((4, 6)).astype(dtype)
    t = rng.standard_normal((4, 6)).astype(dtype)
    expected = F.mse_loss(x, t, "none")
    for kind, xl in layouts(x).items():
        for tkind, tl in layouts(t).items():
            before = (xl.copy(), tl.copy())
            np.testing.assert_array_equal(F.mse_loss(xl, tl, "none"), expected)
            np.testing.assert_array_equal(xl, before[0], err_msg=kind)
            np.testing.assert_array_equal(tl, before[1], err_msg=tkind)


def test_target_takes_input_dtype():
    x = np.array([1.0, 2.0], np.float32)
    assert F.mse_loss_grad(x, np.array([0, 1])).dtype == np.float32
    assert F.mse_loss_grad(x, np.array([0.5, 1.5])).dtype == np.float32
    assert F.mse_loss_grad(x.astype(np.float64), np.array([0, 1], np.float32)).dtype == np.float64


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_class(rng, reduction):
    x = rng.standard_normal((5, 2))
    t = rng.standard_normal((5, 2))
    loss_fn = MSELoss(reduction=reduction)
    with pytest.raises(RuntimeError, match="before any loss"):
        loss_fn.backward()
    value = loss_fn(x, t)
    np.testing.assert_array_equal(value, F.mse_loss(x, t, reduction))
    np.testing.assert_array_equal(loss_fn.backward(), F.mse_loss_grad(x, t, reduction))
    assert repr(loss_fn) == f"MSELoss(reduction={reduction!r})"


def test_mse_loss_class_rejects_bad_reduction():
    with pytest.raises(ValueError, match="reduction: expected 'none', 'mean' or 'sum', got 'avg'"):
        MSELoss(reduction="avg")
