"""Net.fit, Net.predict and Net.evaluate: Keras's training loop over ``Net.train_step``.

Every batch is one ``train_step`` call, in the order the contract fixes: one
``np.random.default_rng(seed)`` per fit, one ``rng.permutation(n_train)`` per epoch, batches
``order[k:k + batch_size]``.  So ``fit`` gives the very floats of that loop written by hand;
everything else here (validation, schedules, early stopping, checkpoints, the progress
bar) runs between epochs, apart from a flag test per step and a progress update every few
batches.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from fastbp import _metrics
from fastbp import _validate as v
from fastbp.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss

if TYPE_CHECKING:
    from fastbp._typing import ArrayLike, FloatArray, LossFunction, Optimizer
    from fastbp.net import Net

__all__ = ["History", "fit", "predict", "evaluate"]

PLOT_HINT = "History.plot needs matplotlib: pip install fastbp[plot]"


class History:
    """What ``Net.fit`` did, one entry per epoch run.

    Attributes
    ----------
    loss : list of float
        The sample-weighted mean of the epoch's batch losses.
    val_loss, val_accuracy : list of float
        Measured on the validation data after the epoch's steps (empty without validation
        data; ``val_accuracy`` also empty for a loss that is not a classification loss).
    lr : list of float or None
        The learning rate the epoch's steps used (``optimizer.lr``; None without one).
    epoch_time : list of float
        Seconds per epoch, validation included.
    best_epoch : int or None
        0-based epoch of the lowest monitored loss (validation loss if any, else training
        loss); None when no epoch completed or every monitored loss was nan or inf.
    stopped_early : bool
        True when ``patience`` or a callback ended fit before ``epochs``.
    interrupted : bool
        True when Ctrl-C ended fit (an epoch cut short is not recorded).

    Keras equivalent: ``keras.callbacks.History`` (``history.history["loss"]``, ...).
    """

    def __init__(self) -> None:
        self.loss: list[float] = []
        self.val_loss: list[float] = []
        self.val_accuracy: list[float] = []
        self.lr: list[float | None] = []
        self.epoch_time: list[float] = []
        self.best_epoch: int | None = None
        self.stopped_early = False
        self.interrupted = False

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def plot(self, path: str | os.PathLike[str] | None = None):
        """Loss curves (training and validation) per epoch, and validation accuracy when
        measured, as a matplotlib Figure; written as an image to ``path`` when given.

        With ``path`` the figure is drawn off-screen (matplotlib's Agg, no pyplot, no
        window); without it, it comes from ``matplotlib.pyplot`` so ``plt.show()`` shows it.
        Needs matplotlib (``pip install fastbp[plot]``): ImportError otherwise.
        """
        try:
            import matplotlib  # noqa: F401  (lazy: an optional extra)
        except ImportError:
            raise ImportError(PLOT_HINT) from None
        if path is None:
            from matplotlib import pyplot
            fig = pyplot.figure(figsize=(9, 3.6))
        else:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            fig = Figure(figsize=(9, 3.6))
            FigureCanvasAgg(fig)
        epochs = range(1, self.epochs + 1)
        axes = fig.subplots(1, 2 if self.val_accuracy else 1, squeeze=False)[0]
        ax = axes[0]
        ax.plot(epochs, self.loss, marker=".", label="training loss")
        if self.val_loss:
            ax.plot(epochs, self.val_loss, marker=".", label="validation loss")
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch + 1, color="grey", linestyle=":", label="best epoch")
        if min(self.loss + self.val_loss, default=0.0) > 0:
            ax.set_yscale("log")  # losses shrink by decades: a linear axis flattens the tail
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title("Loss")
        ax.legend()
        if self.val_accuracy:
            ax = axes[1]
            ax.plot(epochs, self.val_accuracy, marker=".", color="C1", label="validation accuracy")
            ax.set_xlabel("epoch")
            ax.set_ylabel("accuracy")
            ax.set_title("Validation accuracy")
            ax.legend()
        fig.tight_layout()
        if path is not None:
            fig.savefig(os.fspath(path))
        return fig

    def __repr__(self) -> str:
        best = "" if self.best_epoch is None else f", best_epoch={self.best_epoch}"
        flags = (", stopped_early=True" if self.stopped_early else "") + \
                (", interrupted=True" if self.interrupted else "")
        return f"History(epochs={self.epochs}{best}{flags})"


# --- predict / evaluate ---------------------------------------------------------------------

def predict(net: Net, x: ArrayLike, batch_size: int | None = None) -> FloatArray:
    """The output for x (N, in_features), ``batch_size`` rows per forward pass (all at
    once when None).

    PyTorch equivalent: ``with torch.no_grad(): model(x)``; Keras's ``Model.predict``.
    """
    batch_size = v.optional_batch_size(batch_size)
    x = v.layer_input(x, "x", net.in_features, net.dtype)
    n = x.shape[0]
    if batch_size is None or batch_size >= n:
        return net.forward(x)
    out = np.empty((n, net.out_features), dtype=net.dtype)
    for k in range(0, n, batch_size):
        out[k:k + batch_size] = net.forward(x[k:k + batch_size])
    return out


def evaluate(net: Net, x: ArrayLike, y: ArrayLike, loss_fn: LossFunction,
             batch_size: int | None = None) -> dict[str, float]:
    """{"loss": loss_fn(net.predict(x), y), "accuracy": ...}: accuracy only for the
    classification losses (CrossEntropyLoss/NLLLoss: argmax; BCELoss: p > 0.5;
    BCEWithLogitsLoss: logit > 0).

    PyTorch equivalent: none (a no-grad loop); Keras's ``Model.evaluate``.
    """
    x = v.layer_input(x, "x", net.in_features, net.dtype)
    y = v.rows_like(y, "y", x.shape[0], "x")
    return _measure(net, x, y, loss_fn, batch_size)


def _measure(net, x, y, loss_fn, batch_size):
    output = predict(net, x, batch_size)
    result = {"loss": float(loss_fn(output, y))}
    accuracy = _accuracy(loss_fn, output, y)
    if accuracy is not None:
        result["accuracy"] = accuracy
    return result


def _accuracy(loss_fn, output, y):
    """Fraction of correct predictions for the classification losses, else None.

    CrossEntropyLoss/NLLLoss: argmax of the output against the class index (samples at
    ignore_index left out) or against the argmax of class-probability targets;
    BCELoss: p > 0.5, BCEWithLogitsLoss: logit > 0, per element, against 0/1 targets.
    The loss, called on the same target first, has checked its shape and range.
    """
    if isinstance(loss_fn, (CrossEntropyLoss, NLLLoss)):
        if y.ndim == 1:
            correct, counted = _metrics.count_argmax_correct(
                output, v.as_index_array(y, "y"), loss_fn.ignore_index)
        else:
            correct, counted = _metrics.count_argmax_agree(
                output, v.as_float_array(y, "y", output.dtype))
    elif isinstance(loss_fn, (BCELoss, BCEWithLogitsLoss)):
        threshold = 0.5 if isinstance(loss_fn, BCELoss) else 0.0
        correct, counted = _metrics.count_threshold_correct(
            output.reshape(-1), v.as_float_array(y, "y", output.dtype).reshape(-1), threshold)
    else:
        return None
    return correct / counted if counted else math.nan


# --- fit ------------------------------------------------------------------------------------

def _plateau_class():
    try:
        from fastbp.optim.lr_scheduler import ReduceLROnPlateau
    except ImportError:  # no schedules in this build: nothing can be an instance
        return ()
    return ReduceLROnPlateau


class _CtrlC:
    """While fit runs in the main thread: the first Ctrl-C sets a flag that fit reads after
    each step; a second one raises KeyboardInterrupt as usual.  Disabled, it installs
    nothing: the first Ctrl-C raises."""

    def __init__(self, enabled: bool = True) -> None:
        self.pressed = False
        self._enabled = enabled
        self._installed = False
        self._old = None

    def _handler(self, signum, frame):
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True

    def __enter__(self):
        if self._enabled and threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc):
        if self._installed:  # None (a handler set from C) cannot be put back: use the default
            signal.signal(signal.SIGINT, signal.default_int_handler if self._old is None
                          else self._old)
        return False


def _want_progress(progress) -> bool:
    if progress is None:
        stream = sys.stderr
        try:
            return stream is not None and stream.isatty()
        except (AttributeError, ValueError):  # a replaced or closed stderr
            return False
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress: expected None, True or False, got {progress!r}")
    return bool(progress)


class _Bar:
    """One tqdm bar per epoch on stderr: batch n/total, samples/s, running loss; the
    epoch's loss and validation loss when it ends."""

    INTERVAL = 0.1  # seconds between refreshes, tqdm's default mininterval
    FORMAT = "{desc} {percentage:3.0f}%|{bar}| batch {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"

    def __init__(self, epochs: int, n_batches: int) -> None:
        from tqdm.auto import tqdm  # auto: a widget in notebooks, text in a terminal

        self._tqdm = tqdm
        self.epochs, self.n_batches = epochs, n_batches
        self.every = max(1, n_batches // 100)  # look at the clock about 100 times per epoch
        self.bar = None

    def start(self, epoch: int) -> None:
        self.bar = self._tqdm(total=self.n_batches, desc=f"epoch {epoch + 1}/{self.epochs}",
                              bar_format=self.FORMAT, file=sys.stderr, leave=True,
                              dynamic_ncols=True)
        self.t0 = self.shown = time.perf_counter()

    def update(self, batches: int, samples: int, loss_sum: float) -> None:
        now = time.perf_counter()
        if now - self.shown < self.INTERVAL:  # formatting the postfix costs ~40 µs
            return
        self.shown = now
        bar = self.bar
        elapsed = now - self.t0
        rate = samples / elapsed if elapsed > 0 else 0.0
        bar.set_postfix_str(f"{rate:,.0f} samples/s, loss {loss_sum / samples:.4g}", refresh=False)
        bar.update(batches - bar.n)

    def finish(self, loss: float, val_loss: float | None, samples: int) -> None:
        bar = self.bar
        elapsed = time.perf_counter() - self.t0
        text = f"{samples / elapsed if elapsed > 0 else 0.0:,.0f} samples/s, loss {loss:.4g}"
        if val_loss is not None:
            text += f", val_loss {val_loss:.4g}"
        bar.set_postfix_str(text, refresh=False)
        bar.update(self.n_batches - bar.n)
        bar.close()
        self.bar = None

    def close(self) -> None:
        """Remove the bar of an epoch cut short (Ctrl-C, an exception)."""
        if self.bar is not None:
            self.bar.leave = False
            self.bar.close()
            self.bar = None


def fit(net: Net, x: ArrayLike, y: ArrayLike, loss_fn: LossFunction, optimizer: Optimizer, *,
        epochs: int = 1, batch_size: int = 32, shuffle: bool = True, seed: int | None = None,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        validation_split: float = 0.0, scheduler: Any = None,
        max_grad_norm: float | None = None, patience: int | None = None,
        restore_best: bool = True, checkpoint: str | os.PathLike[str] | None = None,
        progress: bool | None = None,
        callbacks: Iterable[Callable[[int, dict], Any]] = ()) -> History:
    """Train for ``epochs`` passes over (x, y), one ``train_step`` per batch.

    ``rng = np.random.default_rng(seed)`` once; each epoch ``order =
    rng.permutation(n_train)`` (``arange`` when ``shuffle=False``) and the batches
    ``order[k:k + batch_size]`` in turn, each one ``train_step(x[b], y[b], loss_fn,
    optimizer)``: the parameters afterwards are the very floats of that loop written
    by hand (with ``restore_best=False``, or when the last epoch is the best).

    Parameters
    ----------
    x : array (N, in_features);  y : the loss's target for x, N rows
    loss_fn, optimizer : as for :meth:`train_step` (reduction 'mean' or 'sum')
    epochs, batch_size : positive ints (the last batch may be smaller)
    shuffle : bool;  seed : None or an int >= 0, for the shuffling
    validation_data : (x_val, y_val), or validation_split : f in [0, 1): the last
        ``int(N * f)`` samples, taken before shuffling (Keras's rule);
        validation_data wins when both are given
    scheduler : stepped after each epoch (ReduceLROnPlateau with the monitored loss)
    max_grad_norm : passed to ``train_step`` when not None
    patience : stop after this many epochs without a strictly lower monitored loss
        (validation loss if any, else the epoch's training loss)
    restore_best : however fit ends, leave the parameters of the best epoch
    checkpoint : a path: ``save`` (atomic) whenever the monitored loss improves
    progress : None (a tqdm bar on stderr when it is a terminal), True or False
    callbacks : functions ``cb(epoch, logs)``, called after each epoch with its
        numbers (``loss``, ``val_loss``, ``val_accuracy``, ``lr``, ``epoch_time``);
        returning True (any true value) stops

    Ctrl-C ends fit after the current step (the cut epoch is not recorded) and
    returns the History with ``interrupted=True``; a second Ctrl-C raises
    KeyboardInterrupt.

    Returns
    -------
    History : ``loss``, ``val_loss``, ``val_accuracy``, ``lr``, ``epoch_time`` per
    epoch, ``best_epoch``, ``stopped_early``, ``interrupted``, ``plot()``

    PyTorch equivalent: none (the loop one writes by hand); Keras's ``Model.fit``
    with ``EarlyStopping(restore_best_weights=True)`` and ``ModelCheckpoint``.

    >>> history = net.fit(x, y, CrossEntropyLoss(), Adam(net), epochs=20,
    ...                   validation_split=0.2, patience=3)   # doctest: +SKIP
    """
    return _fit(**locals(), batch_step=_whole_batch_step(net), catch_ctrl_c=True)


class _BatchTargets:
    """Gathers y[rows] into one array per batch size: the same target array at every step
    lets the compiled step reuse the loss's record, made and validated once (its class
    indices are still checked at each step)."""

    def __init__(self):
        self._arrays = {}

    def array(self, y, size):
        """The target array of this batch size, for y's rows."""
        batch = self._arrays.get(size)
        if batch is None or batch.dtype != y.dtype or batch.shape[1:] != y.shape[1:]:
            batch = self._arrays[size] = np.empty((size,) + y.shape[1:], y.dtype)
        return batch

    def gather(self, y, rows):
        batch = self.array(y, len(rows))
        y.take(rows, axis=0, out=batch)
        return batch


# How long the compiled step runs batches before fit looks at Ctrl-C and the progress bar.
_BATCHES_SECONDS = 0.05


def _whole_batch_step(net):
    train_step, gathered_step = net.train_step, net._gathered_train_step
    targets = _BatchTargets()

    def step(x, y, rows, loss_fn, optimizer, **step_kwargs):
        if isinstance(rows, slice) or not x.flags.c_contiguous:
            return train_step(x[rows], y[rows], loss_fn, optimizer, **step_kwargs)
        return gathered_step(x, targets.gather(y, rows), rows, loss_fn, optimizer,
                             **step_kwargs)

    def run_batches(x, y, order, first, last, batch_size, loss_fn, optimizer, step_kwargs,
                    loss_sum, stop):
        """Shuffled batches first, ... (before last) in one compiled call, until stop():
        (loss_sum, batches run); see TrainStep.run_batches."""
        max_grad_norm = step_kwargs.get("max_grad_norm")
        if max_grad_norm is not None:
            max_grad_norm = v.real_number(max_grad_norm, "max_grad_norm")
        size = min(batch_size, len(order) - first * batch_size)
        return net._step.run_batches(x, y, order, first, last, batch_size,
                                     targets.array(y, size), loss_fn, optimizer,
                                     max_grad_norm, loss_sum, _BATCHES_SECONDS, stop)

    step.run_batches = run_batches
    return step


def _fit(net, x, y, loss_fn, optimizer, *, epochs, batch_size, shuffle, seed, validation_data,
         validation_split, scheduler, max_grad_norm, patience, restore_best, checkpoint,
         progress, callbacks, batch_step, catch_ctrl_c):
    """fit, whose steps are ``batch_step(x, y, rows, loss_fn, optimizer, **step_kwargs)`` ->
    the loss of the batch x[rows], y[rows] (rows: a slice or an index array), and which
    leaves Ctrl-C alone (it raises KeyboardInterrupt) unless ``catch_ctrl_c``:
    fastbp.distributed splits each batch over the ranks, which must stop together."""
    epochs, batch_size, split, patience, callbacks = v.fit_options(
        epochs, batch_size, validation_split, patience, callbacks, loss_fn)
    seed = v.seed_option(seed)
    show = _want_progress(progress)
    x = v.layer_input(x, "x", net.in_features, net.dtype)
    y = v.rows_like(y, "y", x.shape[0], "x")
    n = x.shape[0]
    if validation_data is not None:  # Keras: validation_data overrides validation_split
        x_val, y_val = v.validation_pair(validation_data, net.in_features, net.dtype)
    elif int(n * split) > 0:
        n_val = int(n * split)
        x, y, x_val, y_val = x[:n - n_val], y[:n - n_val], x[n - n_val:], y[n - n_val:]
    else:
        x_val = y_val = None
    n_train = x.shape[0]
    if n_train == 0:
        raise ValueError(f"x: no training samples (shape {v.shape_str(x.shape)})")
    step_kwargs = {} if max_grad_norm is None else {"max_grad_norm": max_grad_norm}
    plateau = _plateau_class()
    rng = np.random.default_rng(seed)
    n_batches = -(-n_train // batch_size)
    starts = range(0, n_train, batch_size)
    history = History()
    best_loss, best_state, waited = math.inf, None, 0
    bar = _Bar(epochs, n_batches) if show else None
    every = bar.every if bar is not None else 0
    run_batches = getattr(batch_step, "run_batches", None)

    with _CtrlC(catch_ctrl_c) as ctrl_c:
        def pressed():
            return ctrl_c.pressed
        try:
            for epoch in range(epochs):
                t0 = time.perf_counter()
                lr = getattr(optimizer, "lr", None)
                loss_sum = 0.0
                if bar is not None:
                    bar.start(epoch)
                if shuffle:
                    order = rng.permutation(n_train)
                    i = 0
                    while i < n_batches:
                        done = 0
                        if run_batches is not None:  # the compiled step runs them (same floats)
                            loss_sum, done = run_batches(x, y, order, i, n_batches, batch_size,
                                                         loss_fn, optimizer, step_kwargs,
                                                         loss_sum, pressed)
                        if done == 0:  # not a step it runs: one by one from now on
                            run_batches = None
                            b = order[i * batch_size:(i + 1) * batch_size]
                            loss_sum += batch_step(x, y, b, loss_fn, optimizer,
                                                   **step_kwargs) * len(b)
                            done = 1
                        i += done
                        if ctrl_c.pressed:
                            break
                        if bar is not None:
                            bar.update(i, min(i * batch_size, n_train), loss_sum)
                else:
                    for i, k in enumerate(starts, 1):
                        loss_sum += batch_step(x, y, slice(k, k + batch_size), loss_fn, optimizer,
                                               **step_kwargs) * min(batch_size, n_train - k)
                        if ctrl_c.pressed:
                            break
                        if every and i % every == 0:
                            bar.update(i, min(k + batch_size, n_train), loss_sum)
                if ctrl_c.pressed:  # the epoch was cut short: not recorded
                    history.interrupted = True
                    break

                loss = loss_sum / n_train
                logs: dict[str, Any] = {"loss": loss}
                if x_val is not None:
                    measured = _measure(net, x_val, y_val, loss_fn, None)
                    logs["val_loss"] = monitored = measured["loss"]
                    if "accuracy" in measured:
                        logs["val_accuracy"] = measured["accuracy"]
                else:
                    monitored = loss
                logs["lr"] = lr
                logs["epoch_time"] = time.perf_counter() - t0
                history.loss.append(loss)
                if "val_loss" in logs:
                    history.val_loss.append(logs["val_loss"])
                if "val_accuracy" in logs:
                    history.val_accuracy.append(logs["val_accuracy"])
                history.lr.append(lr)
                history.epoch_time.append(logs["epoch_time"])
                if bar is not None:
                    bar.finish(loss, logs.get("val_loss"), n_train)

                if monitored < best_loss:  # strictly lower; nan never improves
                    best_loss, waited = monitored, 0
                    history.best_epoch = epoch
                    if restore_best:
                        best_state = net.state_dict()
                    if checkpoint is not None:
                        net.save(checkpoint)
                else:
                    waited += 1
                if scheduler is not None:
                    if isinstance(scheduler, plateau):
                        scheduler.step(monitored)
                    else:
                        scheduler.step()
                stop = False
                for cb in callbacks:
                    if cb(epoch, dict(logs)):
                        stop = True
                if ctrl_c.pressed:  # pressed during validation or a callback
                    history.interrupted = True
                    break
                if stop or (patience is not None and waited >= patience):
                    history.stopped_early = epoch + 1 < epochs
                    break
        finally:
            if bar is not None:
                bar.close()
            if restore_best and best_state is not None:
                net.load_state_dict(best_state)
    return history
