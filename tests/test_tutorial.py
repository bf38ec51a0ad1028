"""docs/tutorial.md runs: its ```python blocks, in order in one namespace, print exactly the
lines their ``# ->`` comments give."""

import contextlib
import io
import re
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"
INTEROP = ("import torch", "import onnxruntime")  # the last blocks; the rest runs without them


def code_blocks():
    return re.findall(r"^```python\n(.*?)^```", TUTORIAL.read_text(encoding="utf-8"),
                      re.S | re.M)


def expected_output(block):
    """The text after each '# -> ', one printed line each, in order."""
    return [line.split("# -> ", 1)[1] for line in block.splitlines() if "# -> " in line]


def run_blocks(blocks):
    namespace = {"__name__": "__tutorial__"}
    for k, block in enumerate(blocks):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, f"{TUTORIAL.name}, block {k}", "exec"), namespace)
        printed = [line.rstrip() for line in out.getvalue().splitlines()]
        assert printed == expected_output(block), f"block {k}:\n{block}"


def test_the_blocks_are_there():
    blocks = code_blocks()
    assert len(blocks) >= 15
    assert sum(len(expected_output(b)) for b in blocks) >= 30
    interop = [k for k, b in enumerate(blocks) if any(s in b for s in INTEROP)]
    assert interop == list(range(len(blocks) - len(interop), len(blocks)))  # at the end


def test_tutorial_runs_as_written():
    run_blocks([b for b in code_blocks() if not any(s in b for s in INTEROP)])


def test_tutorial_with_torch_and_onnx():
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    run_blocks(code_blocks())
