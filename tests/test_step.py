"""Net.train_step (the _step module) against the five public calls, compared with ==."""

import copy
import pickle

import numpy as np
import pytest
from conftest import DTYPES, SGD_OPTIONS, layouts

from fastbp import SGD, Layer, MSELoss, Net

ACTIVATIONS = [None, "sigmoid", "relu", "tanh", "softmax", "log_softmax"]

# (sizes, activations, bias per layer): tiny layers take the plain-loop kernels, the
# larger ones BLAS (above 128 multiply-adds), so both dispatch branches are compared.
ARCHITECTURES = {
    "2-2-2 sigmoid": ([2, 2, 2], ["sigmoid", "sigmoid"], [True, True]),
    "single layer": ([3, 1], [None], [True]),
    "relu-tanh-softmax": ([5, 16, 8, 4], ["relu", "tanh", "softmax"], [True, False, True]),
    "wide tanh-log_softmax": ([40, 64, 10], ["tanh", "log_softmax"], [False, True]),
    "every activation": ([6, 7, 8, 9, 10, 11, 5], ACTIVATIONS, [True] * 6),
}

def make_net(architecture, dtype, seed=0):
    sizes, activations, biases = ARCHITECTURES[architecture]
    return Net([Layer(a, b, act, bias=bias, dtype=dtype, seed=seed + k)
                for k, (a, b, act, bias) in enumerate(zip(sizes, sizes[1:], activations, biases))])


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
        a = fused.train_step(x, t, loss_f, opt_f)
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
        assert fused.train_step(x, t, loss_f, opt_f) == manual_step(manual, x, t, loss_m, opt_m)
        assert_same_state(fused, manual, opt_f, opt_m)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_size_changes_and_empty_batch(rng, dtype):
    fused, manual = twin_nets("wide tanh-log_softmax", dtype)
    opt_f = SGD(fused, lr=0.1, momentum=0.5, weight_decay=0.01)
    opt_m = SGD(manual, lr=0.1, momentum=0.5, weight_decay=0.01)
    loss_f, loss_m = MSELoss(), MSELoss()
    for n in [8, 8, 1, 33, 0, 8, 2, 2, 100, 0, 1]:
        x, t = batch(rng, fused, n, dtype)
        a = fused.train_step(x, t, loss_f, opt_f)
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
            a.train_step(x, t, MSELoss(), opt_a)
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
        assert fused.train_step(x, t, MSELoss(), opt_f) == manual_step(manual, x, t, MSELoss(), opt_m)
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
        a = fused.train_step(xl, tl, MSELoss(), opt_f)
        b = manual_step(manual, xl, tl, MSELoss(), opt_m)
        assert a == b
        assert_same_state(fused, manual)
        np.testing.assert_array_equal(xl, before[0])  # the caller's arrays are untouched
        np.testing.assert_array_equal(tl, before[1])


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
    a = twin.train_step(x, t, MSELoss(), SGD(twin, lr=0.1))
    b = manual_step(reference, x, t, MSELoss(), SGD(reference, lr=0.1))
    assert a == b
    assert_same_state(twin, reference)
    for (p, _), o in zip(net.parameters(), original):  # the original is untouched
        np.testing.assert_array_equal(p, o)


def test_arrays_the_step_published_may_be_passed_back_in(rng):
    # loss_fn.backward() is a view of the step's workspace; fed back as the next target
    # or input, the step must read its values, not what the kernel writes over them.
    # (A 4-4-4 net, so the loss gradient also fits as an input.)
    fused = Net([Layer(4, 4, "tanh", dtype=np.float64, seed=0), Layer(4, 4, dtype=np.float64, seed=1)])
    manual = Net([Layer(4, 4, "tanh", dtype=np.float64, seed=0), Layer(4, 4, dtype=np.float64, seed=1)])
    opt_f, opt_m = SGD(fused, lr=0.1), SGD(manual, lr=0.1)
    loss_f, loss_m = MSELoss(), MSELoss()
    x, t = batch(rng, fused, 3, np.float64)
    fused.train_step(x, t, loss_f, opt_f)
    manual_step(manual, x, t, loss_m, opt_m)
    for _ in range(3):
        published = loss_f.backward()
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
