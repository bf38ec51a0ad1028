"""Activation benchmark: forward + backward of the v2 activations, fastbp vs torch.

Over 10^7 float32 elements, at 1 and 2 threads (threadpoolctl for fastbp's OpenMP,
torch.set_num_threads for torch).  For each activation, min and median of the repeats of

  fastbp      F.<name>(x) then F.<name>_backward(gy, x) (validation, fresh outputs);
  kernel      the same two kernels into preallocated arrays (what a Layer's step pays);
  torch       torch.ops.aten's forward and backward kernels (F.<name>(x) and
              torch.ops.aten.<name>_backward(gy, x, ...), what autograd runs), when torch
              is installed;
  torch out=  the same two torch kernels into preallocated tensors (their .out and
              .grad_input overloads): kernel against kernel;

and the speed-ups torch/kernel (goal: >= 2x; what a training step pays in each, a Layer
reusing its arrays, autograd allocating) and torch out=/kernel.  Then GELU's forward kernel against a plain
copy of the same array (np.copyto, on as many threads; goal: within 2x).

Run:  python bench/bench_activations.py [--repeats 7] [--threads 1 2] [--n 10000000]
                                        [--only gelu silu ...]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys

import numpy as np
import threadpoolctl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_losses import machine, parallel_copy, timings  # noqa: E402

from fastbp import _activations  # noqa: E402
from fastbp import _validate as v  # noqa: E402
from fastbp import functional as F  # noqa: E402

try:
    import torch
except ImportError:  # the table then has no torch column
    torch = None

# name, options (fastbp and torch take the same keywords)
ACTIVATIONS = [("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}),
               ("leaky_relu", {}), ("elu", {}), ("softplus", {})]


def torch_pair(name, options):
    """(forward, backward) of torch's ATen kernels for this activation."""
    aten, tf = torch.ops.aten, torch.nn.functional
    forward = (lambda x: getattr(tf, name)(x, **options))
    if name == "gelu":
        approximate = options.get("approximate", "none")
        return forward, lambda gy, x: aten.gelu_backward(gy, x, approximate=approximate)
    if name == "silu":
        return forward, aten.silu_backward
    if name == "leaky_relu":
        return forward, lambda gy, x: aten.leaky_relu_backward(gy, x, 0.01, False)
    if name == "elu":
        return forward, lambda gy, x: aten.elu_backward(gy, 1.0, 1, 1, False, x)
    return forward, lambda gy, x: aten.softplus_backward(gy, x, 1.0, 20.0)


def torch_pair_into(name, options, y, gx):
    """(forward, backward) of the same ATen kernels writing into y and gx."""
    aten = torch.ops.aten
    if name == "gelu":
        approximate = options.get("approximate", "none")
        return (lambda x: aten.gelu.out(x, approximate=approximate, out=y),
                lambda gy, x: aten.gelu_backward.grad_input(gy, x, approximate=approximate,
                                                            grad_input=gx))
    if name == "silu":
        return (lambda x: aten.silu.out(x, out=y),
                lambda gy, x: aten.silu_backward.grad_input(gy, x, grad_input=gx))
    if name == "leaky_relu":
        return (lambda x: aten.leaky_relu.out(x, 0.01, out=y),
                lambda gy, x: aten.leaky_relu_backward.grad_input(gy, x, 0.01, False,
                                                                  grad_input=gx))
    if name == "elu":
        return (lambda x: aten.elu.out(x, 1.0, 1, 1, out=y),
                lambda gy, x: aten.elu_backward.grad_input(gy, 1.0, 1, 1, False, x,
                                                           grad_input=gx))
    return (lambda x: aten.softplus.out(x, 1.0, 20.0, out=y),
            lambda gy, x: aten.softplus_backward.grad_input(gy, x, 1.0, 20.0, grad_input=gx))


def label(name, options):
    return name + "".join(f"({k}={v!r})" for k, v in options.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--n", type=int, default=10**7, help="elements (default 10^7)")
    parser.add_argument("--only", nargs="+", help="activation names to run")
    args = parser.parse_args()
    print(machine())
    rng = np.random.default_rng(0)
    x = (3 * rng.standard_normal(args.n)).astype(np.float32)
    gy = rng.standard_normal(args.n).astype(np.float32)
    y, gx = np.empty_like(x), np.empty_like(x)
    tx, tgy = (torch.from_numpy(x), torch.from_numpy(gy)) if torch is not None else (None, None)
    ty, tgx = (torch.empty_like(tx), torch.empty_like(tx)) if torch is not None else (None, None)
    cases = [c for c in ACTIVATIONS if not args.only or c[0] in args.only]
    print(f"{args.n} float32 elements, forward + backward, min / median of {args.repeats} (ms)")
    for threads in args.threads:
        print(f"\n--- {threads} thread(s)")
        print(f"{'activation':34} {'fastbp':>15} {'kernel':>15} {'torch':>15} {'torch/kernel':>12}"
              f" {'torch out=':>15} {'out=/kernel':>11}")
        with threadpoolctl.threadpool_limits(threads, user_api="openmp"):
            if torch is not None:
                torch.set_num_threads(threads)
            for name, options in cases:
                code, p1, p2, _ = v.activation_options(name, options)
                fwd, bwd = getattr(F, name), getattr(F, name + "_backward")
                public = timings(lambda: bwd(gy, x, **options) if fwd(x, **options) is not None
                                 else None, args.repeats)

                def kernels():
                    _activations.forward2(code, x, y, p1, p2)
                    _activations.backward2(code, gy, x, gx, p1, p2)

                kernel = timings(kernels, args.repeats)
                row = f"{label(name, options):34} {public[0] * 1e3:7.1f} {public[1] * 1e3:7.1f}" \
                      f" {kernel[0] * 1e3:7.1f} {kernel[1] * 1e3:7.1f}"
                if torch is not None:
                    tf, tb = torch_pair(name, options)
                    with torch.no_grad():
                        ref = timings(lambda: tb(tgy, tx) if tf(tx) is not None else None,
                                      args.repeats)
                    row += f" {ref[0] * 1e3:7.1f} {ref[1] * 1e3:7.1f} {ref[0] / kernel[0]:11.2f}x"
                    tfo, tbo = torch_pair_into(name, options, ty, tgx)
                    with torch.no_grad():
                        into = timings(lambda: tbo(tgy, tx) if tfo(tx) is not None else None,
                                       args.repeats)
                    row += (f" {into[0] * 1e3:7.1f} {into[1] * 1e3:7.1f}"
                            f" {into[0] / kernel[0]:10.2f}x")
                print(row)
            # GELU's forward against a plain copy on the same number of threads
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                copy = timings(lambda: parallel_copy(y, x, pool, threads), args.repeats)
            gelu = timings(lambda: _activations.forward2(_activations.Activation.GELU, x, y),
                           args.repeats)
            print(f"gelu forward kernel {gelu[0] * 1e3:.1f} ms, plain copy {copy[0] * 1e3:.1f} ms:"
                  f" {gelu[0] / copy[0]:.2f}x a copy (goal <= 2x)")


if __name__ == "__main__":
    main()
