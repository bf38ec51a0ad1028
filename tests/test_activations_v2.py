"""The v2 activations (GELU, SiLU, LeakyReLU, ELU, Softplus): functional, Layer, Net,
against tests/reference.py (exact, float64); torch parity is in
test_torch_parity_activations_v2.py, train_step == the five calls in test_net.py."""

import math

import numpy as np
import pytest
from conftest import DTYPES, tol

import reference as ref
from fastbp import Layer, Net
from fastbp import _activations
from fastbp import functional as F

# name, options: every activation with its defaults and with options that move its kinks
CASES = [
    ("gelu", {}), ("gelu", {"approximate": "tanh"}),
    ("silu", {}),
    ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
    ("leaky_relu", {"negative_slope": -1.5}),
    ("elu", {}), ("elu", {"alpha": 0.3}), ("elu", {"alpha": 2.5}),
    ("softplus", {}), ("softplus", {"beta": 0.5, "threshold": 10.0}),
    ("softplus", {"beta": 3.0, "threshold": 5.0}),
]
IDS = [name + "".join(f",{k}={v}" for k, v in opts.items()) for name, opts in CASES]


def fastbp_pair(name, options):
    forward, backward = getattr(F, name), getattr(F, name + "_backward")
    return (lambda x: forward(x, **options)), (lambda gy, x: backward(gy, x, **options))


def reference_pair(name, options):
    forward, backward = getattr(ref, name), getattr(ref, name + "_backward")
    return (lambda x: forward(x, **options)), (lambda gy, x: backward(gy, x, **options))


def inputs(rng, dtype, name, options):
    """Random values, the extremes (±1e4, ±1e-8, 0, -0), and ±20 around softplus's
    threshold scaled by beta."""
    edge = options.get("threshold", 20.0) / options.get("beta", 1.0)
    special = [1e4, -1e4, 20.0, -20.0, 1e-8, -1e-8, 0.0, -0.0, 88.0, -88.0, 30.0, -30.0,
               edge, -edge, np.nextafter(edge, 0), np.nextafter(edge, 100)]
    x = np.concatenate([4 * rng.standard_normal(2000), special,
                        np.linspace(-edge - 20, edge + 20, 1001)]).astype(dtype)
    gy = rng.standard_normal(x.size).astype(dtype)
    return x, gy


def cancellation_scale(x, gy=None):
    """The size of the terms the formulas add, per element: 1 + erf, 1 + tanh and
    1 + x (1 - s) cancel to far below it where the result is tiny, so rounding error
    there is relative to (1 + |x|) |gy|, not to the result."""
    scale = 1.0 + np.abs(x.astype(np.float64))
    return scale if gy is None else scale * np.abs(gy.astype(np.float64))


def assert_within(actual, expected, dtype, scale):
    """|actual - expected| <= tol (|expected| + scale), with the same nan and infinities."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    assert actual.shape == expected.shape
    nonfinite = ~np.isfinite(expected)
    np.testing.assert_array_equal(actual[nonfinite], expected[nonfinite])
    t = tol(dtype)
    err = np.abs(actual - expected)
    bound = t * (np.abs(expected) + scale)
    worst = np.argmax(err - bound)
    assert np.all(err[~nonfinite] <= bound[~nonfinite]), (
        worst, actual[worst], expected[worst])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,options", CASES, ids=IDS)
def test_against_reference(rng, dtype, name, options):
    forward, backward = fastbp_pair(name, options)
    rforward, rbackward = reference_pair(name, options)
    x, gy = inputs(rng, dtype, name, options)
    y, gx = forward(x), backward(gy, x)
    assert y.dtype == dtype and gx.dtype == dtype and y.shape == x.shape
    # float32 options are rounded to float32 first, as torch does: relative 6e-8
    assert_within(y, rforward(x), dtype, 8 * cancellation_scale(x) * np.finfo(dtype).eps
                  / tol(dtype))
    assert_within(gx, rbackward(gy, x), dtype, 8 * cancellation_scale(x, gy)
                  * np.finfo(dtype).eps / tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,options", CASES, ids=IDS)
def test_any_size_and_shape(rng, dtype, name, options):
    """Sizes across the kernels' blocks and the threads' threshold give the elementwise
    results of the same values computed in small pieces; any shape, the caller's arrays
    unchanged, and grad_y and x of another dtype converted to grad_y's."""
    forward, backward = fastbp_pair(name, options)
    x = (3 * rng.standard_normal(100_003)).astype(dtype)
    gy = rng.standard_normal(x.size).astype(dtype)
    x_copy, gy_copy = x.copy(), gy.copy()
    y, gx = forward(x), backward(gy, x)
    pieces = np.array_split(np.arange(x.size), 37)
    np.testing.assert_array_equal(y, np.concatenate([forward(x[p]) for p in pieces]))
    np.testing.assert_array_equal(gx, np.concatenate([backward(gy[p], x[p]) for p in pieces]))
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(gy, gy_copy)
    np.testing.assert_array_equal(forward(x[:24].reshape(2, 3, 4)), y[:24].reshape(2, 3, 4))
    assert forward(np.empty((0, 3), dtype)).shape == (0, 3)
    strided = backward(gy[:20:2], x[:20:2].astype(np.float64))
    assert strided.dtype == dtype
    np.testing.assert_array_equal(strided, gx[:20:2])


# --- float32 math --------------------------------------------------------------------------

@pytest.mark.parametrize("name,low,high,bound", [
    ("exp", -104.0, 88.8, 0.99), ("expm1", -90.0, 88.8, 1.56),
    ("tanh", -10.0, 10.0, 1.31), ("log1p", -0.999, 3e38, 0.86)])
def test_float32_math_accuracy(name, low, high, bound):
    """fastbp_math32.h's float32 functions against the exact result (float64), in units of
    the last place of the float32 result: every 509th float of each sign in the range
    (every binade, subnormals included) and the branch points.  When written, every 17th
    float of the range gave 0.99, 1.56, 1.32, 1.30 and 0.86 ulp."""
    top = np.array(max(abs(low), high), np.float32).view(np.uint32)
    positive = np.arange(0, top, 509, dtype=np.uint32).view(np.float32)
    special = np.array([0.625, 1.0, 4.0, 3.92, 0.34657359, 0.41421356, 87.0, 88.72, 2.5,
                        1e-8, 1e-30], np.float32)
    special = np.concatenate([special, np.nextafter(special, np.float32(np.inf)),
                              np.nextafter(special, np.float32(0))])
    x = np.concatenate([positive, -positive, special, -special])
    x = x[(x >= low) & (x <= high)]
    out = np.empty_like(x)
    _activations.math32(name, x, out)
    exact_of = {"exp": np.exp, "expm1": np.expm1, "tanh": np.tanh, "log1p": np.log1p,
                "erf": np.vectorize(math.erf, otypes=[np.float64])}[name]
    exact = exact_of(x.astype(np.float64))
    finite = np.abs(exact) < np.finfo(np.float32).max
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(out[~finite], exact[~finite].astype(np.float32))
    zero = exact[finite] == 0
    np.testing.assert_array_equal(out[finite][zero], exact[finite][zero])
    e = exact[finite][~zero]
    spacing = np.spacing(np.abs(e).astype(np.float32)).astype(np.float64)
    assert (np.abs(out[finite][~zero] - e) / spacing).max() <= bound


def test_float32_erf_is_the_approximation_torchs_gelu_uses():
    """erf in float32 is Abramowitz-Stegun 7.1.26 (ATen's vectorized erf, which torch's
    float32 GELU calls): within 1.5e-7 of erf by the formula, and float32 evaluation of its
    polynomial, whose terms near 1.4 cancel to 0.25, adds up to 10 rounding errors of 1
    (5.3e-7 measured, as torch's).  Every 509th float of [-5, 5]."""
    top = np.array(5.0, np.float32).view(np.uint32)
    positive = np.arange(0, top, 509, dtype=np.uint32).view(np.float32)
    x = np.concatenate([positive, -positive])
    out = np.empty_like(x)
    _activations.math32("erf", x, out)
    xd = x.astype(np.float64)
    t = 1 / (1 + 0.3275911 * np.abs(xd))
    poly = (((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t \
        + 0.254829592
    formula = np.sign(xd) * (1 - t * poly * np.exp(-xd * xd))
    assert np.abs(out - formula).max() <= 10 * 2.0 ** -24
    exact = np.vectorize(math.erf, otypes=[np.float64])(xd)
    assert np.abs(formula - exact).max() <= 1.5e-7
    assert np.abs(out - exact).max() <= 1.5e-7 + 10 * 2.0 ** -24


def test_float32_math_special_values():
    """C99's results at the special points: nan stays nan, overflow is inf, the limits
    (erf, an approximation, at its first five)."""
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 89.0, -1.0, -2.0], np.float32)
    expected = {"exp": np.exp, "expm1": np.expm1, "tanh": np.tanh, "log1p": np.log1p,
                "erf": np.vectorize(math.erf, otypes=[np.float64])}
    for name, exact_of in expected.items():
        out = np.empty_like(x)
        _activations.math32(name, x, out)
        with np.errstate(all="ignore"):
            want = exact_of(x.astype(np.float64)).astype(np.float32)
        special = slice(0, 5) if name == "erf" else slice(None)
        np.testing.assert_array_equal(out[special], want[special], err_msg=name)
        np.testing.assert_array_equal(np.signbit(out[3:5]), np.signbit(want[3:5]), err_msg=name)
    with pytest.raises(ValueError, match="name"):
        _activations.math32("sin", x, x.copy())


# --- Layer and Net -------------------------------------------------------------------------

def spec(name, options):
    return (name, dict(options)) if options else name


def test_layer_keeps_the_preactivation_only_when_needed(rng):
    x = rng.standard_normal((4, 3))
    for act in [None, "sigmoid", "relu", "tanh", "softmax", "log_softmax"]:
        layer = Layer(3, 5, act, dtype=np.float64, seed=0)
        layer(x)
        assert layer._z is None
    for name, options in CASES:
        layer = Layer(3, 5, spec(name, options), dtype=np.float64, seed=0)
        y = layer(x)
        z = F.linear(x, layer.weight, layer.bias)
        np.testing.assert_array_equal(layer._z, z)
        np.testing.assert_array_equal(y, getattr(F, name)(z, **options))
        gy = rng.standard_normal(y.shape)
        grad_x = layer.backward(gy)
        gz = getattr(F, name + "_backward")(gy, z, **options)
        np.testing.assert_array_equal(grad_x, F.linear_backward(gz, x, layer.weight)[0])


def test_options_repr_and_save_load_round_trip(tmp_path, rng):
    net = Net([Layer(3, 4, ("leaky_relu", {"negative_slope": 0.2}), seed=0),
               Layer(4, 4, ("gelu", {"approximate": "tanh"}), seed=1),
               Layer(4, 4, "silu", seed=2),
               Layer(4, 4, ("elu", {"alpha": 0.5}), seed=3),
               Layer(4, 2, ("softplus", {"beta": 2, "threshold": 7.5}), seed=4)])
    assert repr(net[0]) == ("Layer(3, 4, activation=('leaky_relu', {'negative_slope': 0.2}), "
                            "dtype=float32)")
    assert repr(net[2]) == "Layer(4, 4, activation='silu', dtype=float32)"
    assert net[4].activation == ("softplus", {"beta": 2.0, "threshold": 7.5})
    assert net[3].activation_options == {"alpha": 0.5}
    assert net[2].activation_options == {}
    assert Layer(2, 2, "gelu").activation_options == {"approximate": "none"}
    assert Layer(2, 2, "relu").activation_options is None
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = Net.load(path)
    assert repr(loaded) == repr(net)
    assert [layer.activation for layer in loaded] == [layer.activation for layer in net]
    x = rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x), net(x))
    with np.load(path, allow_pickle=False) as archive:  # still pickle-free
        assert "softplus" in str(archive["fastbp_architecture"])


@pytest.mark.parametrize("activation,error,match", [
    ("gelux", ValueError, "gelux"),
    (("gelu", {"approx": "tanh"}), ValueError, "'approx'"),
    (("gelu", {"approximate": "fast"}), ValueError, "approximate.*'fast'"),
    (("gelu", {"approximate": None}), TypeError, "approximate"),
    (("elu", {"alpha": "big"}), TypeError, "alpha"),
    (("softplus", {"beta": None}), TypeError, "beta"),
    (("softplus", {"threshold": float("nan")}), ValueError, "threshold"),
    (("leaky_relu", 0.2), TypeError, "leaky_relu"),
    (("relu", {"inplace": True}), ValueError, "'relu' takes no options"),
    (("leaky_relu", {"negative_slope": 0.1}, 1), ValueError, "name, \\{options\\}"),
    (7, ValueError, "activation"),
])
def test_errors_name_the_option(activation, error, match):
    with pytest.raises(error, match=match):
        Layer(2, 2, activation)


def test_functional_errors_name_the_argument():
    with pytest.raises(ValueError, match="approximate"):
        F.gelu([1.0], approximate="erf")
    with pytest.raises(ValueError, match="approximate"):
        F.gelu_backward([1.0], [1.0], approximate="sigmoid")
    with pytest.raises(TypeError, match="negative_slope"):
        F.leaky_relu([1.0], negative_slope="0.1")
    with pytest.raises(TypeError, match="alpha"):
        F.elu_backward([1.0], [1.0], alpha=[1.0])
    with pytest.raises(TypeError, match="beta"):
        F.softplus([1.0], beta=True)
    with pytest.raises(ValueError, match=r"x: expected the shape of grad_y \(2,\), got \(3,\)"):
        F.silu_backward([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="x"):
        F.silu(["a"])
    assert F.leaky_relu(np.array([-1.0]), np.float32(0.5))[0] == -0.5
