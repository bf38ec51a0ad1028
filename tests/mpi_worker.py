"""Run under mpiexec by tests/test_distributed.py: ``python mpi_worker.py SCENARIO OUT_DIR``.

Each rank writes what it ended with to OUT_DIR/rank<r>.npz (parameters, losses, error
messages); the test compares the ranks with each other and with single-process training.
"""

import sys

import numpy as np
from mpi4py import MPI

import fastbp
import mpi_cases
from fastbp.distributed import DataParallel

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()


def run_cases():
    """Every case of mpi_cases: rank r starts from its own seed (so the broadcast of rank
    0's parameters is tested), and trains on its rows of each global batch."""
    out = {}
    for name in mpi_cases.case_names():
        net, loss_fn, optimizer = mpi_cases.build(name, seed=100 * rank)
        dp = DataParallel(net)
        losses = []
        for x, y, rows in mpi_cases.batches(name, size):
            lo, hi = rows[rank]
            losses.append(dp.train_step(x[lo:hi], y[lo:hi], loss_fn, optimizer,
                                        max_grad_norm=mpi_cases.max_grad_norm(name)))
        for key, value in net.state_dict().items():
            out[f"{name}/{key}"] = value
        out[f"{name}/losses"] = np.array(losses)
        out[f"{name}/compiled"] = np.array(net._step.compiled_steps)  # the local parts' steps
    return out


def error_text(call):
    try:
        call()
    except Exception as exc:  # what this rank raised, checked by the test
        return f"{type(exc).__name__}: {exc}"
    return "no error"


def run_errors():
    """Each scenario raises on every rank (or on none); the ranks carry on in step."""
    out = {}
    dtype = np.float64

    def net(hidden=4, act="relu", bias=True, dt=dtype):
        return fastbp.Net([fastbp.Layer(3, hidden, act, bias=bias, dtype=dt, seed=rank),
                           fastbp.Layer(hidden, 2, dtype=dt, seed=rank)])

    last = rank == size - 1  # the odd one out
    out["sizes"] = error_text(lambda: DataParallel(net(hidden=5 if last else 4)))
    out["activation"] = error_text(lambda: DataParallel(net(act="tanh" if last else "relu")))
    out["bias"] = error_text(lambda: DataParallel(net(bias=not last)))
    out["dtype"] = error_text(lambda: DataParallel(net(dt=np.float32 if last else dtype)))
    out["not_a_net"] = error_text(lambda: DataParallel("net" if last else net()))
    # a bad target on one rank: every rank raises, no parameter changes
    good = net()
    dp = DataParallel(good)
    before = good.state_dict()
    x = np.ones((2, 3))
    y = np.array([0, 7 if last else 1])
    out["bad_target"] = error_text(
        lambda: dp.train_step(x, y, fastbp.CrossEntropyLoss(), fastbp.SGD(good, lr=0.1)))
    out["unchanged"] = all(np.array_equal(before[k], v) for k, v in good.state_dict().items())
    out["reduction_none"] = error_text(
        lambda: dp.train_step(x, np.array([0, 1]), fastbp.CrossEntropyLoss(reduction="none"),
                              fastbp.SGD(good, lr=0.1)))
    # and the ranks still work together afterwards
    out["after"] = dp.train_step(x, np.array([0, 1]), fastbp.CrossEntropyLoss(),
                                 fastbp.SGD(good, lr=0.1))
    return out


def run_fits(out_dir):
    """DataParallel.fit of each fit case; rank 0 alone writes the checkpoint."""
    out = {}
    for name in mpi_cases.FIT_CASES:
        net, loss_fn, optimizer, x, y, options = mpi_cases.fit_case(name, seed=100 * rank)
        if name == "ordered":
            options["checkpoint"] = f"{out_dir}/checkpoint{rank}.npz"
        history = DataParallel(net).fit(x, y, loss_fn, optimizer, **options)
        for key, value in net.state_dict().items():
            out[f"{name}/{key}"] = value
        out[f"{name}/loss"] = np.array(history.loss)
        out[f"{name}/val_loss"] = np.array(history.val_loss)
        out[f"{name}/lr"] = np.array(history.lr)
        out[f"{name}/best_epoch"] = -1 if history.best_epoch is None else history.best_epoch
        out[f"{name}/stopped_early"] = history.stopped_early
    return out


if __name__ == "__main__":
    scenario, out_dir = sys.argv[1], sys.argv[2]
    results = {"cases": run_cases, "errors": run_errors,
               "fit": lambda: run_fits(out_dir)}[scenario]()
    np.savez(f"{out_dir}/rank{rank}.npz", **results)
