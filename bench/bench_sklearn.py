"""fastbp.sklearn's MLPClassifier against scikit-learn's own: fit time, accuracy, GEMM roof.

    python bench/bench_sklearn.py [--repeats 3] [--iters 60 200] [--small]
                                  [--activations relu logistic tanh]

Data: the digits (sklearn.datasets.load_digits, 1,797 x 64, /16) and
make_classification(20000, 100, random_state=0); each split 80/20 (stratified,
random_state=0), accuracy on the 20%.  Network: hidden (100,), relu (or each of
--activations), adam, batch "auto" (200), random_state=0, tol=0 and n_iter_no_change >
iters so every fit runs exactly --iters epochs.  lbfgs: the digits, max_iter 200, float64.
Each row: the min and median fit time over --repeats (the implementations interleaved
repeat by repeat), test accuracy, and the fraction of the GEMM roof: the fit's GEMM
FLOPs (forward 2(FH + HO), weight gradients 2(FH + HO), the hidden delta 2HO, per sample
per epoch) over the time, against a 1-thread 1024^3 GEMM of the same dtype measured
here.  float32 rows train fastbp with dtype=np.float32 and scikit-learn on float32 X (its
own float32 mode); "x" columns: scikit-learn's median over fastbp's (> 1 is faster).
1 thread everywhere (threadpoolctl caps every BLAS/OpenMP pool).
Then the floors: each fit's GEMMs alone through fastbp's gemm (gemms_alone), and for lbfgs
those of its evaluations plus the time spent outside them; scikit-learn's median over a
floor is the most any implementation on this GEMM could gain.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np
from sklearn import neural_network as sk_nn
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

import fastbp
from fastbp.sklearn import MLPClassifier


def datasets():
    X, y = load_digits(return_X_y=True)
    yield "digits", X / 16.0, y
    X, y = make_classification(20000, 100, random_state=0)
    yield "make_classification 20000x100", X, y


def gemm_peak(dtype, n=1024, repeats=3):
    """FLOP/s of a 1-thread n^3 GEMM in dtype (NumPy's BLAS, the best of repeats)."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def fit_flops(n, F, H, O, iters):
    return iters * n * (2 * (F * H + H * O) + 2 * (F * H + H * O) + 2 * H * O)


def gemms_alone(n, F, H, O, batch, passes, dtype, repeats):
    """Seconds (best of repeats) of a fit's GEMMs alone: per batch of gen_batches(n, batch),
    passes times, the five products of fastbp.sklearn's _backprop for hidden (H,) (forward
    2, coef gradients 2, the hidden delta 1) through fastbp's own gemm, shapes and
    transpositions as the fit calls them; less the same number of 1x1x1 calls (the Python
    loop's own cost)."""
    from fastbp._blas import gemm_memview as gemm
    rng = np.random.default_rng(0)
    W0, W1 = rng.random((F, H)).astype(dtype), rng.random((H, O)).astype(dtype)
    g0, g1 = np.empty_like(W0), np.empty_like(W1)
    rows = [min(batch, n - start) for start in range(0, n, batch)]
    work = {B: [rng.random((B, F)).astype(dtype), np.empty((B, H), dtype),
                np.empty((B, O), dtype), rng.random((B, O)).astype(dtype),
                np.empty((B, H), dtype)] for B in set(rows)}
    one, out = np.ones((1, 1), dtype), np.empty((1, 1), dtype)

    def products():
        for _ in range(passes):
            for B in rows:
                x, a1, a2, d1, d0 = work[B]
                gemm(False, False, 1.0, x, W0, 0.0, a1)
                gemm(False, False, 1.0, a1, W1, 0.0, a2)
                gemm(True, False, 1.0, a1, d1, 0.0, g1)
                gemm(False, True, 1.0, d1, W1, 0.0, d0)
                gemm(True, False, 1.0, x, d0, 0.0, g0)

    def calls():
        for _ in range(passes * len(rows) * 5):
            gemm(False, False, 1.0, one, one, 0.0, out)

    best = {products: np.inf, calls: np.inf}
    for _ in range(repeats + 1):  # the first round warms up
        for f in best:
            t = time.perf_counter()
            f()
            best[f] = min(best[f], time.perf_counter() - t)
    return best[products] - best[calls]


class TimedLbfgs(MLPClassifier):
    """fastbp's MLPClassifier counting and timing its loss-and-gradient evaluations."""

    def _loss_grad_lbfgs(self, *args):
        t = time.perf_counter()
        result = super()._loss_grad_lbfgs(*args)
        self.evaluations_ += 1
        self.evaluating_s_ += time.perf_counter() - t
        return result

    def fit(self, X, y):
        self.evaluations_, self.evaluating_s_ = 0, 0.0
        return super().fit(X, y)


def timed_fits(makers, X, y, repeats):
    """{name: (times, fitted)} with the makers interleaved repeat by repeat."""
    times = {name: [] for name in makers}
    fitted = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(repeats):
            for name, (make, Xd) in makers.items():
                est = make()
                t = time.perf_counter()
                est.fit(Xd, y)
                times[name].append(time.perf_counter() - t)
                fitted[name] = est
    return times, fitted


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--iters", type=int, nargs="+", default=[60, 200])
    ap.add_argument("--activations", nargs="+", default=["relu"],
                    choices=["relu", "logistic", "tanh", "identity"])
    ap.add_argument("--small", action="store_true",
                    help="a quick smoke run: 5 iterations, 1 repeat, 2,000 rows of the big set")
    args = ap.parse_args()
    if args.small:
        args.iters, args.repeats = [5], 1
    print(f"fastbp {fastbp.__version__}, numpy {np.__version__}, {platform.processor() or platform.machine()}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}; 1 thread")
    with threadpool_limits(1):
        peak = {np.float64: gemm_peak(np.float64), np.float32: gemm_peak(np.float32)}
        print(f"GEMM roof (1 thread, 1024^3): float64 {peak[np.float64] / 1e9:.1f} GFLOP/s, "
              f"float32 {peak[np.float32] / 1e9:.1f} GFLOP/s")
        floors = {}
        print(f"{'data':36s} {'iters':>5s} {'dtype':8s} {'impl':8s} {'min s':>8s} {'median s':>8s} "
              f"{'acc':>6s} {'roof':>6s} {'x':>6s}")
        for name, X, y in datasets():
            if args.small and X.shape[0] > 2000:
                X, y = X[:2000], y[:2000]
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
            for iters, activation in [(i, a) for i in args.iters for a in args.activations]:
                params = dict(hidden_layer_sizes=(100,), solver="adam", random_state=0, tol=0.0,
                              n_iter_no_change=iters + 1, max_iter=iters, activation=activation)
                makers = {}
                for dt in (np.float64, np.float32):
                    Xd = Xtr.astype(dt)
                    makers[("sklearn", dt)] = (lambda: sk_nn.MLPClassifier(**params), Xd)
                    makers[("fastbp", dt)] = (lambda dt=dt: MLPClassifier(dtype=dt, **params), Xd)
                times, fitted = timed_fits(makers, Xtr, ytr, args.repeats)
                for dt in (np.float64, np.float32):
                    W0, W1 = fitted[("fastbp", dt)].coefs_
                    floors[(name, iters, activation, np.dtype(dt).name)] = (
                        gemms_alone(Xtr.shape[0], *W0.shape, W1.shape[1], 200, iters, dt,
                                    args.repeats),
                        statistics.median(times[("sklearn", dt)]))
                for key in makers:
                    impl, dt = key
                    t = times[key]
                    est = fitted[key]
                    acc = np.mean(est.predict(Xte.astype(dt)) == yte)
                    flops = fit_flops(Xtr.shape[0], X.shape[1], 100, est.n_outputs_, est.n_iter_)
                    roof = flops / min(t) / peak[dt]
                    speedup = (statistics.median(times[("sklearn", dt)]) / statistics.median(t)
                               if impl == "fastbp" else 1.0)
                    label = name if activation == "relu" else f"{name}, {activation}"
                    print(f"{label:36s} {iters:5d} {np.dtype(dt).name:8s} {impl:8s} {min(t):8.3f} "
                          f"{statistics.median(t):8.3f} {acc:6.3f} {roof:6.1%} {speedup:6.1f}")
        X, y = next(datasets())[1:]
        params = dict(hidden_layer_sizes=(100,), solver="lbfgs", random_state=0,
                      max_iter=5 if args.small else 200)
        makers = {"sklearn": (lambda: sk_nn.MLPClassifier(**params), X),
                  "fastbp": (lambda: TimedLbfgs(**params), X)}
        times, fitted = timed_fits(makers, X, y, args.repeats)
        for impl in makers:
            t = times[impl]
            print(f"{'digits lbfgs':36s} {fitted[impl].n_iter_:5d} {'float64':8s} {impl:8s} "
                  f"{min(t):8.3f} {statistics.median(t):8.3f} "
                  f"{np.mean(fitted[impl].predict(X) == y):6.3f} {'':>6s} "
                  f"{statistics.median(times['sklearn']) / statistics.median(t):6.1f}")
        lbfgs = fitted["fastbp"]
        outside = times["fastbp"][-1] - lbfgs.evaluating_s_  # of the last fit
        W0, W1 = lbfgs.coefs_
        lbfgs_gemms = gemms_alone(X.shape[0], *W0.shape, W1.shape[1], X.shape[0],
                                  lbfgs.evaluations_, np.float64, args.repeats)

    print("\nFloors: the fit's GEMMs alone (fastbp's gemm, the fit's shapes, nothing else) and "
          "the most that leaves for\nthe speed-up (scikit-learn's median over the floor):")
    for (name, iters, activation, dt), (gemms, sklearn_s) in floors.items():
        label = name if activation == "relu" else f"{name}, {activation}"
        print(f"  {label:36s} {iters:5d} {dt:8s} GEMMs {gemms * 1e3:6.1f} ms   "
              f"at most {sklearn_s / gemms:5.1f}x")
    print(f"  digits lbfgs: {lbfgs.evaluations_} evaluations; GEMMs {lbfgs_gemms * 1e3:.1f} ms, "
          f"outside the evaluations (scipy's L-BFGS-B, scikit-learn's Python) "
          f"{outside * 1e3:.1f} ms: at most "
          f"{statistics.median(times['sklearn']) / (lbfgs_gemms + outside):.1f}x")


if __name__ == "__main__":
    main()
