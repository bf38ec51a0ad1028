"""Every compiled module ``fastbp._*`` ships a ``.pyi`` stub naming all its public names
(and nothing else), with signatures that match the binary; ``py.typed`` ships too.

The compiled modules are discovered from the installed package's files, so a module
added later cannot forget its stub.
"""

import ast
import importlib
import importlib.machinery
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import fastbp

PACKAGE_DIR = Path(fastbp.__file__).parent


def compiled_module_names():
    """``_dense`` for ``_dense.cpython-311-x86_64-linux-gnu.so`` (or ``.pyd``), and so on."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return sorted({path.name.split(".")[0] for path in PACKAGE_DIR.iterdir()
                   if path.name.endswith(suffixes)})


COMPILED = compiled_module_names()


def stub_names(tree_body):
    """Names a stub defines at module level (explicit re-exports included)."""
    names = set()
    for node in tree_body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif sys.version_info >= (3, 12) and isinstance(node, ast.TypeAlias):
            names.add(node.name.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(a.asname for a in node.names if a.asname and a.asname == a.name)
        elif isinstance(node, ast.If):  # sys.version_info / sys.platform branches
            names |= stub_names(node.body) | stub_names(node.orelse)
    return names


def defined_in(module, name):
    """False for what a module merely imports (numpy as np, a class from fastbp.losses)."""
    obj = getattr(module, name)
    return not inspect.ismodule(obj) and getattr(obj, "__module__", module.__name__) == module.__name__


def test_discovery_finds_the_compiled_modules():
    # the core modules are there, so an empty or broken discovery cannot pass silently
    assert {"_activations", "_blas", "_build_info", "_dense", "_losses", "_optim"} <= set(COMPILED)


def test_py_typed_ships():
    assert (PACKAGE_DIR / "py.typed").is_file()


@pytest.mark.parametrize("name", COMPILED)
def test_stub_names_every_public_name(name):
    module = importlib.import_module(f"fastbp.{name}")
    stub = PACKAGE_DIR / f"{name}.pyi"
    assert stub.is_file(), f"fastbp.{name} has no stub {stub.name}"
    in_stub = stub_names(ast.parse(stub.read_text(encoding="utf-8")).body)
    public = {n for n in dir(module) if not n.startswith("_") and defined_in(module, n)}
    assert not public - in_stub, f"{stub.name} lacks {sorted(public - in_stub)}"
    promised = {n for n in in_stub if not n.startswith("_")}
    assert not promised - public, f"{stub.name} names what fastbp.{name} lacks: " \
                                  f"{sorted(promised - public)}"


def test_stub_signatures_match_the_binary(tmp_path):
    """mypy's stubtest imports each module and compares every signature with its stub."""
    pytest.importorskip("mypy", reason="mypy comes with the test extra: pip install '.[test]'")
    allowlist = tmp_path / "allowlist.txt"
    # Cython's own module attributes: the C-API capsule table and the doctest dict.
    allowlist.write_text("fastbp\\._\\w+\\.__pyx_capi__\nfastbp\\._\\w+\\.__test__\n")
    config = tmp_path / "mypy.ini"  # an empty config: no user or project settings leak in
    config.write_text("[mypy]\n")
    r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "--allowlist", str(allowlist),
                        "--mypy-config-file", str(config),
                        *(f"fastbp.{name}" for name in COMPILED)],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
