"""GEMM candidates on the exact shapes of the training workloads, GFLOP/s.

    python bench/bench_gemm.py [--threads 1 2] [--rounds 7]

Each workload layer has three GEMMs (row-major, as fastbp's kernels call them):
forward y = x Wᵀ (N×I·I×O), grad_x = gy W (N×O·O×I), grad_W = gyᵀ x (O×N·N×I).
Candidates, each timed on the same arrays, rounds interleaved:
  scipy       SciPy's bundled OpenBLAS through scipy.linalg.cython_blas (via
              fastbp._blas.gemm_memview inside fastbp._gemm_backend.openblas_only())
  fastbp      fastbp._blas.gemm_memview as imported: MKL from m*n*k >= 2**20 when the mkl
              extra is installed, fastbp's small kernel for the small x·Wᵀ it wins (x86-64-v4),
              else the same as scipy (then not shown)
  numpy       NumPy's bundled OpenBLAS (np.matmul into out=)
  openblas32  the `scipy-openblas32` package's newer OpenBLAS (cblas_sgemm through ctypes;
              skipped when the package is absent)
  mkl         Intel's MKL of the `mkl` wheel (cblas_sgemm of libmkl_rt through ctypes, its
              own threads; skipped when absent; x86-64 only)
  blis        cython-blis (`blis.py.gemm`; skipped when absent)
  torch       torch.mm into out= (skipped when absent)
The ctypes and Python call costs are included, so the smallest shapes understate BLAS.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train_step import machine  # noqa: E402

from fastbp import _blas, _gemm_backend  # noqa: E402

try:
    import torch
except ImportError:
    torch = None
try:
    import blis.py
except ImportError:
    blis = None

WORKLOADS = {"small 64-64-10 b32": ((64, 64, 10), 32),
             "sklearn digits 64-100-10 b200": ((64, 100, 10), 200),
             "sklearn 20k 100-100-2 b200": ((100, 100, 2), 200),
             "mlp 784-256-256-10 b128": ((784, 256, 256, 10), 128),
             "epoch 784-256-10 b64": ((784, 256, 10), 64),
             "wide 1024-4096-4096-1024 b512": ((1024, 4096, 4096, 1024), 512)}


def openblas32():
    """cblas_sgemm of scipy-openblas32 with its thread setter, or None."""
    try:
        import scipy_openblas32 as sob
    except ImportError:
        return None
    lib = ctypes.CDLL(os.path.join(sob.get_lib_dir(), f"lib{sob.get_library()}.so"))
    prefix = "scipy_" if hasattr(lib, "scipy_cblas_sgemm") else ""
    sgemm = getattr(lib, prefix + "cblas_sgemm")
    set_threads = getattr(lib, prefix + "openblas_set_num_threads")
    fp = ctypes.c_void_p
    sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, fp, ctypes.c_int, fp, ctypes.c_int,
                                           ctypes.c_float, fp, ctypes.c_int]
    return sgemm, set_threads


def mkl():
    """cblas_sgemm of the `mkl` wheel's libmkl_rt with its thread setter, or None."""
    import glob
    found = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")))
    if not found:
        return None
    lib = ctypes.CDLL(found[-1])
    sgemm, set_threads = lib.cblas_sgemm, lib.MKL_Set_Num_Threads
    fp = ctypes.c_void_p
    sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, fp, ctypes.c_int, fp, ctypes.c_int,
                                           ctypes.c_float, fp, ctypes.c_int]
    return sgemm, set_threads


def shapes(sizes, n):
    """(name, m, k, n, trans_a, trans_b) of the three GEMMs of each layer."""
    out = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        out += [(f"fwd {n}x{i}x{o}", n, i, o, False, True),
                (f"gx  {n}x{o}x{i}", n, o, i, False, False),
                (f"gW  {o}x{n}x{i}", o, n, i, True, False)]
    return out


def candidates(m, k, n, ta, tb, threads, ob32, mkl_lib):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    c = np.zeros((m, n), np.float32)
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    fns = {"scipy": lambda: _blas.gemm_memview(ta, tb, 1.0, a, b, 0.0, c),
           "numpy": lambda: np.matmul(opa, opb, out=c)}
    state = _gemm_backend.state()
    if state["library"] == "mkl" or state["small_kernel"]:
        fns["fastbp"] = fns["scipy"]  # (the library is switched around the timed loop)
    args = (101, 112 if ta else 111, 112 if tb else 111, m, n, k, 1.0,
            a.ctypes.data, a.shape[1], b.ctypes.data, b.shape[1], 0.0, c.ctypes.data, n)
    for name, lib in (("openblas32", ob32), ("mkl", mkl_lib)):
        if lib is not None:
            sgemm, set_threads = lib
            set_threads(threads)
            fns[name] = (lambda sgemm: lambda: sgemm(*args))(sgemm)
    if blis is not None:
        fns["blis"] = lambda: blis.py.gemm(a, b, out=c, trans1=ta, trans2=tb)
    if torch is not None:
        ta_, tb_, tc = torch.from_numpy(opa), torch.from_numpy(opb), torch.from_numpy(c)
        fns["torch"] = lambda: torch.mm(ta_, tb_, out=tc)
    return fns


def time_round(fn, seconds):
    fn()
    t = time.perf_counter()
    fn()
    reps = max(1, int(seconds / max(time.perf_counter() - t, 1e-7)))
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.05)
    args = parser.parse_args()
    ob32, mkl_lib = openblas32(), mkl()
    print(f"machine: {machine()}; GFLOP/s, max over {args.rounds} interleaved rounds "
          f"(median in brackets)")
    for threads in args.threads:
        with threadpool_limits(threads):
            if torch is not None:
                torch.set_num_threads(threads)
            for wname, (sizes, n) in WORKLOADS.items():
                print(f"\nthreads {threads}, {wname}")
                for name, m, k, nn, ta, tb in shapes(sizes, n):
                    fns = candidates(m, k, nn, ta, tb, threads, ob32, mkl_lib)
                    times = {c: [] for c in fns}
                    for _ in range(args.rounds):
                        for c, fn in fns.items():
                            with (_gemm_backend.openblas_only() if c == "scipy"
                                  else contextlib.nullcontext()):
                                times[c].append(time_round(fn, args.seconds))
                    flops = 2.0 * m * k * nn
                    cells = "  ".join(f"{c} {flops / min(ts) / 1e9:6.1f} "
                                      f"({flops / statistics.median(ts) / 1e9:5.1f})"
                                      for c, ts in times.items())
                    print(f"  {name:<18} {cells}")


if __name__ == "__main__":
    main()
