"""specs/activations against what the build generated from them: every spec's functional
forms, kernel codes, options and torch module as the spec says, the generated files and the
compiled enum up to date, and each spec with its reference (tests/reference.py) and its cases
(test_activations_v2.CASES), so that adding an activation is its spec, its reference and its
tests, and forgetting one of these fails here."""

import importlib
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest
from test_activations_v2 import CASES

import reference as ref
from fastbp import _activations
from fastbp import _validate as v
from fastbp import functional as F
from fastbp.layers import init_gain

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import generate  # noqa: E402 (tools/generate.py, on the path just above)

SPECS = generate.load_specs(ROOT / "specs" / "activations")
IDS = [spec.name for spec in SPECS]


def selector(spec):
    return getattr(spec, "selector", None)


def test_the_generated_files_are_up_to_date():
    assert generate.generate(check=True) == [], "run tools/generate.py (setup.py does)"


def test_every_spec_is_found():
    assert {"gelu", "silu", "leaky_relu", "elu", "softplus"} <= set(IDS)


def test_codes_are_distinct_and_follow_v1s():
    codes = [k["code"] for spec in SPECS for k in spec.kernels.values()]
    assert len(set(codes)) == len(codes)
    assert min(codes) > _activations.Activation.LOG_SOFTMAX


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_kernels_are_compiled_with_their_codes(spec):
    """The compiled enum holds each kernel's code (a stale build fails here), and the option
    values that pick the kernels are exactly the kernels'."""
    for name, kernel in spec.kernels.items():
        assert _activations.Activation[name.upper()] == kernel["code"]
        assert kernel["code"] in v.INPUT_ACTIVATIONS
    whens = [kernel.get("when") for kernel in spec.kernels.values()]
    if selector(spec) is None:
        assert whens == [None]
    else:
        assert len(set(whens)) == len(whens) and spec.options[selector(spec)] in whens
    # the kernels take at most two options, as p1 and p2
    assert len([o for o in spec.options if o != selector(spec)]) <= 2


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_functional_forms_have_the_specs_signature(spec):
    """fastbp.functional.<name>(x, options) and <name>_backward(grad_y, x, options), the
    options with the spec's defaults, as tests/reference.py's functions take them."""
    for name, arguments in [(spec.name, ["x"]), (spec.name + "_backward", ["grad_y", "x"])]:
        assert name in F.__all__
        params = inspect.signature(getattr(F, name)).parameters
        assert list(params) == arguments + list(spec.options)
        for option, default in spec.options.items():
            assert params[option].default == default
            assert params[option].annotation == type(default).__name__
        reference = inspect.signature(getattr(ref, name)).parameters
        assert list(reference) == list(params)
        assert all(reference[o].default == params[o].default for o in spec.options)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_options_pick_their_kernels(spec):
    """Each kernel by the option value that picks it; the other options, in order, as the
    kernel's p1 and p2."""
    numeric = [o for o in spec.options if o != selector(spec)]
    given = {o: 0.25 + k for k, o in enumerate(numeric)}
    for kernel in spec.kernels.values():
        picked = {selector(spec): kernel["when"]} if selector(spec) else {}
        code, p1, p2, full = v.activation_options(spec.name, {**given, **picked})
        assert code == kernel["code"]
        assert [p1, p2] == ([given[o] for o in numeric] + [0.0, 0.0])[:2]
        assert full == {**spec.options, **given, **picked}


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_kernel_has_test_cases(spec):
    """test_activations_v2 (and the torch parity tests built on its CASES) runs each kernel
    with its default options and with others."""
    options = [opts for name, opts in CASES if name == spec.name]
    assert {} in options
    if selector(spec):
        picked = {opts.get(selector(spec), spec.options[selector(spec)]) for opts in options}
        assert picked == {kernel["when"] for kernel in spec.kernels.values()}
    numeric = [o for o in spec.options if o != selector(spec)]
    assert all(any(o in opts for opts in options) for o in numeric)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_torch_module_takes_the_specs_options(spec):
    """torch.nn.<TORCH_MODULE>(options): the same names, order and defaults (inplace, which
    fastbp has not, aside)."""
    torch = pytest.importorskip("torch")
    params = inspect.signature(getattr(torch.nn, spec.torch_module).__init__).parameters
    torch_options = {name: p.default for name, p in params.items()
                     if name not in ("self", "inplace")}
    assert torch_options == spec.options


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_init_gain_is_torchs(spec):
    """The gain of Layer's xavier and kaiming inits: torch.nn.init.calculate_gain(name,
    option) where the spec has an INIT_GAIN, else 1 (torch knows only leaky_relu's of
    these)."""
    torch = pytest.importorskip("torch")
    numeric = [o for o in spec.options if o != selector(spec)]
    for options in [{}, {o: 0.3 for o in numeric}]:
        gain = init_gain((spec.name, options))
        if hasattr(spec, "init_gain"):
            full = {**spec.options, **options}
            assert gain == torch.nn.init.calculate_gain(spec.name, *full.values())
        else:
            assert gain == 1.0


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_functional_forms_and_layers_check_options_alike(spec):
    """The functional forms check their arguments by the code generated from the spec, a
    Layer's options through _validate.activation_options: the same errors."""
    x = np.zeros(3)
    for option, default in spec.options.items():
        bad = [3, "bogus"] if option == selector(spec) else [None, "a", float("nan")]
        for value in bad:
            with pytest.raises((TypeError, ValueError)) as expected:
                v.activation_options(spec.name, {option: value})
            for call in (lambda: getattr(F, spec.name)(x, **{option: value}),
                         lambda: getattr(F, spec.name + "_backward")(x, x, **{option: value})):
                with pytest.raises(expected.type) as raised:
                    call()
                assert str(raised.value) == str(expected.value)


# The Layer-level tests' activation lists (module, list): each must run every kernel of
# every spec, so that a new activation goes through them all.
LAYER_LISTS = [("test_step", "V2_ACTIVATIONS"), ("test_interop", "V2_ACTIVATIONS"),
               ("test_net", "ACTIVATIONS"), ("test_gradcheck", "ACTIVATIONS")]


@pytest.mark.parametrize("module, name", LAYER_LISTS)
def test_the_layer_tests_run_every_kernel(module, name):
    listed = getattr(importlib.import_module(module), name)
    codes = {v.activation_spec(a).code for a in listed if a is not None}
    for spec in SPECS:
        for kernel, k in spec.kernels.items():
            assert k["code"] in codes, f"{module}.{name} lacks {spec.name}'s kernel {kernel}"
