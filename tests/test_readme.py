"""The README's examples run as written, in order, and do what their comments say."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.skipif(not README.is_file(), reason="tests run from a copy without the README")
def test_readme_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the save/load example writes model.npz here
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 4
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    printed = capsys.readouterr().out
    first_loss = float(re.search(r"loss after 2000 steps: ([0-9.]+)", printed).group(1))
    assert first_loss < 0.01  # "from 0.69 to about 0.002"
    assert namespace["loss"] < 1.0  # the classifier memorizes its batch (from ~2.3)
    assert (tmp_path / "model.npz").is_file()
