"""Hostile input everywhere in the public API (see tests/fuzz_api.py for the oracle).

Each compiled-code target runs in its own subprocess: a segfault or an abort there fails
that one test with the child's output, instead of killing the whole run.  The number of
cases per target is FASTBP_FUZZ_EXAMPLES (default 250).  The pure-Python constructors
cannot crash the interpreter, so they are fuzzed in-process below.
"""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fuzz_api
from fastbp import SGD, Layer, Net

N_EXAMPLES = int(os.environ.get("FASTBP_FUZZ_EXAMPLES", "250"))
FUZZ_SCRIPT = Path(__file__).resolve().parent / "fuzz_api.py"


@pytest.mark.parametrize("target", sorted(fuzz_api.TARGETS))
def test_fuzz_in_subprocess(target):
    proc = subprocess.run([sys.executable, "-W", "ignore", str(FUZZ_SCRIPT), target,
                           str(N_EXAMPLES)], capture_output=True, text=True, timeout=900)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, f"{target}: exit code {proc.returncode}\n{tail}"
    summary = [line for line in proc.stdout.splitlines() if line.startswith("FUZZ ")]
    assert summary, tail
    counts = dict(part.split("=") for part in summary[0].split()[2:])
    assert int(counts["cases"]) >= N_EXAMPLES
    # both outcomes must really be exercised, or the fuzzing proves little
    assert int(counts["accepted"]) > N_EXAMPLES // 10 and int(counts["refused"]) > 0, summary
    print(summary[0])


# --- constructors and options, in-process ----------------------------------------------

SIZES = st.one_of(st.integers(1, 6), st.sampled_from([0, -1, 2**31, 2.5, "3", None, True, np.int64(3)]))
REALS = st.one_of(st.floats(0, 2), st.sampled_from([-0.5, -1e-9, math.nan, math.inf, "0.1", None,
                                                     True, np.float32(0.3), 0]))
ACTIVATION_NAMES = fuzz_api.ACTIVATIONS + ["swish", "Sigmoid", 3]


def is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def is_real(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


@settings(max_examples=N_EXAMPLES, deadline=None, database=None)
@given(i=SIZES, o=SIZES, act=st.sampled_from(ACTIVATION_NAMES),
       bias=st.sampled_from([True, False, 1, None]),
       dtype=st.sampled_from([np.float32, np.float64, "float64", np.float16, np.int32, "x", None]),
       seed=st.sampled_from([None, 0, 7, -1, 1.5, "1"]))
def test_layer_constructor(i, o, act, bias, dtype, seed):
    valid = (is_int(i) and 1 <= i < 2**31 and is_int(o) and 1 <= o < 2**31
             and act in fuzz_api.ACTIVATIONS and isinstance(bias, bool)
             and dtype in (np.float32, np.float64, "float64")
             and (seed is None or (is_int(seed) and seed >= 0)))
    if not valid:
        with pytest.raises((ValueError, TypeError),
                           match="in_features|out_features|activation|bias|dtype|seed"):
            Layer(i, o, act, bias=bias, dtype=dtype, seed=seed)
        return
    layer = Layer(i, o, act, bias=bias, dtype=dtype, seed=seed)
    assert layer.weight.shape == (o, i) and layer.weight.dtype == np.dtype(dtype)
    assert np.abs(layer.weight).max() <= 1 / math.sqrt(i)
    assert (layer.bias is None) == (not bias)


@settings(max_examples=N_EXAMPLES, deadline=None, database=None)
@given(lr=REALS, momentum=REALS, dampening=REALS, weight_decay=REALS,
       nesterov=st.sampled_from([False, True, 1, None]), maximize=st.sampled_from([False, True, 0]))
def test_sgd_options(lr, momentum, dampening, weight_decay, nesterov, maximize):
    def ok(v, minimum=None):
        return is_real(v) and not math.isnan(v) and (minimum is None or v >= minimum)

    valid = (ok(lr, 0) and ok(momentum, 0) and ok(dampening) and ok(weight_decay, 0)
             and isinstance(nesterov, bool) and isinstance(maximize, bool)
             and (not nesterov or (momentum > 0 and dampening == 0)))
    p, g = np.ones(3), np.full(3, 0.5)
    kwargs = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                  nesterov=nesterov, maximize=maximize)
    if not valid:
        with pytest.raises((ValueError, TypeError), match="|".join(kwargs)):
            SGD([(p, g)], **kwargs)
        np.testing.assert_array_equal(p, np.ones(3))
        return
    opt = SGD([(p, g)], **kwargs)
    opt.step()
    d = (-0.5 if maximize else 0.5) + float(weight_decay) * 1.0
    if float(momentum) != 0:
        d = d + float(momentum) * d if nesterov else d
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(p, np.full(3, 1.0 - float(lr) * d), rtol=1e-15)
    np.testing.assert_array_equal(g, np.full(3, 0.5))


@settings(max_examples=N_EXAMPLES, deadline=None, database=None)
@given(sizes=st.lists(st.integers(1, 4), min_size=2, max_size=5),
       break_at=st.integers(-1, 5), dtypes=st.lists(st.sampled_from([np.float32, np.float64]),
                                                    min_size=5, max_size=5),
       junk=st.sampled_from([None, "relu", 3, (2, 2)]))
def test_net_constructor(sizes, break_at, dtypes, junk):
    layers = [Layer(a, b, dtype=dtypes[k]) for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
    valid = len(set(dtypes[:len(layers)])) == 1
    if 0 <= break_at < len(layers):
        layers[break_at] = junk
        valid = False
    if not valid:
        with pytest.raises((ValueError, TypeError), match="layers"):
            Net(layers)
    else:
        assert len(Net(layers)) == len(layers)


@settings(max_examples=N_EXAMPLES, deadline=None, database=None)
@given(drop=st.sets(st.integers(0, 2), max_size=1), extra=st.booleans(),
       reshape=st.sets(st.integers(0, 2), max_size=1),
       dtype=st.sampled_from(["float32", "float64", "int16", "bool", "complex64", "object", "U2"]),
       container=st.sampled_from(["dict", "list", "none"]))
def test_load_state_dict(drop, extra, reshape, dtype, container):
    net = Net([Layer(3, 2, "relu", seed=0), Layer(2, 2, bias=False, seed=1)])
    before = {k: v.copy() for k, v in net.state_dict().items()}
    keys = list(before)  # 0.weight, 0.bias, 1.weight
    new = {}
    for k, name in enumerate(keys):
        if k in drop:
            continue
        shape = before[name].shape[::-1] + (1,) if k in reshape else before[name].shape
        with np.errstate(all="ignore"):
            new[name] = np.full(shape, 1, dtype=dtype) if dtype != "U2" else np.full(shape, "ab")
    if extra:
        new["2.weight"] = np.ones((2, 2))
    numeric = np.dtype(dtype).kind in "biuf"
    valid = container == "dict" and not drop and not extra and not reshape and numeric
    arg = new if container == "dict" else (list(new.items()) if container == "list" else None)
    if not valid:
        with pytest.raises((ValueError, TypeError), match=r"state_dict|\d\.(weight|bias)"):
            net.load_state_dict(arg)
        for name, value in net.state_dict().items():  # nothing changed
            np.testing.assert_array_equal(value, before[name])
    else:
        net.load_state_dict(arg)
        for value in net.state_dict().values():
            np.testing.assert_array_equal(value, np.ones_like(value))
