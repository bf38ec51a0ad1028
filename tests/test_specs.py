"""The specs of specs/losses/ and what the build generates from them (tools/generate.py)."""

import inspect
import pathlib
import runpy
import subprocess
import sys
import types

import pytest

import fastbp
from fastbp import _loss_functions, losses
from fastbp import functional as F

ROOT = pathlib.Path(__file__).resolve().parent.parent
GENERATE = ROOT / "tools" / "generate.py"
SOURCE_TREE = pytest.mark.skipif(not GENERATE.exists(),
                                 reason="needs the source tree (tools/, specs/); cibuildwheel "
                                        "runs these tests from a copy of tests/ alone")
LOSS_NAMES = [n for n in _loss_functions.__all__ if not n.endswith(("_grad", "_and_grad"))]


@SOURCE_TREE
def test_generated_files_match_the_specs():
    r = subprocess.run([sys.executable, str(GENERATE), "--check"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


@SOURCE_TREE
def test_every_spec_is_a_public_loss_with_a_reference():
    reference = (ROOT / "tests" / "reference.py").read_text()
    specs = sorted(p.stem for p in (ROOT / "specs" / "losses").glob("[!_]*.py"))
    assert specs == sorted(LOSS_NAMES)
    for name in specs:
        assert f"def {name}(" in reference and f"def {name}_grad(" in reference, name


def parameters(func, skip):
    return [(p.name, p.default) for p in inspect.signature(func).parameters.values()
            if p.name not in skip]


# Each loss's class, as torch names them: what a new loss adds to its tests here.
CLASSES = {"l1_loss": "L1Loss", "mse_loss": "MSELoss", "smooth_l1_loss": "SmoothL1Loss",
           "huber_loss": "HuberLoss", "cross_entropy": "CrossEntropyLoss",
           "nll_loss": "NLLLoss", "binary_cross_entropy": "BCELoss",
           "binary_cross_entropy_with_logits": "BCEWithLogitsLoss"}


def test_every_loss_has_its_class():
    assert sorted(LOSS_NAMES) == sorted(CLASSES)
    assert sorted(losses.__all__) == sorted(CLASSES.values())
    assert set(CLASSES.values()) <= set(fastbp.__all__) and set(LOSS_NAMES) <= set(F.__all__)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_functional_forms_and_class_take_the_same_options(name):
    options = parameters(getattr(F, name), ("input", "target"))
    assert parameters(getattr(F, name + "_grad"), ("input", "target")) == options
    assert parameters(getattr(F, name + "_and_grad"), ("input", "target")) == options
    cls = getattr(fastbp, CLASSES[name])
    assert sorted(parameters(cls.__init__, ("self",))) == sorted(options)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_each_class_takes_torchs_options_in_torchs_order(name):
    torch = pytest.importorskip("torch")
    deprecated = ("self", "size_average", "reduce")  # torch's, long replaced by reduction
    expected = parameters(getattr(torch.nn, CLASSES[name]).__init__, deprecated)
    assert parameters(getattr(fastbp, CLASSES[name]).__init__, ("self",)) == expected


@SOURCE_TREE
def test_a_malformed_spec_is_named_with_what_it_lacks():
    derive = runpy.run_path(str(ROOT / "specs" / "losses" / "_derive.py"))["derive"]
    spec = types.SimpleNamespace(name="new_loss", path="specs/losses/new_loss.py", order=9,
                                 family="elementwise", function_args=("reduction",),
                                 class_args=("reduction",), function_doc="", grad_doc="",
                                 class_doc="", c_point="", value="fastbp_new(x, t)")
    setattr(spec, "class", "NewLoss")
    with pytest.raises(ValueError, match="specs/losses/new_loss.py: missing GRAD"):
        derive([spec])
    spec.grad = "fastbp_new_grad(x, t)"
    spec.function_args = ("reduction", "beta")
    with pytest.raises(ValueError, match="FUNCTION_ARGS: expected each of"):
        derive([spec])


def test_every_loss_class_is_gradchecked():
    from test_gradcheck import LOSSES
    assert {cls.__name__ for cls in LOSSES} == set(losses.__all__)
