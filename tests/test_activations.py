"""functional activations and their backwards (the _activations kernels) against tests/reference.py."""

import math

import numpy as np
import pytest
from conftest import DTYPES, assert_close, layouts

import reference as ref
from fastbp import functional as F

EXTREMES = [0.0, -0.0, 1e-30, -1e-30, 5.0, -5.0, 30.0, -30.0, 88.0, -88.0, 104.0, -104.0,
            709.0, -709.0, 750.0, -750.0, 1e4, -1e4, np.inf, -np.inf, np.nan]

# name -> (forward, backward); the elementwise ones take any shape, the softmaxes 2-D.
ELEMENTWISE = {
    "sigmoid": (F.sigmoid, F.sigmoid_backward),
    "relu": (F.relu, F.relu_backward),
    "tanh": (F.tanh, F.tanh_backward),
}
ROWWISE = {
    "softmax": (F.softmax, F.softmax_backward),
    "log_softmax": (F.log_softmax, F.log_softmax_backward),
}
ALL = {**ELEMENTWISE, **ROWWISE}


def check_against_reference(name, x, gy, dtype):
    forward, backward = ALL[name]
    ref_forward, ref_backward = ref.ACTIVATIONS[name]
    y = forward(x)
    assert y.shape == x.shape and y.dtype == dtype
    # log_softmax of ±1e4 logits is ~1e4 in size: its rounding is relative to that
    scale = float(np.nanmax(np.abs(np.where(np.isfinite(x), x, 0)), initial=0)) + 1
    assert_close(y, ref_forward(x), dtype, scale)
    gx = backward(gy, y)
    assert gx.shape == x.shape and gx.dtype == dtype
    assert_close(gx, ref_backward(gy, y), dtype, float(np.abs(gy).sum(axis=-1).max(initial=0)) + 1)
    return y, gx


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 4), (2, 3, 5), (0,), (4, 0)])
def test_elementwise_and_backward(rng, dtype, name, shape):
    x = (4 * rng.standard_normal(shape)).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    check_against_reference(name, x, gy, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ROWWISE)
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (6, 1), (7, 10), (3, 300), (0, 4), (4, 0)])
def test_rowwise_and_backward(rng, dtype, name, shape):
    x = (4 * rng.standard_normal(shape)).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    y, gx = check_against_reference(name, x, gy, dtype)
    if shape[1] and name == "softmax":
        assert_close(y.sum(axis=1), np.ones(shape[0]), dtype, shape[1])
    if shape[1] == 1:
        # one class: softmax is exactly 1, log_softmax exactly 0, the gradient exactly 0
        # for softmax and gy - gy = 0 for log_softmax
        np.testing.assert_array_equal(y, np.ones(shape) if name == "softmax" else np.zeros(shape))
        np.testing.assert_array_equal(gx, np.zeros(shape))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_extremes(dtype, name):
    x = np.array(EXTREMES, dtype=dtype)
    gy = np.linspace(-2, 2, len(EXTREMES)).astype(dtype)
    y, _ = check_against_reference(name, x, gy, dtype)
    finite_or_inf = ~np.isnan(x)
    assert np.isnan(y[-1])  # nan propagates through every activation
    if name == "sigmoid":
        assert np.all((y[finite_or_inf] >= 0) & (y[finite_or_inf] <= 1))
        assert y[x == np.inf][0] == 1.0 and y[x == -np.inf][0] == 0.0
    if name == "tanh":
        assert np.all(np.abs(y[finite_or_inf]) <= 1)
        assert y[x == np.inf][0] == 1.0 and y[x == -np.inf][0] == -1.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_edges_follow_torch(dtype):
    x = np.array([np.nan, -0.0, 0.0, -1.0, 2.0, np.inf, -np.inf], dtype=dtype)
    y = F.relu(x)
    # torch.relu only clamps x < 0: nan stays nan, -0.0 stays -0.0 (sign bit kept)
    assert np.isnan(y[0])
    np.testing.assert_array_equal(np.signbit(y[1:3]), [True, False])
    np.testing.assert_array_equal(y[1:], [0, 0, 0, 2, np.inf, 0])
    # backward: 0 wherever y <= 0, even against a nan or inf gradient; a nan output passes gy
    gy = np.array([5.0, np.nan, np.inf, np.nan, 3.0, 4.0, np.nan], dtype=dtype)
    np.testing.assert_array_equal(F.relu_backward(gy, y), [5, 0, 0, 0, 3, 4, 0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ROWWISE)
def test_rowwise_extreme_rows(dtype, name):
    inf, nan = np.inf, np.nan
    x = np.array([[-inf, -inf, -inf],   # all -inf: nan (torch: -inf - max is nan)
                  [-inf, 0.0, 1.0],     # one -inf: probability 0, log-probability -inf
                  [inf, 0.0, 1.0],      # +inf: nan row
                  [nan, 0.0, 1.0],      # nan: nan row
                  [1e4, -1e4, 0.0],     # stable at ±1e4
                  [-1e4, -1e4, -1e4],   # equal large negatives: uniform
                  [-inf, -inf, 5.0]], dtype=dtype)
    gy = (np.arange(21).reshape(7, 3) / 7).astype(dtype)
    y, gx = check_against_reference(name, x, gy, dtype)
    assert np.isnan(y[[0, 2, 3]]).all() and np.isnan(gx[[0, 2, 3]]).all()
    assert np.isfinite(gx[[1, 4, 5, 6]]).all()
    if name == "softmax":
        np.testing.assert_array_equal(y[[1, 4, 6]][:, 0], [0, 1, 0])
        assert_close(y[5], np.full(3, 1 / 3), dtype)
    else:
        assert y[1, 0] == -np.inf and y[4, 0] == 0 and y[4, 1] == -2e4 and y[4, 2] == -1e4
        np.testing.assert_array_equal(y[6], [-inf, -inf, 0])


def test_by_hand():
    # the text's chain-rule snippet: sigmoid(0) = 0.5 and its derivative 0.25
    y = F.sigmoid(np.array([0.0]))
    assert y[0] == 0.5
    assert F.sigmoid_backward(np.array([1.0]), y)[0] == 0.25
    # tanh'(0) = 1, tanh'(x) = 1 - tanh(x)²: at y = 0.5 it is 0.75
    assert F.tanh_backward(np.array([2.0]), np.array([0.5]))[0] == 1.5
    # softmax of (0, log 3) is (1/4, 3/4); with gy = (1, 0), Σ gy·y = 1/4 and
    # gx = y (gy - 1/4) = (3/16, -3/16)
    y = F.softmax(np.array([[0.0, np.log(3.0)]]))
    assert_close(y, [[0.25, 0.75]], np.float64)
    assert_close(F.softmax_backward(np.array([[1.0, 0.0]]), y), [[3 / 16, -3 / 16]], np.float64)
    # log_softmax backward with gy = (1, 0): gy - exp(y)·1 = (1 - 1/4, -3/4)
    ly = F.log_softmax(np.array([[0.0, np.log(3.0)]]))
    assert_close(ly, np.log([[0.25, 0.75]]), np.float64)
    assert_close(F.log_softmax_backward(np.array([[1.0, 0.0]]), ly), [[0.75, -0.75]], np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ALL)
def test_layouts_and_caller_arrays_unchanged(rng, dtype, name):
    forward, backward = ALL[name]
    x = rng.standard_normal((5, 6)).astype(dtype)
    gy = rng.standard_normal((5, 6)).astype(dtype)
    y = forward(x)
    gx = backward(gy, y)
    for kind, xl in layouts(x).items():
        before = xl.copy()
        np.testing.assert_array_equal(forward(xl), y, err_msg=kind)
        np.testing.assert_array_equal(xl, before)
    for kind, gl in layouts(gy).items():
        for ykind, yl in layouts(y).items():
            before = (gl.copy(), yl.copy())
            np.testing.assert_array_equal(backward(gl, yl), gx, err_msg=kind + ykind)
            np.testing.assert_array_equal(gl, before[0])
            np.testing.assert_array_equal(yl, before[1])


@pytest.mark.parametrize("name", ALL)
def test_dtype_conversion(name):
    forward, backward = ALL[name]
    x = np.array([[1, -2, 3]], dtype=np.int64)
    y = forward(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, forward(x.astype(np.float32)))
    assert forward(x.astype(np.float16)).dtype == np.float32
    # the first array argument decides: a float64 gradient with a float32 y is float64
    assert backward(np.ones((1, 3)), y).dtype == np.float64


def test_errors_name_the_argument():
    for forward, backward in ROWWISE.values():
        with pytest.raises(ValueError, match=r"x: expected a 2-D array \(N, C\), got shape \(3,\)"):
            forward(np.ones(3))
        with pytest.raises(ValueError, match=r"x: expected a 2-D array \(N, C\), got shape \(1, 2, 3\)"):
            forward(np.ones((1, 2, 3)))
        with pytest.raises(ValueError, match=r"grad_y: expected a 2-D array \(N, C\), got shape \(3,\)"):
            backward(np.ones(3), np.ones(3))
    for forward, backward in ALL.values():
        with pytest.raises(TypeError, match="x: expected a real numeric array, got dtype complex128"):
            forward(np.ones((2, 2), complex))
        with pytest.raises(ValueError, match=r"grad_y: expected the shape of y \(2, 3\), got \(3, 2\)"):
            backward(np.ones((3, 2)), np.ones((2, 3)))
        with pytest.raises(TypeError, match="x: expected an array, got str"):
            forward("1.0")


@pytest.mark.parametrize("name", ALL)
def test_backward_is_the_derivative(rng, name):
    # central differences of Σ gy·f(x) in float64, independent of any backward formula;
    # inputs kept away from relu's kink at 0
    forward, backward = ALL[name]
    x = rng.standard_normal((4, 5))
    x = np.where(np.abs(x) < 0.1, 0.5, x)
    gy = rng.standard_normal((4, 5))
    h = 1e-6
    numeric = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[idx] = h
        numeric[idx] = (np.sum(gy * forward(x + step)) - np.sum(gy * forward(x - step))) / (2 * h)
    # the difference quotient's own error (~h² f''' + rounding/h) is about 1e-9 here
    np.testing.assert_allclose(backward(gy, forward(x)), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name,bound", [("sigmoid", 2.5), ("tanh", 1.4)])
def test_float64_sigmoid_and_tanh_within_a_few_ulp_of_the_exact_result(rng, name, bound):
    """The float64 sigmoid and tanh (vectorized C) against the exact result (80-bit long
    double where NumPy has it, else NumPy's float64 formula, one ulp looser), in units of
    the last place: 1 / (1 + e^-x) itself rounds three times, and 2.54 ulp is what NumPy's
    own exp gives in it; tanh's two formulas meet at |x| = 0.625.  Below x = -709.78, e^-x
    overflows and the sigmoid is 0 where the exact value is subnormal (as glibc's and
    torch's), so that range is among the specials only."""
    x = np.concatenate([rng.uniform(-40, 40, 300_000), rng.uniform(-1, 1, 100_000),
                        rng.uniform(-709.7, 40, 100_000), rng.uniform(0.62, 0.63, 20_000),
                        np.ldexp(rng.uniform(-1, 1, 100_000), rng.integers(-1074, 6, 100_000))])
    forward = ELEMENTWISE[name][0]
    exact = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh}[name]
    extended = np.finfo(np.longdouble).eps < np.finfo(np.float64).eps
    expected = exact(x.astype(np.longdouble)) if extended else exact(x)
    spacing = np.spacing(np.abs(expected.astype(np.float64))).astype(np.longdouble)
    errors = np.abs((forward(x).astype(np.longdouble) - expected) / spacing)
    assert errors.max() <= bound + (0 if extended else 1)
    specials = np.array(EXTREMES + [1e-310, -1e-310, 5e-324, 0.625, -0.625, 19.1, -19.1,
                                    -709.78, -745.2, 36.74, -36.74])
    with np.errstate(over="ignore"):
        expected = exact(specials)
    got = forward(specials)
    np.testing.assert_allclose(got, expected, rtol=3 * 2.0**-52, atol=0)
    number = ~np.isnan(specials)  # -0.0 stays -0.0
    np.testing.assert_array_equal(np.signbit(got[number]), np.signbit(expected[number]))
    for n in (1, 3, 8193, 20000):  # the vector loop's tail, the blocks, the threads
        np.testing.assert_array_equal(forward(x[:n]), forward(x)[:n])


@pytest.mark.parametrize("name,exact,step", [
    ("sigmoid", lambda x: 1.0 / (1.0 + np.exp(-x)), 509),
    ("tanh", np.vectorize(math.tanh, otypes=[np.float64]), 4099)])
def test_float32_sigmoid_and_tanh_are_the_double_formula_rounded_once(name, exact, step):
    """The float32 sigmoid and tanh are computed in double and rounded once (vectorized: the
    floats a loop over glibc's exp and tanh gives, checked over all 2^32 floats when
    written): every step-th float of each sign, the specials, any size."""
    positive = np.arange(0, np.float32(np.inf).view(np.uint32), step, dtype=np.uint32)
    x = np.concatenate([positive.view(np.float32), -positive.view(np.float32),
                        np.array(EXTREMES + [16.6355, -103.97, 1e-8, 0.625, -0.625], np.float32)])
    with np.errstate(over="ignore"):
        expected = exact(x.astype(np.float64)).astype(np.float32)
    forward = ELEMENTWISE[name][0]
    np.testing.assert_array_equal(forward(x), expected)
    number = ~np.isnan(x)  # -0.0 stays -0.0 (a nan's sign means nothing)
    np.testing.assert_array_equal(np.signbit(forward(x)[number]), np.signbit(expected[number]))
    for n in (1, 7, 8193, 20000):  # the vector loop's tail, the blocks, the threads
        np.testing.assert_array_equal(forward(x[:n]), expected[:n])
