"""Optimizers: fastbp Adam/AdamW in a training step and over 10^7 parameters, vs torch.

    python bench/bench_optim.py [--repeats 7] [--seconds 0.2] [--threads 1 2] [--quick]

W1: the teaching text's 2-2-2 sigmoid net, batch 1, MSELoss: fastbp ``train_step`` with
    Adam(lr=1e-3) vs torch eager (torch.optim.Adam, foreach=False) and vs fastbp's own
    SGD ``train_step`` (lr 0.1); each timed loop of fastbp's trains from the text's
    weights and a new optimizer state, for up to 20,000 steps.
W3: 784-256-256-10 ReLU, CrossEntropyLoss on the logits, batch 128: fastbp ``train_step``
    with AdamW(lr=1e-3) vs torch eager AdamW (foreach=False).
U:  one optimizer update over 10^7 float32 parameters (one tensor): fastbp Adam.step()
    (one kernel call); its bandwidth for the compulsory traffic (read
    p, g, m, v; write p, m, v: 28 bytes a parameter) against a plain copy's (np.copyto,
    8 bytes an element) in the same run; torch Adam foreach=True and foreach=False.
All float32, at each thread count given (threadpoolctl caps OpenBLAS, torch gets
set_num_threads).  Timing, tables and ratios as in bench_train_step.py (their time / this
time, min / median over the repeats: > 1 is faster).  --quick: 2 repeats of short loops and
10^6 parameters for U, to check that the script runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train_step import fmt, machine, per_call_times, torch_stepper  # noqa: E402

import fastbp  # noqa: E402
from fastbp import SGD, Adam, AdamW, CrossEntropyLoss, Layer, MSELoss, Net  # noqa: E402

try:
    import torch
except ImportError:  # the tables then have no torch rows
    torch = None


def ratio(base, ts):
    """base time / this time, of the mins and of the medians: > 1 is faster than base."""
    if base is None or base is ts:
        return ""
    return f"{min(base) / min(ts):.3g}x / {np.median(base) / np.median(ts):.3g}x"


def table(title, times, baselines):
    """One row per implementation; a ratio column per baseline name."""
    print(f"\n{title}")
    header = "".join(f"{'vs ' + b:>28}" for b in baselines)
    print(f"  {'':<28}{'min':>13}{'median':>14} {header}")
    for name, ts in times.items():
        ratios = "".join(f"{ratio(times.get(b), ts):>28}" for b in baselines)
        print(f"  {name:<28}{fmt(min(ts))}  {fmt(float(np.median(ts)))} {ratios}")


W1_STEPS = 20000  # a loop's training run: far from the subnormal regime


def w1(repeats, seconds):
    x = np.array([[0.05, 0.10]], np.float32)
    t = np.array([[0.01, 0.99]], np.float32)

    def teaching_net():
        hidden, output = Layer(2, 2, "sigmoid"), Layer(2, 2, "sigmoid")
        hidden.weight, hidden.bias = [[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35]
        output.weight, output.bias = [[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60]
        return Net([hidden, output])

    net_adam, net_sgd = teaching_net(), teaching_net()
    loss_fn = MSELoss()
    adam, sgd = Adam(net_adam, lr=1e-3), SGD(net_sgd, lr=0.1)
    steps = {"fastbp Adam train_step": lambda: net_adam.train_step(x, t, loss_fn, adam),
             "fastbp SGD train_step": lambda: net_sgd.train_step(x, t, loss_fn, sgd)}

    def restart(net, optimizer):
        """Back to the text's weights and a new optimizer state: each timed loop trains
        from the start (past ~10^5 steps Adam's float32 state turns subnormal, which the
        hardware computes slowly)."""
        weights, state = net.state_dict(), optimizer.state_dict()
        return lambda: (net.load_state_dict(weights), optimizer.load_state_dict(state))

    fresh = {"fastbp Adam train_step": restart(net_adam, adam),
             "fastbp SGD train_step": restart(net_sgd, sgd)}
    if torch is not None:
        steps["torch eager Adam"] = torch_stepper(
            teaching_net(), torch.nn.MSELoss(),
            lambda p: torch.optim.Adam(p, lr=1e-3, foreach=False), x, t)
    table("W1: 2-2-2 sigmoid, batch 1, MSE (per step, each loop from the text's weights, "
          f"up to {W1_STEPS} steps)",
          per_call_times(steps, repeats, seconds, fresh=fresh, max_calls=W1_STEPS),
          ["torch eager Adam", "fastbp SGD train_step"])


def w3(repeats, seconds):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 128)

    def make_net():
        return Net([Layer(784, 256, "relu", seed=1), Layer(256, 256, "relu", seed=2),
                    Layer(256, 10, seed=3)])

    net = make_net()
    loss_fn, opt = CrossEntropyLoss(), AdamW(net, lr=1e-3)
    steps = {"fastbp AdamW train_step": lambda: net.train_step(x, labels, loss_fn, opt)}
    if torch is not None:
        steps["torch eager AdamW"] = torch_stepper(
            make_net(), torch.nn.CrossEntropyLoss(),
            lambda p: torch.optim.AdamW(p, lr=1e-3, foreach=False), x, labels)
    table("W3: 784-256-256-10 ReLU, cross entropy, batch 128 (per step)",
          per_call_times(steps, repeats, seconds), ["torch eager AdamW"])


def update(repeats, seconds, n):
    rng = np.random.default_rng(0)
    p = rng.standard_normal(n).astype(np.float32)
    g = rng.standard_normal(n).astype(np.float32)
    opt = Adam([(p, g)], lr=1e-6)  # a tiny lr keeps p from drifting over many repeats
    src, dst = rng.standard_normal(n).astype(np.float32), np.empty(n, np.float32)
    steps = {"np.copyto (bandwidth)": lambda: np.copyto(dst, src),
             "fastbp Adam.step()": opt.step}  # one kernel call: its Python cost is ~1 µs
    if torch is not None:
        for foreach in (True, False):
            tp = torch.from_numpy(p.copy()).requires_grad_()
            tp.grad = torch.from_numpy(g.copy())
            steps[f"torch Adam foreach={foreach}"] = torch.optim.Adam(
                [tp], lr=1e-6, foreach=foreach).step
    times = per_call_times(steps, repeats, seconds)
    table(f"U: one Adam update of {n:.0e} float32 parameters",
          times, ["torch Adam foreach=True", "torch Adam foreach=False"])
    copy_gbs = 8 * n / min(times["np.copyto (bandwidth)"]) / 1e9
    print(f"  copy bandwidth {copy_gbs:.2f} GB/s (8 bytes an element)")
    gbs = 28 * n / min(times["fastbp Adam.step()"]) / 1e9
    print(f"  fastbp Adam.step(): {gbs:.2f} GB/s of compulsory traffic (28 bytes a parameter) "
          f"= {100 * gbs / copy_gbs:.0f}% of the copy's")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.2, help="time per timed loop")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--quick", action="store_true", help="a short run that checks the script")
    args = parser.parse_args()
    n = 10**7
    if args.quick:
        args.repeats, args.seconds, n = 2, 0.02, 10**6
    print(f"machine: {machine()}, {os.cpu_count()} logical CPUs; {platform.platform()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, fastbp {fastbp.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}")
    print(f"repeats: {args.repeats}, each a loop of ~{args.seconds:g} s; {time.strftime('%c')}")
    for threads in args.threads:
        with threadpool_limits(threads):
            if torch is not None:
                torch.set_num_threads(threads)
            print(f"\n===== threads: {threads} =====")
            w1(args.repeats, args.seconds)
            w3(args.repeats, args.seconds)
            update(args.repeats, args.seconds, n)


if __name__ == "__main__":
    main()
