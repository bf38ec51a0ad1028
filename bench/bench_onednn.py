"""oneDNN against fastbp's GEMM and dense forward on the workloads' shapes, through ctypes.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE flock /tmp/bench.lock \\
        python bench/bench_onednn.py [--threads 1,2] [--rounds 7] [--json out.json] \\
                                     [--gomp-lib DIR_OR_FILE]

(run it under `flock /tmp/bench.lock` so no other benchmark overlaps it on the shared
machine, with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, as above.)

Two oneDNN builds from PyPI, both loaded with ctypes (no headers are shipped; the enum
values below are those of include/oneapi/dnnl/dnnl_types.h and dnnl_common_types.h, the
same at the v3.2 and v3.13.1 tags):
  onednn 2026.1.0       oneDNN 3.13 (libdnnl.so.3.13), CPU runtime SYCL with TBB threads.
                        `pip install onednn`. Only its dnnl_sgemm is usable here: a CPU
                        engine (hence the matmul primitive) needs a SYCL CPU device, which
                        the pip runtimes do not provide (the script checks and says so).
  onednn-cpu-gomp       oneDNN 3.2 (2023.2.0, the newest of that package), CPU runtime GNU
                        OpenMP: the same libgomp as fastbp's kernels and MKL.  Its
                        libdnnl.so.3 clashes with the one above in site-packages, so it is
                        unpacked apart: `pip download --no-deps onednn-cpu-gomp==2023.2.0`,
                        unzip the wheel, pass the directory (or the .so) as --gomp-lib.
                        Skipped when absent.

Measured, per shape, float32, row-major:
  GEMM      every product of the workloads (per dense layer, batch N, in I, out O:
            forward NT m=N n=O k=I; grad_x NN m=N n=I k=O, not for the first layer;
            grad_W TN m=O n=I k=N), beta = 0:
              fastbp      fastbp._blas.gemm_memview as imported (MKL from m*n*k >= 2**20
                          when the mkl extra is installed, scipy's OpenBLAS below)
              fastbp-ob   the same inside fastbp._gemm_backend.openblas_only()
              dnnl-tbb    dnnl_sgemm of onednn 2026.1 (TBB threads)
              dnnl-gomp   dnnl_sgemm of onednn-cpu-gomp 3.2 (GNU OpenMP threads)
  forward   y = act(x Wᵀ + b) of each layer (act: the workload's hidden activation, and on
            the last layer the one bench_workloads.py gives it: none for cross entropy):
              fastbp      fastbp._dense.linear (gemm NT, then the bias added in one
                          pass) then fastbp._activations.forward in place
              dnnl-mm     oneDNN 3.2's matmul primitive, W as a transposed (ba) view, bias
                          fused, eltwise post-op (relu / logistic); the primitive is created
                          once per shape and executed repeatedly, + dnnl_stream_wait
Every oneDNN result is checked against a float64 NumPy product first (max |error| / max
|reference| < 1e-5).  oneDNN has no dgemm, and the f64 matmul is probed and reported.

Workloads (bench_workloads.py's, plus scikit-learn's digits): small 64-64-10 sigmoid b32,
mlp 784-256-256-10 relu b128, wide 1024-4096-4096-1024 sigmoid b512 (--wide-rounds rounds),
epoch 784-256-10 relu b64, digits 64-100-10 relu b200.

Threads: each thread count runs in its own subprocess with OMP_NUM_THREADS=n (GNU OpenMP:
fastbp's kernels, MKL, oneDNN 3.2) and, for n below the CPUs available, a CPU affinity
mask of n CPUs set before any library loads: TBB (onednn 2026.1) ignores OMP_NUM_THREADS
and sizes its pool from the process affinity mask; oneDNN has no thread-count call in its
C API.  fastbp's side also runs under threadpoolctl's threadpool_limits(n).  In a
subprocess the candidates are interleaved round by round (A, B, C, D; A, B, C, D; ...);
each round times a batch of calls (about --seconds long) and keeps the time per call.
Printed: min and median over the rounds (µs), and fastbp's time / oneDNN's (of the mins,
then the median of the per-round ratios): > 1 means oneDNN is faster.  ctypes and Python
call costs are included on both sides (fastbp's test entry points are Python calls too);
the "call floor" rows (1x1x1) show that fixed cost.  At 2 threads on a 2-core machine the
GNU OpenMP and OpenBLAS calls stall by milliseconds whenever another thread holds a core
(TBB's work stealing does not): each subprocess prints the other processes' CPU use.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# (name, sizes, hidden activation, last layer's activation, batch)
WORKLOADS = [("small", (64, 64, 10), "sigmoid", None, 32),
             ("mlp", (784, 256, 256, 10), "relu", None, 128),
             ("wide", (1024, 4096, 4096, 1024), "sigmoid", "sigmoid", 512),
             ("epoch", (784, 256, 10), "relu", None, 64),
             ("digits", (64, 100, 10), "relu", None, 200)]

# oneDNN enum values (dnnl_common_types.h / dnnl_types.h, v3.2 = v3.13.1)
DNNL_SUCCESS = 0
DNNL_F32, DNNL_F64 = 3, 7
DNNL_AB, DNNL_BA = 3, 14                 # dnnl_format_tag_t
DNNL_CPU = 1                             # dnnl_engine_kind_t
DNNL_STREAM_DEFAULT_FLAGS = 1
DNNL_ELTWISE = {"relu": 0x20, "sigmoid": 0x29}   # dnnl_eltwise_relu, dnnl_eltwise_logistic
DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS = 1, 17, 33, 41
DNNL_QUERY_IMPL_INFO_STR = 8
DNNL_RUNTIME = {1: "sequential", 2: "OpenMP", 4: "TBB", 8: "threadpool", 512: "SYCL"}
FASTBP_ACT = {"sigmoid": 1, "relu": 2}   # fastbp._activations codes (_activation_codes.pxi)

P = ctypes.c_void_p
DIM = ctypes.c_int64


class DnnlVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint),
                ("gpu_runtime", ctypes.c_uint)]


class ExecArg(ctypes.Structure):  # dnnl_exec_arg_t
    _fields_ = [("arg", ctypes.c_int), ("memory", P)]


# --------------------------------------------------------------------------- libraries

def onednn_pip_path():
    """libdnnl.so.3 of the `onednn` distribution (its data files, in the prefix's lib/)."""
    try:
        files = importlib.metadata.distribution("onednn").files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if f.name == "libdnnl.so.3":
            return os.path.realpath(str(f.locate()))
    return None


def gomp_lib_path(arg):
    if not arg:
        return None
    if os.path.isdir(arg):
        for root, _, names in os.walk(arg):
            if "libdnnl.so.3" in names:
                return os.path.join(root, "libdnnl.so.3")
        return None
    return arg if os.path.exists(arg) else None


def load_dnnl(path):
    """The library with the signatures used here set; its NEEDED libraries that are not on
    the loader's path (onednn 2026.1: TBB, Intel's libm/svml/intlc, SYCL; no RUNPATH) are
    loaded first from its own directory."""
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        here = os.path.dirname(path)
        for dep in ("libtbb.so.12", "libimf.so", "libintlc.so.5", "libsvml.so", "libsycl.so.9"):
            if os.path.exists(os.path.join(here, dep)):
                ctypes.CDLL(os.path.join(here, dep), mode=ctypes.RTLD_GLOBAL)
        lib = ctypes.CDLL(path)
    lib.dnnl_version.restype = ctypes.POINTER(DnnlVersion)
    lib.dnnl_sgemm.argtypes = [ctypes.c_char, ctypes.c_char, DIM, DIM, DIM, ctypes.c_float, P,
                               DIM, P, DIM, ctypes.c_float, P, DIM]
    lib.dnnl_sgemm.restype = ctypes.c_int
    sig = {"dnnl_engine_create": [ctypes.POINTER(P), ctypes.c_int, ctypes.c_size_t],
           "dnnl_stream_create": [ctypes.POINTER(P), P, ctypes.c_uint],
           "dnnl_stream_wait": [P],
           "dnnl_memory_desc_create_with_tag": [ctypes.POINTER(P), ctypes.c_int,
                                                ctypes.POINTER(DIM), ctypes.c_int, ctypes.c_int],
           "dnnl_primitive_attr_create": [ctypes.POINTER(P)],
           "dnnl_post_ops_create": [ctypes.POINTER(P)],
           "dnnl_post_ops_append_eltwise": [P, ctypes.c_int, ctypes.c_float, ctypes.c_float],
           "dnnl_primitive_attr_set_post_ops": [P, P],
           "dnnl_matmul_primitive_desc_create": [ctypes.POINTER(P), P, P, P, P, P, P],
           "dnnl_primitive_desc_query": [P, ctypes.c_int, ctypes.c_int, P],
           "dnnl_primitive_create": [ctypes.POINTER(P), P],
           "dnnl_memory_create": [ctypes.POINTER(P), P, P, P],
           "dnnl_primitive_execute": [P, P, ctypes.c_int, ctypes.POINTER(ExecArg)]}
    for name, argtypes in sig.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = argtypes, ctypes.c_int
    return lib


def describe(lib):
    v = lib.dnnl_version().contents
    return (f"oneDNN {v.major}.{v.minor}.{v.patch} ({(v.hash or b'').decode()[:10]}), "
            f"CPU runtime {DNNL_RUNTIME.get(v.cpu_runtime, v.cpu_runtime)}")


def check(status, what):
    if status != DNNL_SUCCESS:
        raise RuntimeError(f"{what}: dnnl_status {status}")


class Matmul:
    """y = act(x Wᵀ + b) as one oneDNN matmul primitive on the arrays given (no copies)."""

    def __init__(self, lib, engine, stream, x, w, b, y, act, dt=DNNL_F32):
        self.lib, self.stream, self.keep = lib, stream, (x, w, b, y)
        (n, i), o = x.shape, w.shape[0]

        def md(dims, tag):
            h = P()
            check(lib.dnnl_memory_desc_create_with_tag(
                ctypes.byref(h), len(dims), (DIM * len(dims))(*dims), dt, tag), "memory desc")
            return h
        # W (O, I) row-major is the weights (K=I, N=O) in the transposed layout `ba`
        mds = {DNNL_ARG_SRC: md((n, i), DNNL_AB), DNNL_ARG_WEIGHTS: md((i, o), DNNL_BA),
               DNNL_ARG_BIAS: md((1, o), DNNL_AB), DNNL_ARG_DST: md((n, o), DNNL_AB)}
        attr = P()
        check(lib.dnnl_primitive_attr_create(ctypes.byref(attr)), "attr")
        if act is not None:
            po = P()
            check(lib.dnnl_post_ops_create(ctypes.byref(po)), "post ops")
            check(lib.dnnl_post_ops_append_eltwise(po, DNNL_ELTWISE[act], 0.0, 0.0), "eltwise")
            check(lib.dnnl_primitive_attr_set_post_ops(attr, po), "set post ops")
        pd = P()
        check(lib.dnnl_matmul_primitive_desc_create(
            ctypes.byref(pd), engine, mds[DNNL_ARG_SRC], mds[DNNL_ARG_WEIGHTS],
            mds[DNNL_ARG_BIAS], mds[DNNL_ARG_DST], attr), "matmul primitive desc")
        info = ctypes.c_char_p()
        lib.dnnl_primitive_desc_query(pd, DNNL_QUERY_IMPL_INFO_STR, 0, ctypes.byref(info))
        self.impl = (info.value or b"?").decode()
        self.prim = P()
        check(lib.dnnl_primitive_create(ctypes.byref(self.prim), pd), "primitive")
        args = []
        for arg, arr in ((DNNL_ARG_SRC, x), (DNNL_ARG_WEIGHTS, w), (DNNL_ARG_BIAS, b),
                         (DNNL_ARG_DST, y)):
            mem = P()
            check(lib.dnnl_memory_create(ctypes.byref(mem), mds[arg], engine,
                                         P(arr.ctypes.data)), "memory")
            args.append(ExecArg(arg, mem))
        self.args = (ExecArg * 4)(*args)
        self.execute, self.wait = lib.dnnl_primitive_execute, lib.dnnl_stream_wait

    def __call__(self):
        self.execute(self.prim, self.stream, 4, self.args)
        self.wait(self.stream)


# --------------------------------------------------------------------------- worker

def gemm_shapes(name, sizes, n):
    """(label, m, n, k, trans_a, trans_b) of the products of each layer."""
    out = []
    for li, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
        out.append((f"{name} L{li + 1} fwd NT {n}x{o}x{i}", n, o, i, False, True))
        if li:
            out.append((f"{name} L{li + 1} gx NN {n}x{i}x{o}", n, i, o, False, False))
        out.append((f"{name} L{li + 1} gW TN {o}x{i}x{n}", o, i, n, True, False))
    return out


def calibrate(fn, seconds):
    """Calls per round, from one timed call after a warm-up call."""
    fn()
    t = time.perf_counter()
    fn()
    return max(1, int(seconds / max(time.perf_counter() - t, 1e-7)))


def time_rounds(fns, rounds, seconds, contexts):
    """{candidate: [seconds per call, one per round]}, candidates interleaved per round."""
    reps = {}
    for c, fn in fns.items():
        with contexts.get(c, contextlib.nullcontext()):
            reps[c] = calibrate(fn, seconds)
    times = {c: [] for c in fns}
    for _ in range(rounds):
        for c, fn in fns.items():
            with contexts.get(c, contextlib.nullcontext()):
                k = reps[c]
                t = time.perf_counter()
                for _ in range(k):
                    fn()
                times[c].append((time.perf_counter() - t) / k)
    return times


def rel_err(got, ref):
    import numpy as np
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30))


def cpu_busy():
    """(jiffies the whole machine was busy, jiffies of this process) so far."""
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, f.readline().split()[1:9])
    with open("/proc/self/stat") as f:
        own = f.read().rsplit(")", 1)[1].split()
    return user + nice + system + irq + softirq + steal, int(own[11]) + int(own[12])


def worker(args):
    n_thr = args.worker
    busy0, wall0 = cpu_busy(), time.perf_counter()
    avail = sorted(os.sched_getaffinity(0))
    if n_thr < len(avail):  # before TBB / OpenMP start: TBB sizes its pool from the mask
        os.sched_setaffinity(0, avail[:n_thr])
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits
    sys.modules.setdefault("torch", None)  # bench_train_step's optional torch: keep it out
    sys.path.insert(0, HERE)
    from bench_train_step import machine
    from fastbp import _activations, _blas, _dense, _gemm_backend

    libs = {}
    pip_path = onednn_pip_path()
    if pip_path:
        libs["dnnl-tbb"] = load_dnnl(pip_path)
    gpath = gomp_lib_path(args.gomp_lib)
    if gpath:
        libs["dnnl-gomp"] = load_dnnl(gpath)
    rows, out = [], []

    def say(line=""):
        print(line, flush=True)
        out.append(line)

    limits = threadpool_limits(n_thr)
    say(f"\n## {n_thr} thread{'s' if n_thr > 1 else ''}\n")
    say(f"machine: {machine()}; CPUs in the affinity mask: "
        f"{sorted(os.sched_getaffinity(0))}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    say(f"fastbp GEMM: {_gemm_backend.state().get('library')} "
        f"(min_mnk {_gemm_backend.state().get('min_mnk')})")
    for name, lib in libs.items():
        say(f"{name}: {describe(lib)} ({lib._name})")
    if not libs:
        say("no oneDNN library found: pip install onednn, and/or --gomp-lib")
        return
    # CPU engine per library: the matmul primitive needs one
    engines = {}
    for name, lib in libs.items():
        eng = P()
        status = lib.dnnl_engine_create(ctypes.byref(eng), DNNL_CPU, 0)
        if status == DNNL_SUCCESS:
            stream = P()
            check(lib.dnnl_stream_create(ctypes.byref(stream), eng, DNNL_STREAM_DEFAULT_FLAGS),
                  "stream")
            engines[name] = (eng, stream)
        else:
            say(f"{name}: dnnl_engine_create(cpu) -> status {status}: no CPU engine, so no "
                f"primitive API (a SYCL-runtime build needs a SYCL CPU device)")
    prim_lib = next((n for n in ("dnnl-gomp", "dnnl-tbb") if n in engines), None)
    for name, lib in libs.items():
        say(f"{name}: dnnl_dgemm exported: {hasattr(lib, 'dnnl_dgemm')}")
    if prim_lib:  # f64 matmul on the CPU: probe
        x64 = np.ones((4, 3)); w64 = np.ones((2, 3)); b64 = np.ones(2); y64 = np.zeros((4, 2))
        try:
            Matmul(libs[prim_lib], *engines[prim_lib], x64, w64, b64, y64, None, DNNL_F64)
            say(f"{prim_lib}: f64 matmul primitive: created")
        except RuntimeError as exc:
            say(f"{prim_lib}: f64 matmul primitive: not available ({exc}; 3 = unimplemented)")

    rng = np.random.default_rng(0)

    # ---- GEMM
    say("\n### GEMM, float32, µs per call: min (median) over rounds; fastbp / dnnl "
        "(of the mins; median of per-round ratios), > 1: oneDNN faster\n")
    cols = ["fastbp", "fastbp-ob"] + list(libs)
    hdr = "| shape (m×n×k) | " + " | ".join(cols) + " | " + " | ".join(
        f"fastbp / {c}" for c in libs) + " |"
    say(hdr)
    say("|" + "---|" * (hdr.count("|") - 1))
    products = [("floor", ("call floor 1x1x1 NT", 1, 1, 1, False, True))]
    products += [(wname, p) for wname, sizes, _, _, n in WORKLOADS
                 for p in gemm_shapes(wname, sizes, n)]
    for wname, (label, m, nn, k, ta, tb) in products:
        rounds = args.wide_rounds if wname == "wide" else args.rounds
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((nn, k) if tb else (k, nn)).astype(np.float32)
        ref = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
        cs = {c: np.zeros((m, nn), np.float32) for c in cols}
        fns = {"fastbp": (lambda c: lambda: _blas.gemm_memview(ta, tb, 1.0, a, b, 0.0, c))(
                   cs["fastbp"]),
               "fastbp-ob": (lambda c: lambda: _blas.gemm_memview(ta, tb, 1.0, a, b, 0.0, c))(
                   cs["fastbp-ob"])}
        for c, lib in libs.items():
            argv = (b"T" if ta else b"N", b"T" if tb else b"N", m, nn, k, 1.0, a.ctypes.data,
                    a.shape[1], b.ctypes.data, b.shape[1], 0.0, cs[c].ctypes.data, nn)
            fns[c] = (lambda f, argv: lambda: f(*argv))(lib.dnnl_sgemm, argv)
        for c, fn in fns.items():
            with (_gemm_backend.openblas_only() if c == "fastbp-ob"
                  else contextlib.nullcontext()):
                status = fn()
            if c in libs:
                check(status, f"{c} dnnl_sgemm {label}")
            err = rel_err(cs[c], ref)
            if err > 1e-5:
                raise AssertionError(f"{c} {label}: relative error {err:.2e}")
        times = time_rounds(fns, rounds, args.seconds, _Ctx())
        cells = [f"{min(times[c]) * 1e6:.1f} ({statistics.median(times[c]) * 1e6:.1f})"
                 for c in cols]
        ratios = []
        for c in libs:
            per_round = [f / d for f, d in zip(times["fastbp"], times[c])]
            ratios.append(f"{min(times['fastbp']) / min(times[c]):.2f} "
                          f"({statistics.median(per_round):.2f})")
        say(f"| {label} | " + " | ".join(cells + ratios) + " |")
        rows.append({"threads": n_thr, "kind": "gemm", "shape": label, "m": m, "n": nn,
                     "k": k, "times_s": times})

    # ---- dense forward
    if prim_lib:
        lib = libs[prim_lib]
        eng, stream = engines[prim_lib]
        say(f"\n### Dense forward y = act(x Wᵀ + b), float32, µs per call: fastbp "
            f"(_dense.linear + activation pass) vs {prim_lib} matmul primitive (bias + "
            f"eltwise post-op fused); fastbp / oneDNN > 1: oneDNN faster\n")
        say("| layer (N, I→O, act) | fastbp | oneDNN matmul | fastbp / oneDNN | oneDNN impl |")
        say("|---|---|---|---|---|")
        dense = [("call floor", 0, 1, 1, 1, "relu")]  # fastbp: its no-GEMM path (N·I·O <= 128)
        for wname, sizes, act, last, n in WORKLOADS:
            for li, (i, o) in enumerate(zip(sizes[:-1], sizes[1:])):
                dense.append((wname, li, n, i, o, act if li < len(sizes) - 2 else last))
        for wname, li, n, i, o, a_ in dense:
            rounds = args.wide_rounds if wname == "wide" else args.rounds
            x = rng.standard_normal((n, i)).astype(np.float32)
            w = (rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32)
            bias = rng.standard_normal(o).astype(np.float32)
            z = x.astype(np.float64) @ w.T.astype(np.float64) + bias
            ref = {None: z, "relu": np.maximum(z, 0),
                   "sigmoid": 1 / (1 + np.exp(-z))}[a_]
            y_f = np.zeros((n, o), np.float32)
            y_d = np.zeros((n, o), np.float32)
            yflat = y_f.reshape(-1)
            code = FASTBP_ACT.get(a_)
            if code is None:
                def fb(x=x, w=w, bias=bias, y=y_f):
                    _dense.linear(x, w, bias, y)
            else:
                def fb(x=x, w=w, bias=bias, y=y_f, yflat=yflat, code=code, n=n):
                    _dense.linear(x, w, bias, y)
                    _activations.forward(code, yflat, yflat, n)
            mm = Matmul(lib, eng, stream, x, w, bias, y_d, a_)
            fb()
            mm()
            for c, y in (("fastbp", y_f), ("oneDNN", y_d)):
                err = rel_err(y, ref)
                if err > 1e-5:
                    raise AssertionError(f"{c} forward {wname} L{li + 1}: rel. error {err:.2e}")
            times = time_rounds({"fastbp": fb, "oneDNN": mm}, rounds, args.seconds, {})
            per_round = [f / d for f, d in zip(times["fastbp"], times["oneDNN"])]
            label = f"{wname} L{li + 1} ({n}, {i}→{o}, {a_ or 'none'})"
            say(f"| {label} | {min(times['fastbp']) * 1e6:.1f} "
                f"({statistics.median(times['fastbp']) * 1e6:.1f}) | "
                f"{min(times['oneDNN']) * 1e6:.1f} ({statistics.median(times['oneDNN']) * 1e6:.1f})"
                f" | {min(times['fastbp']) / min(times['oneDNN']):.2f} "
                f"({statistics.median(per_round):.2f}) | {mm.impl} |")
            rows.append({"threads": n_thr, "kind": "forward", "shape": label,
                         "oneDNN": prim_lib, "impl": mm.impl, "times_s": times})

    # which threading runtimes ended up in this process
    maps = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1] if len(line.split()) >= 6 else ""
            if any(s in os.path.basename(p) for s in ("gomp", "iomp", "libtbb.", "openblas",
                                                      "mkl_rt", "mkl_gnu", "libdnnl")):
                maps.add(p)
    say("\nthreading / BLAS libraries mapped in this process: " + ", ".join(sorted(maps)))
    say("threadpoolctl: " + "; ".join(f"{p['internal_api']} {p.get('threading_layer', '')} "
                                      f"{p['num_threads']} thr ({os.path.basename(p['filepath'])})"
                                      for p in threadpool_info()))
    say(f"OS threads in this process at the end: {len(os.listdir('/proc/self/task'))}")
    (all1, own1), (all0, own0) = cpu_busy(), busy0
    hz = os.sysconf("SC_CLK_TCK")
    say(f"other processes' CPU use during this subprocess: "
        f"{(all1 - all0 - (own1 - own0)) / hz / (time.perf_counter() - wall0):.2f} cores on "
        f"average (of {os.cpu_count()}): above ~0.1 the 2-thread rows measure the load too")
    limits.restore_original_limits()
    if args.json_part:
        with open(args.json_part, "w") as f:
            json.dump({"rows": rows, "text": out}, f)


class _Ctx(dict):
    """contexts for time_rounds: a fresh openblas_only() each time fastbp-ob runs."""

    def get(self, key, default=None):
        if key == "fastbp-ob":
            from fastbp import _gemm_backend
            return _gemm_backend.openblas_only()
        return default


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--wide-rounds", type=int, default=3,
                        help="rounds for the wide workload (its products take 10-100 ms)")
    parser.add_argument("--seconds", type=float, default=0.03,
                        help="time of one round of one candidate")
    parser.add_argument("--gomp-lib", default=os.environ.get("ONEDNN_GOMP_LIB"),
                        help="onednn-cpu-gomp's unpacked wheel directory or libdnnl.so.3")
    parser.add_argument("--json", help="write every row (times per round) here")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json-part", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    results = {"rows": [], "text": []}
    for n in [int(t) for t in args.threads.split(",") if t.strip()]:
        env = dict(os.environ, OMP_NUM_THREADS=str(n))
        env.setdefault("ONEDNN_VERBOSE", "none")  # 3.13 prints its info lines on errors
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            part = tmp.name
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(n), "--json-part", part,
               "--rounds", str(args.rounds), "--wide-rounds", str(args.wide_rounds),
               "--seconds", str(args.seconds)]
        if args.gomp_lib:
            cmd += ["--gomp-lib", args.gomp_lib]
        subprocess.run(cmd, env=env, check=True)
        with open(part) as f:
            got = json.load(f)
        os.unlink(part)
        results["rows"] += got["rows"]
        results["text"] += got["text"]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
