"""Net.fit / predict / evaluate and History (fastbp.training).

The reference for fit is the loop the contract writes out, run by hand with train_step on
a twin Net: fit must give the very same floats.  Losses and accuracies are checked against
tests/reference.py (plain NumPy).
"""

import math
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import reference as ref
from conftest import DTYPES, assert_close
import fastbp
from fastbp import (SGD, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Layer, MSELoss, Net,
                    NLLLoss)
from fastbp.training import History

# the folder holding the fastbp these tests import (the source tree, or site-packages)
SRC = os.path.dirname(os.path.dirname(os.path.abspath(fastbp.__file__)))


def make_net(dtype=np.float32, n_in=5, n_hidden=8, n_out=3, last=None, seed=1):
    return Net([Layer(n_in, n_hidden, "relu", dtype=dtype, seed=seed),
                Layer(n_hidden, n_out, last, dtype=dtype, seed=seed + 1)])


def classification_data(n=103, n_in=5, n_classes=3, seed=7):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_in)).astype(np.float32)
    y = rng.integers(0, n_classes, n)
    return x, y


def hand_loop(net, x, y, loss_fn, optimizer, epochs, batch_size, seed, shuffle=True, **step):
    """The contract's loop, written out; returns each epoch's sample-weighted mean loss."""
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    means = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = 0.0
        for k in range(0, n, batch_size):
            b = order[k:k + batch_size]
            total += net.train_step(x[b], y[b], loss_fn, optimizer, **step) * len(b)
        means.append(total / n)
    return means


def same_parameters(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [1, 16, 32, 200])
def test_fit_is_the_hand_written_loop_bitwise(dtype, shuffle, batch_size):
    x, y = classification_data()
    fitted, by_hand = make_net(dtype), make_net(dtype)
    history = fitted.fit(x, y, CrossEntropyLoss(), SGD(fitted, lr=0.05, momentum=0.9),
                         epochs=3, batch_size=batch_size, shuffle=shuffle, seed=11,
                         restore_best=False, progress=False)
    means = hand_loop(by_hand, x, y, CrossEntropyLoss(), SGD(by_hand, lr=0.05, momentum=0.9),
                      3, batch_size, 11, shuffle)
    assert same_parameters(fitted, by_hand)
    assert history.loss == pytest.approx(means, rel=1e-12)
    # every batch one compiled step, the shuffled ones gathering their rows themselves
    assert fitted._step.compiled_steps == 3 * -(-x.shape[0] // batch_size)
    assert history.lr == [0.05] * 3 and len(history.epoch_time) == 3
    assert history.val_loss == [] and history.val_accuracy == []


def test_fit_validates_the_loss_record_once_yet_checks_every_batch(monkeypatch):
    """Shuffled batches' targets are gathered into one array, so the compiled step reuses
    the loss's record (validated again when the batch size changes, not at every batch); a
    class index out of range in a late batch still raises the loss's own error."""
    x, y = classification_data(n=96)
    loss_fn = CrossEntropyLoss()
    made = []
    fused_args = CrossEntropyLoss._fused_args
    monkeypatch.setattr(CrossEntropyLoss, "_fused_args",
                        lambda self, *a: made.append(1) or fused_args(self, *a))
    net = make_net()
    net.fit(x, y, loss_fn, SGD(net, lr=0.05), epochs=2, batch_size=10, seed=3, progress=False)
    assert net._step.compiled_steps == 2 * 10
    assert len(made) == 2 * 2  # each epoch: its batches of 10, then its last one of 6
    y[-1] = 3  # (3 classes) in the shuffled order's batch 2 at the earliest
    order = np.random.default_rng(3).permutation(96)
    assert list(order).index(95) >= 10
    with pytest.raises(ValueError, match="^target: class index 3 is out of range for 3 classes"):
        net.fit(x, y, loss_fn, SGD(net, lr=0.05), epochs=1, batch_size=10, seed=3,
                progress=False)


def test_fit_regression_float64_with_unfused_optimizer():
    """A plain object with step() (not fastbp's SGD) takes train_step's unfused path."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 5))
    y = rng.normal(size=(50, 2))

    class Plain:
        def __init__(self, net):
            self.sgd = SGD(net, lr=0.01)
            self.lr = 0.01

        def step(self):
            self.sgd.step()

    a, b = make_net(np.float64, n_out=2), make_net(np.float64, n_out=2)
    history = a.fit(x, y, MSELoss(), Plain(a), epochs=2, batch_size=8, seed=5,
                    restore_best=False, progress=False)
    means = hand_loop(b, x, y, MSELoss(), Plain(b), 2, 8, 5)
    assert same_parameters(a, b)
    assert history.loss == pytest.approx(means, rel=1e-12)


def test_validation_split_takes_the_last_samples_before_shuffling():
    x, y = classification_data(n=100)
    a, b = make_net(), make_net()
    ha = a.fit(x, y, CrossEntropyLoss(), SGD(a, lr=0.1), epochs=3, batch_size=10, seed=2,
               validation_split=0.25, restore_best=False, progress=False)
    hb = b.fit(x[:75], y[:75], CrossEntropyLoss(), SGD(b, lr=0.1), epochs=3, batch_size=10,
               seed=2, validation_data=(x[75:], y[75:]), restore_best=False, progress=False)
    assert same_parameters(a, b)
    assert ha.val_loss == hb.val_loss and ha.val_accuracy == hb.val_accuracy
    # int(N * f): 0.29 of 10 rows is 2 rows
    c = make_net()
    hc = c.fit(x[:10], y[:10], CrossEntropyLoss(), SGD(c, lr=0.1), epochs=1, batch_size=4,
               seed=0, validation_split=0.29, restore_best=False, progress=False)
    d = make_net()
    hand_loop(d, x[:8], y[:8], CrossEntropyLoss(), SGD(d, lr=0.1), 1, 4, 0)
    assert same_parameters(c, d)
    logits = ref.linear(ref.relu(ref.linear(x[8:10], c[0].weight, c[0].bias)), c[1].weight,
                        c[1].bias)
    assert hc.val_loss[0] == pytest.approx(ref.cross_entropy(logits, y[8:10]), rel=1e-5)


def test_validation_loss_and_accuracy_against_numpy():
    x, y = classification_data(n=120)
    net = make_net()
    x_val, y_val = x[:40].copy(), y[:40].copy()
    y_val[3] = -100  # ignored: left out of the accuracy
    history = net.fit(x[40:], y[40:], CrossEntropyLoss(), SGD(net, lr=0.1), epochs=2,
                      validation_data=(x_val, y_val), restore_best=False, progress=False)
    logits = ref.linear(ref.relu(ref.linear(x_val, net[0].weight, net[0].bias)),
                        net[1].weight, net[1].bias)
    kept = y_val != -100
    assert history.val_loss[-1] == pytest.approx(ref.cross_entropy(logits, y_val), rel=1e-5)
    assert history.val_accuracy[-1] == np.mean(np.argmax(logits[kept], axis=1) == y_val[kept])


@pytest.mark.parametrize("loss_fn, last, threshold", [
    (BCELoss(), "sigmoid", 0.5), (BCEWithLogitsLoss(), None, 0.0)])
def test_binary_accuracy(loss_fn, last, threshold):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 5)).astype(np.float32)
    y = rng.integers(0, 2, (60, 2)).astype(np.float32)
    net = make_net(n_out=2, last=last)
    result = net.evaluate(x, y, loss_fn)
    out = net.forward(x)
    assert result["accuracy"] == np.mean((out > threshold) == (y == 1))
    expected = (ref.binary_cross_entropy(out, y) if last else
                ref.binary_cross_entropy_with_logits(out, y))
    assert result["loss"] == pytest.approx(expected, rel=1e-5)


def test_evaluate_and_predict():
    x, y = classification_data(n=50)
    net = make_net(last="log_softmax")
    out = net.predict(x, batch_size=7)
    assert_close(out, ref.log_softmax(ref.linear(ref.relu(ref.linear(x, net[0].weight, net[0].bias)),
                                                 net[1].weight, net[1].bias)), np.float32)
    assert np.array_equal(out, net.predict(x))
    result = net.evaluate(x, y, NLLLoss(), batch_size=16)
    assert result["loss"] == pytest.approx(ref.nll_loss(out, y), rel=1e-5)
    assert result["accuracy"] == np.mean(np.argmax(out, axis=1) == y)
    probs = np.eye(3, dtype=np.float32)[y]  # class-probability targets: argmax against argmax
    assert net.evaluate(x, probs, CrossEntropyLoss())["accuracy"] == result["accuracy"]
    assert set(net.evaluate(x, np.zeros((50, 3), np.float32), MSELoss())) == {"loss"}


def snapshots_callback(net, store):
    def cb(epoch, logs):
        store.append(net.state_dict())
    return cb


def diverging_setup():
    """Validation labels opposite to the training labels: the validation loss soon rises."""
    rng = np.random.default_rng(9)
    x = rng.normal(size=(80, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    return x, y, (x, 1 - y)


def test_patience_stops_and_restore_best_restores():
    x, y, val = diverging_setup()
    net = make_net(n_out=2)
    states = []
    history = net.fit(x, y, CrossEntropyLoss(), SGD(net, lr=0.2, momentum=0.9), epochs=50,
                      batch_size=8, seed=0, validation_data=val, patience=3,
                      callbacks=[snapshots_callback(net, states)], progress=False)
    best = history.best_epoch
    assert history.stopped_early and not history.interrupted
    assert len(history.loss) == best + 1 + 3 < 50
    assert history.val_loss[best] == min(history.val_loss)
    assert all(v >= history.val_loss[best] for v in history.val_loss[best + 1:])
    assert same_parameters_dict(net.state_dict(), states[best])


def same_parameters_dict(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_restore_best_false_keeps_the_last_parameters():
    x, y, val = diverging_setup()
    net = make_net(n_out=2)
    states = []
    history = net.fit(x, y, CrossEntropyLoss(), SGD(net, lr=0.2, momentum=0.9), epochs=6,
                      batch_size=8, validation_data=val, restore_best=False,
                      callbacks=[snapshots_callback(net, states)], progress=False)
    assert history.best_epoch < 5 and not history.stopped_early
    assert same_parameters_dict(net.state_dict(), states[-1])


def test_checkpoint_written_atomically_only_on_improvement(tmp_path):
    x, y, val = diverging_setup()
    path = tmp_path / "best.npz"
    net = make_net(n_out=2)
    states, inodes = [], []

    def watch(epoch, logs):
        inodes.append(os.stat(path).st_ino)  # os.replace gives every save a new inode

    history = net.fit(x, y, CrossEntropyLoss(), SGD(net, lr=0.2, momentum=0.9), epochs=8,
                      batch_size=8, validation_data=val, checkpoint=path,
                      callbacks=[snapshots_callback(net, states), watch], progress=False)
    best_so_far = [min(range(e + 1), key=lambda k: (history.val_loss[k], k)) for e in range(8)]
    for e in range(1, 8):
        improved = history.val_loss[e] < min(history.val_loss[:e])
        assert (inodes[e] != inodes[e - 1]) == improved, e
    saved = Net.load(path).state_dict()
    assert same_parameters_dict(saved, states[best_so_far[-1]])
    assert sorted(os.listdir(tmp_path)) == ["best.npz"]  # no temporary file left behind


def test_callbacks_get_the_logs_and_can_stop():
    x, y = classification_data()
    net = make_net()
    seen = []

    def cb(epoch, logs):
        seen.append((epoch, dict(logs)))
        return epoch == 2

    history = net.fit(x, y, CrossEntropyLoss(), SGD(net, lr=0.1), epochs=10,
                      validation_split=0.2, callbacks=[cb], progress=False)
    assert [e for e, _ in seen] == [0, 1, 2]
    assert history.stopped_early and len(history.loss) == 3
    for e, logs in seen:
        assert set(logs) == {"loss", "val_loss", "val_accuracy", "lr", "epoch_time"}
        assert logs["loss"] == history.loss[e] and logs["val_loss"] == history.val_loss[e]


def test_schedulers_are_stepped_once_per_epoch():
    x, y = classification_data()
    net = make_net()
    opt = SGD(net, lr=0.1)

    class Halve:
        calls = 0

        def step(self):
            Halve.calls += 1
            opt.lr *= 0.5

    history = net.fit(x, y, CrossEntropyLoss(), opt, epochs=3, scheduler=Halve(), progress=False)
    assert Halve.calls == 3 and history.lr == [0.1, 0.05, 0.025]


def test_reduce_lr_on_plateau_gets_the_monitored_loss():
    lr_scheduler = pytest.importorskip("fastbp.optim.lr_scheduler")
    x, y, val = diverging_setup()
    net = make_net(n_out=2)
    opt = SGD(net, lr=0.1)
    seen = []

    class Recording(lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics):
            seen.append(metrics)
            super().step(metrics)

    history = net.fit(x, y, CrossEntropyLoss(), opt, epochs=4, validation_data=val,
                      scheduler=Recording(opt, patience=0), progress=False)
    assert seen == history.val_loss


def test_max_grad_norm_is_passed_to_train_step():
    x, y = classification_data()
    a, b = make_net(), make_net()
    try:
        hand_step = b.train_step(x[:4], y[:4], CrossEntropyLoss(), SGD(b, lr=0.1), max_grad_norm=0.5)
    except TypeError as exc:  # a train_step without the option: fit raises the same
        with pytest.raises(TypeError, match="max_grad_norm"):
            a.fit(x, y, CrossEntropyLoss(), SGD(a, lr=0.1), max_grad_norm=0.5, progress=False)
        assert "max_grad_norm" in str(exc)
        return
    assert math.isfinite(hand_step)
    a, b = make_net(), make_net()
    a.fit(x, y, CrossEntropyLoss(), SGD(a, lr=0.1), epochs=2, batch_size=8, seed=1,
          max_grad_norm=0.5, restore_best=False, progress=False)
    hand_loop(b, x, y, CrossEntropyLoss(), SGD(b, lr=0.1), 2, 8, 1, max_grad_norm=0.5)
    assert same_parameters(a, b)


def ctrl_c_after(at_epoch, times=1):
    """A callback that presses Ctrl-C (SIGINT to this process) after epoch ``at_epoch``."""
    def press(epoch, logs):
        if epoch == at_epoch:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)
    return press


def test_ctrl_c_from_a_callback_returns_the_history_with_the_best_parameters():
    x, y, val = diverging_setup()
    net = make_net(n_out=2)
    states = []
    before = signal.getsignal(signal.SIGINT)
    history = net.fit(x, y, CrossEntropyLoss(), SGD(net, lr=0.2, momentum=0.9), epochs=50,
                      batch_size=8, validation_data=val,
                      callbacks=[snapshots_callback(net, states), ctrl_c_after(4)],
                      progress=False)
    assert history.interrupted and not history.stopped_early and len(history.loss) == 5
    assert same_parameters_dict(net.state_dict(), states[history.best_epoch])
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_mid_epoch_ends_after_the_current_step():
    """SIGINT during the 7th step: fit returns after it; the cut epoch is not recorded."""
    x, y = classification_data(n=64)
    a, b = make_net(), make_net()

    class PressOnStep:
        def __init__(self, net, at):
            self.sgd, self.lr, self.count, self.at = SGD(net, lr=0.1), 0.1, 0, at

        def step(self):
            self.sgd.step()
            self.count += 1
            if self.count == self.at:
                os.kill(os.getpid(), signal.SIGINT)

    opt = PressOnStep(a, at=4 + 3)  # 4 batches of 16 per epoch: the 3rd step of epoch 2
    history = a.fit(x, y, CrossEntropyLoss(), opt, epochs=5, batch_size=16, seed=3,
                    restore_best=False, progress=False)
    assert history.interrupted and len(history.loss) == 1 and opt.count == 7
    rng, hand = np.random.default_rng(3), SGD(b, lr=0.1)
    steps = [(e, k) for e in range(2) for k in range(0, 64, 16)][:7]
    orders = [rng.permutation(64) for _ in range(2)]
    for e, k in steps:
        i = orders[e][k:k + 16]
        b.train_step(x[i], y[i], CrossEntropyLoss(), hand)
    assert same_parameters(a, b)


def test_ctrl_c_during_the_compiled_batches_ends_after_a_whole_step():
    """SIGINT while the compiled step runs Net.fit's batches (many per call): fit returns
    after the step it interrupted, and its parameters are those of that many steps of the
    hand-written loop."""
    import threading
    x, y = classification_data(n=4000)
    a, b = make_net(), make_net()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        history = a.fit(x, y, CrossEntropyLoss(), SGD(a, lr=0.01, momentum=0.9), epochs=1000,
                        batch_size=2, seed=5, restore_best=False, progress=False)
    finally:
        timer.cancel()
    steps = a._step.compiled_steps
    assert history.interrupted and 0 < steps < 1000 * 2000
    assert len(history.loss) == steps // 2000  # the cut epoch is not recorded
    rng, hand, loss_fn = np.random.default_rng(5), SGD(b, lr=0.01, momentum=0.9), CrossEntropyLoss()
    done = 0
    while done < steps:
        order = rng.permutation(4000)
        for k in range(0, 4000, 2):
            if done == steps:
                break
            b.train_step(x[order[k:k + 2]], y[order[k:k + 2]], loss_fn, hand)
            done += 1
    assert same_parameters(a, b)


def test_second_ctrl_c_raises_keyboard_interrupt_after_restoring():
    x, y, val = diverging_setup()
    net = make_net(n_out=2)
    states, val_losses = [], []
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        net.fit(x, y, CrossEntropyLoss(), SGD(net, lr=0.2, momentum=0.9), epochs=50,
                batch_size=8, validation_data=val,
                callbacks=[snapshots_callback(net, states),
                           lambda e, logs: val_losses.append(logs["val_loss"]), ctrl_c_after(3, 2)],
                progress=False)
    assert signal.getsignal(signal.SIGINT) is before
    best = val_losses.index(min(val_losses))  # the first of equal minima: strictly lower wins
    assert same_parameters_dict(net.state_dict(), states[best])


SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from fastbp import Net, Layer, SGD, CrossEntropyLoss
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 20)).astype(np.float32); y = rng.integers(0, 3, 4000)
    net = Net([Layer(20, 64, "relu", seed=1), Layer(64, 3, seed=2)])
    progress = {progress!r}
    def started(epoch, logs):
        if epoch == 0:
            print("started", flush=True)
    h = net.fit(x, y, CrossEntropyLoss(), SGD(net, lr=0.01), epochs={epochs}, batch_size=8,
                validation_split=0.1, callbacks=[started], progress=progress)
    print("epochs", len(h.loss), "interrupted", h.interrupted, "best", h.best_epoch, flush=True)
""")


def test_ctrl_c_in_a_real_process():
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(progress=False, epochs=100000)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": SRC})
    assert proc.stdout.readline() == "started\n"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "interrupted True" in out and "Traceback" not in err


def run_script(progress, stderr_is_tty):
    cmd = [sys.executable, "-c", SCRIPT.format(progress=progress, epochs=2)]
    env = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "120"}
    if not stderr_is_tty:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stderr
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 40 x 120
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_only():
    shown = run_script(None, stderr_is_tty=True)
    for part in ("epoch 1/2", "epoch 2/2", "batch 450/450", "samples/s", "loss", "val_loss"):
        assert part in shown, (part, shown[-400:])
    assert run_script(None, stderr_is_tty=False) == ""
    assert "epoch 2/2" in run_script(True, stderr_is_tty=False)
    assert run_script(False, stderr_is_tty=True) == ""


def test_history_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    x, y = classification_data()
    net = make_net()
    history = net.fit(x, y, CrossEntropyLoss(), SGD(net, lr=0.1), epochs=3,
                      validation_split=0.2, progress=False)
    path = tmp_path / "curve.png"
    fig = history.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 2  # loss, and validation accuracy
    lines = fig.axes[0].get_lines()
    assert list(lines[0].get_ydata()) == history.loss
    assert list(lines[1].get_ydata()) == history.val_loss


def test_history_plot_without_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(ImportError, match=r"pip install fastbp\[plot\]"):
        History().plot()


def test_history_fields_default():
    h = History()
    assert (h.loss, h.val_loss, h.val_accuracy, h.lr, h.epoch_time) == ([], [], [], [], [])
    assert h.best_epoch is None and not h.stopped_early and not h.interrupted


def test_caller_arrays_are_not_modified():
    x, y = classification_data()
    x64 = x.astype(np.float64)  # converted to the Net's float32 inside
    x64.flags.writeable = False
    y_copy, x_copy = y.copy(), x64.copy()
    net = make_net()
    net.fit(x64, y, CrossEntropyLoss(), SGD(net, lr=0.1), epochs=2, validation_split=0.3,
            progress=False)
    net.evaluate(x64, y, CrossEntropyLoss())
    net.predict(x64, batch_size=5)
    assert np.array_equal(x64, x_copy) and np.array_equal(y, y_copy)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"epochs": 0}, ValueError, "epochs"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": 2.5}, TypeError, "batch_size"),
    ({"validation_split": 1.0}, ValueError, r"validation_split: expected a value in \[0, 1\)"),
    ({"validation_split": -0.1}, ValueError, "validation_split"),
    ({"patience": 0}, ValueError, "patience"),
    ({"seed": -1}, ValueError, "seed"),
    ({"progress": "yes"}, TypeError, "progress"),
    ({"callbacks": [3]}, TypeError, r"callbacks\[0\]"),
    ({"validation_data": (np.zeros((4, 5)),)}, TypeError, "validation_data"),
    ({"validation_data": (np.zeros((4, 6)), np.zeros(4, int))}, ValueError,
     r"validation_data\[0\]: expected shape \(N, 5\), got \(4, 6\)"),
    ({"validation_data": (np.zeros((4, 5)), np.zeros(3, int))}, ValueError,
     r"validation_data\[1\]: expected 4 rows"),
])
def test_bad_fit_options(kwargs, error, match):
    x, y = classification_data()
    net = make_net()
    before = net.state_dict()
    with pytest.raises(error, match=match):
        net.fit(x, y, CrossEntropyLoss(), SGD(net, lr=0.1), progress=False, **kwargs)
    assert same_parameters_dict(net.state_dict(), before)


def test_bad_fit_arrays():
    x, y = classification_data()
    net = make_net()
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 5\), got \(103, 4\)"):
        net.fit(x[:, :4], y, CrossEntropyLoss(), SGD(net, lr=0.1))
    with pytest.raises(ValueError, match=r"y: expected 103 rows \(as x has\), got shape \(100,\)"):
        net.fit(x, y[:100], CrossEntropyLoss(), SGD(net, lr=0.1))
    with pytest.raises(ValueError, match="reduction 'mean' or 'sum'"):
        net.fit(x, y, CrossEntropyLoss(reduction="none"), SGD(net, lr=0.1))
    with pytest.raises(ValueError, match="no training samples"):
        net.fit(x[:0], y[:0], CrossEntropyLoss(), SGD(net, lr=0.1))
    with pytest.raises(ValueError, match=r"y: expected 103 rows"):
        net.evaluate(x, y[:5], CrossEntropyLoss())
    with pytest.raises(ValueError, match="batch_size"):
        net.predict(x, batch_size=0)
