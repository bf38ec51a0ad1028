"""``python -m fastbp train | predict | evaluate``: a trained, saved, evaluated model from a
CSV file, without writing code.

A CSV has a header row; the target column (``--target``, default the last) holds numbers
or labels.  Features are standardized with the training split's mean and std (a constant
column's std counts as 1, as scikit-learn's StandardScaler), and the model file keeps
them, with the class labels, beside the Net: still one pickle-free .npz that
``Net.load`` reads (it leaves the ``extra.*`` arrays out).  Classification trains
CrossEntropyLoss on logits; regression trains MSELoss on the target as it is (not scaled).
Validation rows are drawn at random with ``--seed``.

Every problem with the input is one line on stderr naming the file, the row (1 is the
header) and the column, and exit status 2.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import sys
import time

import numpy as np

from fastbp import _io, _metrics
from fastbp import optim as _optim_module
from fastbp.layers import Layer
from fastbp.losses import CrossEntropyLoss, MSELoss
from fastbp.net import Net

COMMANDS = ("train", "predict", "evaluate")
OPTIMIZERS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop",
              "adagrad": "Adagrad"}
DEFAULT_LR = {"adam": 1e-3, "adamw": 1e-3, "sgd": 0.01, "rmsprop": 1e-3, "adagrad": 1e-2}
MAX_AUTO_CLASSES = 20  # integer targets with more distinct values are taken as regression
DIGITS = "the bundled digits set"


class InputError(Exception):
    """Bad input: its message is the one line the user sees."""


def where(path, row=None, column=None) -> str:
    text = os.fspath(path)
    if row is not None:
        text += f", row {row}"
    if column is not None:
        text += f", column {column!r}"
    return text


# --- argument parsing ------------------------------------------------------------------------

def _positive_int(text):
    import argparse
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _hidden_sizes(text):
    import argparse
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"expected sizes like 64,32, got {text!r}")
    return sizes


def _float_option(text, ok, expected):
    import argparse
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _fraction(text):
    return _float_option(text, lambda f: 0.0 <= f < 1.0, "a number in [0, 1)")


def _positive_float(text):
    return _float_option(text, lambda f: 0.0 < f < math.inf, "a positive number")


def add_commands(commands) -> None:
    """Add the train, predict and evaluate subcommands to an argparse subparsers object."""
    train = commands.add_parser(
        "train", help="train a network on a CSV file (default: the bundled digits set)",
        description="Train a dense network on DATA.csv (header row; target column: --target, "
                    "default the last) or, without DATA, on the bundled handwritten digits.")
    train.add_argument("data", nargs="?", metavar="DATA.csv")
    train.add_argument("--target", metavar="COL", help="the target column's name (default: the last)")
    train.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                       help="auto: labels, or integers with at most "
                            f"{MAX_AUTO_CLASSES} distinct values, are classes")
    train.add_argument("--hidden", type=_hidden_sizes, default=[64], metavar="64,32",
                       help="hidden layer sizes (default 64)")
    train.add_argument("--activation", default="relu",
                       help="hidden layers' activation (default relu)")
    train.add_argument("--optimizer", choices=list(OPTIMIZERS), default=None,
                       help="default adam (sgd with momentum 0.9 where this build has no Adam)")
    train.add_argument("--lr", type=_positive_float, default=None,
                       help="learning rate (default: adam, adamw, rmsprop 1e-3; sgd, adagrad 1e-2)")
    train.add_argument("--epochs", type=_positive_int, default=30, help="default 30")
    train.add_argument("--batch-size", type=_positive_int, default=32, help="default 32")
    train.add_argument("--val-split", type=_fraction, default=0.2,
                       help="fraction of the rows, drawn at random with --seed, kept for "
                            "validation (default 0.2)")
    train.add_argument("--patience", type=_positive_int, default=None,
                       help="stop after N epochs without a lower validation loss")
    train.add_argument("--seed", type=int, default=0, help="initialization and shuffling (default 0)")
    train.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    train.add_argument("--save", metavar="model.npz", help="write the trained model here")
    train.add_argument("--plot", metavar="curve.png", help="write the loss curves here (PNG)")

    predict = commands.add_parser("predict", help="predict with a saved model",
                                  description="Write the predictions of MODEL.npz for the rows "
                                              "of DATA.csv, with the original labels.")
    predict.add_argument("model", metavar="MODEL.npz")
    predict.add_argument("data", metavar="DATA.csv")
    predict.add_argument("--out", metavar="predictions.csv", help="default: standard output")

    evaluate = commands.add_parser("evaluate", help="loss and accuracy of a saved model on a CSV",
                                   description="Loss (and accuracy) of MODEL.npz on DATA.csv.")
    evaluate.add_argument("model", metavar="MODEL.npz")
    evaluate.add_argument("data", metavar="DATA.csv")
    evaluate.add_argument("--target", metavar="COL",
                          help="default: the model's target column, else the last")


def run(args) -> int:
    """Run a parsed train/predict/evaluate command; bad input is one line and status 2."""
    try:
        if args.command == "train":
            return train(args)
        if args.command == "predict":
            return predict(args)
        return evaluate(args)
    except InputError as exc:
        print(f"fastbp {args.command}: {exc}", file=sys.stderr)
        return 2


# --- reading CSV files ---------------------------------------------------------------------------

def read_csv(path):
    """(header, rows, row numbers): the cells as stripped strings, blank lines skipped,
    every row as long as the header; the row numbers are the file's lines (header = 1)."""
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{where(path)}: cannot read it: {exc.strerror or exc}") from None
    with f:
        reader = csv.reader(f)
        try:
            header = next(reader, None)
            if header is None or not any(cell.strip() for cell in header):
                raise InputError(f"{where(path)}: the file is empty (expected a header row)")
            header = [cell.strip() for cell in header]
            rows, numbers = [], []
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    raise InputError(f"{where(path, reader.line_num)}: {len(row)} cells, but the "
                                     f"header has {len(header)} columns")
                rows.append([cell.strip() for cell in row])
                numbers.append(reader.line_num)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"{where(path, reader.line_num)}: not a readable CSV file: {exc}") from None
    if not rows:
        raise InputError(f"{where(path)}: no data rows (only the header)")
    return header, rows, numbers


def target_column(path, header, name):
    if name is None:
        return len(header) - 1
    if name not in header:
        raise InputError(f"{where(path, 1)}: no target column {name!r} (the columns are "
                         f"{', '.join(header)})")
    return header.index(name)


def parse_features(path, header, rows, numbers, columns):
    """The cells of ``columns`` as a float64 (N, F) array; a cell that is not a finite
    number is an InputError naming its row and column."""
    out = np.empty((len(rows), len(columns)), dtype=np.float64)
    for i, row in enumerate(rows):
        try:
            values = [float(row[c]) for c in columns]
            if all(map(math.isfinite, values)):
                out[i] = values
                continue
        except ValueError:
            pass
        for c in columns:  # find the bad cell
            cell = row[c]
            try:
                value = float(cell)
            except ValueError:
                what = "an empty cell" if not cell else f"{cell!r} is not a number"
                raise InputError(f"{where(path, numbers[i], header[c])}: {what}") from None
            if not math.isfinite(value):
                raise InputError(f"{where(path, numbers[i], header[c])}: {cell!r} is not a "
                                 "finite number (NaN and infinity cannot be trained on)")
    return out


def _number(cell):
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def class_labels(cells):
    """Sorted distinct labels: numerically when every label is a number (written as the
    integer when it is one), else as text."""
    numbers = [_number(c) for c in cells]
    if all(x is not None for x in numbers):
        distinct = sorted(set(numbers))
        return [str(int(x)) if x.is_integer() else repr(x) for x in distinct], distinct
    return sorted(set(cells)), None


def _label_key(cell, numeric):
    return _number(cell) if numeric else cell


# --- the data of a run ---------------------------------------------------------------------

class Dataset:
    """Features (float64, unscaled), the target's cells and names, from a CSV or the digits."""

    def __init__(self, name, features, feature_names, target_name, target_cells, numbers):
        self.name, self.x, self.feature_names = name, features, feature_names
        self.target_name, self.target_cells, self.numbers = target_name, target_cells, numbers


def load_training_data(path, target):
    if path is None:
        from fastbp.datasets import load_digits
        x, y = load_digits()
        names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
        return Dataset(DIGITS, x.astype(np.float64), names, "digit", [str(int(d)) for d in y],
                       list(range(2, len(y) + 2)))
    header, rows, numbers = read_csv(path)
    t = target_column(path, header, target)
    if len(header) < 2:
        raise InputError(f"{where(path, 1)}: only the target column {header[t]!r}, no features")
    columns = [c for c in range(len(header)) if c != t]
    x = parse_features(path, header, rows, numbers, columns)
    return Dataset(path, x, [header[c] for c in columns], header[t], [r[t] for r in rows], numbers)


def decide_task(task, data):
    numbers = [_number(c) for c in data.target_cells]
    numeric = all(x is not None for x in numbers)
    if task == "regression":
        if not numeric:
            i = next(k for k, x in enumerate(numbers) if x is None)
            raise InputError(f"{where(data.name, data.numbers[i], data.target_name)}: "
                             f"{data.target_cells[i]!r} is not a number (--task regression)")
        return "regression"
    if task == "classification" or not numeric:
        return "classification"
    integers = all(x.is_integer() for x in numbers)
    return "classification" if integers and len(set(numbers)) <= MAX_AUTO_CLASSES else "regression"


def make_optimizer(name, net, lr):
    if name is None:
        name = "adam" if hasattr(_optim_module, "Adam") else "sgd"
    cls = getattr(_optim_module, OPTIMIZERS[name], None)
    if cls is None:
        raise InputError(f"--optimizer {name}: this fastbp has no fastbp.optim."
                         f"{OPTIMIZERS[name]} (available here: sgd)")
    lr = DEFAULT_LR[name] if lr is None else lr
    if name == "sgd":
        return name, cls(net, lr=lr, momentum=0.9)
    return name, cls(net, lr=lr)


def standardized(x, mean, std, dtype):
    out = np.empty(x.shape, dtype=dtype)
    _metrics.standardize(np.ascontiguousarray(x, dtype=np.float64), mean, std, out)
    return out


# --- train -------------------------------------------------------------------------------------

def launcher_world():
    """(rank, size) an MPI launcher gave this process in its environment: Open MPI's mpiexec
    sets OMPI_COMM_WORLD_RANK/SIZE, PMI launchers (MPICH's and Intel MPI's Hydra, Slurm's
    srun) PMI_RANK/SIZE; (0, 1) without a launcher."""
    for rank_var, size_var in (("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
                               ("PMI_RANK", "PMI_SIZE")):
        try:
            return int(os.environ.get(rank_var, "0")), int(os.environ[size_var])
        except (KeyError, ValueError):
            continue
    return 0, 1


def train(args) -> int:
    """Under mpiexec with several ranks, data-parallel (fastbp.distributed); rank 0 alone
    prints and writes files."""
    rank, world = launcher_world()
    if rank == 0:
        return _train(args, rank, world)
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        return _train(args, rank, world)


def _data_parallel_fit(net, world):
    try:
        from fastbp.distributed import DataParallel
    except ImportError as exc:
        raise InputError(f"started by an MPI launcher with {world} ranks: {exc}") from None
    return DataParallel(net).fit


def _train(args, rank, world) -> int:
    t_start = time.perf_counter()
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise InputError("--plot needs matplotlib: pip install fastbp[plot]") from None
    data = load_training_data(args.data, args.target)
    task = decide_task(args.task, data)
    n = data.x.shape[0]
    n_val = int(n * args.val_split)
    n_train = n - n_val
    if n_train < 1:
        raise InputError(f"{where(data.name)}: {n} rows leave no training rows after "
                         f"--val-split {args.val_split}")
    dtype = np.dtype(args.dtype)

    if task == "classification":
        labels, values = class_labels(data.target_cells)
        numeric = values is not None
        index = {key: k for k, key in enumerate(values if numeric else labels)}
        y = np.array([index[_label_key(c, numeric)] for c in data.target_cells], dtype=np.int64)
        n_out, loss_fn = len(labels), CrossEntropyLoss()
        what = f"classification, {len(labels)} classes"
    else:
        labels = []
        y = np.array([float(c) for c in data.target_cells], dtype=dtype).reshape(-1, 1)
        n_out, loss_fn = 1, MSELoss()
        what = "regression"

    # Validation rows drawn at random (with --seed), not the file's last rows as
    # fit(validation_split=) takes them: CSV files are often sorted (by label, by date).
    order = np.random.default_rng(args.seed).permutation(n)
    x_raw, y = data.x[order], y[order]
    mean = np.empty(x_raw.shape[1])
    std = np.empty(x_raw.shape[1])
    _metrics.column_mean_std(x_raw[:n_train], mean, std)
    x = standardized(x_raw, mean, std, dtype)

    sizes = [x.shape[1], *args.hidden, n_out]
    try:
        net = Net([Layer(sizes[k], sizes[k + 1],
                         args.activation if k < len(sizes) - 2 else None,
                         dtype=dtype, seed=args.seed + k)
                   for k in range(len(sizes) - 1)])
    except ValueError as exc:
        raise InputError(f"--activation {args.activation}: {exc}") from None
    opt_name, optimizer = make_optimizer(args.optimizer, net, args.lr)

    print(f"{data.name}: {n} rows, {x.shape[1]} features, target {data.target_name!r} "
          f"({what}); training on {n_train}, validating on {n_val}")
    print(f"network {'-'.join(map(str, sizes))} ({args.activation}, {dtype.name}), "
          f"{opt_name} lr {optimizer.lr:g}, batch {args.batch_size}, {args.epochs} epochs"
          + (f", data-parallel on {world} ranks" if world > 1 else ""))
    sys.stdout.flush()
    x_train, y_train, x_val, y_val = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
    t_fit = time.perf_counter()
    fit = net.fit if world == 1 else _data_parallel_fit(net, world)
    history = fit(x_train, y_train, loss_fn, optimizer, epochs=args.epochs,
                      batch_size=args.batch_size, seed=args.seed,
                      validation_data=(x_val, y_val) if n_val else None,
                      patience=args.patience)
    fit_seconds = time.perf_counter() - t_fit

    results = [("train", net.evaluate(x_train, y_train, loss_fn))]
    if n_val:
        results.append(("validation", net.evaluate(x_val, y_val, loss_fn)))
    print()
    print(f"{'':<12}{'loss':>10}{'accuracy':>10}" if task == "classification"
          else f"{'':<12}{'loss (MSE)':>12}")
    for name, r in results:
        if task == "classification":
            print(f"{name:<12}{r['loss']:>10.4f}{r['accuracy']:>10.2%}")
        else:
            print(f"{name:<12}{r['loss']:>12.6g}")
    stop = " (stopped early)" if history.stopped_early else \
        " (interrupted)" if history.interrupted else ""
    best = "" if history.best_epoch is None else f"; best epoch {history.best_epoch + 1}"
    print(f"{history.epochs} epochs in {fit_seconds:.2f} s{stop}{best}; "
          f"total {time.perf_counter() - t_start:.2f} s")
    if args.save and rank == 0:
        save_model(args.save, net, task, data, labels, mean, std)
        print(f"saved {args.save}")
    if args.plot and rank == 0:
        history.plot(args.plot)
        print(f"wrote {args.plot}")
    return 0


def save_model(path, net, task, data, labels, mean, std):
    record = net._architecture()
    record["data"] = {"task": task, "target": data.target_name, "features": data.feature_names}
    arrays = net.state_dict()
    arrays[_io.EXTRA_PREFIX + "mean"] = mean
    arrays[_io.EXTRA_PREFIX + "std"] = std
    arrays[_io.EXTRA_PREFIX + "classes"] = np.array(labels, dtype=str)  # unicode, no pickle
    _io.write_model(path, record, arrays)


# --- predict / evaluate ---------------------------------------------------------------------------

class Model:
    def __init__(self, path):
        try:
            self.net = Net.load(path)
            record, _, extra = _io.read_model(path, extras=True)
        except OSError as exc:
            raise InputError(f"{where(path)}: cannot read it: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise InputError(str(exc)) from None
        info = record.get("data")
        if not isinstance(info, dict) or not {"mean", "std", "classes"} <= set(extra):
            raise InputError(f"{where(path)}: a fastbp model, but not one written by "
                             "`python -m fastbp train` (no standardization or labels)")
        self.path, self.task = path, info["task"]
        self.target, self.features = info["target"], list(info["features"])
        self.mean = np.ascontiguousarray(extra["mean"], dtype=np.float64)
        self.std = np.ascontiguousarray(extra["std"], dtype=np.float64)
        self.classes = extra["classes"]
        if self.mean.shape != (self.net.in_features,) or self.std.shape != self.mean.shape:
            raise InputError(f"{where(path)}: damaged: standardization for {self.mean.shape} "
                             f"features, network for {self.net.in_features}")

    def features_of(self, path, header, rows, numbers, target_index):
        """The model's feature columns of a CSV: by name when the header has them all,
        else every column but the target's, when their number fits."""
        if all(name in header for name in self.features):
            columns = [header.index(name) for name in self.features]
        else:
            columns = [c for c in range(len(header)) if c != target_index]
            if len(columns) != len(self.features):
                target = "" if target_index is None else f" besides the target {header[target_index]!r}"
                raise InputError(f"{where(path, 1)}: {len(columns)} feature columns{target}, but "
                                 f"{self.path} was trained on {len(self.features)} "
                                 f"({', '.join(self.features[:6])}{', ...' if len(self.features) > 6 else ''})")
        x = parse_features(path, header, rows, numbers, columns)
        return standardized(x, self.mean, self.std, self.net.dtype)


def predict(args) -> int:
    model = Model(args.model)
    header, rows, numbers = read_csv(args.data)
    target_index = header.index(model.target) if model.target in header else None
    x = model.features_of(args.data, header, rows, numbers, target_index)
    output = model.net.predict(x)
    if model.task == "classification":
        index = np.empty(output.shape[0], dtype=np.int64)
        _metrics.argmax_rows(output, index)
        values = [model.classes[k] if k >= 0 else "nan" for k in index.tolist()]
    else:
        values = [repr(float(v)) for v in output[:, 0].tolist()]
    out = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        writer = csv.writer(out)
        writer.writerow([model.target])
        writer.writerows([value] for value in values)
    finally:
        if args.out:
            out.close()
    return 0


def evaluate(args) -> int:
    model = Model(args.model)
    header, rows, numbers = read_csv(args.data)
    name = args.target if args.target is not None else (
        model.target if model.target in header else None)
    t = target_column(args.data, header, name)
    x = model.features_of(args.data, header, rows, numbers, t)
    if model.task == "classification":
        classes = [str(c) for c in model.classes.tolist()]
        numeric = all(_number(c) is not None for c in classes)
        index = {_label_key(c, numeric): k for k, c in enumerate(classes)}
        y = np.empty(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            k = index.get(_label_key(row[t], numeric))
            if k is None:
                raise InputError(f"{where(args.data, numbers[i], header[t])}: label {row[t]!r} "
                                 f"is not one of the model's classes ({', '.join(classes[:10])}"
                                 f"{', ...' if len(classes) > 10 else ''})")
            y[i] = k
        loss_fn = CrossEntropyLoss()
    else:
        y = parse_features(args.data, header, rows, numbers, [t]).astype(model.net.dtype)
        loss_fn = MSELoss()
    result = model.net.evaluate(x, y, loss_fn)
    print(f"{args.data}: {len(rows)} rows")
    print(f"loss ({type(loss_fn).__name__}) {result['loss']:.6g}")
    if "accuracy" in result:
        print(f"accuracy {result['accuracy']:.2%}")
    return 0
