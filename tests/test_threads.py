"""Threads: kernels release the GIL, and concurrent use gives the single-threaded floats.

What may be shared across threads (README "Threads"): input arrays (read-only use) and
the functional API, which keeps no state.  A Layer, Net, loss object or optimizer holds
state (forward caches, gradients, momentum) and belongs to one thread at a time.
"""

import threading
import time

import numpy as np

from fastbp import SGD, Layer, MSELoss, Net
from fastbp import functional as F

N_THREADS = 8


def run_in_threads(work, n=N_THREADS):
    """Run work(k) for k in range(n) concurrently; return the results in order."""
    results = [None] * n
    errors = []
    barrier = threading.Barrier(n)

    def body(k):
        try:
            barrier.wait()
            results[k] = work(k)
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def make_net(dtype):
    return Net([Layer(64, 48, "sigmoid", dtype=dtype, seed=1), Layer(48, 32, dtype=dtype, seed=2),
                Layer(32, 10, "sigmoid", dtype=dtype, seed=3)])


def training_run(x, t, dtype, steps=30):
    net = make_net(dtype)
    opt = SGD(net, lr=0.1, momentum=0.9, nesterov=True)
    loss_fn = MSELoss()
    losses = [net.train_step(x, t, loss_fn, opt) for _ in range(steps)]
    out = net(x)
    grad_in = net.backward(np.ones_like(out))
    return losses, [p.copy() for p, _ in net.parameters()], out, grad_in


def test_separate_nets_on_shared_readonly_inputs_match_single_thread():
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((40, 64)).astype(dtype)
        t = rng.random((40, 10)).astype(dtype)
        x.flags.writeable = False
        t.flags.writeable = False
        expected = training_run(x, t, dtype)
        for got in run_in_threads(lambda k: training_run(x, t, dtype)):
            assert got[0] == expected[0]
            for a, b in zip(got[1] + [got[2], got[3]], expected[1] + [expected[2], expected[3]]):
                np.testing.assert_array_equal(a, b)


def test_functional_calls_from_many_threads_match_single_thread():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 300))
    w = rng.standard_normal((150, 300))
    b = rng.standard_normal(150)
    gy = rng.standard_normal((200, 150))
    for arr in (x, w, b, gy):
        arr.flags.writeable = False

    def work(k):
        y = F.linear(x, w, b)
        s = F.sigmoid(y)
        return [y, s, F.sigmoid_backward(gy, s), *F.linear_backward(gy, x, w),
                F.mse_loss_grad(s, gy), np.array(F.mse_loss(s, gy))]

    expected = work(-1)
    for got in run_in_threads(work):
        for a, e in zip(got, expected):
            np.testing.assert_array_equal(a, e)


def test_kernels_release_the_gil():
    """While one thread is inside a long kernel, another thread keeps running Python."""
    x = np.random.default_rng(2).standard_normal((4_000_000,))
    intervals = []
    done = threading.Event()

    def kernel_thread():
        for _ in range(5):
            t0 = time.perf_counter()
            F.mse_loss_grad(x, x)  # one nogil loop over 4M elements, ~10 ms
            intervals.append((t0, time.perf_counter()))
        done.set()

    ticks = []
    worker = threading.Thread(target=kernel_thread)
    worker.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
    worker.join()
    inside = sum(1 for t in ticks if any(a < t < b for a, b in intervals))
    # Holding the GIL for a call would leave this thread no tick inside any interval
    # (at most one at a switch); released, it ticks thousands of times meanwhile.
    assert inside > 100, (inside, len(ticks))
