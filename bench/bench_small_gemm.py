"""fastbp's small-matrix kernel against scipy's OpenBLAS, per call, on the small products.

    python bench/bench_small_gemm.py [--rounds 7] [--seconds 0.02] [--dtypes float32 float64]
                                     [--only workloads|sweep]

Both run from one nogil loop (``fastbp._blas.gemm_strided(kernel, ..., repeat=R)``: R calls
of the C-level kernel, then the time over R), so neither pays a Python call; the products
are row-major as fastbp's dense kernels call them: forward y = x Wᵀ (NT, m=N n=O k=I, beta
1: y holds the bias), grad_x = gy W (NN, m=N n=I k=O, beta 0), grad_W = gyᵀ x (TN, m=O
n=I k=N, beta 0 as train_step writes it).  Shapes: the three products of each layer of the
64-64-10 net at batch 1, 8 and 32, scikit-learn's digits MLP 64-100-10 at batch 200, the
last layer of 784-256-256-10 at batch 128, and a sweep of cubes s x s x s (s = 8..128) in
each transposition.  1 thread (threadpoolctl), rounds interleaved; per row: OpenBLAS and
small kernel µs per call, min (median), and OpenBLAS time / small time of the mins (> 1:
the small kernel wins).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train_step import machine  # noqa: E402

from fastbp import _blas  # noqa: E402

CASES = {"fwd": (False, True, 1.0), "gx": (False, False, 0.0), "gW": (True, False, 0.0)}


def layer_shapes(sizes, batch, label):
    """(label, case, m, n, k) of the three products of each layer."""
    out = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        out += [(f"{label} {i}->{o}", "fwd", batch, o, i),
                (f"{label} {i}->{o}", "gx", batch, i, o),
                (f"{label} {i}->{o}", "gW", o, i, batch)]
    return out


WORKLOADS = (layer_shapes((64, 64, 10), 1, "64-64-10 b1")
             + layer_shapes((64, 64, 10), 8, "64-64-10 b8")
             + layer_shapes((64, 64, 10), 32, "64-64-10 b32")
             + layer_shapes((64, 100, 10), 200, "digits 64-100-10 b200")
             + layer_shapes((256, 10), 128, "784-256-256-10 b128 last"))
SWEEP = [(f"cube {s}", case, s, s, s) for s in (8, 12, 16, 24, 32, 40, 48, 64, 80, 96, 128)
         for case in CASES]


def operands(case, m, n, k, dtype, rng):
    ta, tb, beta = CASES[case]
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    return ta, tb, beta, a, b, np.zeros((m, n), dtype)


def per_call(kernel, ta, tb, a, b, beta, c, seconds):
    """Seconds per call, from one loop of calls sized to take about ``seconds``."""
    reps = 1
    while True:
        t = time.perf_counter()
        _blas.gemm_strided(kernel, ta, tb, 1.0, a, b, beta, c, repeat=reps)
        elapsed = time.perf_counter() - t
        if elapsed >= seconds:
            return elapsed / reps
        reps = max(2 * reps, int(reps * seconds / max(elapsed, 1e-7)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.02)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--only", choices=["workloads", "sweep"])
    args = parser.parse_args()
    shapes = {"workloads": WORKLOADS, "sweep": SWEEP}
    if args.only:
        shapes = {args.only: shapes[args.only]}
    print(f"machine: {machine()}; 1 thread; small kernel variant "
          f"{_blas.small_gemm_variant()}; µs per call, min (median) over {args.rounds} "
          f"interleaved rounds; ratio = OpenBLAS / small of the mins")
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        for dtype in args.dtypes:
            for title, rows in shapes.items():
                print(f"\n{dtype}, {title}")
                print(f"  {'shape':<27} {'case':<4} {'m':>4} {'n':>4} {'k':>4} "
                      f"{'OpenBLAS':>16} {'small':>16} {'ratio':>6}")
                for label, case, m, n, k in rows:
                    ta, tb, beta, a, b, c = operands(case, m, n, k, np.dtype(dtype), rng)
                    if not _blas.gemm_strided("small", ta, tb, 1.0, a, b, beta, c):
                        print(f"  {label:<27} {case:<4} {m:>4} {n:>4} {k:>4}  (refused: k)")
                        continue
                    times = {"blas": [], "small": []}
                    for _ in range(args.rounds):
                        for kernel, ts in times.items():
                            ts.append(per_call(kernel, ta, tb, a, b, beta, c, args.seconds))
                    cells = "".join(f" {min(ts) * 1e6:7.3f} ({statistics.median(ts) * 1e6:6.3f})"
                                    for ts in times.values())
                    ratio = min(times["blas"]) / min(times["small"])
                    print(f"  {label:<27} {case:<4} {m:>4} {n:>4} {k:>4} {cells} {ratio:6.2f}",
                          flush=True)


if __name__ == "__main__":
    main()
