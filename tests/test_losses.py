"""functional's losses (value and gradient) against tests/reference.py, edge cases, errors."""

import numpy as np
import pytest
from conftest import DTYPES, assert_close, layouts

import reference as ref
from fastbp import _losses, _validate
from fastbp import functional as F
from fastbp._loss_kinds import LossKind

REDUCTIONS = ["mean", "sum", "none"]


# --- the elementwise losses ------------------------------------------------------------------

def weight_of(kind, shape, rng):
    """A weight that broadcasts to `shape` the way `kind` says."""
    if kind is None:
        return None
    dims = {"full": shape, "class": shape[-1:], "rows": shape[:-1] + (1,) if shape else (),
            "scalar": (), "lead1": (1,) + shape}[kind]
    return rng.uniform(0.2, 2.0, dims)


def elementwise_data(name, shape, dtype, rng):
    """input and target where the loss is defined and interesting: both sides of beta/delta,
    probabilities including exact 0 and 1, logits including huge ones."""
    if name == "binary_cross_entropy":
        p = rng.uniform(0, 1, shape)
        t = rng.uniform(0, 1, shape)
        if p.size >= 4:
            p.flat[:4] = [0.0, 1.0, 0.0, 1.0]
            t.flat[:4] = [0.0, 1.0, 1.0, 0.0]
        return p.astype(dtype), t.astype(dtype)
    x = 2.0 * rng.standard_normal(shape)
    t = rng.standard_normal(shape)
    if name == "binary_cross_entropy_with_logits":
        t = rng.uniform(0, 1, shape)
        if x.size >= 4:
            x.flat[:4] = [60.0, -60.0, 1e4, -1e4]
    return x.astype(dtype), t.astype(dtype)


# (loss, options): the weights are named by how they broadcast (weight_of)
ELEMENTWISE_CASES = [
    ("l1_loss", {}),
    ("mse_loss", {}),
    ("smooth_l1_loss", {}),
    ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 2.5}),
    ("smooth_l1_loss", {"beta": 0.0}),
    ("huber_loss", {}),
    ("huber_loss", {"delta": 0.3}),
    ("huber_loss", {"delta": 2.5}),
    ("binary_cross_entropy", {}),
    ("binary_cross_entropy", {"weight": "full"}),
    ("binary_cross_entropy", {"weight": "class"}),
    ("binary_cross_entropy", {"weight": "rows"}),
    ("binary_cross_entropy", {"weight": "scalar"}),
    ("binary_cross_entropy_with_logits", {}),
    ("binary_cross_entropy_with_logits", {"weight": "class"}),
    ("binary_cross_entropy_with_logits", {"pos_weight": "class"}),
    ("binary_cross_entropy_with_logits", {"weight": "full", "pos_weight": "class"}),
    ("binary_cross_entropy_with_logits", {"weight": "scalar", "pos_weight": "rows"}),
]


def case_id(case):
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items())


def materialize(options, shape, rng):
    out = {}
    for key, value in options.items():
        out[key] = weight_of(value, shape, rng) if key in ("weight", "pos_weight") else value
    return out


def call(name, *args, grad=False, **kwargs):
    return getattr(F, name + ("_grad" if grad else ""))(*args, **kwargs)


def reference(name, *args, grad=False, **kwargs):
    return getattr(ref, name + ("_grad" if grad else ""))(*args, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (7,), (6, 5), (2, 3, 4)])
@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=case_id)
def test_elementwise_loss_matches_reference(rng, case, shape, reduction, dtype):
    name, options = case
    x, t = elementwise_data(name, shape, dtype, rng)
    kwargs = materialize(options, shape, rng)
    value = call(name, x, t, reduction=reduction, **kwargs)
    grad = call(name, x, t, reduction=reduction, grad=True, **kwargs)
    if reduction == "none":
        assert isinstance(value, np.ndarray) and value.dtype == dtype and value.shape == shape
    else:
        assert type(value) is float
    assert grad.shape == shape and grad.dtype == dtype
    assert_close(value, reference(name, x, t, reduction=reduction, **kwargs), dtype)
    assert_close(grad, reference(name, x, t, reduction=reduction, grad=True, **kwargs), dtype)
    # the loss class's one-pass form gives the same floats
    both = getattr(F, name + "_and_grad")(x, t, reduction=reduction, **kwargs)
    np.testing.assert_array_equal(both[0], value)
    np.testing.assert_array_equal(both[1], grad)


@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=case_id)
def test_elementwise_grad_finite_differences(rng, case):
    name, options = case
    x, t = elementwise_data(name, (3, 4), np.float64, rng)
    if name == "binary_cross_entropy":  # away from the -100 clamp, where torch's gradient
        x = rng.uniform(0.05, 0.95, x.shape)  # is not the derivative of the clamped value
    if name == "binary_cross_entropy_with_logits":
        x = 2.0 * rng.standard_normal(x.shape)
    kwargs = materialize(options, x.shape, rng)
    for reduction in REDUCTIONS:
        grad = call(name, x, t, reduction=reduction, grad=True, **kwargs)
        numeric = np.empty_like(x)
        for idx in np.ndindex(x.shape):
            h = 1e-6 * max(1.0, abs(x[idx]))
            xp, xm = x.copy(), x.copy()
            xp[idx] += h
            xm[idx] -= h
            fp = np.sum(call(name, xp, t, reduction=reduction, **kwargs))
            fm = np.sum(call(name, xm, t, reduction=reduction, **kwargs))
            numeric[idx] = (fp - fm) / (2 * h)
        # central differences: O(h²) truncation plus ~1e-16·|f|/h rounding, far below 1e-7
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-7)


def test_teaching_text_snippets():
    # nn.L1Loss()(tensor([1,2,3.]), tensor([1.5,2.5,3.5])) prints tensor(0.5000)
    pred = np.array([1, 2, 3], dtype=np.float32)
    true = np.array([1.5, 2.5, 3.5], dtype=np.float32)
    assert F.l1_loss(pred, true) == 0.5
    assert F.mse_loss(pred, true) == 0.25
    assert F.mse_loss(pred, true, reduction="sum") == 0.75
    np.testing.assert_array_equal(F.mse_loss_grad(pred, true), np.full(3, -1 / 3, np.float32))
    np.testing.assert_array_equal(F.l1_loss_grad(pred, true), np.full(3, -1 / 3, np.float32))
    # torch 2.13: nn.SmoothL1Loss()(tensor([1,2,3,6.]), tensor([1.5,2.5,3.5,4.5])) = 0.34375
    assert F.smooth_l1_loss(np.array([1, 2, 3, 6], np.float32),
                            np.array([1.5, 2.5, 3.5, 4.5], np.float32)) == 0.34375
    # torch 2.13: nn.BCELoss() on this float32 snippet = 0.47228798270225525
    y = np.array([[0.7], [0.2], [0.9], [0.7]], np.float32)
    t = np.array([[1], [0], [1], [0]], np.float32)
    assert abs(F.binary_cross_entropy(y, t) - 0.47228798270225525) <= 1e-7
    # torch 2.13: nn.CrossEntropyLoss() on the logits below, float32: 0.6422001123428345
    logits = np.array([[1.5, 2.0, 0.5], [0.5, 1.0, 1.5]], np.float32)
    assert F.cross_entropy(logits, np.array([1, 2])) == 0.6422001123428345


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=case_id)
def test_elementwise_empty_input_follows_torch(rng, case, dtype):
    name, options = case
    empty = np.zeros((0, 3), dtype)
    kwargs = materialize(options, (0, 3), rng)
    assert np.isnan(call(name, empty, empty, **kwargs))
    assert call(name, empty, empty, reduction="sum", **kwargs) == 0.0
    assert call(name, empty, empty, reduction="none", **kwargs).shape == (0, 3)
    assert call(name, empty, empty, grad=True, **kwargs).shape == (0, 3)


def test_nan_and_inf_follow_torch():
    """Values checked against torch 2.13 (tests/test_torch_parity_losses.py runs torch)."""
    nan, inf = np.nan, np.inf
    x = np.array([nan, inf, 1.0, 2.0])
    t = np.array([0.0, inf, inf, 2.0])
    np.testing.assert_array_equal(F.mse_loss(x, t, reduction="none"), [nan, nan, inf, 0])
    np.testing.assert_array_equal(F.mse_loss_grad(x, t, reduction="sum"), [nan, nan, -inf, 0])
    # torch.sign(nan) is 0: l1 and beta=0 smooth_l1 gradients are 0 there
    np.testing.assert_array_equal(F.l1_loss_grad(x, t, reduction="sum"), [0, 0, -1, 0])
    np.testing.assert_array_equal(F.smooth_l1_loss_grad(x, t, reduction="sum", beta=0.0),
                                  [0, 0, -1, 0])
    np.testing.assert_array_equal(F.smooth_l1_loss_grad(x, t, reduction="sum"),
                                  [nan, nan, -1, 0])
    np.testing.assert_array_equal(F.huber_loss_grad(x, t, reduction="sum", delta=2.0),
                                  [nan, nan, -2, 0])
    # with logits: (1 - t) x is 0·inf = nan at x = inf, t = 1 (torch gives nan too)
    x = np.array([inf, -inf, inf, -inf, nan, 1e4, -1e4, 0.0])
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.5])
    np.testing.assert_array_equal(
        F.binary_cross_entropy_with_logits(x, t, reduction="none"),
        [nan, nan, inf, nan, nan, 0.0, 1e4, np.log(2.0)])
    np.testing.assert_array_equal(
        F.binary_cross_entropy_with_logits_grad(x, t, reduction="sum"),
        [0.0, 0.0, 1.0, -1.0, nan, 0.0, -1.0, 0.0])


def test_bce_log_clamp_at_0_and_1():
    """torch: each log clamped at -100; the gradient (p - t) / max(p (1 - p), 1e-12)."""
    p = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([0.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(F.binary_cross_entropy(p, t, reduction="none"), [0, 0, 100, 100])
    # torch's epsilon is the float 1e-12 even in float64: 1 / 1e-12f = 1000000003995.8...
    big = 1 / float(np.float32(1e-12))
    np.testing.assert_array_equal(F.binary_cross_entropy_grad(p, t, reduction="sum"),
                                  [0, 0, -big, big])
    np.testing.assert_array_equal(F.binary_cross_entropy_grad(p.astype(np.float32), t, reduction="sum"),
                                  np.float32([0, 0, -1e12, 1e12]))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=case_id)
def test_elementwise_layouts_and_caller_arrays_unchanged(rng, case, dtype):
    name, options = case
    x, t = elementwise_data(name, (4, 6), dtype, rng)
    kwargs = materialize(options, (4, 6), rng)
    expected = call(name, x, t, reduction="none", **kwargs)
    expected_grad = call(name, x, t, grad=True, **kwargs)
    weights = {k: w.copy() for k, w in kwargs.items() if isinstance(w, np.ndarray)}
    for kind, xl in layouts(x).items():
        for tkind, tl in layouts(t).items():
            before = (xl.copy(), tl.copy())
            np.testing.assert_array_equal(call(name, xl, tl, reduction="none", **kwargs), expected)
            np.testing.assert_array_equal(call(name, xl, tl, grad=True, **kwargs), expected_grad)
            np.testing.assert_array_equal(xl, before[0], err_msg=kind)
            np.testing.assert_array_equal(tl, before[1], err_msg=tkind)
    for key, w in weights.items():
        w = kwargs[key]
        for wkind, wl in layouts(w).items():
            np.testing.assert_array_equal(
                call(name, x, t, reduction="none", **{**kwargs, key: wl}), expected, err_msg=wkind)
        np.testing.assert_array_equal(w, weights[key])


def test_target_and_weight_take_input_dtype():
    x = np.array([0.25, 0.5], np.float32)
    assert F.mse_loss_grad(x, np.array([0, 1])).dtype == np.float32
    assert F.mse_loss_grad(x, np.array([0.5, 1.5])).dtype == np.float32
    assert F.mse_loss_grad(x.astype(np.float64), np.array([0, 1], np.float32)).dtype == np.float64
    assert F.binary_cross_entropy_grad(x, np.array([0, 1]), weight=np.array([1.0, 2.0])).dtype == np.float32
    assert F.l1_loss(np.array([1, 2], np.int32), np.array([0, 0])) == 1.5
    assert F.l1_loss_grad(np.array([True, False]), np.array([0, 0])).dtype == np.float32
    half = np.array([[0.5, 1.5]], np.float16)
    assert F.huber_loss(half, np.zeros((1, 2)), reduction="none").dtype == np.float32
    assert F.cross_entropy_grad(half, np.array([1])).dtype == np.float32
    assert F.cross_entropy(half, np.array([1])) == F.cross_entropy(half.astype(np.float32),
                                                                    np.array([1]))


def test_periodic_weight_patterns():
    shape = (2, 3, 4)
    w = np.arange(4.0)
    values, period = _validate.periodic_weight(w, "weight", shape, np.float64)
    assert period == 4 and np.shares_memory(values, w)  # no copy for a per-class weight
    values, period = _validate.periodic_weight(np.ones((1, 1, 4)), "weight", shape, np.float64)
    assert period == 4
    values, period = _validate.periodic_weight(2.0, "weight", shape, np.float64)
    assert period == 1 and values.tolist() == [2.0]
    values, period = _validate.periodic_weight(np.arange(3.0).reshape(3, 1), "weight", shape,
                                               np.float32)
    assert period == 12 and values.dtype == np.float32
    np.testing.assert_array_equal(values, np.repeat(np.arange(3.0), 4))
    assert _validate.periodic_weight(None, "weight", shape, np.float64) == (None, 1)


@pytest.mark.parametrize("name,bound", [("exp", 1.0), ("log", 1.0), ("log1p", 2.5),
                                        ("log1p_unit", 2.5)])
def test_vectorizable_math_accuracy(rng, name, bound):
    """The kernels' own exp/log/log1p (branch-free so that loops vectorize) against the exact
    result (80-bit long double where NumPy has it; NumPy's own float64 functions, one ulp
    looser, elsewhere), in units of the last place of the float64 result."""
    if name == "exp":
        x = rng.uniform(-745.0, 709.7, 200_000)  # beyond: 0 or inf, among the specials
    elif name == "log1p_unit":
        x = rng.uniform(0.0, 1.0, 200_000)
    else:  # every binade, subnormals included; log1p also on (-1, 0)
        x = np.ldexp(rng.uniform(1, 2, 200_000), rng.integers(-1074, 1000, 200_000))
        if name == "log1p":
            x = np.concatenate([x, -rng.uniform(0, 1, 20_000)])
    out = np.empty_like(x)
    _losses.math_function(name, x, out)
    exact = {"exp": np.exp, "log": np.log}.get(name, np.log1p)
    extended = np.finfo(np.longdouble).eps < np.finfo(np.float64).eps
    expected = exact(x.astype(np.longdouble)) if extended else exact(x)
    spacing = np.spacing(np.abs(expected.astype(np.float64))).astype(np.longdouble)
    errors = np.abs((out.astype(np.longdouble) - expected) / spacing)
    assert errors.max() <= bound + (0 if extended else 1)
    # and C99's special values
    specials = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 5e-324, 1e-310, 710.0,
                         -746.0, 709.78, -745.13, 1e-17, -1 + 2**-53])
    if name == "log1p_unit":
        specials = np.array([0.0, 1.0, np.nan, 1e-17, 5e-324])
    out = np.empty_like(specials)
    _losses.math_function(name, specials, out)
    with np.errstate(all="ignore"):
        expected = exact(specials)
    np.testing.assert_allclose(out, expected, rtol=3e-16, atol=0)


@pytest.mark.parametrize("name,low,high,bound", [
    ("log_unit", 0.0, 1.0, 0.86), ("log1m_unit", 0.0, 1.0, 0.92),
    ("exp_nonpositive", -0.0, -104.0, 0.99), ("log1p_unit", 0.0, 1.0, 0.87)])
def test_float32_math_accuracy(name, low, high, bound):
    """The float32 losses' own log(x), log(1 - x), e^x and log1p(x) against the exact result
    (float64), in units of the last place of the float32 result: one float in 127 of their
    domain (every binade, subnormals included), its ends and the branch points.  An
    exhaustive run over the whole domain gave 0.853, 0.917 (over [2^-31, 1]), 0.982 and
    0.862 ulp."""
    a, b = np.array([low, high], np.float32).view(np.uint32)
    special = np.array([low, high, 2.0**-149, 2.0**-126, 0.29289321881, 0.41421356, 0.5,
                        0.70710677, 1 - 2.0**-24, 87.3, 103.9], np.float32)
    special = np.concatenate([special, np.nextafter(special, np.float32(np.inf)),
                              np.nextafter(special, np.float32(-np.inf))])
    special = np.copysign(special, np.float32(low if name != "exp_nonpositive" else -1.0))
    x = np.concatenate([np.arange(a, b + 1, 127, dtype=np.uint32).view(np.float32), special])
    x = x[(np.minimum(low, high) <= x) & (x <= np.maximum(low, high))]
    out = np.empty_like(x)
    _losses.math_function(name, x, out)
    exact_of = {"log_unit": np.log, "log1m_unit": lambda v: np.log1p(-v),
                "exp_nonpositive": np.exp, "log1p_unit": np.log1p}[name]
    with np.errstate(divide="ignore"):
        exact = exact_of(x.astype(np.float64))
    finite = np.isfinite(exact) & (exact != 0)
    np.testing.assert_array_equal(out[~finite], exact[~finite])  # -inf, 0 at the ends
    spacing = np.spacing(np.abs(exact[finite]).astype(np.float32)).astype(np.float64)
    assert (np.abs(out[finite] - exact[finite]) / spacing).max() <= bound
    if name in ("exp_nonpositive", "log1p_unit"):  # these two see nan: it stays nan
        _losses.math_function(name, np.array([np.nan], np.float32), out[:1])
        assert np.isnan(out[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 4095, 4097, 100_003])
def test_count_outside_unit_interval(rng, dtype, n):
    """binary_cross_entropy's compiled check of input and target: the count NumPy gives,
    any size (serial or over threads), with nan, infinities and both zeros."""
    x = rng.uniform(-0.01, 1.01, n).astype(dtype)
    specials = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, np.nextafter(dtype(1), 2)],
                        dtype)
    x[rng.integers(0, n, min(n, 50))] = rng.choice(specials, min(n, 50))
    expected = np.count_nonzero(~((x >= 0) & (x <= 1)))
    assert _losses.count_outside_unit_interval(x) == expected


# --- cross entropy and nll -------------------------------------------------------------------

def class_data(n, c, dtype, rng, scale=3.0):
    return (scale * rng.standard_normal((n, c))).astype(dtype), rng.integers(0, c, n)


CROSS_ENTROPY_CASES = [
    {},
    {"weight": True},
    {"ignore_index": "some"},
    {"label_smoothing": 0.1},
    {"weight": True, "label_smoothing": 0.25},
    {"weight": True, "ignore_index": "some", "label_smoothing": 0.3},
    {"ignore_index": 1},  # a class index in range: its rows are ignored
    {"label_smoothing": 1.0},
    {"probs": True},
    {"probs": True, "weight": True},
    {"probs": True, "label_smoothing": 0.2},
    {"probs": True, "weight": True, "label_smoothing": 0.2},
]

NLL_CASES = [{}, {"weight": True}, {"ignore_index": "some"},
             {"weight": True, "ignore_index": "some"}, {"ignore_index": 0}]


def class_kwargs(options, n, c, rng):
    """(target transform, kwargs) for a case of CROSS_ENTROPY_CASES / NLL_CASES."""
    kwargs = {}
    if options.get("weight"):
        kwargs["weight"] = rng.uniform(0.2, 2.0, c)
    if "label_smoothing" in options:
        kwargs["label_smoothing"] = options["label_smoothing"]
    ignore = options.get("ignore_index")
    if ignore == "some":
        kwargs["ignore_index"] = -7
    elif ignore is not None:
        kwargs["ignore_index"] = ignore
    return kwargs


def class_target(options, y, c, dtype, rng, kwargs):
    if options.get("probs"):
        q = rng.uniform(0, 1, (len(y), c))
        return (q / q.sum(axis=1, keepdims=True)).astype(dtype)
    if options.get("ignore_index") == "some":
        y = y.copy()
        y[::3] = kwargs["ignore_index"]
    return y


def class_case_id(options):
    return "-".join(f"{k}={v}" for k, v in options.items()) or "plain"


CLASS_LOSS_CASES = ([("cross_entropy", o) for o in CROSS_ENTROPY_CASES]
                    + [("nll_loss", o) for o in NLL_CASES])


def class_case_ids(value):
    return value if isinstance(value, str) else class_case_id(value)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("n,c", [(1, 1), (1, 4), (5, 1), (8, 3), (30, 7)])
@pytest.mark.parametrize("loss,options", CLASS_LOSS_CASES, ids=class_case_ids)
def test_class_loss_matches_reference(rng, loss, options, n, c, reduction, dtype):
    x, y = class_data(n, c, dtype, rng)
    if loss == "nll_loss":  # log-probabilities
        x = ref.log_softmax(x).astype(dtype)
    kwargs = class_kwargs(options, n, c, rng)  # (ignore_index=1 with C=1: ignores nothing)
    target = class_target(options, y, c, dtype, rng, kwargs)
    value = getattr(F, loss)(x, target, reduction=reduction, **kwargs)
    grad = getattr(F, loss + "_grad")(x, target, reduction=reduction, **kwargs)
    if reduction == "none":
        assert value.shape == (n,) and value.dtype == dtype
    else:
        assert type(value) is float
    assert grad.shape == (n, c) and grad.dtype == dtype
    assert_close(value, getattr(ref, loss)(x, target, reduction=reduction, **kwargs), dtype)
    assert_close(grad, getattr(ref, loss + "_grad")(x, target, reduction=reduction, **kwargs),
                 dtype)
    both = getattr(F, loss + "_and_grad")(x, target, reduction=reduction, **kwargs)
    np.testing.assert_array_equal(both[0], value)
    np.testing.assert_array_equal(both[1], grad)


@pytest.mark.parametrize("loss,options", CLASS_LOSS_CASES, ids=class_case_ids)
def test_class_loss_grad_finite_differences(rng, loss, options):
    x, y = class_data(4, 5, np.float64, rng, scale=1.0)
    kwargs = class_kwargs(options, 4, 5, rng)
    target = class_target(options, y, 5, np.float64, rng, kwargs)
    for reduction in REDUCTIONS:
        grad = getattr(F, loss + "_grad")(x, target, reduction=reduction, **kwargs)
        numeric = np.empty_like(x)
        h = 1e-6
        for idx in np.ndindex(x.shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += h
            xm[idx] -= h
            fp = np.sum(getattr(F, loss)(xp, target, reduction=reduction, **kwargs))
            fm = np.sum(getattr(F, loss)(xm, target, reduction=reduction, **kwargs))
            numeric[idx] = (fp - fm) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64,
                                   np.uint64])
def test_class_targets_of_any_integer_dtype(rng, dtype):
    x, y = class_data(6, 4, np.float32, rng)
    expected = F.cross_entropy(x, y)
    assert F.cross_entropy(x, y.astype(dtype)) == expected
    np.testing.assert_array_equal(F.nll_loss_grad(x, y.astype(dtype)), F.nll_loss_grad(x, y))


@pytest.mark.parametrize("loss,kwargs", [
    ("cross_entropy", {}), ("cross_entropy", {"weight": np.array([1.0, 2.0, 3.0])}),
    ("cross_entropy", {"label_smoothing": 0.2}),
    ("cross_entropy", {"label_smoothing": 0.2, "weight": np.array([1.0, 2.0, 3.0])}),
    ("nll_loss", {}), ("nll_loss", {"weight": np.array([1.0, 2.0, 3.0])})])
def test_all_targets_ignored_gives_nan_mean_and_zero_grad(loss, kwargs):
    x = np.array([[1.5, 2.0, 0.5], [0.5, 1.0, 1.5]])
    y = np.array([-100, -100])
    assert np.isnan(getattr(F, loss)(x, y, **kwargs))
    assert getattr(F, loss)(x, y, reduction="sum", **kwargs) == 0.0
    np.testing.assert_array_equal(getattr(F, loss)(x, y, reduction="none", **kwargs), [0, 0])
    for reduction in REDUCTIONS:
        np.testing.assert_array_equal(getattr(F, loss + "_grad")(x, y, reduction=reduction, **kwargs),
                                      np.zeros((2, 3)))


def test_zero_class_weights_follow_torch():
    """torch 2.13: total weight 0 -> nan value; cross entropy's whole rows are nan, nll's
    gradient is nan at the targets only."""
    x = np.array([[1.5, 2.0, 0.5], [0.5, 1.0, 1.5]])
    y = np.array([1, 2])
    w = np.array([1.0, 0.0, 0.0])
    assert np.isnan(F.cross_entropy(x, y, weight=w))
    assert np.isnan(F.cross_entropy_grad(x, y, weight=w)).all()
    assert np.isnan(F.nll_loss(x, y, weight=w))
    g = F.nll_loss_grad(x, y, weight=w)
    assert np.isnan(g[[0, 1], [1, 2]]).all() and (g[[0, 0, 1, 1], [0, 2, 0, 1]] == 0).all()


def test_cross_entropy_non_finite_logits_follow_torch():
    """torch 2.13: an inf logit makes its row nan, a -inf one is probability 0."""
    nan, inf = np.nan, np.inf
    x = np.array([[inf, 0.0, 1.0], [-inf, 0.0, 1.0], [-inf, -inf, -inf], [nan, 0.0, 0.0],
                  [1e4, -1e4, 0.0]])
    y = np.array([1, 0, 1, 2, 0])
    values = F.cross_entropy(x, y, reduction="none")
    np.testing.assert_array_equal(values[:4], [nan, inf, nan, nan])
    assert values[4] == 0.0
    grad = F.cross_entropy_grad(x, y, reduction="sum")
    assert np.isnan(grad[[0, 2, 3]]).all()
    assert_close(grad[1], [-1.0, 1 / (1 + np.e), np.e / (1 + np.e)], np.float64)
    np.testing.assert_array_equal(grad[4], [0.0, 0.0, 0.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_class_losses_empty_batch(dtype):
    x = np.zeros((0, 3), dtype)
    y = np.zeros(0, np.int64)
    for loss, target in (("cross_entropy", y), ("cross_entropy", x), ("nll_loss", y)):
        assert np.isnan(getattr(F, loss)(x, target))
        assert getattr(F, loss)(x, target, reduction="sum") == 0.0
        assert getattr(F, loss)(x, target, reduction="none").shape == (0,)
        assert getattr(F, loss + "_grad")(x, target).shape == (0, 3)


def test_class_losses_zero_classes_all_ignored():
    x = np.zeros((2, 0))
    y = np.array([-100, -100])
    assert np.isnan(F.cross_entropy(x, y)) and F.nll_loss(x, y, reduction="sum") == 0.0
    assert F.cross_entropy_grad(x, y).shape == (2, 0)
    assert np.isnan(F.cross_entropy(x, x))  # torch: 'mean' over an empty input
    np.testing.assert_array_equal(F.cross_entropy(x, x, reduction="none"), [0.0, 0.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_class_loss_layouts_and_caller_arrays_unchanged(rng, dtype):
    x, y = class_data(5, 4, dtype, rng)
    w = rng.uniform(0.5, 1.5, 4)
    q = rng.uniform(0, 1, (5, 4)).astype(dtype)
    expected = F.cross_entropy_grad(x, y, weight=w, label_smoothing=0.1)
    expected_probs = F.cross_entropy_grad(x, q, weight=w)
    expected_nll = F.nll_loss_grad(x, y, weight=w)
    before = [a.copy() for a in (x, y, w, q)]
    for kind, xl in layouts(x).items():
        for ykind, yl in layouts(y).items():
            np.testing.assert_array_equal(
                F.cross_entropy_grad(xl, yl, weight=w, label_smoothing=0.1), expected,
                err_msg=kind + ykind)
            np.testing.assert_array_equal(F.nll_loss_grad(xl, yl, weight=w), expected_nll)
        for qkind, ql in layouts(q).items():
            np.testing.assert_array_equal(F.cross_entropy_grad(xl, ql, weight=w), expected_probs)
    for wkind, wl in layouts(w).items():
        np.testing.assert_array_equal(F.cross_entropy_grad(x, y, weight=wl, label_smoothing=0.1),
                                      expected, err_msg=wkind)
    for a, b in zip((x, y, w, q), before):
        np.testing.assert_array_equal(a, b)


def test_large_inputs_same_floats_for_any_thread_count(rng):
    """The reductions add fixed blocks in order: 1 and 2 OpenMP threads agree exactly."""
    import threadpoolctl  # a runtime dependency of fastbp

    x = rng.standard_normal(300_000).astype(np.float32)
    t = rng.uniform(0, 1, 300_000).astype(np.float32)
    xc, yc = class_data(3000, 100, np.float32, rng)
    runs = []
    for threads in (1, 2):
        with threadpoolctl.threadpool_limits(threads, user_api="openmp"):
            runs.append([F.mse_loss_and_grad(x, t), F.l1_loss_and_grad(x, t),
                         F.binary_cross_entropy_with_logits_and_grad(x, t),
                         F.cross_entropy_and_grad(xc, yc, label_smoothing=0.1)])
    for (v1, g1), (v2, g2) in zip(*runs):
        assert v1 == v2
        np.testing.assert_array_equal(g1, g2)
    # and the blocked double sums are as exact as the float64 reference
    assert_close(F.mse_loss(x, t), ref.mse_loss(x, t), np.float32)
    assert_close(F.cross_entropy(xc, yc), ref.cross_entropy(xc, yc), np.float32)


def offset_copy(a, offset):
    """a's values in memory starting `offset` elements into a fresh buffer."""
    buf = np.empty(a.size + offset, a.dtype)
    out = buf[offset:].reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_same_floats_at_any_alignment(rng, dtype):
    """A fused training step hands the kernels its own buffers: the sums must not depend on
    where the arrays start (no alignment peeling in the SIMD reductions)."""
    x = rng.standard_normal(20_011).astype(dtype)
    t = rng.uniform(0, 1, 20_011).astype(dtype)
    xc, yc = class_data(203, 37, dtype, rng)
    expected = [F.mse_loss_and_grad(x, t), F.binary_cross_entropy_with_logits_and_grad(x, t),
                F.cross_entropy_and_grad(xc, yc, label_smoothing=0.1)]
    for offset in (1, 2, 3, 5):
        got = [F.mse_loss_and_grad(offset_copy(x, offset), offset_copy(t, offset)),
               F.binary_cross_entropy_with_logits_and_grad(offset_copy(x, offset), t),
               F.cross_entropy_and_grad(offset_copy(xc, offset), yc, label_smoothing=0.1)]
        for (v1, g1), (v2, g2) in zip(expected, got):
            assert v1 == v2
            np.testing.assert_array_equal(g1, g2)


# --- bad input -------------------------------------------------------------------------------

def test_elementwise_shape_and_option_errors():
    with pytest.raises(ValueError, match=r"target: expected the shape of input \(3,\), got \(3, 1\)"):
        F.l1_loss(np.ones(3), np.ones((3, 1)))
    with pytest.raises(ValueError, match="reduction: expected 'none', 'mean' or 'sum', got 'avg'"):
        F.huber_loss(np.ones(3), np.ones(3), reduction="avg")
    with pytest.raises(ValueError, match=r"beta: expected a value >= 0.0, got -0.5"):
        F.smooth_l1_loss(np.ones(3), np.ones(3), beta=-0.5)
    with pytest.raises(ValueError, match=r"delta: expected a value > 0.0, got 0.0"):
        F.huber_loss_grad(np.ones(3), np.ones(3), delta=0.0)
    with pytest.raises(ValueError, match=r"delta: expected a value > 0.0, got -1.0"):
        F.huber_loss(np.ones(3), np.ones(3), delta=-1)
    with pytest.raises(TypeError, match="beta: expected a real number, got 'x'"):
        F.smooth_l1_loss(np.ones(3), np.ones(3), beta="x")


@pytest.mark.parametrize("bad", [1.5, -0.1, np.nan])
def test_bce_input_outside_unit_interval_is_a_value_error(bad):
    p = np.array([0.5, bad])
    before = p.copy()
    with pytest.raises(ValueError, match=r"input: expected values in \[0, 1\], got"):
        F.binary_cross_entropy(p, np.zeros(2))
    with pytest.raises(ValueError, match=r"target: expected values in \[0, 1\], got"):
        F.binary_cross_entropy_grad(np.full(2, 0.5), p)
    np.testing.assert_array_equal(p, before)


def test_weight_broadcast_errors():
    with pytest.raises(ValueError, match=r"weight: expected a shape that broadcasts to the input's "
                                         r"\(2, 2\), got \(3,\)"):
        F.binary_cross_entropy(np.full((2, 2), 0.5), np.zeros((2, 2)), weight=np.ones(3))
    with pytest.raises(ValueError, match=r"pos_weight: expected a shape that broadcasts to the "
                                         r"input's \(2, 2\), got \(1, 2, 2\)"):
        F.binary_cross_entropy_with_logits(np.zeros((2, 2)), np.zeros((2, 2)),
                                           pos_weight=np.ones((1, 2, 2)))
    with pytest.raises(TypeError, match="weight: expected a real numeric array"):
        F.binary_cross_entropy_with_logits(np.zeros(2), np.zeros(2), weight=np.ones(2, complex))


def test_class_loss_errors():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"target: class index 3 is out of range for 3 classes "
                                         r"\(expected 0 <= index < 3, or ignore_index=-100\)"):
        F.cross_entropy(x, np.array([1, 3]))
    with pytest.raises(ValueError, match="target: class index -1 is out of range"):
        F.nll_loss_grad(x, np.array([-1, 0]))
    with pytest.raises(ValueError, match="target: class index -100 is out of range"):
        F.nll_loss(x, np.array([-100, 0]), ignore_index=5)
    with pytest.raises(ValueError, match=r"target: expected shape \(2,\), got \(3,\)"):
        F.cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"target: expected integer class indices of shape \(2,\) "
                                         r"or class probabilities of the input's shape \(2, 3\), "
                                         r"got float64 of shape \(2, 2\)"):
        F.cross_entropy(x, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"got float64 of shape \(2,\)"):
        F.cross_entropy(x, np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="target: expected integer class indices or floating-point "
                                        "class probabilities, got dtype bool"):
        F.cross_entropy(x, np.array([True, False]))
    with pytest.raises(TypeError, match="target: expected integer class indices, got dtype float64"):
        F.nll_loss(x, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"weight: expected shape \(3,\) \(one weight per class\), "
                                         r"got \(2,\)"):
        F.cross_entropy(x, np.array([0, 1]), weight=np.ones(2))
    with pytest.raises(ValueError, match=r"weight: expected a 1-D array \(one weight per class\), "
                                         r"got shape \(1, 3\)"):
        F.nll_loss(x, np.array([0, 1]), weight=np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"label_smoothing: expected a value in \[0, 1\], got 1.5"):
        F.cross_entropy(x, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"label_smoothing: expected a value in \[0, 1\], got -0.1"):
        F.cross_entropy_grad(x, np.array([0, 1]), label_smoothing=-0.1)
    with pytest.raises(ValueError, match="ignore_index: not supported with class-probability targets"):
        F.cross_entropy(x, np.full((2, 3), 1 / 3), ignore_index=1)
    with pytest.raises(TypeError, match="ignore_index: expected an integer, got 1.5"):
        F.nll_loss(x, np.array([0, 1]), ignore_index=1.5)
    with pytest.raises(ValueError, match=r"input: expected an array \(N, C\), \(C,\) or "
                                         r"\(N, C, d1, ..., dK\), got shape \(\)"):
        F.cross_entropy(np.zeros(()), np.array(1))
    with pytest.raises(ValueError, match=r"target: expected class indices of shape \(2, 5\) "
                                         r"for the input's \(2, 3, 5\), got \(2,\)"):
        F.nll_loss(np.zeros((2, 3, 5)), np.array([0, 1]))
    with pytest.raises(ValueError, match="reduction: expected 'none', 'mean' or 'sum', got None"):
        F.nll_loss(x, np.array([0, 1]), reduction=None)
    with pytest.raises(ValueError, match=r"target: class index 18446744073709551615 is out of range"):
        F.cross_entropy(x, np.array([0, 2**64 - 1], np.uint64))


# --- property tests: random shapes, values (inf, nan, 0/1, huge) and options -------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

SPECIALS = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan]
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


def values(dtype, bound):
    """Finite values up to `bound` (no float32 overflow in the squares), the specials and
    huge ones."""
    return st.one_of(st.floats(-bound, bound, width=np.dtype(dtype).itemsize * 8),
                     st.sampled_from(SPECIALS + [bound, -bound]))


def arrays(dtype, shape, elements):
    return hnp.arrays(dtype, shape, elements=elements)


unit = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0]))
BOUND = {np.float32: float(np.float32(1e15)), np.float64: 1e150}


@st.composite
def elementwise_examples(draw):
    name, options = draw(st.sampled_from(ELEMENTWISE_CASES))
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    if name == "binary_cross_entropy":
        x = draw(arrays(dtype, shape, unit))
        t = draw(arrays(dtype, shape, unit))
    else:
        x = draw(arrays(dtype, shape, values(dtype, BOUND[dtype])))
        t = draw(arrays(dtype, shape, unit if "logits" in name else values(dtype, BOUND[dtype])))
    kwargs = {}
    for key, kind in options.items():
        if key in ("weight", "pos_weight"):
            w = weight_of(kind, shape, np.random.default_rng(draw(st.integers(0, 2**32))))
            kwargs[key] = w * draw(st.sampled_from([1.0, 0.0, -1.0]))
        else:  # beta or delta: the case's, another, or beta = 0
            zero = [st.just(0.0)] if key == "beta" else []
            kwargs[key] = draw(st.one_of(st.just(kind), st.floats(0.01, 10.0), *zero))
    return name, x, t, kwargs, draw(st.sampled_from(REDUCTIONS))


def cancellation_scales(name, x, t, kwargs, reduction):
    """The size of the terms that cancel, for assert_close's absolute part: only
    binary_cross_entropy_with_logits subtracts large terms, (1 - t) x - lw log σ(x) (with
    pos_weight = 0 and x = -2e14 both are 1.4e14 and the loss is 0; an FMA rounds the
    difference differently from the reference's two products)."""
    if name != "binary_cross_entropy_with_logits" or x.size == 0:
        return 1.0, 1.0
    w = np.abs(kwargs.get("weight", 1.0)).max(initial=0.0)
    lw = 1 + (np.abs(kwargs.get("pos_weight", 1.0)).max(initial=0.0) + 1) * np.abs(t).max()
    term = w * (1 + lw)
    finite_x = np.abs(np.where(np.isfinite(x), x, 0.0)).max(initial=0.0)
    count = x.size if reduction == "sum" else 1
    return 1.0 + term * finite_x * count, 1.0 + term


@PROPERTY_SETTINGS
@given(elementwise_examples())
def test_elementwise_losses_property(example):
    name, x, t, kwargs, reduction = example
    with np.errstate(all="ignore"):
        expected = reference(name, x, t, reduction=reduction, **kwargs)
        expected_grad = reference(name, x, t, reduction=reduction, grad=True, **kwargs)
    before = (x.copy(), t.copy())
    value_scale, grad_scale = cancellation_scales(name, x, t, kwargs, reduction)
    assert_close(call(name, x, t, reduction=reduction, **kwargs), expected, x.dtype, value_scale)
    assert_close(call(name, x, t, reduction=reduction, grad=True, **kwargs), expected_grad,
                 x.dtype, grad_scale)
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(t, before[1])


@st.composite
def class_examples(draw):
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(0, 6))
    c = draw(st.integers(1, 6))
    loss = draw(st.sampled_from(["cross_entropy", "cross_entropy", "nll_loss"]))
    x = draw(arrays(dtype, (n, c), st.one_of(st.floats(-30, 30, width=np.dtype(dtype).itemsize * 8),
                                              st.sampled_from(SPECIALS + [1e4, -1e4, 1e15, -1e15]))))
    kwargs = {}
    if draw(st.booleans()):
        kwargs["weight"] = draw(arrays(np.float64, (c,), st.sampled_from([0.0, 0.5, 1.0, 2.5])))
    probs = loss == "cross_entropy" and draw(st.booleans())
    if probs:
        target = draw(arrays(dtype, (n, c), unit))
    else:
        ignore_index = draw(st.sampled_from([-100, 0, c - 1, c + 3]))
        kwargs["ignore_index"] = ignore_index
        target = draw(arrays(np.int64, (n,), st.one_of(st.integers(0, c - 1), st.just(ignore_index))))
    if loss == "cross_entropy":
        kwargs["label_smoothing"] = draw(st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1)))
    return loss, x, target, kwargs, draw(st.sampled_from(REDUCTIONS))


@PROPERTY_SETTINGS
@given(class_examples())
def test_class_losses_property(example):
    loss, x, target, kwargs, reduction = example
    reference_loss = getattr(ref, loss)
    with np.errstate(all="ignore"):
        expected = reference_loss(x, target, reduction=reduction, **kwargs)
        expected_grad = getattr(ref, loss + "_grad")(x, target, reduction=reduction, **kwargs)
    # logits up to 1e15: the loss is their difference, its rounding relative to them
    scale = float(np.nanmax(np.abs(np.where(np.isfinite(x), x, 0)), initial=1.0))
    assert_close(getattr(F, loss)(x, target, reduction=reduction, **kwargs), expected, x.dtype,
                 scale * max(1, x.shape[0]))
    assert_close(getattr(F, loss + "_grad")(x, target, reduction=reduction, **kwargs),
                 expected_grad, x.dtype)


def test_mean_divisor_of_the_loss_records(rng):
    # What 'mean' divides by, for data-parallel training: 'sum' over shards / the summed
    # divisor reproduces 'mean'.
    x = rng.standard_normal((6, 4))
    assert _validate.elementwise_loss_args(LossKind.MSE_LOSS, x, x, "mean").mean_divisor() == 24
    target = np.array([0, 3, -100, 1, 3, 2])
    weight = np.array([0.5, 2.0, 0.25, 4.0])
    for w, expected in ((None, 5.0), (weight, 0.5 + 4.0 + 2.0 + 4.0 + 0.25)):
        for args in (_validate.cross_entropy_args(x, target, w, -100, "mean", 0.1),
                     _validate.nll_loss_args(x, target, w, -100, "mean")):
            assert args.mean_divisor() == expected
    probs = rng.random((6, 4))
    assert _validate.cross_entropy_args(x, probs, None, -100, "mean", 0.0).mean_divisor() == 6
