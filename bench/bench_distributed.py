"""Data-parallel training over MPI on one machine: scaling, the Allreduce's share, and the
wrapper's overhead.

    python bench/bench_distributed.py [--samples 60000] [--epochs 1] [--ranks 2]
                                      [--mpi-args "--mca btl ^ofi"]

The 60,000 x 784 random float32 set, a 784-256-10 ReLU net, CrossEntropyLoss, SGD
(lr 0.01, momentum 0.9), one BLAS/OpenMP thread per rank (OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS = 1, and threadpoolctl), ranks started by mpiexec:
- weak scaling: 256 samples per rank per step (global batch 256 x ranks): samples/s of
  1 rank and of --ranks ranks, and their ratio;
- strong scaling: global batch 256, split over the ranks;
- the Allreduce of the step's flat buffer (all gradients + 3 scalars, 814 KB in float32),
  timed apart from training, as a share of the step time;
- 1 rank: DataParallel.fit against Net.fit on the same batches (the wrapper's overhead);
- interleaved rounds, to see past the machine's minute-to-minute swings: rank 0 alone
  (the others asleep) then every rank at once, for plain Net.fit (every rank the whole
  1-rank training, no communication: the machine's ceiling on weak scaling) and for
  DataParallel.fit with 256 samples per rank per step (weak scaling), the ratio taken
  within each round.
Each configuration is one mpiexec run of this script in --worker mode; rank 0 prints one
JSON line, which the driver collects into the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

IN, HIDDEN, OUT = 784, 256, 10


def data(n):
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, IN), dtype=np.float32),
            rng.integers(0, OUT, size=n))


def build_net():
    import fastbp
    return fastbp.Net([fastbp.Layer(IN, HIDDEN, "relu", seed=0), fastbp.Layer(HIDDEN, OUT, seed=1)])


def train(trainer, net, x, y, batch_size, epochs):
    """trainer.fit (a Net's or a DataParallel's) with the benchmark's loss and optimizer;
    returns the number of steps taken."""
    import fastbp
    trainer.fit(x, y, fastbp.CrossEntropyLoss(), fastbp.SGD(net, lr=0.01, momentum=0.9),
                epochs=epochs, batch_size=batch_size, seed=0, progress=False)
    return epochs * -(-len(x) // batch_size)


def worker(args):
    from mpi4py import MPI
    from threadpoolctl import threadpool_limits

    from fastbp.distributed import DataParallel

    threadpool_limits(1)
    comm = MPI.COMM_WORLD
    x, y = data(args.samples)
    if args.mode == "rounds":
        rounds(comm, x, y, args)
        return
    global_batch = 256 * comm.size if args.mode == "weak" else 256
    dp = DataParallel(build_net(), comm)
    train(dp, dp.net, x[:global_batch * 4], y[:global_batch * 4], global_batch, 1)  # warm-up
    comm.Barrier()
    start = time.perf_counter()
    steps = train(dp, dp.net, x, y, global_batch, args.epochs)
    comm.Barrier()
    elapsed = time.perf_counter() - start
    # the step's Allreduce alone, on the step's own buffer
    flat, reps = dp._flat, 200
    for _ in range(10):
        comm.Allreduce(MPI.IN_PLACE, flat)
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(reps):
        comm.Allreduce(MPI.IN_PLACE, flat)
    allreduce = (time.perf_counter() - start) / reps
    result = {"ranks": comm.size, "mode": args.mode, "global_batch": global_batch,
              "samples_per_s": args.epochs * args.samples / elapsed,
              "step_ms": 1e3 * elapsed / steps, "allreduce_ms": 1e3 * allreduce,
              "buffer_kb": flat.nbytes / 1e3}
    if comm.size == 1:  # Net.fit on the same batches: the wrapper's cost, interleaved repeats
        plain, wrapped = [], []
        for _ in range(3):
            net = build_net()
            start = time.perf_counter()
            train(net, net, x, y, 256, args.epochs)
            plain.append(time.perf_counter() - start)
            dp = DataParallel(build_net(), comm)
            start = time.perf_counter()
            train(dp, dp.net, x, y, 256, args.epochs)
            wrapped.append(time.perf_counter() - start)
        result["plain_s"], result["wrapped_s"] = min(plain), min(wrapped)
    if comm.rank == 0:
        print(json.dumps(result), flush=True)


def rounds(comm, x, y, args):
    """Rank 0 alone, then all ranks at once, round by round (see the module docstring)."""
    from mpi4py import MPI
    from fastbp.distributed import DataParallel

    def alone(train_one):  # rank 0 trains; the others sleep rather than spin in a barrier
        elapsed = 0.0
        if comm.rank == 0:
            start = time.perf_counter()
            train_one()
            elapsed = time.perf_counter() - start
        request = comm.Ibarrier()
        while not request.Test():
            time.sleep(0.002)
        return elapsed

    def together(train_one):
        comm.Barrier()
        start = time.perf_counter()
        train_one()
        comm.Barrier()
        return time.perf_counter() - start

    def plain():
        net = build_net()
        train(net, net, x, y, 256, args.epochs)

    def parallel(over):
        dp = DataParallel(build_net(), over)
        train(dp, dp.net, x, y, 256 * over.size, args.epochs)

    together(plain)  # warm-up
    ceiling, weak = [], []
    for _ in range(args.rounds):
        plain_one, plain_all = alone(plain), together(plain)
        parallel_one = alone(lambda: parallel(MPI.COMM_SELF))
        parallel_all = together(lambda: parallel(comm))
        ceiling.append(comm.size * plain_one / plain_all)  # every rank did plain_one's work
        weak.append(parallel_one / parallel_all)  # the same samples, in 1/size of the steps
    if comm.rank == 0:
        print(json.dumps({"ranks": comm.size, "ceiling": ceiling, "weak": weak}), flush=True)


def mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def launch(ranks, mode, args):
    command = [mpiexec(), "-n", str(ranks), "--oversubscribe", *shlex.split(args.mpi_args)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-run-as-root")
    command += [sys.executable, __file__, "--worker", mode, "--samples", str(args.samples),
                "--epochs", str(args.epochs), "--rounds", str(args.rounds)]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    src = Path(__file__).resolve().parent.parent / "src"
    if (src / "fastbp").is_dir() and "PYTHONPATH" not in os.environ:
        env["PYTHONPATH"] = str(src)
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--mpi-args", default="--mca btl ^ofi",
                        help="extra mpiexec options (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds of the last table (default: %(default)s)")
    parser.add_argument("--worker", choices=["weak", "strong", "rounds"],
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.mode = args.worker
        worker(args)
        return
    print(f"{args.samples} x {IN} float32, {IN}-{HIDDEN}-{OUT} ReLU, CrossEntropyLoss, "
          f"SGD momentum 0.9, {args.epochs} epoch(s), 1 thread per rank, "
          f"mpiexec {args.mpi_args}")
    print(f"{'mode':>6} {'ranks':>5} {'batch':>6} {'samples/s':>10} {'step ms':>8} "
          f"{'allreduce ms':>12} {'share':>6} {'speed-up':>8}")
    results = {}
    for mode in ("weak", "strong"):
        results[mode] = one, many = launch(1, mode, args), launch(args.ranks, mode, args)
        for r in (one, many):
            share = r["allreduce_ms"] / r["step_ms"] if r["ranks"] > 1 else 0.0
            print(f"{mode:>6} {r['ranks']:>5} {r['global_batch']:>6} {r['samples_per_s']:>10.0f} "
                  f"{r['step_ms']:>8.2f} {r['allreduce_ms']:>12.3f} {share:>6.1%} "
                  f"{r['samples_per_s'] / one['samples_per_s']:>8.2f}")
    interleaved = launch(args.ranks, "rounds", args)
    print(f"{args.rounds} interleaved rounds, {args.ranks} ranks at once against rank 0 alone "
          "(samples/s ratio, min / median):")
    for key, label in (("ceiling", "plain Net.fit on every rank, no communication"),
                       ("weak", "DataParallel.fit, 256 samples per rank per step")):
        print(f"  {label:48s} {min(interleaved[key]):.2f} / "
              f"{statistics.median(interleaved[key]):.2f}")
    one = results["strong"][0]
    print(f"1 rank: DataParallel.fit {one['wrapped_s']:.3f} s vs Net.fit "
          f"{one['plain_s']:.3f} s per {args.epochs} epoch(s): overhead "
          f"{one['wrapped_s'] / one['plain_s'] - 1:+.1%}  "
          f"(flat buffer {results['weak'][1]['buffer_kb']:.0f} KB)")


if __name__ == "__main__":
    main()
