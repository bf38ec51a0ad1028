"""Long runs do not leak: peak RSS stays flat over many calls.

Each workload runs in a fresh interpreter: it warms up (first-call allocations, caches),
reads its peak RSS, runs the long loop, and reads the peak again.  A leak of one small
Python object per call would show as megabytes; of one array per call, as gigabytes.
"""

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("resource")  # POSIX only (getrusage)

# Allocator noise over the whole loop stays well under this; the smallest leak we aim to
# catch (one 100-byte object per call, 10^5 calls) is 10 MB.
GROWTH_BOUND_MB = 8

PRELUDE = """
import resource, sys
import numpy as np
import fastbp
from fastbp import functional as F

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB

def measure(loop, warmup):
    warmup()
    before = peak_mb()
    loop()
    print(f"GROWTH {peak_mb() - before:.2f}")
"""

WORKLOADS = {
    "train_step_1e5": """
        net = fastbp.Net([fastbp.Layer(2, 2, "sigmoid", dtype=np.float64),
                          fastbp.Layer(2, 2, "sigmoid", dtype=np.float64)])
        opt = fastbp.SGD(net, lr=0.1, momentum=0.9)
        loss_fn = fastbp.MSELoss()
        x, t = np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
        def run(n):
            for _ in range(n):
                net.train_step(x, t, loss_fn, opt)
        measure(lambda: run(100_000), lambda: run(2_000))
    """,
    "functional_1e4": """
        rng = np.random.default_rng(0)
        x = rng.standard_normal((64, 128)).astype(np.float32)
        w = rng.standard_normal((96, 128)).astype(np.float32)
        b = rng.standard_normal(96).astype(np.float32)
        gy = rng.standard_normal((64, 96)).astype(np.float32)
        t = rng.standard_normal((64, 96)).astype(np.float32)
        calls = [
            lambda: F.linear(x, w, b),
            lambda: F.linear_backward(gy, x, w),
            lambda: F.sigmoid(x),
            lambda: F.sigmoid_backward(gy, t),
            lambda: F.mse_loss(gy, t),
            lambda: F.mse_loss(gy, t, reduction="none"),
            lambda: F.mse_loss_grad(gy, t),
            lambda: fastbp.MSELoss()(gy, t),
        ]
        def run(n):
            for call in calls:
                for _ in range(n):
                    call()
        measure(lambda: run(10_000), lambda: run(200))
    """,
}


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_peak_rss_does_not_grow(workload):
    code = PRELUDE + textwrap.dedent(WORKLOADS[workload])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    growth = float(proc.stdout.split("GROWTH")[1])
    print(f"{workload}: peak RSS grew {growth:.2f} MB")
    assert growth < GROWTH_BOUND_MB, f"{workload}: peak RSS grew {growth:.1f} MB"
