"""fastbp's small-matrix kernel against scipy's OpenBLAS, per call, on the small products.

    python bench/bench_small_gemm.py [--rounds 7] [--seconds 0.01] [--dtypes float32 float64]
                                     [--only workloads sweep nt] [--variant V]

Both run from one nogil loop (``fastbp._blas.gemm_strided(kernel, ..., repeat=R)``: R calls
of the C-level kernel, then the time over R), so neither pays a Python call; the products
are row-major as fastbp's dense kernels call them: forward y = x Wᵀ (NT, m=N n=O k=I, beta
1: y holds the bias), grad_x = gy W (NN, m=N n=I k=O, beta 0), grad_W = gyᵀ x (TN, m=O
n=I k=N, beta 0 as train_step writes it).  Shapes: the three products of each layer of the
64-64-10 net at batch 1, 8 and 32, scikit-learn's digits MLP 64-100-10 at batch 200, the
last layer of 784-256-256-10 at batch 128, and a sweep of cubes s x s x s (s = 8..128) in
each transposition, and a grid of forward (NT) products, m = 1..256 by n = 10..256 at
k = 64 and 256.  1 thread (threadpoolctl), rounds interleaved; per row: OpenBLAS and small
kernel µs per call, min (median), and OpenBLAS time / small time of the mins (> 1: the
small kernel wins).  Where fastbp gives the product to MKL (the mkl extra, m·n·k of at
least _blas.large_gemm_min_mnk()), MKL's time and the ratio MKL / small follow.  The
small kernel is the variant this CPU runs, or --variant V (0, 1, ...: see
_blas.small_gemm_variant(V)); the router is off while the others are timed.
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

MAX_K = 256  # FASTBP_SMALL_GEMM_MAX_K: the kernel refuses a longer k
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
NT_GRID = [(f"fwd grid k={k}", "fwd", m, n, k) for k in (64, 256) for n in (10, 32, 64, 128, 256)
           for m in (1, 4, 8, 16, 32, 64, 128, 256)]


def operands(case, m, n, k, dtype, rng):
    ta, tb, beta = CASES[case]
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    return ta, tb, beta, a, b, np.zeros((m, n), dtype)


def per_call(kernel, ta, tb, a, b, beta, c, seconds, variant):
    """Seconds per call, from one loop of calls sized to take about ``seconds``."""
    reps = 1
    while True:
        t = time.perf_counter()
        _blas.gemm_strided(kernel, ta, tb, 1.0, a, b, beta, c, variant=variant, repeat=reps)
        elapsed = time.perf_counter() - t
        if elapsed >= seconds:
            return elapsed / reps
        reps = max(2 * reps, int(reps * seconds / max(elapsed, 1e-7)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.01)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--only", nargs="+", choices=["workloads", "sweep", "nt"])
    parser.add_argument("--variant", type=int, default=-1)
    args = parser.parse_args()
    shapes = {"workloads": WORKLOADS, "sweep": SWEEP, "nt": NT_GRID}
    shapes = {name: shapes[name] for name in (args.only or shapes)}
    large_min = _blas.large_gemm_min_mnk()
    print(f"machine: {machine()}; 1 thread; small kernel variant "
          f"{_blas.small_gemm_variant(args.variant)}; µs per call, min (median) over "
          f"{args.rounds} interleaved rounds; ratio = OpenBLAS (MKL) / small of the mins")
    rng = np.random.default_rng(0)
    routed = _blas.small_gemm_max_mnk()
    _blas.set_small_gemm(0)  # "gemm" below is fastbp's product without the small kernel
    try:
        with threadpool_limits(1):
            for dtype in args.dtypes:
                for title, rows in shapes.items():
                    run(dtype, title, rows, rng, large_min, args)
    finally:
        _blas.set_small_gemm(routed)


def run(dtype, title, rows, rng, large_min, args):
    print(f"\n{dtype}, {title}")
    print(f"  {'shape':<25} {'case':<4} {'m':>4} {'n':>4} {'k':>4} "
          f"{'OpenBLAS':>16} {'small':>16} {'ratio':>6}")
    for label, case, m, n, k in rows:
        ta, tb, beta, a, b, c = operands(case, m, n, k, np.dtype(dtype), rng)
        head = f"  {label:<25} {case:<4} {m:>4} {n:>4} {k:>4}"
        if not _blas.gemm_strided("small", ta, tb, 1.0, a, b, beta, c, variant=args.variant):
            print(f"{head}  (refused: k > {MAX_K})")
            continue
        times = {"blas": [], "small": []}
        if large_min is not None and m * n * k >= large_min:
            times["gemm"] = []  # MKL
        for _ in range(args.rounds):
            for kernel, ts in times.items():
                ts.append(per_call(kernel, ta, tb, a, b, beta, c, args.seconds, args.variant))
        cells = "".join(f" {min(times[kk]) * 1e6:7.3f} ({statistics.median(times[kk]) * 1e6:6.3f})"
                        for kk in ("blas", "small"))
        line = f"{head}{cells} {min(times['blas']) / min(times['small']):6.2f}"
        if "gemm" in times:
            line += (f"   MKL {min(times['gemm']) * 1e6:7.3f} ({statistics.median(times['gemm']) * 1e6:6.3f})"
                     f" {min(times['gemm']) / min(times['small']):5.2f}")
        print(line, flush=True)


if __name__ == "__main__":
    main()
