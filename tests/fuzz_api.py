"""Fuzz the public API: every call gives the right answer or a clear ValueError/TypeError.

Each target draws arguments of random ndim (0-3), shapes (incl. 0-length and mismatched
axes), dtypes (bool, ints, uints, float16/32/64, complex, object, strings), layouts
(non-contiguous, negative strides, Fortran, byte-swapped, read-only), values (nan, ±inf,
huge, subnormal) and container types (lists, scalars, None), plus good and bad options.
Independently of fastbp, the target's ``valid`` rule says whether the contract accepts
those arguments.  Then:

- accepted: the call must return the NumPy reference's answer on the converted input;
- refused: it must raise ValueError or TypeError whose message names an argument;
- always: the caller's arrays are unchanged, byte for byte.

Any other outcome (another exception, a wrong answer, a crash) fails.  tests/test_fuzz.py
runs each target in a subprocess, so a crash fails one test instead of the run:

    python tests/fuzz_api.py TARGET N_EXAMPLES
"""

from __future__ import annotations

import copy
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference as ref  # noqa: E402

import fastbp  # noqa: E402
from fastbp import functional as F  # noqa: E402

TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
# Large enough to be "huge", small enough that the squares and short sums the kernels
# form cannot overflow in that dtype, so a float32 result and the float64 reference
# agree (an overflowing intermediate is order-dependent in any implementation).
HUGE = {np.dtype(np.float32): 1e15, np.dtype(np.float64): 1e150}
SUBNORMAL = {np.dtype(np.float32): 1e-40, np.dtype(np.float64): 5e-320}

NUMERIC = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64"]
NON_NUMERIC = ["complex64", "complex128", "object", "U3", "S3", "datetime64[s]"]


# --- drawing arguments -----------------------------------------------------------------

def float_elements(dtype):
    dtype = np.dtype(dtype)
    huge = HUGE.get(dtype, 6e4)  # float16's max is 65504
    tiny = SUBNORMAL.get(dtype, 1e-7)
    return st.one_of(
        st.floats(-8, 8, allow_nan=False, width=64),
        st.sampled_from([0.0, -0.0, 1.0, np.nan, np.inf, -np.inf, huge, -huge, tiny, -tiny]),
    )


def fill(draw, shape, dtype, elements=None):
    """An array of ``shape``/``dtype`` with values that exercise the edges."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dtype.kind == "b":
        vals = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(int(info.min), -100), min(int(info.max), 100)
        vals = draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))
    elif dtype.kind == "f":
        if isinstance(elements, tuple):  # (valid values, invalid ones): mostly all valid
            good, bad = elements
            elements = good if draw(st.integers(0, 3)) else st.one_of(good, bad)
        if elements is None:
            elements = float_elements(dtype)
        vals = draw(st.lists(elements, min_size=n, max_size=n))
    elif dtype.kind == "c":
        vals = [complex(v, 1) for v in draw(st.lists(st.floats(-3, 3), min_size=n, max_size=n))]
    elif dtype.kind == "O":
        vals = draw(st.lists(st.floats(-3, 3), min_size=n, max_size=n))
    elif dtype.kind in "US":
        vals = ["ab"] * n
    else:  # datetime
        vals = [np.datetime64(0, "s")] * n
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array(vals, dtype=dtype).reshape(shape)


def relayout(draw, arr):
    """The same values in a random memory layout."""
    kind = draw(st.sampled_from(["c", "c", "fortran", "reversed", "strided", "byteswap",
                                 "readonly", "misaligned"]))
    if kind == "misaligned" and arr.dtype.kind in "biuf" and arr.dtype.itemsize > 1 and arr.size:
        raw = np.zeros(arr.nbytes + 1, np.uint8)  # the array at an odd byte address
        out = np.frombuffer(raw.data, dtype=arr.dtype, count=arr.size, offset=1).reshape(arr.shape)
        out[...] = arr
        return out
    if kind == "fortran":
        return np.asfortranarray(arr)
    if kind == "reversed" and arr.ndim:
        return np.ascontiguousarray(np.flip(arr))[(slice(None, None, -1),) * arr.ndim]
    if kind == "strided" and arr.ndim:
        wide = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), dtype=arr.dtype)
        wide[..., ::2] = arr
        return wide[..., ::2]
    if kind == "byteswap" and arr.dtype.kind in "iuf" and arr.dtype.itemsize > 1:
        return arr.astype(arr.dtype.newbyteorder())
    if kind == "readonly":
        arr = arr.copy()
        arr.flags.writeable = False
    return arr


def random_shape(draw):
    return tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))


@dataclass
class ArrayArg:
    """An array argument: its name, its shape as letters (sizes drawn per case), and
    whether it holds class indices (any integer dtype) instead of values."""

    name: str
    shape: tuple
    optional: bool = False
    index: bool = False
    elements: object = None  # a strategy for float values, e.g. probabilities
    float_shape: tuple = None  # an index argument's shape when it is drawn as floats
    classes: str = "C"  # the size letter that counts an index argument's classes


def draw_array_arg(draw, arg: ArrayArg, sizes: dict, first_dtype, clean: bool,
                   ignore_index=-100):
    """A value for ``arg``: usually well formed, sometimes any shape, dtype or type.

    ``clean``: well formed in shape, dtype kind, values and type (the layout, values such
    as nan/inf and numeric dtype still vary), so that half the cases reach the kernels.
    """
    if arg.optional and draw(st.integers(0, 3)) == 0:
        return None
    shape = tuple(sizes[s] if isinstance(s, str) else s for s in arg.shape)
    if not clean and draw(st.integers(0, 9)) == 0:
        shape = random_shape(draw)
    if arg.index:
        kinds = ["int8", "int16", "int32", "int64", "uint8", "uint64"]
        kinds += ["float32", "float64"] if arg.float_shape else []
        dtype = draw(st.sampled_from(kinds if clean else kinds + ["float32", "float64", "bool"]))
        n_classes = sizes.get(arg.classes, 2)
        if np.dtype(dtype).kind in "iu":
            lo = 0 if np.dtype(dtype).kind == "u" else -100
            in_range = st.integers(0, max(n_classes - 1, 0))
            if lo < 0 or ignore_index >= 0:  # now and then the case's ignore_index
                in_range = st.one_of(in_range, in_range, in_range, st.just(ignore_index))
            # mostly all valid (else one bad index spoils the case), sometimes anything
            values = in_range if clean or draw(st.integers(0, 3)) else st.integers(lo, n_classes + 2)
            vals = draw(st.lists(values, min_size=int(np.prod(shape)),
                                 max_size=int(np.prod(shape))))
            value = np.array(vals, dtype=dtype).reshape(shape)
        else:
            if arg.float_shape is not None and shape == tuple(sizes[x] for x in arg.shape):
                shape = tuple(sizes[x] for x in arg.float_shape)  # e.g. class probabilities
            value = fill(draw, shape, dtype, st.floats(0, 1) if draw(st.booleans()) else None)
    else:
        choices = NUMERIC + ["float32", "float64"] * 3
        if not clean:
            choices = choices + NON_NUMERIC[:1]
            if draw(st.integers(0, 14)) == 0:
                choices = NON_NUMERIC
        dtype = first_dtype if first_dtype is not None and draw(st.booleans()) else \
            draw(st.sampled_from(choices))
        elements = arg.elements[0] if clean and isinstance(arg.elements, tuple) else arg.elements
        value = fill(draw, shape, dtype, elements)
    value = relayout(draw, value)
    # a list of an empty array loses its shape ([] is (0,)): not a clean case
    container = draw(st.integers(0, 39)) if not clean else \
        draw(st.integers(0, 1)) * 39 if value.size else 39
    if container in (0, 1):
        return value.tolist()
    if container == 3 and value.ndim == 2:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            return np.asmatrix(value)  # a subclass: read as the plain array
    if container == 4:
        return np.ma.masked_array(value, mask=np.zeros(value.shape, bool))  # refused
    if container == 2:
        return draw(st.sampled_from([None, "x", 3, 2.5, {"a": 1}]))
    return value


# --- the oracle ------------------------------------------------------------------------

def float_dtype_of(dtype):
    """The contract's conversion: float32/64 stay; float16, ints, bool -> float32."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and dtype.itemsize == 8:
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def is_array_like(value):
    """What the API converts with np.asarray: arrays (subclasses as the plain array they
    hold), (nested) lists and numeric scalars -- not masked arrays, whose mask it would drop."""
    return (isinstance(value, (np.ndarray, list, np.generic, int, float))
            and not isinstance(value, np.ma.MaskedArray))


def numeric_kind(value, kinds="biuf"):
    if not is_array_like(value):
        return False
    try:
        arr = np.asarray(value)
    except Exception:
        return False
    return arr.dtype.kind in kinds


def converted(args: dict, specs: list, dtype=None):
    """float64 copies of the array arguments as the contract converts them: each value
    array first to the first array's float dtype (or the fixed ``dtype`` of a Layer/Net),
    then to float64 for the reference."""
    out = {}
    for arg in specs:
        value = args[arg.name]
        if value is None:
            out[arg.name] = None
            continue
        arr = np.asarray(value)
        if arg.index and arr.dtype.kind in "iu":
            out[arg.name] = arr.astype(np.int64)
            continue
        if dtype is None:
            dtype = float_dtype_of(arr.dtype)
        with np.errstate(all="ignore"):
            out[arg.name] = arr.astype(dtype).astype(np.float64)
    return out, dtype


def snapshot(value):
    if isinstance(value, np.ndarray):
        return ("nd", value.dtype.str, value.shape, value.strides, value.flags.writeable,
                value.tobytes(order="A"), value.ctypes.data)
    return ("obj", copy.deepcopy(value))


def unchanged(before, value):
    after = snapshot(value)
    if before[0] == "nd":
        return before == after
    try:
        return repr(before[1]) == repr(after[1])
    except Exception:
        return True


def close(actual, expected, dtype, magnitude):
    actual = np.asarray(actual, dtype=np.float64)
    with np.errstate(all="ignore"):
        expected = np.asarray(expected, dtype=np.float64).astype(dtype).astype(np.float64)
    if actual.shape != expected.shape:
        return f"shape {actual.shape} != {expected.shape}"
    t = TOL[np.dtype(dtype)]
    if np.dtype(dtype) == np.float32:
        # Where the float64 answer is already inf or nan, float32 may give the other one:
        # a factor that underflows to 0 in float32 (exp(-104)) turns inf * p into nan.
        # Both are non-finite; a finite answer there is still an error.
        both = ~np.isfinite(expected) & ~np.isfinite(actual)
        expected = np.where(both, actual, expected)
    try:
        np.testing.assert_allclose(actual, expected, rtol=t, atol=t * magnitude, equal_nan=True)
    except AssertionError as exc:
        return str(exc)
    return None


def finite_abs(a):
    a = np.abs(np.asarray(a, dtype=np.float64))
    return np.where(np.isfinite(a), a, 0.0)


@dataclass
class Target:
    """A public callable, the contract's acceptance rule for it, and its reference."""

    name: str
    call: object                      # (args: dict, opts: dict) -> result
    arrays: list                      # [ArrayArg]
    valid: object                     # (conv: dict, raw: dict, opts: dict) -> bool
    reference: object                 # (conv: dict, opts: dict) -> expected (float64)
    magnitude: object = None          # (conv, opts) -> size of summed terms, for atol
    options: dict = field(default_factory=dict)   # name -> strategy (good and bad values)
    sizes: str = "NIOC"
    result_dtype: object = None       # (dtype, conv, opts) -> dtype of the result
    fixed_dtype: object = None        # (opts) -> the dtype inputs are converted to, if fixed


def names_an_argument(message, target):
    names = [a.name for a in target.arrays] + [k for k in target.options if not k.startswith("_")]
    return any(re.search(rf"(^|\W){re.escape(n)}(\W|$)", message) for n in names)


def in_dtype(conv: dict, dtype):
    """The converted float arrays back in the dtype fastbp computes in (exact: they came
    from it), so the reference sees it: torch's float32 overflows to inf where float64
    would not (tests/reference.py's in_dtype_of)."""
    if dtype is None or np.dtype(dtype) != np.float32:
        return conv
    return {k: v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype == np.float64
            else v for k, v in conv.items()}


def check_case(target: Target, args: dict, opts: dict):
    raw_ok = all(
        (args[a.name] is None and a.optional)
        or (a.index and numeric_kind(args[a.name], "iuf" if a.float_shape else "iu"))
        or (not a.index and numeric_kind(args[a.name]))
        for a in target.arrays)
    fixed = target.fixed_dtype(opts) if target.fixed_dtype else None
    conv, dtype = converted(args, target.arrays, fixed) if raw_ok else (None, None)
    expect_ok = raw_ok and target.valid(conv, args, opts)
    before = {k: snapshot(v) for k, v in args.items()}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # fastbp must not warn on its own inputs
            result = target.call(args, opts)
        error = None
    except (ValueError, TypeError) as exc:
        result, error = None, exc
    for k, v in args.items():
        assert unchanged(before[k], v), f"{target.name}: argument {k} was modified"
    if error is not None:
        assert not expect_ok, f"{target.name}: refused valid input: {error!r}"
        assert names_an_argument(str(error), target), \
            f"{target.name}: message names no argument: {error!r}"
        return "refused"
    assert expect_ok, f"{target.name}: accepted invalid input, returned {result!r:.200}"
    expected = target.reference(in_dtype(conv, dtype), opts)
    out_dtype = target.result_dtype(dtype, conv, opts) if target.result_dtype else dtype
    results = result if isinstance(result, tuple) else (result,)
    expecteds = expected if isinstance(expected, tuple) else (expected,)
    magnitude = target.magnitude(conv, opts) if target.magnitude else 1.0
    for got, exp in zip(results, expecteds):
        if exp is None:
            assert got is None, f"{target.name}: expected None, got {got!r:.200}"
            continue
        if isinstance(got, np.ndarray):
            assert got.dtype == out_dtype, f"{target.name}: dtype {got.dtype}, want {out_dtype}"
        else:
            assert isinstance(got, float), f"{target.name}: returned {type(got).__name__}"
        problem = close(got, exp, out_dtype, magnitude)
        assert problem is None, f"{target.name}: wrong answer: {problem}"
    return "accepted"


# --- the targets -----------------------------------------------------------------------

def choice(good, bad):
    """An option: valid values, and invalid ones (drawn only outside clean cases)."""
    return st.sampled_from(good), st.sampled_from(bad)


def option(strategy, clean):
    if not isinstance(strategy, tuple):
        return strategy
    good, bad = strategy
    return good if clean else st.one_of(good, good, bad)


REDUCTION = choice(["mean", "sum", "none"], ["avg", None, 3, "MEAN"])
GOOD_REDUCTIONS = ("mean", "sum", "none")


def shape_of(conv, name):
    return None if conv[name] is None else conv[name].shape


def linear_valid(c, raw, o):
    x, w, b = c["x"], c["weight"], c["bias"]
    return (x.ndim == 2 and w.ndim == 2 and x.shape[1] == w.shape[1]
            and (b is None or b.shape == (w.shape[0],)))


def linear_magnitude(c, o):
    m = finite_abs(c["x"]) @ finite_abs(c["weight"]).T if c["x"].size and c["weight"].size else 0
    b = finite_abs(c["bias"]).max(initial=0) if c["bias"] is not None else 0
    return float(np.max(m, initial=0)) + b + 1


def linear_backward_valid(c, raw, o):
    gy, x, w = c["grad_y"], c["x"], c["weight"]
    return (gy.ndim == 2 and x.ndim == 2 and w.ndim == 2 and x.shape[1] == w.shape[1]
            and gy.shape == (x.shape[0], w.shape[0]) and isinstance(o["bias"], bool))


def linear_backward_reference(c, o):
    gx, gw, gb = ref.linear_backward(c["grad_y"], c["x"], c["weight"])
    return gx, gw, (gb if o["bias"] else None)


def linear_backward_magnitude(c, o):
    gy, x, w = finite_abs(c["grad_y"]), finite_abs(c["x"]), finite_abs(c["weight"])
    return float(max(np.max(gy @ w, initial=0) if gy.size and w.size else 0,
                     np.max(gy.T @ x, initial=0) if gy.size and x.size else 0,
                     gy.sum(axis=0).max(initial=0) if gy.ndim == 2 else 0)) + 1


def elementwise_valid(first, second):
    def valid(c, raw, o):
        return c[first].shape == c[second].shape and o.get("reduction", "mean") in GOOD_REDUCTIONS
    return valid


def mse_magnitude(c, o):
    return float(((finite_abs(c["input"]) + finite_abs(c["target"])) ** 2).sum()) + 1


TARGETS = {
    "linear": Target(
        "linear", lambda a, o: F.linear(a["x"], a["weight"], a["bias"]),
        [ArrayArg("x", ("N", "I")), ArrayArg("weight", ("O", "I")),
         ArrayArg("bias", ("O",), optional=True)],
        linear_valid, lambda c, o: ref.linear(c["x"], c["weight"], c["bias"]),
        linear_magnitude),
    "linear_backward": Target(
        "linear_backward",
        lambda a, o: F.linear_backward(a["grad_y"], a["x"], a["weight"], bias=o["bias"]),
        [ArrayArg("grad_y", ("N", "O")), ArrayArg("x", ("N", "I")),
         ArrayArg("weight", ("O", "I"))],
        linear_backward_valid, linear_backward_reference, linear_backward_magnitude,
        options={"bias": choice([True, False], [1, None])}),
    "sigmoid": Target(
        "sigmoid", lambda a, o: F.sigmoid(a["x"]), [ArrayArg("x", ("N", "I"))],
        lambda c, raw, o: True, lambda c, o: ref.sigmoid(c["x"])),
    "sigmoid_backward": Target(
        "sigmoid_backward", lambda a, o: F.sigmoid_backward(a["grad_y"], a["y"]),
        [ArrayArg("grad_y", ("N", "I")), ArrayArg("y", ("N", "I"))],
        elementwise_valid("grad_y", "y"), lambda c, o: ref.sigmoid_backward(c["grad_y"], c["y"]),
        lambda c, o: float((finite_abs(c["grad_y"]) * (1 + finite_abs(c["y"])) ** 2).max(initial=0)) + 1),
    "mse_loss": Target(
        "mse_loss", lambda a, o: F.mse_loss(a["input"], a["target"], o["reduction"]),
        [ArrayArg("input", ("N", "I")), ArrayArg("target", ("N", "I"))],
        elementwise_valid("input", "target"),
        lambda c, o: ref.mse_loss(c["input"], c["target"], o["reduction"]), mse_magnitude,
        options={"reduction": REDUCTION}),
    "mse_loss_grad": Target(
        "mse_loss_grad", lambda a, o: F.mse_loss_grad(a["input"], a["target"], o["reduction"]),
        [ArrayArg("input", ("N", "I")), ArrayArg("target", ("N", "I"))],
        elementwise_valid("input", "target"),
        lambda c, o: ref.mse_loss_grad(c["input"], c["target"], o["reduction"]),
        lambda c, o: 2 * float((finite_abs(c["input"]) + finite_abs(c["target"])).max(initial=0)) + 1,
        options={"reduction": REDUCTION}),
}


def activation_magnitude(c, o):
    gy = finite_abs(c["grad_y"])
    with np.errstate(over="ignore"):
        y = np.exp(np.minimum(finite_abs(c["y"]), 700.0))  # log_softmax's exp(y)
    rows = gy.sum(axis=-1, keepdims=True) if gy.ndim else gy
    return float(np.max(gy * (1 + finite_abs(c["y"])) ** 2 + y * (gy + rows), initial=0)) + 1


def two_d(*names):
    def valid(c, raw, o):
        return all(c[n].ndim == 2 for n in names) and all(c[n].shape == c[names[0]].shape
                                                          for n in names)
    return valid


for act in ("relu", "tanh", "softmax", "log_softmax"):
    forward, backward = getattr(F, act), getattr(F, act + "_backward")
    rowwise = act in ("softmax", "log_softmax")
    TARGETS[act] = Target(
        act, (lambda f: lambda a, o: f(a["x"]))(forward), [ArrayArg("x", ("N", "I"))],
        two_d("x") if rowwise else (lambda c, raw, o: True),
        (lambda r: lambda c, o: r(c["x"]))(getattr(ref, act)))
    TARGETS[act + "_backward"] = Target(
        act + "_backward", (lambda f: lambda a, o: f(a["grad_y"], a["y"]))(backward),
        [ArrayArg("grad_y", ("N", "I")), ArrayArg("y", ("N", "I"))],
        two_d("grad_y", "y") if rowwise else elementwise_valid("grad_y", "y"),
        (lambda r: lambda c, o: r(c["grad_y"], c["y"]))(getattr(ref, act + "_backward")),
        activation_magnitude)


# --- every loss: value, gradient and class --------------------------------------------

PROBABILITY = (st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 0.5, 5e-324, 1 - 2**-53])),
               st.sampled_from([-0.25, 1.5, np.nan, -np.inf]))
BETA = choice([1.0, 0.0, 0.5, 3.0, np.inf], [-1.0, np.nan, "1"])
DELTA = choice([1.0, 0.5, 3.0, np.inf], [0.0, -1.0, np.nan, None])
LABEL_SMOOTHING = choice([0.0, 0.0, 0.1, 1.0], [-0.1, 1.5, np.nan])
IGNORE_INDEX = choice([-100, -100, 0, 1, -1], [2.5, True, None])


def real(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) \
        and not np.isnan(v)


def broadcasts_into(weight, shape):
    """torch's rule for weight/pos_weight: broadcastable to the input without enlarging it."""
    if weight is None:
        return True
    try:
        return np.broadcast_shapes(weight.shape, shape) == shape
    except ValueError:
        return False


def class_rule(c, o, probability_targets):
    """cross_entropy / nll_loss: input (N, C), (C,) or (N, C, d1, ..., dK); target of
    shape (N, d1, ..., dK) (() unbatched), indices in [0, C) or ignore_index, or (cross
    entropy) class probabilities of the input's shape with no ignore_index >= 0; weight (C,)."""
    x, t, w = c["input"], c["target"], c["weight"]
    ii = o["ignore_index"]
    if x.ndim == 0 or not (isinstance(ii, (int, np.integer)) and not isinstance(ii, bool)):
        return False
    n_classes = x.shape[1] if x.ndim > 1 else x.shape[0]
    if o["reduction"] not in GOOD_REDUCTIONS or (w is not None and w.shape != (n_classes,)):
        return False
    if "label_smoothing" in o and not (real(o["label_smoothing"])
                                       and 0 <= o["label_smoothing"] <= 1):
        return False
    if t.dtype.kind == "f":
        return probability_targets and t.shape == x.shape and ii < 0
    index_shape = x.shape[:1] + x.shape[2:] if x.ndim > 1 else ()
    return t.shape == index_shape and bool(np.all((t == ii) | ((t >= 0) & (t < n_classes))))


def loss_targets(name, arrays, valid, options, magnitude, extra=()):
    """Three targets per loss: the value, the gradient, and the class (value + backward)."""
    value_fn, grad_fn = getattr(F, name), getattr(F, name + "_grad")
    value_ref, grad_ref = getattr(ref, name), getattr(ref, name + "_grad")
    class_name = LOSS_CLASSES[name]
    names = [a.name for a in arrays][2:] + list(options)

    def kwargs(a, o):
        return {**{n: a[n] for n in [x.name for x in arrays][2:]}, **o}

    def ref_kwargs(c, o):
        return {**{n: c[n] for n in [x.name for x in arrays][2:]},
                **{k: v for k, v in o.items() if not k.startswith("_")}}

    def strip(o):
        return {k: v for k, v in o.items() if not k.startswith("_")}

    def call_class(a, o):
        fn = getattr(fastbp, class_name)(**{k: v for k, v in kwargs(a, strip(o)).items()})
        return fn(a["input"], a["target"]), fn.backward()

    common = dict(magnitude=magnitude, options=options)
    TARGETS[name] = Target(
        name, lambda a, o: value_fn(a["input"], a["target"], **kwargs(a, strip(o))), arrays,
        valid, lambda c, o: value_ref(c["input"], c["target"], **ref_kwargs(c, o)), **common)
    TARGETS[name + "_grad"] = Target(
        name + "_grad", lambda a, o: grad_fn(a["input"], a["target"], **kwargs(a, strip(o))),
        arrays, valid, lambda c, o: grad_ref(c["input"], c["target"], **ref_kwargs(c, o)),
        **common)
    TARGETS[class_name] = Target(
        class_name, call_class, arrays, valid,
        lambda c, o: (value_ref(c["input"], c["target"], **ref_kwargs(c, o)),
                      grad_ref(c["input"], c["target"], **ref_kwargs(c, o))), **common)
    del names


LOSS_CLASSES = {"l1_loss": "L1Loss", "mse_loss": "MSELoss", "smooth_l1_loss": "SmoothL1Loss",
                "huber_loss": "HuberLoss", "cross_entropy": "CrossEntropyLoss",
                "nll_loss": "NLLLoss", "binary_cross_entropy": "BCELoss",
                "binary_cross_entropy_with_logits": "BCEWithLogitsLoss"}
PAIR = [ArrayArg("input", ("N", "I")), ArrayArg("target", ("N", "I"))]


def pair_magnitude(c, o):
    return float(((finite_abs(c["input"]) + finite_abs(c["target"]) + 1) ** 2).sum()) + 1


def logits_magnitude(c, o):
    scale = finite_abs(c["input"]) + 1
    for k in ("weight", "pos_weight"):
        if c.get(k) is not None:
            scale = scale * (1 + finite_abs(c[k]).max(initial=0))
    return float(scale.sum() * (1 + finite_abs(c["target"]).max(initial=0))) + 1


def bce_magnitude(c, o):
    w = 1.0 if c["weight"] is None else 1 + finite_abs(c["weight"]).max(initial=0)
    # the gradient divides by max(p(1-p), 1e-12): up to 1e12 per element
    return w * 1e12 * (c["input"].size + 1)


del TARGETS["mse_loss"], TARGETS["mse_loss_grad"]  # redefined below with the other losses
loss_targets("l1_loss", PAIR, elementwise_valid("input", "target"), {"reduction": REDUCTION},
             pair_magnitude)
loss_targets("mse_loss", PAIR, elementwise_valid("input", "target"), {"reduction": REDUCTION},
             pair_magnitude)
loss_targets("smooth_l1_loss", PAIR,
             lambda c, raw, o: elementwise_valid("input", "target")(c, raw, o)
             and real(o["beta"]) and o["beta"] >= 0,
             {"reduction": REDUCTION, "beta": BETA}, pair_magnitude)
loss_targets("huber_loss", PAIR,
             lambda c, raw, o: elementwise_valid("input", "target")(c, raw, o)
             and real(o["delta"]) and o["delta"] > 0,
             {"reduction": REDUCTION, "delta": DELTA}, pair_magnitude)
loss_targets(
    "binary_cross_entropy",
    [ArrayArg("input", ("N", "I"), elements=PROBABILITY),
     ArrayArg("target", ("N", "I"), elements=PROBABILITY), ArrayArg("weight", ("I",), optional=True)],
    lambda c, raw, o: (elementwise_valid("input", "target")(c, raw, o)
                       and broadcasts_into(c["weight"], c["input"].shape)
                       and bool(np.all((c["input"] >= 0) & (c["input"] <= 1)))
                       and bool(np.all((c["target"] >= 0) & (c["target"] <= 1)))),
    {"reduction": REDUCTION}, bce_magnitude)
loss_targets(
    "binary_cross_entropy_with_logits",
    PAIR + [ArrayArg("weight", ("I",), optional=True), ArrayArg("pos_weight", ("I",), optional=True)],
    lambda c, raw, o: (elementwise_valid("input", "target")(c, raw, o)
                       and broadcasts_into(c["weight"], c["input"].shape)
                       and broadcasts_into(c["pos_weight"], c["input"].shape)),
    {"reduction": REDUCTION}, logits_magnitude)
CLASS_ARRAYS = [ArrayArg("input", ("N", "C")),
                ArrayArg("target", ("N",), index=True, float_shape=("N", "C")),
                ArrayArg("weight", ("C",), optional=True)]
loss_targets("cross_entropy", CLASS_ARRAYS, lambda c, raw, o: class_rule(c, o, True),
             {"reduction": REDUCTION, "ignore_index": IGNORE_INDEX,
              "label_smoothing": LABEL_SMOOTHING}, logits_magnitude)
loss_targets("nll_loss", CLASS_ARRAYS, lambda c, raw, o: class_rule(c, o, False),
             {"reduction": REDUCTION, "ignore_index": IGNORE_INDEX}, logits_magnitude)


# --- classes: a Layer/Net built from valid drawn sizes, fuzzed through its methods ---------

ACTIVATIONS = [None, "sigmoid", "relu", "tanh", "softmax", "log_softmax"]
LAYER_OPTIONS = {"_dtype": st.sampled_from([np.float32, np.float64]),
                 "_act": st.sampled_from(ACTIVATIONS), "_bias": st.booleans()}


def layer_specs(o):
    """The (in, out) sizes of the fuzzed model: one layer I->O, or two layers I->C->O."""
    s = o["_sizes"]
    return [(s["I"], s["O"])] if o.get("_depth", 1) == 1 else [(s["I"], s["C"]), (s["C"], s["O"])]


def make_model(o):
    layers = [fastbp.Layer(i, j, o["_act"], bias=o["_bias"], dtype=o["_dtype"], seed=k)
              for k, (i, j) in enumerate(layer_specs(o))]
    o["_model"] = layers[0] if len(layers) == 1 else fastbp.Net(layers)
    o["_layers"] = layers
    # the starting parameters, copied before the call can update them
    o["_spec"] = [(lay.weight.astype(np.float64),
                   None if lay.bias is None else lay.bias.astype(np.float64),
                   lay.activation) for lay in layers]
    return o["_model"]


def model_spec(o):
    return o["_spec"]


def model_x(o):
    """A fixed valid input for the model, for fuzzing backward."""
    s = o["_sizes"]
    return np.random.default_rng(0).standard_normal((s["N"], s["I"])).astype(o["_dtype"])


def model_forward_valid(c, raw, o):
    return c["x"].ndim == 2 and c["x"].shape[1] == o["_sizes"]["I"]


def model_backward_call(a, o):
    model = make_model(o)
    model(model_x(o))
    grad_in = model.backward(a["grad_y"])
    grads = [g.copy() for lay in o["_layers"] for _, g in lay.parameters()]
    return (grad_in, *grads)


def model_backward_reference(c, o):
    spec, x = model_spec(o), model_x(o).astype(np.float64)
    outs = ref.net_forward(spec, x)
    grad_in, grads = ref.net_backward(spec, x, outs, c["grad_y"])
    flat = [g for gw, gb in grads for g in ((gw,) if gb is None else (gw, gb))]
    return (grad_in, *flat)


def model_magnitude(c, o):
    scale = 1.0 + sum(float(np.abs(w).sum()) + (0 if b is None else float(np.abs(b).sum()))
                      for w, b, _ in model_spec(o))
    values = [finite_abs(v).sum() for v in c.values() if v is not None]
    return scale * (1.0 + float(sum(values))) ** 2


TRAIN_STEP_LOSSES = {  # loss class -> (reference value, reference gradient)
    "MSELoss": (ref.mse_loss, ref.mse_loss_grad),
    "CrossEntropyLoss": (ref.cross_entropy, ref.cross_entropy_grad),
}


def train_step_call(a, o):
    net = make_model(o)
    loss_fn = getattr(fastbp, o["_loss"])()
    loss = net.train_step(a["x"], a["target"], loss_fn, fastbp.SGD(net, lr=0.1))
    return (loss, *[p.copy() for p, _ in net.parameters()])


def train_step_reference(c, o):
    value, gradient = TRAIN_STEP_LOSSES[o["_loss"]]
    spec, x, t = model_spec(o), c["x"], c["target"]
    outs = ref.net_forward(spec, x)
    loss = value(outs[-1], t)
    _, grads = ref.net_backward(spec, x, outs, gradient(outs[-1], t))
    new = []
    for (w, b, _), (gw, gb) in zip(spec, grads):
        new.append(w - 0.1 * gw)
        if b is not None:
            new.append(b - 0.1 * gb)
    return (loss, *new)


def class_target(name, call, arrays, valid, reference, depth, extra_options=None):
    options = dict(LAYER_OPTIONS, _depth=st.just(depth), **(extra_options or {}))
    return Target(name, call, arrays, valid, reference, model_magnitude, options=options,
                  fixed_dtype=lambda o: np.dtype(o["_dtype"]),
                  result_dtype=lambda dt, c, o: np.dtype(o["_dtype"]))


for depth, prefix in ((1, "Layer"), (2, "Net")):
    TARGETS[f"{prefix}.forward"] = class_target(
        f"{prefix}.forward", lambda a, o: make_model(o)(a["x"]), [ArrayArg("x", ("N", "I"))],
        model_forward_valid, lambda c, o: ref.net_forward(model_spec(o), c["x"])[-1], depth)
    TARGETS[f"{prefix}.backward"] = class_target(
        f"{prefix}.backward", model_backward_call, [ArrayArg("grad_y", ("N", "O"))],
        lambda c, raw, o: c["grad_y"].shape == (o["_sizes"]["N"], o["_sizes"]["O"]),
        model_backward_reference, depth)
TARGETS["Net.train_step"] = class_target(
    "Net.train_step", train_step_call, [ArrayArg("x", ("N", "I")), ArrayArg("target", ("N", "O"))],
    lambda c, raw, o: model_forward_valid(c, raw, o)
    and c["target"].shape == (c["x"].shape[0], o["_sizes"]["O"]),
    train_step_reference, 2, {"_loss": st.just("MSELoss")})
TARGETS["Net.train_step[CrossEntropyLoss]"] = class_target(
    "Net.train_step[CrossEntropyLoss]", train_step_call,
    [ArrayArg("x", ("N", "I")), ArrayArg("target", ("N",), index=True, float_shape=("N", "O"), classes="O")],
    lambda c, raw, o: model_forward_valid(c, raw, o) and class_rule(
        {"input": np.zeros((c["x"].shape[0], o["_sizes"]["O"])), "target": c["target"],
         "weight": None}, {"ignore_index": -100, "reduction": "mean"}, True),
    train_step_reference, 2, {"_loss": st.just("CrossEntropyLoss")})


def run(name: str, n_examples: int) -> dict:
    target = TARGETS[name]
    counts = {"accepted": 0, "refused": 0}

    @settings(max_examples=n_examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def fuzz(data):
        sizes = {s: data.draw(st.integers(0, 5) if s == "N" else st.integers(1, 5), label=s)
                 for s in target.sizes}
        clean = data.draw(st.booleans(), label="clean")
        opts = {k: data.draw(option(s, clean), label=k) for k, s in target.options.items()}
        ignore_index = opts.get("ignore_index", -100)
        if not isinstance(ignore_index, int) or isinstance(ignore_index, bool):
            ignore_index = -100
        first_dtype = None
        args = {}
        for arg in target.arrays:
            args[arg.name] = draw_array_arg(data.draw, arg, sizes, first_dtype, clean,
                                            ignore_index)
            if first_dtype is None and isinstance(args[arg.name], np.ndarray):
                first_dtype = args[arg.name].dtype
        opts["_sizes"] = sizes
        counts[check_case(target, args, opts)] += 1

    fuzz()
    return counts


if __name__ == "__main__":
    target_name, n = sys.argv[1], int(sys.argv[2])
    counts = run(target_name, n)
    print(f"FUZZ {target_name} cases={sum(counts.values())} accepted={counts['accepted']} "
          f"refused={counts['refused']}")
