"""Loss benchmark: value + gradient of every loss, fastbp vs the NumPy reference vs torch.

Elementwise losses over 10^7 float32 elements, cross entropy and nll at N = 100000,
C = 100; 1 and 2 threads (threadpoolctl for fastbp's OpenMP, torch.set_num_threads for
torch).  For each: min and median of the repeats of

  fastbp      the loss class: loss_fn(x, t) then loss_fn.backward() (validates, allocates
              the gradient; one kernel call computes value and gradient);
  kernel      the same kernel into preallocated arrays (what a fused training step pays),
              with its memory traffic in GB/s and as a fraction of a plain copy's;
  numpy       tests/reference.py's value and gradient functions (plain NumPy, float64);
  torch       torch.nn.functional.<loss>(x, t) then .backward() (when torch is installed).

Run:  python bench/bench_losses.py [--repeats 7] [--threads 1 2] [--only mse_loss ...]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import platform
import sys
import time

import numpy as np
import threadpoolctl

import fastbp
from fastbp import _losses
from fastbp._loss_kinds import LossKind

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import reference as ref  # noqa: E402

try:
    import torch
except ImportError:  # the table then has no torch column
    torch = None

N_ELEMENTS = 10**7
N_ROWS, N_CLASSES = 100_000, 100


def timings(fn, repeats, setup=None):
    """(min, median) seconds of fn() over `repeats` runs after one warm-up run."""
    times = []
    for k in range(repeats + 1):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        if k:
            times.append(time.perf_counter() - start)
    return min(times), float(np.median(times))


def parallel_copy(dst, src, pool, threads):
    """dst[:] = src with `threads` threads, each copying a contiguous slice (np.copyto
    releases the GIL): the bandwidth the same number of threads can reach."""
    bounds = np.linspace(0, src.size, threads + 1).astype(int)
    list(pool.map(lambda k: np.copyto(dst[bounds[k]:bounds[k + 1]], src[bounds[k]:bounds[k + 1]]),
                  range(threads)))


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def make_cases(rng):
    """(name, fastbp class instance, torch function or None, numpy value fn, numpy grad fn,
    input, target, kernel call into preallocated out, bytes the kernel moves)."""
    x = rng.standard_normal(N_ELEMENTS).astype(np.float32)
    t = rng.standard_normal(N_ELEMENTS).astype(np.float32)
    p = rng.uniform(0, 1, N_ELEMENTS).astype(np.float32)
    labels01 = (rng.uniform(0, 1, N_ELEMENTS) < 0.5).astype(np.float32)
    logits = (2 * rng.standard_normal((N_ROWS, N_CLASSES))).astype(np.float32)
    log_probs = ref.log_softmax(logits).astype(np.float32)
    classes = rng.integers(0, N_CLASSES, N_ROWS)
    grad = np.empty(N_ELEMENTS, np.float32)
    grad_nc = np.empty((N_ROWS, N_CLASSES), np.float32)
    E = LossKind
    mean = int(_losses.Reduction.REDUCTION_MEAN)
    elementwise_bytes = 3 * 4 * N_ELEMENTS  # read input and target, write the gradient
    class_bytes = 2 * 4 * N_ROWS * N_CLASSES + 8 * N_ROWS  # read logits, write the gradient
    nll_bytes = 4 * N_ROWS * N_CLASSES + 8 * N_ROWS + 64 * N_ROWS  # one cache line read a row

    def kernel(code, a, b, params=(), out=grad, **options):
        args = _losses.LossArgs(code, mean, a, b, params=params, **options)
        return lambda: _losses.value_grad(args, None, out)

    tf = torch.nn.functional if torch is not None else None
    return [
        ("l1_loss", fastbp.L1Loss(), tf and tf.l1_loss, ref.l1_loss, ref.l1_loss_grad, x, t,
         kernel(E.L1_LOSS, x, t), elementwise_bytes),
        ("mse_loss", fastbp.MSELoss(), tf and tf.mse_loss, ref.mse_loss, ref.mse_loss_grad, x, t,
         kernel(E.MSE_LOSS, x, t), elementwise_bytes),
        ("smooth_l1_loss", fastbp.SmoothL1Loss(), tf and tf.smooth_l1_loss, ref.smooth_l1_loss,
         ref.smooth_l1_loss_grad, x, t, kernel(E.SMOOTH_L1_LOSS, x, t, (1.0,)), elementwise_bytes),
        ("huber_loss", fastbp.HuberLoss(), tf and tf.huber_loss, ref.huber_loss,
         ref.huber_loss_grad, x, t, kernel(E.HUBER_LOSS, x, t, (1.0,)), elementwise_bytes),
        ("binary_cross_entropy", fastbp.BCELoss(), tf and tf.binary_cross_entropy,
         ref.binary_cross_entropy, ref.binary_cross_entropy_grad, p, labels01,
         kernel(E.BINARY_CROSS_ENTROPY, p, labels01), elementwise_bytes),
        ("binary_cross_entropy_with_logits", fastbp.BCEWithLogitsLoss(),
         tf and tf.binary_cross_entropy_with_logits, ref.binary_cross_entropy_with_logits,
         ref.binary_cross_entropy_with_logits_grad, x, labels01,
         kernel(E.BINARY_CROSS_ENTROPY_WITH_LOGITS, x, labels01), elementwise_bytes),
        ("cross_entropy", fastbp.CrossEntropyLoss(), tf and tf.cross_entropy, ref.cross_entropy,
         ref.cross_entropy_grad, logits, classes,
         kernel(E.CROSS_ENTROPY, logits, classes, out=grad_nc),
         class_bytes),
        ("nll_loss", fastbp.NLLLoss(), tf and tf.nll_loss, ref.nll_loss, ref.nll_loss_grad,
         log_probs, classes,
         kernel(E.NLL_LOSS, log_probs, classes, out=grad_nc),
         nll_bytes),
    ]


def run(args):
    rng = np.random.default_rng(0)
    cases = [c for c in make_cases(rng) if not args.only or c[0] in args.only]
    src = np.ones(N_ELEMENTS, np.float32)
    dst = np.empty_like(src)
    print(f"machine: {machine()}")
    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
          f"fastbp {fastbp.__version__}; float32; {args.repeats} repeats after a warm-up; "
          "times in ms as min / median")
    print("The machine may be shared: read the ratios, measured in the same run, before the "
          "absolute times.\n")
    header = ("| loss | threads | fastbp class | kernel | kernel GB/s (% of copy) | numpy reference "
              "| torch | torch / fastbp |")
    rows = [header, "|" + "---|" * 8]
    pool = concurrent.futures.ThreadPoolExecutor(max(args.threads))
    for threads in args.threads:
        with threadpoolctl.threadpool_limits(limits=threads):
            if torch is not None:
                torch.set_num_threads(threads)
            copy_min, copy_med = timings(lambda: parallel_copy(dst, src, pool, threads),
                                         args.repeats)
            copy_gbs = 2 * src.nbytes / copy_min / 1e9
            rows.append(f"| (memory copy, 10^7 float32) | {threads} | | {copy_min * 1e3:.2f} / "
                        f"{copy_med * 1e3:.2f} | {copy_gbs:.1f} (100%) | | | |")
            for name, loss_fn, torch_fn, ref_value, ref_grad, a, b, kernel, nbytes in cases:
                def fastbp_step():
                    loss_fn(a, b)
                    loss_fn.backward()
                fb = timings(fastbp_step, args.repeats)
                kn = timings(kernel, args.repeats)
                gbs = nbytes / kn[0] / 1e9
                np_t = (timings(lambda: (ref_value(a, b), ref_grad(a, b)), args.numpy_repeats)
                        if args.numpy_repeats else None)
                cell_np = f"{np_t[0] * 1e3:.1f} / {np_t[1] * 1e3:.1f}" if np_t else "-"
                if torch_fn is not None:
                    ta = torch.from_numpy(a).requires_grad_(True)
                    tb = torch.from_numpy(b)

                    def torch_step():
                        torch_fn(ta, tb).backward()

                    def torch_reset():  # backward accumulates: start each run from no .grad
                        ta.grad = None
                    th = timings(torch_step, args.repeats, setup=torch_reset)
                    cell_torch = f"{th[0] * 1e3:.1f} / {th[1] * 1e3:.1f}"
                    ratio = f"{th[0] / fb[0]:.2f}x"
                else:
                    cell_torch, ratio = "-", "-"
                rows.append(f"| {name} | {threads} | {fb[0] * 1e3:.1f} / {fb[1] * 1e3:.1f} | "
                            f"{kn[0] * 1e3:.1f} / {kn[1] * 1e3:.1f} | {gbs:.1f} "
                            f"({100 * gbs / copy_gbs:.0f}%) | {cell_np} | {cell_torch} | {ratio} |")
                print(rows[-1], flush=True)
    print("\n" + "\n".join(rows))
    print("\nkernel GB/s counts the bytes a one-pass kernel must move (elementwise: read input "
          "and target, write the gradient, 12 bytes per element; cross entropy: read the logits "
          "and targets, write the gradient; nll: write the gradient, read the targets and one "
          "cache line of logits per row); the copy (np.copyto of 10^7 float32, "
          "split over the same number of threads) moves 8 bytes per element. torch / fastbp is "
          "min over min, fastbp being the class (allocation and validation included).")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--numpy-repeats", type=int, default=3,
                        help="repeats of the (slow, float64) NumPy reference; 0 skips it")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", nargs="+", help="loss names to run")
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
