"""The data-parallel cases tests/mpi_worker.py runs under mpiexec and
tests/test_distributed.py checks against single-process training.

A case is a name; ``build(name, seed)`` gives a fresh (net, loss_fn, optimizer) and
``batches(name, n_ranks)`` the global batches of its steps, each cut into one local
batch per rank (unequal sizes, an empty one included with 3 ranks).
"""

import zlib

import numpy as np

import fastbp

STEPS = 3
IN, HIDDEN, OUT = 5, 7, 3

# loss name -> (loss class options, output activation, target kind)
LOSSES = {
    "l1": (fastbp.L1Loss, {}, None, "real"),
    "mse": (fastbp.MSELoss, {}, None, "real"),
    "smooth_l1": (fastbp.SmoothL1Loss, {"beta": 0.5}, None, "real"),
    "huber": (fastbp.HuberLoss, {"delta": 0.7}, None, "real"),
    "bce": (fastbp.BCELoss, {"weight": [0.5, 1.0, 2.0]}, "sigmoid", "binary"),
    "bce_logits": (fastbp.BCEWithLogitsLoss,
                   {"weight": [1.5, 1.0, 0.5], "pos_weight": [2.0, 0.5, 1.0]}, None, "binary"),
    "ce": (fastbp.CrossEntropyLoss, {}, None, "index"),
    # class weights, ignore_index and label smoothing: the 'mean' divisor is Σ w[y] over
    # the targets not ignored, summed across ranks
    "ce_weighted": (fastbp.CrossEntropyLoss,
                    {"weight": [0.3, 2.0, 1.1], "ignore_index": 1, "label_smoothing": 0.1},
                    None, "index"),
    "ce_probs": (fastbp.CrossEntropyLoss, {"weight": [0.3, 2.0, 1.1], "label_smoothing": 0.2},
                 None, "probs"),
    "nll_weighted": (fastbp.NLLLoss, {"weight": [1.7, 0.4, 1.0], "ignore_index": 2},
                     "log_softmax", "index"),
}
OPTIMIZERS = {
    "sgd": lambda net: fastbp.SGD(net, lr=0.2, momentum=0.9, weight_decay=0.01),
    "adam": lambda net: fastbp.Adam(net, lr=0.05, weight_decay=0.01, amsgrad=True),
}
MAX_GRAD_NORM = 0.05  # below the gradients' norms here: clipping changes every step
LOCAL_SIZES = {2: [[5, 3], [4, 4], [1, 6]], 3: [[4, 0, 3], [2, 3, 3], [3, 3, 1]]}


def case_names():
    """loss-reduction-optimizer-dtype[-clip]: every loss and reduction with SGD, and Adam with
    clipping by the global norm (max_grad_norm) for a few."""
    dtypes = ("float32", "float64")
    names = [f"{loss}-{reduction}-sgd-{dtype}" for loss in LOSSES for reduction in ("mean", "sum")
             for dtype in dtypes]
    names += [f"{loss}-mean-adam-{dtype}-clip" for loss in ("mse", "bce_logits", "ce_weighted",
                                                            "nll_weighted") for dtype in dtypes]
    names += [f"ce_weighted-sum-adam-{dtype}" for dtype in dtypes]
    names += [f"ce_weighted-sum-sgd-{dtype}-clip" for dtype in dtypes]
    return names


def _parts(name):
    loss, reduction, optimizer, dtype = name.split("-")[:4]
    return loss, reduction, optimizer, np.dtype(dtype)


def max_grad_norm(name):
    return MAX_GRAD_NORM if name.endswith("-clip") else None


def build(name, seed):
    """(net, loss_fn, optimizer) of the case; ``seed`` sets the initial parameters."""
    loss, reduction, optimizer, dtype = _parts(name)
    cls, options, out_act, _ = LOSSES[loss]
    options = {k: np.asarray(o, dtype) if isinstance(o, list) else o for k, o in options.items()}
    net = fastbp.Net([fastbp.Layer(IN, HIDDEN, "tanh", dtype=dtype, seed=seed),
                      fastbp.Layer(HIDDEN, OUT, out_act, dtype=dtype, seed=seed + 1)])
    return net, cls(reduction=reduction, **options), OPTIMIZERS[optimizer](net)


def batches(name, n_ranks):
    """[(x, y, [(lo, hi) per rank])] for each step: the global batch and each rank's rows."""
    loss, _, _, dtype = _parts(name)
    kind = LOSSES[loss][3]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    steps = []
    for sizes in LOCAL_SIZES[n_ranks][:STEPS]:
        n = sum(sizes)
        x = rng.normal(size=(n, IN)).astype(dtype)
        if kind == "real":
            y = rng.normal(size=(n, OUT)).astype(dtype)
        elif kind == "binary":
            y = rng.integers(0, 2, size=(n, OUT)).astype(dtype)
        elif kind == "probs":
            y = rng.dirichlet(np.ones(OUT), size=n).astype(dtype)
        else:
            y = rng.integers(0, OUT, size=n)
        bounds = np.cumsum([0] + sizes)
        steps.append((x, y, list(zip(bounds[:-1], bounds[1:]))))
    return steps


# --- DataParallel.fit against Net.fit -------------------------------------------------------

FIT_CASES = ("shuffled", "ordered", "unseeded")


def fit_case(name, seed):
    """(net, loss_fn, optimizer, x, y, fit options) of a fit case, float64; ``seed`` sets
    the initial parameters."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(57, IN))
    y = rng.integers(0, OUT, size=57)
    net = fastbp.Net([fastbp.Layer(IN, HIDDEN, "relu", dtype=np.float64, seed=seed),
                      fastbp.Layer(HIDDEN, OUT, dtype=np.float64, seed=seed + 1)])
    if name == "shuffled":  # last batch smaller, Adam, clipping, a schedule, validation split
        optimizer = fastbp.Adam(net, lr=0.02)
        options = dict(epochs=4, batch_size=10, seed=3, validation_split=0.2, max_grad_norm=0.5,
                       scheduler=fastbp.optim.lr_scheduler.StepLR(optimizer, 2, gamma=0.5))
        return net, fastbp.CrossEntropyLoss(), optimizer, x, y, options
    y[::5] = 1  # ignored
    loss_fn = fastbp.CrossEntropyLoss(weight=np.array([0.5, 1.0, 2.0]), ignore_index=1)
    optimizer = fastbp.SGD(net, lr=0.3, momentum=0.9)
    if name == "ordered":  # batches in order, validation data, early stopping
        # validation labels unrelated to x: the validation loss soon rises, patience stops
        options = dict(epochs=12, batch_size=7, shuffle=False, patience=2,
                       validation_data=(x[:20], rng.integers(0, OUT, size=20)))
    else:  # seed=None: rank 0's random seed is every rank's
        options = dict(epochs=2, batch_size=8, shuffle=True, seed=None)
    return net, loss_fn, optimizer, x, y, options
