"""The six training workloads, fastbp vs torch eager vs NumPy (and jax.jit where installed).

    python bench/bench_workloads.py [--threads 1 2] [--rounds 7] [--seconds 0.3]
                                    [--only small,mlp,...] [--json out.json]

Workloads (float32; a step = forward, loss, backward, SGD momentum 0.9):
  text     2-2-2 sigmoid, MSE, batch 1
  small    64-64-10 sigmoid, cross entropy, batch 32
  mlp      784-256-256-10 ReLU, cross entropy, batch 128
  wide     1024-4096-4096-1024 sigmoid, MSE, batch 512
  epoch    one shuffled epoch of 60,000 x 784 through 784-256-10 ReLU, CE, batch 64
           (fastbp: Net.fit when it exists, else train_step on x[order[k:k+64]];
           torch: randperm indexing; NumPy: the same gather)
With the mkl extra installed, 'fastbp-ob' is fastbp with every product on scipy's OpenBLAS
(fastbp._gemm_backend.openblas_only), in the same rounds.
Plus the machine's roofs in the same run: sgemm 2048^3 (NumPy's BLAS) and a 256 MiB copy.

Rounds interleave the implementations (a busy machine slows them alike); the table gives
min and median per step over the rounds and, per round, torch's time / fastbp's.
Threads: threadpoolctl caps both OpenBLAS copies and OpenMP; torch.set_num_threads; and
every thread of the process is pinned to that many CPUs (Linux), since XLA's pool, which
jax.jit runs on, takes neither cap.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are left as set (printed); unset them on the
command line only, e.g. `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python ...`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train_step import (compiled_only, cross_entropy_value_grad, machine,  # noqa: E402
                              mse_value_grad, numpy_net, numpy_step, torch_stepper)

import fastbp  # noqa: E402
from fastbp import _gemm_backend  # noqa: E402
from fastbp import SGD, CrossEntropyLoss, Layer, MSELoss, Net  # noqa: E402

try:
    import torch
except ImportError:
    torch = None
try:
    import jax
    import jax.numpy as jnp
except ImportError:
    jax = None

LR, MOMENTUM = 0.01, 0.9
STEP_WORKLOADS = {
    # name: (sizes, hidden activation, loss, batch)
    "text": ((2, 2, 2), "sigmoid", "mse", 1),
    "small": ((64, 64, 10), "sigmoid", "ce", 32),
    "mlp": ((784, 256, 256, 10), "relu", "ce", 128),
    "wide": ((1024, 4096, 4096, 1024), "sigmoid", "mse", 512),
}
EPOCH = dict(n=60_000, sizes=(784, 256, 10), batch=64)


def make_net(sizes, act, last_act, seed=0):
    return Net([Layer(i, o, act if k < len(sizes) - 2 else last_act, seed=seed + k)
                for k, (i, o) in enumerate(zip(sizes[:-1], sizes[1:]))])


def data(sizes, loss, batch, rng):
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    if loss == "ce":
        return x, rng.integers(0, sizes[-1], batch)
    return x, rng.random((batch, sizes[-1])).astype(np.float32)


def jax_stepper(net, loss, x, target):
    """The same step under jax.jit (SGD momentum by hand, as torch's rule)."""
    params = [(jnp.asarray(l.weight), jnp.asarray(l.bias)) for l in net]
    acts = [l.activation for l in net]
    act_fn = {None: lambda z: z, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu}

    def loss_of(params, x, t):
        for (w, b), a in zip(params, acts):
            x = act_fn[a](x @ w.T + b)
        if loss == "ce":
            return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(x), t[:, None], 1))
        return jnp.mean((x - t) ** 2)

    @jax.jit
    def step(params, bufs, x, t):
        value, grads = jax.value_and_grad(loss_of)(params, x, t)
        bufs = jax.tree_util.tree_map(lambda b, g: MOMENTUM * b + g, bufs, grads)
        params = jax.tree_util.tree_map(lambda p, b: p - LR * b, params, bufs)
        return params, bufs, value

    state = [params, jax.tree_util.tree_map(jnp.zeros_like, params)]
    jx, jt = jnp.asarray(x), jnp.asarray(target)

    def run():
        state[0], state[1], value = step(state[0], state[1], jx, jt)
        return float(value)
    return run


def with_openblas_twin(steps):
    """With MKL behind the large products, also time fastbp on scipy's OpenBLAS alone
    ('fastbp-ob'), the same net in the same rounds (measure() switches the library around
    its timed loop, not around each step)."""
    if _gemm_backend.state()["library"] == "mkl":
        steps = {"fastbp": steps["fastbp"], "fastbp-ob": steps["fastbp"],
                 **{k: v for k, v in steps.items() if k != "fastbp"}}
    return steps


def gemm_library(impl):
    return _gemm_backend.openblas_only() if impl == "fastbp-ob" else contextlib.nullcontext()


def step_workload(name):
    sizes, act, loss, batch = STEP_WORKLOADS[name]
    x, target = data(sizes, loss, batch, np.random.default_rng(0))
    net = compiled_only(make_net(sizes, act, act if loss == "mse" else None))
    loss_fn = MSELoss() if loss == "mse" else CrossEntropyLoss()
    opt = SGD(net, lr=LR, momentum=MOMENTUM)
    layers = numpy_net(net)
    bufs = [(np.zeros_like(w), np.zeros_like(b)) for w, b, _ in layers]
    value_grad = mse_value_grad if loss == "mse" else cross_entropy_value_grad
    steps = {"fastbp": lambda: net.train_step(x, target, loss_fn, opt),
             "NumPy": lambda: numpy_step(layers, bufs, x, target, value_grad, LR, MOMENTUM)}
    if torch is not None:
        tloss = torch.nn.MSELoss() if loss == "mse" else torch.nn.CrossEntropyLoss()
        steps["torch"] = torch_stepper(
            net, tloss, lambda params: torch.optim.SGD(params, lr=LR, momentum=MOMENTUM), x, target)
    if jax is not None:
        steps["jax.jit"] = jax_stepper(net, loss, x, target)
    return with_openblas_twin(steps)


def epoch_workload():
    rng = np.random.default_rng(0)
    n, sizes, batch = EPOCH["n"], EPOCH["sizes"], EPOCH["batch"]
    x = rng.standard_normal((n, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], n)
    net = compiled_only(make_net(sizes, "relu", None))
    loss_fn, opt = CrossEntropyLoss(), SGD(net, lr=LR, momentum=MOMENTUM)
    order_rng = np.random.default_rng(1)

    if hasattr(net, "fit"):
        def fastbp_epoch():
            net.fit(x, y, loss_fn, opt, epochs=1, batch_size=batch, seed=1, progress=False)
    else:
        def fastbp_epoch():
            order = order_rng.permutation(n)
            for k in range(0, n, batch):
                b = order[k:k + batch]
                net.train_step(x[b], y[b], loss_fn, opt)

    layers = numpy_net(net)
    bufs = [(np.zeros_like(w), np.zeros_like(b)) for w, b, _ in layers]

    def numpy_epoch():
        order = order_rng.permutation(n)
        for k in range(0, n, batch):
            b = order[k:k + batch]
            numpy_step(layers, bufs, x[b], y[b], cross_entropy_value_grad, LR, MOMENTUM)

    steps = {"fastbp": fastbp_epoch, "NumPy": numpy_epoch}
    if torch is not None:
        seq = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                  torch.nn.Linear(256, 10))
        topt = torch.optim.SGD(seq.parameters(), lr=LR, momentum=MOMENTUM)
        tloss = torch.nn.CrossEntropyLoss()
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_epoch():
            order = torch.randperm(n)
            for k in range(0, n, batch):
                b = order[k:k + batch]
                topt.zero_grad()
                tloss(seq(tx[b]), ty[b]).backward()
                topt.step()
        steps["torch"] = torch_epoch
    return with_openblas_twin(steps)


@contextlib.contextmanager
def on_cpus(count):
    """Every thread of this process (and those it starts) on the first `count` CPUs it may
    use, then back: the only cap that jax.jit's XLA pool obeys.  No-op off Linux."""
    if not hasattr(os, "sched_setaffinity") or not os.path.isdir("/proc/self/task"):
        yield
        return
    allowed = sorted(os.sched_getaffinity(0))

    def pin(cpus):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError):  # a thread that ended meanwhile
                os.sched_setaffinity(int(tid), cpus)
    pin(set(allowed[:count]))
    try:
        yield
    finally:
        pin(set(allowed))


def roofs():
    """sgemm 2048^3 GFLOP/s and 256 MiB copy GB/s, best of 5 (NumPy's BLAS and memcpy)."""
    a = np.ones((2048, 2048), np.float32)
    src = np.ones(64 * 2**20, np.float32)
    dst = np.empty_like(src)
    gemm, copy = [], []
    for _ in range(5):
        t = time.perf_counter()
        a @ a
        gemm.append(2 * 2048**3 / (time.perf_counter() - t) / 1e9)
        t = time.perf_counter()
        np.copyto(dst, src)
        copy.append(2 * src.nbytes / (time.perf_counter() - t) / 1e9)
    return {"sgemm_2048_gflops": max(gemm), "copy_256MiB_GBps": max(copy)}


def measure(steps, rounds, seconds):
    """{impl: [seconds per call per round]}, implementations interleaved round by round."""
    loops = {}
    for name, step in steps.items():
        with gemm_library(name):
            step()
            t = time.perf_counter()
            step()
            loops[name] = max(1, int(seconds / max(time.perf_counter() - t, 1e-7)))
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            with gemm_library(name):
                t = time.perf_counter()
                for _ in range(loops[name]):
                    step()
                times[name].append((time.perf_counter() - t) / loops[name])
    return times


def fmt(s):
    return f"{s * 1e6:.2f} µs" if s < 1e-3 else f"{s * 1e3:.2f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3, help="time per timed loop")
    parser.add_argument("--only", default=",".join([*STEP_WORKLOADS, "epoch"]))
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    print(f"machine: {machine()}, {os.cpu_count()} logical CPUs; fastbp {fastbp.__version__}, "
          f"numpy {np.__version__}, torch {torch.__version__ if torch else '-'}, "
          f"jax {jax.__version__ if jax else '-'}")
    print(f"GEMM: {_gemm_backend.state()}")
    print("OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s" % (os.environ.get("OPENBLAS_CORETYPE"),
                                                        os.environ.get("OPENBLAS_L2_SIZE")))
    results = []
    for threads in args.threads:
        with threadpool_limits(threads), on_cpus(threads):
            if torch is not None:
                torch.set_num_threads(threads)
            roof = roofs()
            print(f"\nthreads {threads}: sgemm 2048^3 {roof['sgemm_2048_gflops']:.0f} GFLOP/s, "
                  f"copy {roof['copy_256MiB_GBps']:.1f} GB/s")
            print(f"  {'workload':<9}{'impl':<9}{'min':>12}{'median':>12}{'torch/this':>16}")
            for name in args.only.split(","):
                steps = epoch_workload() if name == "epoch" else step_workload(name)
                seconds = args.seconds * (5 if name == "epoch" else 1)
                times = measure(steps, max(3, args.rounds // (2 if name == "epoch" else 1)),
                                seconds)
                for impl, ts in times.items():
                    row = {"threads": threads, "workload": name, "impl": impl,
                           "min_s": min(ts), "median_s": statistics.median(ts), **roof}
                    ratio = ""
                    if "torch" in times:
                        per_round = [a / b for a, b in zip(times["torch"], ts)]
                        row["torch_over_this_min"] = min(times["torch"]) / min(ts)
                        row["torch_over_this_median_of_rounds"] = statistics.median(per_round)
                        ratio = (f"{row['torch_over_this_min']:.2f}x/"
                                 f"{row['torch_over_this_median_of_rounds']:.2f}x")
                    print(f"  {name:<9}{impl:<9}{fmt(min(ts)):>12}"
                          f"{fmt(statistics.median(ts)):>12}{ratio:>16}")
                    results.append(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
