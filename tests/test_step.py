"""Net.train_step (the _step module) against the five public calls, compared with ==."""

import copy
import pickle
import warnings

import numpy as np
import pytest
from conftest import DTYPES, SGD_OPTIONS, layouts

import fastbp
from fastbp import (SGD, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss,
                    Layer, MSELoss, Net, NLLLoss, SmoothL1Loss)

ACTIVATIONS = [None, "sigmoid", "relu", "tanh", "softmax", "log_softmax"]

# (sizes, activations, bias per layer): tiny layers take the plain-loop kernels, the
# larger ones BLAS (above 128 multiply-adds), so both dispatch branches are compared.
ARCHITECTURES = {
    "2-2-2 sigmoid": ([2, 2, 2], ["sigmoid", "sigmoid"], [True, True]),
    "single layer": ([3, 1], [None], [True]),
    "relu-tanh-softmax": ([5, 16, 8, 4], ["relu", "tanh", "softmax"], [True, False, True]),
    "wide tanh-log_softmax": ([40, 64, 10], ["tanh", "log_softmax"], [False, True]),
    "every activation": ([6, 7, 8, 9, 10, 11, 5], ACTIVATIONS, [True] * 6),
    # logits out, for the losses that take any real output
    "relu logits": ([6, 32, 5], ["relu", None], [True, True]),
    "tiny tanh logits": ([2, 3, 3], ["tanh", None], [True, False]),
    # ReLU with its bias gradient over more than one block of columns, and without a bias
    "relu wide": ([12, 300, 260, 3], ["relu", "relu", None], [True, False, True]),
}

def make_net(architecture, dtype, seed=0):
    sizes, activations, biases = ARCHITECTURES[architecture]
    return Net([Layer(a, b, act, bias=bias, dtype=dtype, seed=seed + k)
                for k, (a, b, act, bias) in enumerate(zip(sizes, sizes[1:], activations, biases))])


def compiled_step(net, x, target, loss_fn, optimizer):
    """net.train_step, proven to have run the compiled step rather than the five calls."""
    before = net._step.compiled_steps
    loss = net.train_step(x, target, loss_fn, optimizer)
    assert net._step.compiled_steps == before + 1, "train_step took the unfused path"
    return loss


def twin_nets(architecture, dtype):
    """Two Nets with the same weights: one for train_step, one for the five calls."""
    return make_net(architecture, dtype), make_net(architecture, dtype)


def manual_step(net, x, target, loss_fn, optimizer):
    """The five public calls that train_step must reproduce exactly."""
    net.zero_grad()
    loss = loss_fn(net(x), target)
    net.backward(loss_fn.backward())
    optimizer.step()
    return loss


def assert_same_state(fused, manual, opt_f=None, opt_m=None):
    for (p, g), (q, h) in zip(fused.parameters(), manual.parameters()):
        np.testing.assert_array_equal(p, q)
        np.testing.assert_array_equal(g, h)
    if opt_f is not None:
        for a, b in zip(opt_f._buffers, opt_m._buffers):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)


def batch(rng, net, n, dtype):
    x = rng.standard_normal((n, net.in_features)).astype(dtype)
    t = rng.random((n, net.out_features)).astype(dtype)
    return x, t


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("n", [1, 7, 64])
def test_equals_the_five_calls(rng, dtype, architecture, n):
    fused, manual = twin_nets(architecture, dtype)
    opt_f, opt_m = SGD(fused, lr=0.1, momentum=0.9), SGD(manual, lr=0.1, momentum=0.9)
    loss_f, loss_m = MSELoss(), MSELoss()
    x, t = batch(rng, fused, n, dtype)
    assert fused._step.run(x, t, loss_f, opt_f) is not None  # the compiled path is taken
    manual_step(manual, x, t, loss_m, opt_m)
    for _ in range(19):
        x, t = batch(rng, fused, n, dtype)
        a = compiled_step(fused, x, t, loss_f, opt_f)
        b = manual_step(manual, x, t, loss_m, opt_m)
        assert type(a) is float and a == b
        assert_same_state(fused, manual, opt_f, opt_m)
    # what the step leaves behind is the same too: the loss gradient, the layer caches
    np.testing.assert_array_equal(loss_f.backward(), loss_m.backward())
    gy = rng.standard_normal((n, fused.out_features)).astype(dtype)
    np.testing.assert_array_equal(fused.backward(gy), manual.backward(gy))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", SGD_OPTIONS, ids=lambda o: ",".join(o) or "plain")
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_every_sgd_option_and_reduction(rng, dtype, options, reduction):
    fused, manual = twin_nets("relu-tanh-softmax", dtype)
    opt_f, opt_m = SGD(fused, lr=0.05, **options), SGD(manual, lr=0.05, **options)
    loss_f, loss_m = MSELoss(reduction), MSELoss(reduction)
    for _ in range(20):
        x, t = batch(rng, fused, 9, dtype)
        assert compiled_step(fused, x, t, loss_f, opt_f) == manual_step(manual, x, t, loss_m, opt_m)
        assert_same_state(fused, manual, opt_f, opt_m)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_size_changes_and_empty_batch(rng, dtype):
    fused, manual = twin_nets("wide tanh-log_softmax", dtype)
    opt_f = SGD(fused, lr=0.1, momentum=0.5, weight_decay=0.01)
    opt_m = SGD(manual, lr=0.1, momentum=0.5, weight_decay=0.01)
    loss_f, loss_m = MSELoss(), MSELoss()
    for n in [8, 8, 1, 33, 0, 8, 2, 2, 100, 0, 1]:
        x, t = batch(rng, fused, n, dtype)
        a = compiled_step(fused, x, t, loss_f, opt_f)
        b = manual_step(manual, x, t, loss_m, opt_m)
        # an empty batch: the mean over nothing is nan (as torch); weight decay still steps
        assert a == b or (n == 0 and np.isnan(a) and np.isnan(b))
        assert_same_state(fused, manual, opt_f, opt_m)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [{"momentum": 0.9}, {"momentum": 0.8, "nesterov": True},
                                     {"momentum": 0.9, "dampening": 0.3}])
def test_fused_and_manual_steps_mix(rng, dtype, options):
    mixed, manual = twin_nets("relu-tanh-softmax", dtype)
    opt_x, opt_m = SGD(mixed, lr=0.1, **options), SGD(manual, lr=0.1, **options)
    loss_x, loss_m = MSELoss(), MSELoss()
    # manual first (SGD.step makes the momentum buffers), fused next (uses them), and so on
    for use_fused in [False, True, True, False, True, False, False, True] * 3:
        x, t = batch(rng, mixed, 5, dtype)
        step = mixed.train_step if use_fused else (lambda *a: manual_step(mixed, *a))
        assert step(x, t, loss_x, opt_x) == manual_step(manual, x, t, loss_m, opt_m)
        assert_same_state(mixed, manual, opt_x, opt_m)
    # and fused first: train_step makes the buffers that SGD.step then uses
    a, b = twin_nets("2-2-2 sigmoid", dtype)
    opt_a, opt_b = SGD(a, lr=0.5, **options), SGD(b, lr=0.5, **options)
    for use_fused in [True, False, True]:
        x, t = batch(rng, a, 1, dtype)
        if use_fused:
            compiled_step(a, x, t, MSELoss(), opt_a)
        else:
            manual_step(a, x, t, MSELoss(), opt_a)
        manual_step(b, x, t, MSELoss(), opt_b)
        assert_same_state(a, b, opt_a, opt_b)


def test_learning_rate_changed_between_steps(rng):
    fused, manual = twin_nets("relu-tanh-softmax", np.float64)
    opt_f, opt_m = SGD(fused, lr=0.1, momentum=0.9), SGD(manual, lr=0.1, momentum=0.9)
    for step in range(6):
        opt_f.lr = opt_m.lr = 0.1 / (step + 1)  # a schedule edits the optimizer in place
        opt_f.momentum = opt_m.momentum = 0.9 if step < 3 else 0.0
        x, t = batch(rng, fused, 4, np.float64)
        assert compiled_step(fused, x, t, MSELoss(), opt_f) == manual_step(manual, x, t, MSELoss(), opt_m)
        assert_same_state(fused, manual, opt_f, opt_m)


@pytest.mark.parametrize("dtype", DTYPES)
def test_inputs_converted_as_the_public_calls_do(rng, dtype):
    fused, manual = twin_nets("relu-tanh-softmax", dtype)
    opt_f, opt_m = SGD(fused, lr=0.1), SGD(manual, lr=0.1)
    x, t = batch(rng, fused, 6, np.float64)  # float64 data into a Net of either dtype
    inputs = list(layouts(x).values()) + [x.tolist(), (x * 4).astype(np.int32)]
    targets = list(layouts(t).values()) + [t.tolist(), (t > 0.5)]
    for xl, tl in zip(inputs, targets):
        before = (np.array(xl, copy=True), np.array(tl, copy=True))
        a = compiled_step(fused, xl, tl, MSELoss(), opt_f)
        b = manual_step(manual, xl, tl, MSELoss(), opt_m)
        assert a == b
        assert_same_state(fused, manual)
        np.testing.assert_array_equal(xl, before[0])  # the caller's arrays are untouched
        np.testing.assert_array_equal(tl, before[1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_array_subclasses_as_the_public_calls_take_them(rng, dtype):
    """np.matrix is read as the plain array it holds; a masked array is refused (its mask
    would be ignored), by the compiled step as by the public calls."""
    fused, manual = twin_nets("relu-tanh-softmax", dtype)
    opt_f, opt_m = SGD(fused, lr=0.1), SGD(manual, lr=0.1)
    x, t = batch(rng, fused, 6, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        xm, tm = np.asmatrix(x), np.asmatrix(t)
    loss = compiled_step(fused, xm, tm, MSELoss(), opt_f)
    assert loss == manual_step(manual, x, t, MSELoss(), opt_m)
    assert_same_state(fused, manual)
    masked = [(np.ma.masked_array(x), t, "x"), (x, np.ma.masked_array(t), "target")]
    for bad_x, bad_t, name in masked:
        with pytest.raises(TypeError, match=f"^{name}: expected an array without a mask"):
            fused.train_step(bad_x, bad_t, MSELoss(), opt_f)
    assert_same_state(fused, manual)


def test_caller_input_may_change_after_the_step(rng):
    net = make_net("relu-tanh-softmax", np.float64)
    x, t = batch(rng, net, 3, np.float64)
    net.train_step(x, t, MSELoss(), SGD(net, lr=0.1))
    cached = net[0]._x.copy()
    x[:] = 99.0  # the Net kept its own copy of the input, as Layer.forward does
    np.testing.assert_array_equal(net[0]._x, cached)


def test_errors_are_those_of_the_public_calls_and_change_nothing(rng):
    net = make_net("relu-tanh-softmax", np.float32)
    opt = SGD(net, lr=0.1)
    x, t = batch(rng, net, 4, np.float32)
    net.train_step(x, t, MSELoss(), opt)
    before = [(p.copy(), g.copy()) for p, g in net.parameters()]
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 5\), got \(4, 6\)"):
        net.train_step(np.ones((4, 6)), t, MSELoss(), opt)
    with pytest.raises(ValueError, match=r"x: expected a 2-D array \(N, 5\), got shape \(5,\)"):
        net.train_step(np.ones(5), t, MSELoss(), opt)
    with pytest.raises(ValueError, match=r"target: expected the shape of input \(4, 4\), got \(4, 3\)"):
        net.train_step(x, np.ones((4, 3)), MSELoss(), opt)
    with pytest.raises(TypeError, match="target: expected a real numeric array, got dtype complex128"):
        net.train_step(x, t.astype(complex), MSELoss(), opt)
    with pytest.raises(TypeError, match="x: expected an array, got NoneType"):
        net.train_step(None, t, MSELoss(), opt)
    for (p, g), (bp, bg) in zip(net.parameters(), before):
        np.testing.assert_array_equal(p, bp)
        np.testing.assert_array_equal(g, bg)
    # the unfused path says the same about a bad target
    with pytest.raises(ValueError, match=r"target: expected the shape of input \(4, 4\), got \(4, 3\)"):
        manual_step(net, x, np.ones((4, 3)), MSELoss(), opt)


class HalfMSE(MSELoss):
    """A subclass: it may compute something else, so the compiled step must not assume MSE."""

    def __call__(self, input, target):
        return 0.5 * super().__call__(input, target)

    def backward(self):
        return 0.5 * super().backward()


class PlainGradientDescent:
    """A duck-typed optimizer the compiled step does not know."""

    def __init__(self, net, lr):
        self.net, self.lr = net, lr

    def step(self):
        for p, g in self.net.parameters():
            p -= self.lr * g


class SGDWithClipping(SGD):
    def step(self):
        for _, g in self.params:
            np.clip(g, -0.01, 0.01, out=g)
        super().step()


FALLBACKS = {
    "loss subclass": lambda net: (HalfMSE(), SGD(net, lr=0.1)),
    "reduction none": lambda net: (MSELoss("none"), SGD(net, lr=0.1)),
    "other optimizer": lambda net: (MSELoss(), PlainGradientDescent(net, lr=0.1)),
    "SGD subclass": lambda net: (MSELoss(), SGDWithClipping(net, lr=0.1, momentum=0.9)),
    "SGD over a subset": lambda net: (MSELoss(), SGD(net.parameters()[:2], lr=0.1, momentum=0.9)),
    "SGD in another order": lambda net: (MSELoss(), SGD(net.parameters()[::-1], lr=0.1)),
    "SGD over another Net": lambda net: (MSELoss(), SGD(make_net("relu-tanh-softmax", net.dtype), lr=0.1)),
}


@pytest.mark.parametrize("case", FALLBACKS)
def test_unsupported_loss_or_optimizer_falls_back(rng, case):
    fused, manual = twin_nets("relu-tanh-softmax", np.float64)
    loss_f, opt_f = FALLBACKS[case](fused)
    loss_m, opt_m = FALLBACKS[case](manual)
    x, t = batch(rng, fused, 5, np.float64)
    assert fused._step.run(x, t, loss_f, opt_f) is None  # not the compiled path
    for _ in range(5):
        x, t = batch(rng, fused, 5, np.float64)
        a = fused.train_step(x, t, loss_f, opt_f)
        b = manual_step(manual, x, t, loss_m, opt_m)
        np.testing.assert_array_equal(a, b)
        assert_same_state(fused, manual)
    if case == "reduction none":
        assert isinstance(a, np.ndarray) and a.shape == (5, 4)


def test_optimizer_params_checked_again_after_a_change(rng):
    net = make_net("relu-tanh-softmax", np.float64)
    x, t = batch(rng, net, 2, np.float64)
    opt = SGD(net, lr=0.1)
    assert net._step.run(x, t, MSELoss(), opt) is not None
    other = SGD(make_net("relu-tanh-softmax", np.float64), lr=0.1)
    assert net._step.run(x, t, MSELoss(), other) is None
    opt.params = opt.params[:1]  # edited in place: no longer this Net's parameters
    assert net._step.run(x, t, MSELoss(), opt) is None


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda net: pickle.loads(pickle.dumps(net))])
def test_copied_net_trains_on_its_own_parameters(rng, clone):
    net = make_net("relu-tanh-softmax", np.float32)
    x, t = batch(rng, net, 3, np.float32)
    net.train_step(x, t, MSELoss(), SGD(net, lr=0.1))
    twin = clone(net)
    original = [p.copy() for p, _ in net.parameters()]
    reference = clone(net)
    a = compiled_step(twin, x, t, MSELoss(), SGD(twin, lr=0.1))
    b = manual_step(reference, x, t, MSELoss(), SGD(reference, lr=0.1))
    assert a == b
    assert_same_state(twin, reference)
    for (p, _), o in zip(net.parameters(), original):  # the original is untouched
        np.testing.assert_array_equal(p, o)


def test_arrays_the_step_published_may_be_passed_back_in(rng):
    # loss_fn._grad is the step's workspace (backward() hands out a copy of it); fed back
    # as the next target or input, the step must read its values, not what the kernel
    # writes over them.
    # (A 4-4-4 net, so the loss gradient also fits as an input.)
    fused = Net([Layer(4, 4, "tanh", dtype=np.float64, seed=0), Layer(4, 4, dtype=np.float64, seed=1)])
    manual = Net([Layer(4, 4, "tanh", dtype=np.float64, seed=0), Layer(4, 4, dtype=np.float64, seed=1)])
    opt_f, opt_m = SGD(fused, lr=0.1), SGD(manual, lr=0.1)
    loss_f, loss_m = MSELoss(), MSELoss()
    x, t = batch(rng, fused, 3, np.float64)
    fused.train_step(x, t, loss_f, opt_f)
    manual_step(manual, x, t, loss_m, opt_m)
    for _ in range(3):
        published = loss_f._grad
        values = published.copy()
        assert fused.train_step(x, published, loss_f, opt_f) == manual_step(manual, x, values, loss_m, opt_m)
        assert_same_state(fused, manual)
        published = loss_f.backward()
        values = published.copy()
        assert fused.train_step(published, t, loss_f, opt_f) == manual_step(manual, values, t, loss_m, opt_m)
        assert_same_state(fused, manual)
        output = fused[1]._y  # the last layer's cached output, also a workspace
        values = output.copy()
        assert fused.train_step(output, output, loss_f, opt_f) == manual_step(manual, values, values, loss_m, opt_m)
        assert_same_state(fused, manual)


# --- every loss class -------------------------------------------------------------------

def spread(rng, n, c, dtype):
    """Regression targets about as far from the outputs as beta/delta: both branches."""
    return rng.standard_normal((n, c)).astype(dtype)


def unit(rng, n, c, dtype):
    """Values in [0, 1]: BCE's targets, and any loss's."""
    return rng.random((n, c)).astype(dtype)


def indices(rng, n, c, dtype):
    return rng.integers(0, c, n)


def probabilities(rng, n, c, dtype):
    return rng.dirichlet(np.ones(c), n).astype(dtype)


ANY_OUTPUT = ["relu logits", "tiny tanh logits"]
PROBABILITY_OUTPUT = ["2-2-2 sigmoid", "relu-tanh-softmax"]  # for BCELoss
LOG_PROBABILITY_OUTPUT = ["wide tanh-log_softmax", "every activation"]  # for NLLLoss


def class_weight(c):
    return np.linspace(0.5, 2.0, c)


# name: (loss for (reduction, number of classes/outputs), target maker, architectures)
LOSS_CASES = {
    "L1Loss": (lambda r, c: L1Loss(r), spread, ANY_OUTPUT),
    "MSELoss": (lambda r, c: MSELoss(r), spread, ANY_OUTPUT),
    "SmoothL1Loss(beta=0.5)": (lambda r, c: SmoothL1Loss(r, beta=0.5), spread, ANY_OUTPUT),
    "SmoothL1Loss(beta=0)": (lambda r, c: SmoothL1Loss(r, beta=0.0), spread, ANY_OUTPUT),
    "HuberLoss(delta=0.7)": (lambda r, c: HuberLoss(r, delta=0.7), spread, ANY_OUTPUT),
    "CrossEntropyLoss": (lambda r, c: CrossEntropyLoss(reduction=r), indices, ANY_OUTPUT),
    "CrossEntropyLoss(weight, ignore_index, label_smoothing)": (
        lambda r, c: CrossEntropyLoss(class_weight(c), ignore_index=1, reduction=r,
                                      label_smoothing=0.2), indices, ANY_OUTPUT),
    "CrossEntropyLoss(probabilities)": (
        lambda r, c: CrossEntropyLoss(reduction=r), probabilities, ANY_OUTPUT),
    "CrossEntropyLoss(probabilities, weight, label_smoothing)": (
        lambda r, c: CrossEntropyLoss(class_weight(c), reduction=r, label_smoothing=0.1),
        probabilities, ANY_OUTPUT),
    "NLLLoss": (lambda r, c: NLLLoss(reduction=r), indices, LOG_PROBABILITY_OUTPUT),
    "NLLLoss(weight, ignore_index)": (
        lambda r, c: NLLLoss(class_weight(c), ignore_index=0, reduction=r), indices,
        LOG_PROBABILITY_OUTPUT),
    "BCELoss": (lambda r, c: BCELoss(reduction=r), unit, PROBABILITY_OUTPUT),
    "BCELoss(weight (C,))": (lambda r, c: BCELoss(class_weight(c), reduction=r), unit,
                             PROBABILITY_OUTPUT),
    "BCELoss(weight (1, 1))": (lambda r, c: BCELoss(np.array([[0.25]]), reduction=r), unit,
                               PROBABILITY_OUTPUT),
    "BCEWithLogitsLoss": (lambda r, c: BCEWithLogitsLoss(reduction=r), unit, ANY_OUTPUT),
    "BCEWithLogitsLoss(weight, pos_weight)": (
        lambda r, c: BCEWithLogitsLoss(np.array([[2.0]]), reduction=r,
                                       pos_weight=class_weight(c)), unit, ANY_OUTPUT),
}

# 20 steps: (batch size, fused or the five calls), the batch size changing (to 0 once: nan
# for 'mean', as torch) and manual steps mixed in, on the same net and optimizer.
SCHEDULE = [(7, True), (7, True), (1, True), (7, False), (64, True), (64, True), (0, True),
            (3, False), (3, True), (1, False), (5, True), (5, True), (64, False), (64, True),
            (2, True), (2, True), (9, False), (9, True), (7, True), (7, True)]


def same_loss(a, b):
    return a == b or (np.isnan(a) and np.isnan(b))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("case", LOSS_CASES)
def test_every_loss_equals_the_five_calls(rng, dtype, reduction, case):
    make_loss, make_target, architectures = LOSS_CASES[case]
    for architecture in architectures:
        fused, manual = twin_nets(architecture, dtype)
        options = {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}
        opt_f, opt_m = SGD(fused, **options), SGD(manual, **options)
        loss_f = make_loss(reduction, fused.out_features)
        loss_m = make_loss(reduction, fused.out_features)
        for n, use_fused in SCHEDULE:
            x = rng.standard_normal((n, fused.in_features)).astype(dtype)
            t = make_target(rng, n, fused.out_features, dtype)
            if use_fused:
                a = compiled_step(fused, x, t, loss_f, opt_f)
            else:
                a = manual_step(fused, x, t, loss_f, opt_f)
            b = manual_step(manual, x, t, loss_m, opt_m)
            assert type(a) is float and same_loss(a, b), (n, a, b)
            assert_same_state(fused, manual, opt_f, opt_m)
        np.testing.assert_array_equal(loss_f.backward(), loss_m.backward())
        gy = rng.standard_normal((7, fused.out_features)).astype(dtype)
        np.testing.assert_array_equal(fused.backward(gy), manual.backward(gy))


@pytest.mark.parametrize("dtype", DTYPES)
def test_class_targets_and_weights_converted_as_the_public_calls_do(rng, dtype):
    fused, manual = twin_nets("relu logits", dtype)
    opt_f, opt_m = SGD(fused, lr=0.1), SGD(manual, lr=0.1)
    labels = rng.integers(0, 5, 6)
    q = probabilities(rng, 6, 5, np.float64)
    targets = ([labels.astype(t) for t in (np.int8, np.uint8, np.int32, np.uint64)]
               + list(layouts(labels).values()) + [labels.tolist()]
               + list(layouts(q).values()) + [q.astype(np.float16), q.tolist()])
    for weight in [None, class_weight(5), class_weight(5).astype(np.float32).tolist()]:
        for t in targets:
            x = rng.standard_normal((6, 6))  # float64 into a Net of either dtype
            before = np.array(t, copy=True)
            a = compiled_step(fused, x, t, CrossEntropyLoss(weight), opt_f)
            b = manual_step(manual, x, t, CrossEntropyLoss(weight), opt_m)
            assert a == b
            assert_same_state(fused, manual)
            np.testing.assert_array_equal(t, before)  # the caller's target is untouched


def test_loss_options_changed_between_steps_are_read_again(rng):
    fused, manual = twin_nets("relu logits", np.float64)
    opt_f, opt_m = SGD(fused, lr=0.1), SGD(manual, lr=0.1)
    loss_f, loss_m = CrossEntropyLoss(class_weight(5)), CrossEntropyLoss(class_weight(5))
    for step in range(4):
        for loss_fn in (loss_f, loss_m):
            loss_fn.label_smoothing = 0.1 * step
            loss_fn.weight *= 1.5  # in place: the array is read at each call
        x, t = rng.standard_normal((4, 6)), rng.integers(0, 5, 4)
        assert compiled_step(fused, x, t, loss_f, opt_f) == manual_step(manual, x, t, loss_m, opt_m)
        assert_same_state(fused, manual)


def test_a_reused_loss_record_follows_option_changes(rng):
    """The same x and target arrays every step: the loss's record serves again until an
    option of the loss is set (its watch counts the change), then is made anew."""
    fused, manual = twin_nets("relu logits", np.float64)
    opt_f, opt_m = SGD(fused, lr=0.1), SGD(manual, lr=0.1)
    loss_f, loss_m = SmoothL1Loss(beta=1.0), SmoothL1Loss(beta=1.0)
    x, t = rng.standard_normal((4, 6)), rng.standard_normal((4, 5))
    changes = [("beta", 0.25), ("reduction", "sum"), ("beta", 2.0), ("reduction", "mean")]
    for step in range(6):
        if 0 < step <= len(changes):
            name, value = changes[step - 1]
            setattr(loss_f, name, value)
            setattr(loss_m, name, value)
        assert compiled_step(fused, x, t, loss_f, opt_f) == manual_step(manual, x, t, loss_m,
                                                                       opt_m)
        assert_same_state(fused, manual)


@pytest.mark.parametrize("make_loss", [CrossEntropyLoss, NLLLoss])
def test_class_indices_changed_in_place_are_checked_again(rng, make_loss):
    """The same target array every step: the class loss's record serves again while its
    indices stay in range; one set out of range in place raises as the unfused step does,
    with nothing changed, and a valid one trains on."""
    fused, manual = twin_nets("relu logits", np.float64)
    opt_f, opt_m = SGD(fused, lr=0.1), SGD(manual, lr=0.1)
    loss_f, loss_m = make_loss(ignore_index=2), make_loss(ignore_index=2)
    x, t = rng.standard_normal((4, 6)), np.array([0, 1, 4, 3])
    for index in [1, 2, 9, -1, 4]:  # 2 is ignore_index; 9 and -1 are out of range
        t[1] = index
        if 0 <= index < 5:
            assert (compiled_step(fused, x, t, loss_f, opt_f)
                    == manual_step(manual, x, t, loss_m, opt_m))
            assert_same_state(fused, manual)
        else:
            before = snapshot(fused, loss_f, opt_f)
            expected = raised(lambda: manual_step(manual, x, t, loss_m, opt_m))
            assert raised(lambda: fused.train_step(x, t, loss_f, opt_f)) == expected
            assert_unchanged(fused, loss_f, opt_f, before)


def test_a_gathered_batch_is_the_step_on_the_rows(rng):
    """Net.fit's shuffled batches: the compiled step gathers x[rows] itself, with the floats
    of train_step(x[rows], ...); rows it cannot read leave the error to NumPy's x[rows]."""
    fused, manual = twin_nets("relu logits", np.float32)
    opt_f, opt_m = SGD(fused, lr=0.1, momentum=0.9), SGD(manual, lr=0.1, momentum=0.9)
    loss_f, loss_m = CrossEntropyLoss(), CrossEntropyLoss()
    x, y = rng.standard_normal((50, 6)).astype(np.float32), rng.integers(0, 5, 50)
    for _ in range(3):
        rows = rng.permutation(50)[:8]
        before = fused._step.compiled_steps
        value = fused._gathered_train_step(x, y[rows], rows, loss_f, opt_f)
        assert fused._step.compiled_steps == before + 1
        assert value == manual_step(manual, x[rows], y[rows], loss_m, opt_m)
        assert_same_state(fused, manual)
    with pytest.raises(IndexError):
        fused._gathered_train_step(x, y[:2], np.array([3, 50]), loss_f, opt_f)


def test_copies_keep_caches_of_their_own(rng):
    """A shallow copy of a loss or a Layer holds the same last gradient and forward arrays,
    but the copy's own calls leave the original's alone (DataParallel steps a copy of its
    loss)."""
    net = twin_nets("relu logits", np.float64)[0]
    loss_fn, opt = CrossEntropyLoss(), SGD(net, lr=0.1)
    x, t = rng.standard_normal((4, 6)), rng.integers(0, 5, 4)
    net.train_step(x, t, loss_fn, opt)
    grad, layer_y = loss_fn._grad, net[0]._y
    twin, layer_twin = copy.copy(loss_fn), copy.copy(net[0])
    assert twin._grad is grad and layer_twin._y is layer_y
    twin(rng.standard_normal((4, 5)), t)
    layer_twin.forward(rng.standard_normal((3, 6)))
    assert twin._grad is not grad and layer_twin._y.shape == (3, 32)
    assert loss_fn._grad is grad and net[0]._y is layer_y


def test_copies_watch_their_own_options():
    loss, opt = HuberLoss(delta=2.0), SGD([(np.zeros(3), np.zeros(3))], lr=0.1)
    for original in (loss, opt):
        for copied in (copy.copy(original), copy.deepcopy(original),
                       pickle.loads(pickle.dumps(original))):
            assert copied._watch is not original._watch
            before = original._watch.changes
            copied.lr = copied.delta = 0.5
            assert original._watch.changes == before
    assert copy.copy(loss).delta == 2.0 and pickle.loads(pickle.dumps(opt)).lr == 0.1


# --- errors -----------------------------------------------------------------------------

def raised(step):
    """(type, message) of what step() raises."""
    with pytest.raises((ValueError, TypeError)) as info:
        step()
    return type(info.value), str(info.value)


def snapshot(net, loss_fn, opt):
    """Everything a step may change: parameters, gradients, momentum buffers, the Layers'
    forward caches and what loss_fn.backward() returns (values and identities)."""
    return ([(p.copy(), g.copy()) for p, g in net.parameters()],
            [None if b is None else b.copy() for b in opt._buffers],
            [(layer._x, layer._y, layer._x.copy(), layer._y.copy()) for layer in net],
            (loss_fn._grad, loss_fn._grad.copy()))


def assert_unchanged(net, loss_fn, opt, before):
    params, buffers, caches, (grad, grad_values) = before
    for (p, g), (bp, bg) in zip(net.parameters(), params):
        np.testing.assert_array_equal(p, bp)
        np.testing.assert_array_equal(g, bg)
    for b, bb in zip(opt._buffers, buffers):
        np.testing.assert_array_equal(b, bb)
    for layer, (x, y, x_values, y_values) in zip(net, caches):
        assert layer._x is x and layer._y is y
        np.testing.assert_array_equal(x, x_values)
        np.testing.assert_array_equal(y, y_values)
    assert loss_fn._grad is grad
    np.testing.assert_array_equal(grad, grad_values)


def bad_weight(c):
    return np.ones(c + 1)


# name: (architecture, loss maker (number of outputs), valid target, invalid target); the
# loss options may themselves be what is wrong.
ERROR_CASES = {
    "class index out of range": ("relu logits", lambda c: CrossEntropyLoss(), indices,
                                 lambda n, c: np.full(n, c)),
    "negative class index": ("wide tanh-log_softmax", lambda c: NLLLoss(ignore_index=3),
                             indices, lambda n, c: np.full(n, -1)),
    "class indices of the wrong shape": ("relu logits", lambda c: CrossEntropyLoss(), indices,
                                         lambda n, c: np.zeros((n, 1), np.int64)),
    "probabilities of the wrong shape": ("relu logits", lambda c: CrossEntropyLoss(),
                                         probabilities, lambda n, c: np.zeros((n, c + 1))),
    "probabilities with a non-negative ignore_index": (
        "relu logits", lambda c: CrossEntropyLoss(ignore_index=0), indices,
        lambda n, c: np.zeros((n, c))),
    "float target for NLLLoss": ("wide tanh-log_softmax", lambda c: NLLLoss(), indices,
                                 lambda n, c: np.zeros(n)),
    "class weight of the wrong shape": ("relu logits", lambda c: CrossEntropyLoss(bad_weight(c)),
                                        indices, indices),
    "elementwise target of the wrong shape": ("relu logits", lambda c: HuberLoss(), spread,
                                              lambda n, c: np.zeros((n, c + 1))),
    "complex target": ("relu logits", lambda c: L1Loss(), spread,
                       lambda n, c: np.zeros((n, c), complex)),
    "BCE target outside [0, 1]": ("2-2-2 sigmoid", lambda c: BCELoss(), unit,
                                  lambda n, c: np.full((n, c), 1.5)),
    "BCE target nan": ("2-2-2 sigmoid", lambda c: BCELoss(), unit,
                       lambda n, c: np.full((n, c), np.nan)),
    "BCE weight of the wrong shape": ("2-2-2 sigmoid", lambda c: BCELoss(bad_weight(c)), unit,
                                      unit),
    "pos_weight of the wrong shape": (
        "relu logits", lambda c: BCEWithLogitsLoss(pos_weight=bad_weight(c)), unit, unit),
}


def invalid_option(loss_fn, name, value):
    setattr(loss_fn, name, value)  # after construction, which validated the first value
    return loss_fn


ERROR_CASES.update({
    "beta set below 0": ("relu logits", lambda c: invalid_option(SmoothL1Loss(), "beta", -1.0),
                         spread, spread),
    "label_smoothing set above 1": (
        "relu logits", lambda c: invalid_option(CrossEntropyLoss(), "label_smoothing", 2.0),
        indices, indices),
})


@pytest.mark.parametrize("case", ERROR_CASES)
def test_invalid_target_raises_what_the_loss_raises_and_changes_nothing(rng, case):
    architecture, make_loss, valid, invalid = ERROR_CASES[case]
    fused, manual = twin_nets(architecture, np.float32)
    c = fused.out_features
    loss_f, loss_m = make_loss(c), make_loss(c)
    opt_f, opt_m = SGD(fused, lr=0.1, momentum=0.9), SGD(manual, lr=0.1, momentum=0.9)
    x, t = rng.standard_normal((4, fused.in_features)), valid(rng, 4, c, np.float32)
    if valid is not invalid:  # a first step, so that there are caches and buffers to keep
        fused.train_step(x, t, loss_f, opt_f)
    else:  # the loss itself is invalid: the first step with another one
        fused.train_step(x, np.zeros((4, c)), MSELoss(), opt_f)
        loss_f._grad = np.zeros(1)
    before = snapshot(fused, loss_f, opt_f)
    bad = invalid(4, c) if valid is not invalid else t
    expected = raised(lambda: manual_step(manual, x, bad, loss_m, opt_m))
    assert raised(lambda: fused.train_step(x, bad, loss_f, opt_f)) == expected
    assert_unchanged(fused, loss_f, opt_f, before)


def bce_nets(dtype, bias):
    """Twin Nets whose outputs are all close to ``bias`` (the last layer's weights start at
    0), so a bias outside [0, 1] makes BCELoss refuse its input."""
    nets = twin_nets("relu logits", dtype)
    for net in nets:
        net[1].weight = np.zeros((5, 32))
        net[1].bias = np.full(5, bias)
    return nets


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_input_outside_unit_interval_raises_as_bceloss_does(rng, dtype):
    fused, manual = bce_nets(dtype, 0.5)
    opt_f, opt_m = SGD(fused, lr=0.1, momentum=0.9), SGD(manual, lr=0.1, momentum=0.9)
    loss_f, loss_m = BCELoss(), BCELoss()
    x, t = rng.standard_normal((6, 6)).astype(dtype), unit(rng, 6, 5, dtype)
    assert compiled_step(fused, x, t, loss_f, opt_f) == manual_step(manual, x, t, loss_m, opt_m)
    params, buffers, _, (grad, grad_values) = snapshot(fused, loss_f, opt_f)
    for net in (fused, manual):
        net[1].bias = np.full(5, 3.0)
    params[-1] = (fused[1].bias.copy(), params[-1][1])
    x5, t5 = x[:5], t[:5]  # another batch size: new workspaces, which the Layers must now hold
    expected = raised(lambda: manual_step(manual, x5, t5, loss_m, opt_m))
    assert expected[0] is ValueError and expected[1].startswith("input: expected values in [0, 1]")
    assert raised(lambda: fused.train_step(x5, t5, loss_f, opt_f)) == expected
    # parameters, momentum buffers and loss_fn.backward() unchanged; so are the gradients,
    # which the five calls zero; the Layers hold this forward, as after the five calls
    for (p, g), (bp, bg) in zip(fused.parameters(), params):
        np.testing.assert_array_equal(p, bp)
        np.testing.assert_array_equal(g, bg)
    assert fused[1].grad_bias.any()  # not zeroed
    for b, bb in zip(opt_f._buffers, buffers):
        np.testing.assert_array_equal(b, bb)
    assert loss_f._grad is grad
    np.testing.assert_array_equal(grad, grad_values)
    for a, b in zip(fused, manual):
        np.testing.assert_array_equal(a._x, b._x)
        np.testing.assert_array_equal(a._y, b._y)
    for _, g in manual.parameters():
        assert not g.any()
    # and training goes on alike
    for net in (fused, manual):
        net[1].bias = np.full(5, 0.5)
    for _ in range(3):
        assert compiled_step(fused, x, t, loss_f, opt_f) == manual_step(manual, x, t, loss_m, opt_m)
        assert_same_state(fused, manual, opt_f, opt_m)


def test_bce_input_error_on_the_first_step_makes_no_momentum_buffers(rng):
    fused, _ = bce_nets(np.float64, -0.5)
    opt = SGD(fused, lr=0.1, momentum=0.9)
    x, t = rng.standard_normal((6, 6)), unit(rng, 6, 5, np.float64)
    with pytest.raises(ValueError, match=r"input: expected values in \[0, 1\]"):
        fused.train_step(x, t, BCELoss(), opt)
    assert opt._buffers == [None] * len(fused.parameters())
    for _, g in fused.parameters():
        assert not g.any()  # zeros, as built


@pytest.mark.parametrize("bias", [3.0, 0.5])
@pytest.mark.parametrize("target_fault", ["outside [0, 1]", "weight of the wrong shape"])
def test_bce_input_error_comes_before_the_target_value_errors(rng, bias, target_fault):
    # BCELoss checks the target's shape, its input's values, then the target's values and
    # the weight: the step must say what BCELoss says even when the target is refused first.
    fused, manual = bce_nets(np.float32, bias)
    x, t = rng.standard_normal((6, 6)), unit(rng, 6, 5, np.float32)
    make = (lambda: BCELoss(bad_weight(5))) if target_fault != "outside [0, 1]" else BCELoss
    bad_t = t + 2 if target_fault == "outside [0, 1]" else t
    expected = raised(lambda: manual_step(manual, x, bad_t, make(), SGD(manual, lr=0.1)))
    assert expected[1].startswith("input: " if bias == 3.0 else "target: " if
                                  target_fault == "outside [0, 1]" else "weight: ")
    params = [(p.copy(), g.copy()) for p, g in fused.parameters()]
    assert raised(lambda: fused.train_step(x, bad_t, make(), SGD(fused, lr=0.1))) == expected
    for (p, g), (bp, bg) in zip(fused.parameters(), params):
        np.testing.assert_array_equal(p, bp)
        np.testing.assert_array_equal(g, bg)
    for layer in fused:
        assert layer._x is None  # nothing cached: the target was refused before the forward


def test_bce_nan_output_is_refused_as_bceloss_refuses_it(rng):
    fused, manual = twin_nets("2-2-2 sigmoid", np.float64)
    x, t = np.array([[np.nan, 0.0]]), np.array([[0.5, 0.5]])
    expected = raised(lambda: manual_step(manual, x, t, BCELoss(), SGD(manual, lr=0.1)))
    assert expected == (ValueError, "input: expected values in [0, 1], got nan")
    assert raised(lambda: fused.train_step(x, t, BCELoss(), SGD(fused, lr=0.1))) == expected


# --- inputs that share memory with the step's -------------------------------------------

def test_input_that_is_a_gradient_takes_the_unfused_path(rng):
    # The five calls zero the gradients before they read x: a gradient passed as x is read
    # as zeros.  (layer 0's grad_weight is (32, 6): a batch of 32 inputs.)
    fused, manual = twin_nets("relu logits", np.float64)
    opt_f, opt_m = SGD(fused, lr=0.1), SGD(manual, lr=0.1)
    x, t = rng.standard_normal((32, 6)), rng.integers(0, 5, 32)
    fused.train_step(x, t, CrossEntropyLoss(), opt_f)
    manual_step(manual, x, t, CrossEntropyLoss(), opt_m)
    for _ in range(3):
        gx_f, gx_m = fused[0].grad_weight, manual[0].grad_weight
        assert fused._step.run(gx_f, t, CrossEntropyLoss(), opt_f) is None
        a = fused.train_step(gx_f, t, CrossEntropyLoss(), opt_f)
        assert a == manual_step(manual, gx_m, t, CrossEntropyLoss(), opt_m)
        assert_same_state(fused, manual)
        # a view with negative strides, which needs converting, too
        gx_f, gx_m = fused[0].grad_weight[::-1], manual[0].grad_weight[::-1]
        assert fused._step.run(gx_f, t, CrossEntropyLoss(), opt_f) is None
        a = fused.train_step(gx_f, t, CrossEntropyLoss(), opt_f)
        assert a == manual_step(manual, gx_m, t, CrossEntropyLoss(), opt_m)
        assert_same_state(fused, manual)


def test_loss_weight_that_views_the_published_loss_gradient(rng):
    # The kernel writes the loss gradient while it reads the weight: such a weight must
    # not be read from the workspace it overwrites.
    fused, manual = twin_nets("relu logits", np.float64)
    opt_f, opt_m = SGD(fused, lr=0.1), SGD(manual, lr=0.1)
    loss_f, loss_m = CrossEntropyLoss(), CrossEntropyLoss()
    x, t = rng.standard_normal((4, 6)), rng.integers(0, 5, 4)
    fused.train_step(x, t, loss_f, opt_f)
    manual_step(manual, x, t, loss_m, opt_m)
    weighted_f = CrossEntropyLoss(loss_f._grad[0])  # a view of the step's workspace
    weighted_m = CrossEntropyLoss(loss_m.backward()[0].copy())
    assert fused._step.run(x, t, weighted_f, opt_f) is None
    for _ in range(3):
        a = fused.train_step(x, t, weighted_f, opt_f)
        assert a == manual_step(manual, x, t, weighted_m, opt_m)
        assert_same_state(fused, manual)


def test_bce_target_that_is_a_gradient_is_read_as_the_five_calls_read_it(rng):
    # The five calls zero the gradients first: a gradient passed as BCE's target is a valid
    # target of zeros then, whatever values outside [0, 1] it held before the step.
    fused, manual = twin_nets("2-2-2 sigmoid", np.float64)
    opt_f, opt_m = SGD(fused, lr=0.5), SGD(manual, lr=0.5)
    x, t = rng.standard_normal((2, 2)), np.ones((2, 2))  # gradients below 0
    for _ in range(3):
        fused.train_step(x, t, BCELoss(), opt_f)
        manual_step(manual, x, t, BCELoss(), opt_m)
        t_f, t_m = fused[1].grad_weight, manual[1].grad_weight  # (2, 2): a batch of 2
        assert (t_f < 0).any() or (t_f > 1).any()  # not a valid target before the zeroing
        a = fused.train_step(x, t_f, BCELoss(), opt_f)
        assert a == manual_step(manual, x, t_m, BCELoss(), opt_m)
        assert_same_state(fused, manual)


def test_backward_after_a_fused_step_is_not_overwritten_by_the_next(rng):
    """The unfused path hands out a fresh gradient per loss call; after a fused step,
    loss_fn.backward() is a copy of the workspace the next step reuses."""
    net = Net([Layer(3, 4, "relu", dtype=np.float64, seed=0), Layer(4, 2, dtype=np.float64, seed=1)])
    opt, loss_fn = SGD(net, lr=0.1), MSELoss()
    x, t = batch(rng, net, 5, np.float64)
    net.train_step(x, t, loss_fn, opt)
    grad = loss_fn.backward()
    kept = grad.copy()
    net.train_step(x, t, loss_fn, opt)
    np.testing.assert_array_equal(grad, kept)
    assert not np.array_equal(loss_fn.backward(), kept)  # the new step's gradient


# Every optimizer of fastbp.optim, each with the options that take its other branches.
OPTIMIZERS = [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    ("AdamW", {"lr": 0.01, "betas": (0.8, 0.99)}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True, "weight_decay": 0.01}),
    ("Adagrad", {"lr": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
]


def manual_clipped_step(net, x, target, loss_fn, optimizer, max_grad_norm):
    net.zero_grad()
    loss = loss_fn(net(x), target)
    net.backward(loss_fn.backward())
    if max_grad_norm is not None:
        fastbp.clip_grad_norm_(net, max_grad_norm)
    optimizer.step()
    return loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=lambda o: str(o))
@pytest.mark.parametrize("max_grad_norm", [None, 0.5])
def test_every_optimizer_and_clipping_run_compiled(rng, dtype, name, options, max_grad_norm):
    fused, manual = twin_nets("relu-tanh-softmax", dtype)
    cls = getattr(fastbp, name)
    opt_f, opt_m = cls(fused, **options), cls(manual, **options)
    loss_f, loss_m = CrossEntropyLoss(), CrossEntropyLoss()
    for step in range(12):
        x = rng.standard_normal((9, fused.in_features)).astype(dtype)
        t = rng.integers(0, fused.out_features, 9)
        before = fused._step.compiled_steps
        a = fused.train_step(x, t, loss_f, opt_f, max_grad_norm=max_grad_norm)
        assert fused._step.compiled_steps == before + 1, "train_step took the unfused path"
        b = manual_clipped_step(manual, x, t, loss_m, opt_m, max_grad_norm)
        assert a == b
        assert_same_state(fused, manual)
        if step == 5:  # a schedule's write of lr takes effect at the next compiled step
            opt_f.lr = opt_m.lr = opt_f.lr / 2
    state_f, state_m = opt_f.state_dict(), opt_m.state_dict()
    assert state_f.keys() == state_m.keys()
    for key in state_f:
        np.testing.assert_array_equal(state_f[key], state_m[key])


V2_ACTIVATIONS = ["gelu", ("gelu", {"approximate": "tanh"}), "silu",
                  ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.7}),
                  ("softplus", {"beta": 2.0, "threshold": 3.0})]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", V2_ACTIVATIONS, ids=str)
@pytest.mark.parametrize("n", [1, 16])
def test_v2_activations_run_compiled(rng, dtype, activation, n):
    def net():
        return Net([Layer(5, 16, activation, dtype=dtype, seed=0),
                    Layer(16, 8, activation, bias=False, dtype=dtype, seed=1),
                    Layer(8, 3, dtype=dtype, seed=2)])
    fused, manual = net(), net()
    opt_f, opt_m = SGD(fused, lr=0.1, momentum=0.9), SGD(manual, lr=0.1, momentum=0.9)
    loss_f, loss_m = MSELoss(), MSELoss()
    for _ in range(10):
        x, t = batch(rng, fused, n, dtype)
        x *= 4  # past softplus's threshold and into gelu's and elu's tails
        assert compiled_step(fused, x, t, loss_f, opt_f) == manual_step(manual, x, t, loss_m,
                                                                          opt_m)
        assert_same_state(fused, manual, opt_f, opt_m)
    # the Layers' caches (the pre-activation included) serve a manual backward alike
    gy = rng.standard_normal((n, 3)).astype(dtype)
    np.testing.assert_array_equal(fused.backward(gy), manual.backward(gy))


@pytest.mark.parametrize("make_loss", [MSELoss, L1Loss, lambda: SmoothL1Loss(beta=0.5),
                                       lambda: HuberLoss(delta=2.0), BCEWithLogitsLoss])
def test_one_target_array_stepped_on_again_and_edited_between_steps(rng, make_loss):
    """The step reruns the last loss and optimizer records on the same arrays and options:
    what changes in between (the target's values in place, an option, the target's shape,
    the optimizer's state) must act as it does on the five calls."""
    fused, manual = twin_nets("relu logits", np.float64)
    loss_f, loss_m = make_loss(), make_loss()
    opt_f, opt_m = SGD(fused, lr=0.1, momentum=0.9), SGD(manual, lr=0.1, momentum=0.9)
    x, t = rng.standard_normal((4, 6)), rng.random((4, 5))

    def both(edit=lambda loss_fn, opt: None):
        edit(loss_f, opt_f)
        edit(loss_m, opt_m)
        assert compiled_step(fused, x, t, loss_f, opt_f) == manual_step(manual, x, t, loss_m, opt_m)
        assert_same_state(fused, manual, opt_f, opt_m)

    both()
    both()
    t[...] = rng.random((4, 5))  # new values in the same array
    both()
    both(lambda loss_fn, opt: setattr(loss_fn, "reduction", "sum"))
    both(lambda loss_fn, opt: setattr(opt, "lr", 0.05))
    both(lambda loss_fn, opt: setattr(opt, "momentum", 0.0))
    state = opt_f.state_dict()
    both(lambda loss_fn, opt: opt.load_state_dict(state))
    for name in ("beta", "delta"):
        if hasattr(loss_f, name):
            both(lambda loss_fn, opt: setattr(loss_fn, name, 0.25))
            before = snapshot(fused, loss_f, opt_f)
            for loss_fn in (loss_f, loss_m):
                setattr(loss_fn, name, -1.0)
            expected = raised(lambda: manual_step(manual, x, t, loss_m, opt_m))
            assert raised(lambda: fused.train_step(x, t, loss_f, opt_f)) == expected
            assert_unchanged(fused, loss_f, opt_f, before)
            for loss_fn in (loss_f, loss_m):
                setattr(loss_fn, name, 0.25)
    both()
    before = snapshot(fused, loss_f, opt_f)
    t.shape = (5, 4)  # the same array, now of the wrong shape
    expected = raised(lambda: manual_step(manual, x, t, loss_m, opt_m))
    assert raised(lambda: fused.train_step(x, t, loss_f, opt_f)) == expected
    assert_unchanged(fused, loss_f, opt_f, before)


def run_batches(net, x, y, order, first, last, batch_size, loss_fn, optimizer, seconds=60.0,
                target=None):
    """TrainStep.run_batches as Net.fit calls it (the batch's target array made here)."""
    size = min(batch_size, len(order) - first * batch_size)
    if target is None:
        target = np.empty((size,) + y.shape[1:], y.dtype)
    return net._step.run_batches(x, y, order, first, last, batch_size, target, loss_fn,
                                 optimizer, None, 0.0, seconds)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss_name", ["mse", "cross_entropy"])
def test_run_batches_is_train_step_on_each_batch(rng, dtype, loss_name):
    """Many batches in one call: the same floats as train_step on each, the loss sum
    accumulated in order; it stops before the last, smaller batch."""
    fused, manual = twin_nets("relu wide", dtype)
    x = rng.standard_normal((53, 12)).astype(dtype)
    if loss_name == "mse":
        y, loss_f, loss_m = rng.random((53, 3)).astype(dtype), MSELoss(), MSELoss()
    else:
        y, loss_f, loss_m = rng.integers(0, 3, 53), CrossEntropyLoss(), CrossEntropyLoss()
    opt_f, opt_m = SGD(fused, lr=0.1, momentum=0.9), SGD(manual, lr=0.1, momentum=0.9)
    order = rng.permutation(53)
    total, done = run_batches(fused, x, y, order, 0, 6, 8, loss_f, opt_f)
    assert done == 6 and fused._step.compiled_steps == 6
    expected = 0.0
    for b in range(6):
        rows = order[8 * b:8 * b + 8]
        expected += manual.train_step(x[rows], y[rows], loss_m, opt_m) * 8
    assert total == expected
    assert_same_state(fused, manual, opt_f, opt_m)
    np.testing.assert_array_equal(loss_f.backward(), loss_m.backward())
    # batch 6 holds the last 5 rows: not of the target's size, so not run here
    assert run_batches(fused, x, y, order, 6, 7, 8, loss_f, opt_f,
                       target=np.empty((8,) + y.shape[1:], y.dtype)) == (0.0, 0)
    total, done = run_batches(fused, x, y, order, 6, 7, 8, loss_f, opt_f)
    rows = order[48:]
    assert (total, done) == (manual.train_step(x[rows], y[rows], loss_m, opt_m) * 5, 1)
    assert_same_state(fused, manual, opt_f, opt_m)


def test_run_batches_stops_before_a_batch_it_does_not_run(rng):
    """A row out of range, a class index out of range, a changed option, BCE's output
    check: the call returns before that batch, having changed nothing for it."""
    net = make_net("relu logits", np.float64)
    x = rng.standard_normal((40, 6))
    y = rng.integers(0, 5, 40)
    opt, loss_fn = SGD(net, lr=0.1), CrossEntropyLoss()
    order = rng.permutation(40)
    target = np.empty(8, np.int64)
    bad_row = order.copy()
    bad_row[17] = 40
    assert run_batches(net, x, y, bad_row, 0, 5, 8, loss_fn, opt, target=target)[1] == 2
    bad_class = y.copy()
    bad_class[order[30]] = 5  # (5 classes) in batch 3
    steps = net._step.compiled_steps
    assert run_batches(net, x, bad_class, order, 0, 5, 8, loss_fn, opt, target=target)[1] == 3
    assert net._step.compiled_steps == steps + 3
    before = net.state_dict()
    with pytest.raises(ValueError, match="class index 5 is out of range"):  # run()'s error
        run_batches(net, x, bad_class, order, 3, 5, 8, loss_fn, opt, target=target)
    assert all(np.array_equal(before[k], net.state_dict()[k]) for k in before)
    loss_fn.label_smoothing = 0.1  # the record made again by run(), for the first batch
    assert run_batches(net, x, y, order, 0, 5, 8, loss_fn, opt, target=target)[1] == 5
    # BCE checks the Net's output before each step: one batch per call
    sig = make_net("2-2-2 sigmoid", np.float32)
    xs = rng.standard_normal((40, 2)).astype(np.float32)
    ys = rng.random((40, 2)).astype(np.float32)
    assert run_batches(sig, xs, ys, order, 0, 5, 8, BCELoss(), SGD(sig, lr=0.1))[1] == 1
    # an optimizer the compiled step does not run
    class Plain:
        def step(self):
            pass
    assert run_batches(net, x, y, order, 0, 5, 8, loss_fn, Plain())[1] == 0
    assert run_batches(net, x, y, order, 0, 5, 8, loss_fn, None)[1] == 0  # no update to run
