"""Net.fit against hand-written loops and torch, and ``python -m fastbp train`` on the digits
against scikit-learn's MLPClassifier.

    python bench/bench_fit.py [--samples 60000] [--repeats 3] [--threads 1,2] [--digits-epochs 30]

(a) One epoch over N x 784 random float32 samples (10 classes), 784-256-10 ReLU,
    CrossEntropyLoss, batch 64, SGD(lr=0.01, momentum=0.9), shuffled:
    - ``Net.fit(progress=False)``;
    - the plain Python loop fit runs (``rng.permutation`` + ``train_step(x[b], y[b])``);
    - bare ``train_step`` calls on the same batches gathered beforehand (no gather);
    - torch: the idiomatic loop (DataLoader over a TensorDataset, shuffle=True) and the
      loop with ``torch.randperm`` indexing.
    The table: min and median seconds per epoch over the repeats (implementations
    interleaved repeat by repeat), fit's speed relative to each torch loop (their time / its
    time), and fit's overhead over the two train_step loops.
(b) ``python -m fastbp train`` (bundled digits, its defaults: 64-64-10 ReLU, Adam lr 1e-3,
    batch 32, random 20% validation split with seed 0, float32) as a subprocess: wall
    time, fit time and validation accuracy as it prints them; then scikit-learn's
    MLPClassifier (hidden (64,), adam, lr 1e-3, batch 32, the same epochs, float32 input,
    the same split and standardization): fit time and validation accuracy.
Thread counts apply to every BLAS pool (threadpoolctl), torch (set_num_threads) and the
subprocess (OPENBLAS_NUM_THREADS / OMP_NUM_THREADS).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

import fastbp
from bench_train_step import machine  # this folder is on sys.path when run as a script
from fastbp import SGD, CrossEntropyLoss, Layer, Net

try:
    import torch
except ImportError:
    torch = None

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")


# --- (a) one epoch ---------------------------------------------------------------------------

BATCH, LR, MOMENTUM = 64, 0.01, 0.9


def fastbp_net():
    return Net([Layer(784, 256, "relu", seed=0), Layer(256, 10, seed=1)])


def run_fit(x, y):
    net = fastbp_net()
    opt, loss_fn = SGD(net, lr=LR, momentum=MOMENTUM), CrossEntropyLoss()

    def epoch():
        net.fit(x, y, loss_fn, opt, epochs=1, batch_size=BATCH, seed=0, progress=False,
                restore_best=False)
    return epoch


def run_python_loop(x, y):
    """What fit does per batch, written out: the permutation, the gather, the step."""
    net = fastbp_net()
    opt, loss_fn = SGD(net, lr=LR, momentum=MOMENTUM), CrossEntropyLoss()

    def epoch():
        order = np.random.default_rng(0).permutation(len(x))
        for k in range(0, len(x), BATCH):
            b = order[k:k + BATCH]
            net.train_step(x[b], y[b], loss_fn, opt)
    return epoch


def run_bare_steps(x, y):
    """train_step alone: the same batches, gathered before the clock starts."""
    net = fastbp_net()
    opt, loss_fn = SGD(net, lr=LR, momentum=MOMENTUM), CrossEntropyLoss()
    order = np.random.default_rng(0).permutation(len(x))
    batches = [(x[order[k:k + BATCH]], y[order[k:k + BATCH]]) for k in range(0, len(x), BATCH)]

    def epoch():
        for xb, yb in batches:
            net.train_step(xb, yb, loss_fn, opt)
    return epoch


def torch_model():
    net = fastbp_net()
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    with torch.no_grad():
        for lin, layer in zip((model[0], model[2]), net):
            lin.weight.copy_(torch.from_numpy(layer.weight))
            lin.bias.copy_(torch.from_numpy(layer.bias))
    return model, torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM), \
        torch.nn.CrossEntropyLoss()


def run_torch_dataloader(x, y):
    model, opt, loss_fn = torch_model()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
        batch_size=BATCH, shuffle=True)

    def epoch():
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
    return epoch


def run_torch_randperm(x, y):
    model, opt, loss_fn = torch_model()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        order = torch.randperm(len(tx))
        for k in range(0, len(tx), BATCH):
            b = order[k:k + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(tx[b]), ty[b])
            loss.backward()
            opt.step()
    return epoch


def one_epoch(samples, repeats, threads):
    rng = np.random.default_rng(0)
    x = rng.random((samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, samples)
    runs = {"Net.fit": run_fit, "python loop over train_step (x[b])": run_python_loop,
            "bare train_step, batches pre-gathered": run_bare_steps}
    if torch is not None:
        runs["torch DataLoader(shuffle=True)"] = run_torch_dataloader
        runs["torch randperm indexing"] = run_torch_randperm
    epochs = {name: make(x, y) for name, make in runs.items()}
    times = {name: [] for name in runs}
    for epoch in epochs.values():  # warm-up: workspaces, torch's first-call costs
        epoch()
    for _ in range(repeats):
        for name, epoch in epochs.items():
            t = time.perf_counter()
            epoch()
            times[name].append(time.perf_counter() - t)
    print(f"\n(a) one epoch, {samples} x 784 float32, 784-256-10 ReLU, CE, batch {BATCH}, "
          f"SGD momentum {MOMENTUM}; {threads} thread(s); {repeats} repeats")
    fit = min(times["Net.fit"])
    for name, ts in times.items():
        print(f"  {name:<40} min {min(ts):8.3f} s   median {statistics.median(ts):8.3f} s   "
              f"{samples / min(ts):>10,.0f} samples/s")
    for name in ("torch DataLoader(shuffle=True)", "torch randperm indexing"):
        if name in times:
            print(f"  Net.fit vs {name}: {min(times[name]) / fit:.2f}x")
    for name in ("python loop over train_step (x[b])", "bare train_step, batches pre-gathered"):
        print(f"  fit's overhead over {name}: {100 * (fit / min(times[name]) - 1):+.1f}%")


# --- (b) the digits ------------------------------------------------------------------------------

def cli_digits(epochs, threads):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "fastbp", "train", "--epochs", str(epochs)],
                       capture_output=True, text=True, env=env, check=True)
    wall = time.perf_counter() - t
    fit = float(re.search(r"epochs in ([\d.]+) s", r.stdout).group(1))
    acc = float(re.search(r"^validation\s+\S+\s+([\d.]+)%", r.stdout, re.M).group(1)) / 100
    return wall, fit, acc


def sklearn_digits(epochs):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from fastbp.datasets import load_digits
    x, y = load_digits()  # float32: MLPClassifier then trains in float32
    n = len(y)
    n_train = n - int(n * 0.2)
    order = np.random.default_rng(0).permutation(n)  # the CLI's split (seed 0)
    x, y = x[order], y[order]
    mean = x[:n_train].astype(np.float64).mean(axis=0)
    std = x[:n_train].astype(np.float64).std(axis=0)
    std[std == 0] = 1.0
    x = ((x - mean) / std).astype(np.float32)
    clf = MLPClassifier(hidden_layer_sizes=(64,), solver="adam", learning_rate_init=1e-3,
                        batch_size=32, max_iter=epochs, shuffle=True, random_state=0, tol=0.0,
                        n_iter_no_change=epochs + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t = time.perf_counter()
        clf.fit(x[:n_train], y[:n_train])
        fit = time.perf_counter() - t
    return fit, clf.score(x[n_train:], y[n_train:])


def digits(epochs, threads, repeats):
    print(f"\n(b) the digits, {epochs} epochs, {threads} thread(s); best of {repeats}")
    cli = [cli_digits(epochs, threads) for _ in range(repeats)]
    wall, fit, acc = min(cli)
    print(f"  python -m fastbp train: wall {wall:.2f} s, fit {min(c[1] for c in cli):.3f} s, "
          f"validation accuracy {acc:.2%}")
    try:
        import sklearn
    except ImportError:
        print("  scikit-learn not installed: no comparison")
        return
    with threadpool_limits(threads):
        sk = [sklearn_digits(epochs) for _ in range(repeats)]
    sk_fit, sk_acc = min(sk)
    print(f"  sklearn {sklearn.__version__} MLPClassifier: fit {sk_fit:.3f} s, validation "
          f"accuracy {sk_acc:.2%}")
    print(f"  fastbp's training part {sk_fit / min(c[1] for c in cli):.1f}x faster than "
          f"scikit-learn's fit")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--digits-epochs", type=int, default=30)
    args = parser.parse_args()
    print(f"machine: {machine()}, {os.cpu_count()} logical CPUs; {platform.platform()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, fastbp {fastbp.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}")
    for threads in (int(t) for t in args.threads.split(",")):
        with threadpool_limits(threads):
            if torch is not None:
                torch.set_num_threads(threads)
            one_epoch(args.samples, args.repeats, threads)
        digits(args.digits_epochs, threads, args.repeats)


if __name__ == "__main__":
    main()
