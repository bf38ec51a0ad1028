"""One training step, three ways: fastbp ``Net.train_step`` vs plain NumPy vs torch eager.

    python bench/bench_train_step.py [--repeats 7] [--seconds 0.2] [--threads 1 2]

(a) the teaching text's 2-2-2 sigmoid net, batch 1, MSELoss, SGD(lr=0.1);
(b) 784-256-256-10 with ReLU hidden layers, CrossEntropyLoss on the logits, batch 128,
    SGD(lr=0.01, momentum=0.9).
All float32, 1 thread everywhere by default (threadpoolctl caps both OpenBLAS copies and
OpenMP; torch gets set_num_threads), or each of --threads in turn.  Each repeat times a loop of calls sized to take --seconds; the
table gives the per-step min and median over the repeats, the implementations
interleaved repeat by repeat so a busy machine slows them alike, and each one's speed
relative to torch and to the NumPy step measured in this run (their time / its time: > 1
is faster).
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are left as the environment sets them (printed).
The NumPy baseline is the same step written plainly in NumPy, in float32.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import fastbp
from fastbp import SGD, CrossEntropyLoss, Layer, MSELoss, Net

try:
    import torch
except ImportError:  # the table then has no torch column
    torch = None


# --- plain NumPy: the same step, written for clarity ---------------------------------------

def numpy_net(net):
    """[(weight, bias, activation)] copies of a fastbp Net's parameters."""
    return [(layer.weight.copy(), layer.bias.copy(), layer.activation) for layer in net]


ACT = {None: lambda z: z, "sigmoid": lambda z: 1 / (1 + np.exp(-z)), "relu": lambda z: np.maximum(z, 0)}
ACT_GRAD = {None: lambda g, y: g, "sigmoid": lambda g, y: g * (1 - y) * y,
            "relu": lambda g, y: np.where(y > 0, g, 0)}


def mse_value_grad(out, target):
    diff = out - target
    return float(np.mean(diff * diff)), (2 / out.size) * diff


def cross_entropy_value_grad(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(labels)
    grad = np.exp(log_p)
    grad[np.arange(n), labels] -= 1
    return float(-log_p[np.arange(n), labels].mean()), grad / n


def numpy_step(layers, buffers, x, target, loss_value_grad, lr, momentum):
    outputs = [x]
    for weight, bias, act in layers:
        outputs.append(ACT[act](outputs[-1] @ weight.T + bias))
    loss, grad = loss_value_grad(outputs[-1], target)
    grads = []
    for k in reversed(range(len(layers))):
        weight, bias, act = layers[k]
        grad = ACT_GRAD[act](grad, outputs[k + 1])
        grads.append((grad.T @ outputs[k], grad.sum(axis=0)))
        grad = grad @ weight
    for (weight, bias, _), (g_w, g_b), buf in zip(layers, reversed(grads), buffers):
        for p, g, b in ((weight, g_w, buf[0]), (bias, g_b, buf[1])):
            if momentum:
                b *= momentum  # torch's first step sets buf = g; buffers start at 0, the same
                b += g
                g = b
            p -= lr * g
    return loss


# --- torch eager -----------------------------------------------------------------------------

def torch_sequential(net):
    modules = []
    for layer in net:
        lin = torch.nn.Linear(layer.in_features, layer.out_features)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.weight))
            lin.bias.copy_(torch.from_numpy(layer.bias))
        modules.append(lin)
        if layer.activation == "sigmoid":
            modules.append(torch.nn.Sigmoid())
        elif layer.activation == "relu":
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules)


def torch_stepper(net, loss_fn, make_optimizer, x, target):
    """One torch eager step of a copy of ``net``; make_optimizer(parameters) -> optimizer."""
    seq = torch_sequential(net)
    opt = make_optimizer(seq.parameters())
    tx, tt = torch.from_numpy(x), torch.from_numpy(target)

    def step():
        opt.zero_grad()
        loss = loss_fn(seq(tx), tt)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def compiled_only(net):
    """Make net.train_step fail rather than time the unfused five calls."""
    def unfused(*args):
        raise RuntimeError("train_step fell back to the unfused path; the benchmark times "
                           "the compiled one")
    net._unfused_train_step = unfused
    return net


# --- timing ----------------------------------------------------------------------------------

def per_call_times(steps: dict, repeats: int, seconds: float, fresh: dict | None = None,
                   max_calls: int | None = None) -> dict:
    """{name: [seconds per call, one per repeat]}, the implementations interleaved.  Each
    timed loop makes about ``seconds`` of calls (at most max_calls); fresh[name], when
    given, runs untimed before each loop (to start training again from the same state)."""
    fresh = fresh or {}
    loops = {}
    for name, step in steps.items():
        for _ in range(3):
            step()
        start = time.perf_counter()
        step()
        once = time.perf_counter() - start
        loops[name] = max(1, int(seconds / max(once, 1e-7)))
        if max_calls is not None:
            loops[name] = min(loops[name], max_calls)
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            n = loops[name]
            if name in fresh:
                fresh[name]()
            start = time.perf_counter()
            for _ in range(n):
                step()
            times[name].append((time.perf_counter() - start) / n)
    return times


def fmt(seconds):
    return f"{seconds * 1e6:10.2f} µs" if seconds < 1e-3 else f"{seconds * 1e3:10.3f} ms"


def speedup(base, ts):
    """base time / this time, of the mins and of the medians: > 1 is faster than base."""
    if base is None or base is ts:
        return f"{'':>17}"
    ratios = f"{min(base) / min(ts):.1f}x / {statistics.median(base) / statistics.median(ts):.1f}x"
    return f"{ratios:>17}"


def report(title, times):
    print(f"\n{title}")
    print(f"  {'':<22}{'min':>13}{'median':>14}   {'vs torch':^17} {'vs NumPy':^17}"
          "  (their time / this, min / median; > 1 is faster)")
    torch_times, numpy_times = times.get("torch eager"), times.get("NumPy")
    for name, ts in times.items():
        print(f"  {name:<22}{fmt(min(ts))}  {fmt(statistics.median(ts))}   "
              f"{speedup(torch_times, ts)} {speedup(numpy_times, ts)}")


def check_same_losses(steps):
    """Run each implementation 3 steps from the same weights; they must agree (float32)."""
    losses = {name: [step() for _ in range(3)] for name, step in steps.items()}
    first = next(iter(losses.values()))
    for name, values in losses.items():
        np.testing.assert_allclose(values, first, rtol=1e-4, err_msg=name)
    return first


def case_a(repeats, seconds):
    hidden, output = Layer(2, 2, "sigmoid"), Layer(2, 2, "sigmoid")
    hidden.weight, hidden.bias = [[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35]
    output.weight, output.bias = [[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60]
    x = np.array([[0.05, 0.10]], np.float32)
    t = np.array([[0.01, 0.99]], np.float32)

    def make_steps():
        net = Net([Layer(2, 2, "sigmoid"), Layer(2, 2, "sigmoid")])
        net.load_state_dict(Net([hidden, output]).state_dict())
        compiled_only(net)
        loss_fn, opt = MSELoss(), SGD(net, lr=0.1)
        layers = numpy_net(net)
        buffers = [(None, None) for _ in layers]  # no momentum
        steps = {"fastbp train_step": lambda: net.train_step(x, t, loss_fn, opt),
                 "NumPy": lambda: numpy_step(layers, buffers, x, t, mse_value_grad, 0.1, 0.0)}
        if torch is not None:
            steps["torch eager"] = torch_stepper(
                net, torch.nn.MSELoss(), lambda p: torch.optim.SGD(p, lr=0.1), x, t)
        return steps

    losses = check_same_losses(make_steps())
    print(f"\n(a) losses of the first 3 steps agree across implementations: {losses}")
    report("(a) 2-2-2 sigmoid, batch 1, MSE, SGD lr 0.1 (per step)",
           per_call_times(make_steps(), repeats, seconds))


def case_b(repeats, seconds):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    labels = rng.integers(0, 10, 128)

    def make_steps():
        net = Net([Layer(784, 256, "relu", seed=1), Layer(256, 256, "relu", seed=2),
                   Layer(256, 10, seed=3)])
        compiled_only(net)
        loss_fn, opt = CrossEntropyLoss(), SGD(net, lr=0.01, momentum=0.9)
        layers = numpy_net(net)
        buffers = [(np.zeros_like(w), np.zeros_like(b)) for w, b, _ in layers]
        steps = {"fastbp train_step": lambda: net.train_step(x, labels, loss_fn, opt),
                 "NumPy": lambda: numpy_step(layers, buffers, x, labels, cross_entropy_value_grad,
                                             0.01, 0.9)}
        if torch is not None:
            steps["torch eager"] = torch_stepper(
                net, torch.nn.CrossEntropyLoss(),
                lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9), x, labels)
        return steps

    losses = check_same_losses(make_steps())
    print(f"\n(b) losses of the first 3 steps agree across implementations: {losses}")
    report("(b) 784-256-256-10 ReLU, cross entropy, batch 128, SGD momentum 0.9 (per step)",
           per_call_times(make_steps(), repeats, seconds))


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.2, help="time per timed loop")
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    args = parser.parse_args()
    print(f"machine: {machine()}, {os.cpu_count()} logical CPUs; {platform.platform()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, fastbp {fastbp.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}")
    print("OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s" % (os.environ.get("OPENBLAS_CORETYPE"),
                                                        os.environ.get("OPENBLAS_L2_SIZE")))
    for threads in args.threads:
        with threadpool_limits(threads):
            if torch is not None:
                torch.set_num_threads(threads)
            pools = ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info())
            print(f"\nthreads: {threads} (pools: {pools}; "
                  f"torch {torch.get_num_threads() if torch else '-'})")
            print(f"repeats: {args.repeats}, each a loop of ~{args.seconds:g} s")
            case_a(args.repeats, args.seconds)
            case_b(args.repeats, args.seconds)


if __name__ == "__main__":
    main()
