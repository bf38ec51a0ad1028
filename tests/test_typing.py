"""The public API is typed: mypy --strict understands a user's script through the
annotations of the Python modules and the stubs of the compiled ones (``py.typed``).

A second script misuses the API on purpose: mypy must flag each misuse, which it
could not if fastbp's types were unknown (``Any``).
"""

import inspect
import re
import subprocess
import sys
import textwrap
import types

import pytest

import fastbp

# NDArray[np.floating[Any]]: numpy 1.26's stubs (numpy>=1.25 is supported) need the
# type argument that numpy 2 defaults.
USER_SCRIPT = """
from typing import Any

import numpy as np
from numpy.typing import NDArray

import fastbp
from fastbp import SGD, Layer, MSELoss, Net
from fastbp import functional as F

rng = np.random.default_rng(0)
x = rng.standard_normal((64, 3))
y = np.stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2]], axis=1)

net = Net([Layer(3, 8, "sigmoid", seed=0), Layer(8, 2, seed=1)])
optimizer = SGD(net, lr=0.1, momentum=0.9)
loss_fn = MSELoss()
history: list[float] = [net.train_step(x, y, loss_fn, optimizer) for _ in range(3)]

net.zero_grad()
out: NDArray[np.floating[Any]] = net(x)
loss = loss_fn(out, y)
grad_x: NDArray[np.floating[Any]] = net.backward(loss_fn.backward())
optimizer.step()
pairs = net.parameters()
first: Layer = net[0]
first.weight = [[0.0, 0.5, 1.0]] * 8  # the setter takes any array-like
h = F.sigmoid(F.linear(x, first.weight, first.bias))
gx, gw, gb = F.linear_backward(F.sigmoid_backward(np.ones_like(h), h), x, first.weight)
mse = F.mse_loss(h, np.zeros_like(h))
config = fastbp.show_config(mode="dicts")
version: str = fastbp.__version__
print(history, loss, grad_x.shape, len(pairs), gw.shape, mse, config, version)
"""

# line (1-based, in MISUSE) -> the mypy error code that line must raise
MISUSE = """
from fastbp import SGD, Layer, Net

net = Net([Layer(2, 2)])
net.forward([[1.0, 2.0]]).no_such_attribute
SGD(net, lr="fast")
Layer(2, 2).backward([[1.0, 2.0]], 3)
"""
MISUSE_ERRORS = {5: "attr-defined", 6: "arg-type", 7: "call-arg"}

ERROR_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def test_mypy_strict_understands_a_user_script(tmp_path):
    pytest.importorskip("mypy", reason="mypy comes with the test extra: pip install '.[test]'")
    (tmp_path / "user_script.py").write_text(textwrap.dedent(USER_SCRIPT))
    (tmp_path / "misuse.py").write_text(textwrap.dedent(MISUSE))
    config = tmp_path / "mypy.ini"  # an empty config: no user or project settings leak in
    config.write_text("[mypy]\n")
    r = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--config-file", str(config),
                        "--cache-dir", str(tmp_path / "cache"), "--no-color-output",
                        "--show-error-codes", "user_script.py", "misuse.py"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    errors = [m.groupdict() for m in map(ERROR_LINE.match, r.stdout.splitlines()) if m]
    assert not [e for e in errors if e["file"] != "misuse.py"], r.stdout + r.stderr
    found = {int(e["line"]): e["code"] for e in errors}
    assert found == MISUSE_ERRORS, r.stdout + r.stderr


def public_functions():
    """(qualified name, function) for everything public: fastbp.__all__, functional.__all__,
    and the public methods and properties of the public classes (inherited ones too)."""
    for name in fastbp.__all__:
        obj = getattr(fastbp, name)
        if isinstance(obj, types.ModuleType):
            for fname in obj.__all__:
                yield f"{name}.{fname}", getattr(obj, fname)
        elif inspect.isclass(obj):
            for cls in obj.__mro__[:-1]:  # without object
                for attr, member in vars(cls).items():
                    if attr.startswith("_") and attr not in ("__init__", "__call__"):
                        continue
                    if isinstance(member, property):
                        for kind, accessor in (("getter", member.fget), ("setter", member.fset)):
                            if accessor is not None:
                                yield f"{name}.{attr} ({kind})", accessor
                    elif inspect.isfunction(member):
                        yield f"{name}.{attr}", member
        elif inspect.isfunction(obj):
            yield name, obj


@pytest.mark.parametrize("qualname, func", list(public_functions()),
                         ids=[q for q, _ in public_functions()])
def test_public_signatures_are_annotated(qualname, func):
    """What keeps mypy's view of fastbp from decaying to Any as functions are added."""
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if params and params[0].name == "self":
        params = params[1:]
    missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    assert not missing, f"{qualname}: parameters without annotations: {missing}"
    assert sig.return_annotation is not inspect.Signature.empty, f"{qualname}: no return annotation"
