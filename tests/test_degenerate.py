"""Empty and degenerate work, end to end, as torch does it: an empty batch, one class, one
feature, every target ignored -- through Net.train_step (the fused path) and by hand."""

import numpy as np
import pytest
from conftest import DTYPES

import reference as ref
from fastbp import SGD, CrossEntropyLoss, Layer, MSELoss, Net, NLLLoss
from fastbp import functional as F


def make_net(sizes, dtype, activation="tanh"):
    return Net([Layer(a, b, activation if k < len(sizes) - 2 else None, dtype=dtype, seed=k)
                for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))])


def sgd_reference(params, grads, **options):
    """Each parameter after one torch.optim.SGD step from fresh state."""
    return [ref.sgd_step(p.copy(), g, {}, **options) for p, g in zip(params, grads)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction,expected_loss", [("mean", np.nan), ("sum", 0.0)])
def test_empty_batch(dtype, reduction, expected_loss):
    """N = 0: 'mean' is nan and 'sum' 0 (torch); every gradient is a sum over no rows, 0,
    so SGD moves the parameters by weight decay alone."""
    net = make_net([3, 4, 2], dtype)
    before = [p.copy() for p, _ in net.parameters()]
    loss = net.train_step(np.zeros((0, 3), dtype), np.zeros((0, 2), dtype),
                          MSELoss(reduction=reduction), SGD(net, lr=0.1, weight_decay=0.5))
    np.testing.assert_array_equal(loss, expected_loss)
    for (p, g), b, e in zip(net.parameters(), before,
                            sgd_reference(before, [np.zeros_like(b) for b in before],
                                          lr=0.1, weight_decay=0.5)):
        assert not g.any()
        np.testing.assert_array_equal(p, e)
    assert net(np.zeros((0, 3))).shape == (0, 2)
    assert net.backward(np.zeros((0, 2))).shape == (0, 3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss_fn", [CrossEntropyLoss(), NLLLoss(), CrossEntropyLoss(ignore_index=3),
                                     CrossEntropyLoss(reduction="sum", label_smoothing=0.2)])
def test_every_target_ignored(dtype, loss_fn):
    """'mean' over no targets is nan (0/0), 'sum' is 0; the gradient is 0 either way, so
    plain SGD leaves the parameters exactly as they were."""
    net = make_net([3, 5, 4], dtype)
    before = [p.copy() for p, _ in net.parameters()]
    target = np.full(6, loss_fn.ignore_index)
    loss = net.train_step(np.ones((6, 3), dtype), target, loss_fn, SGD(net, lr=0.1, momentum=0.9))
    np.testing.assert_array_equal(loss, np.nan if loss_fn.reduction == "mean" else 0.0)
    for (p, g), b in zip(net.parameters(), before):
        assert not g.any()
        np.testing.assert_array_equal(p, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_class(dtype):
    """With C = 1, log_softmax is 0 everywhere: cross entropy is exactly 0, and so is every
    gradient."""
    x = np.random.default_rng(0).standard_normal((7, 1)).astype(dtype)
    target = np.zeros(7, np.int64)
    assert F.cross_entropy(x, target) == 0.0
    assert not F.cross_entropy_grad(x, target).any()
    net = make_net([2, 3, 1], dtype)
    before = [p.copy() for p, _ in net.parameters()]
    assert net.train_step(np.ones((7, 2), dtype), target, CrossEntropyLoss(), SGD(net, lr=1.0)) == 0.0
    for (p, _), b in zip(net.parameters(), before):
        np.testing.assert_array_equal(p, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_feature_everywhere(dtype):
    """1 -> 1 -> 1 with batch 1: the chain rule on scalars, against the reference."""
    net = make_net([1, 1, 1], dtype, activation="sigmoid")
    spec = [(layer.weight.astype(np.float64), layer.bias.astype(np.float64), layer.activation)
            for layer in net]
    x, t = np.array([[0.3]], dtype), np.array([[0.7]], dtype)
    loss = net.train_step(x, t, MSELoss(), SGD(net, lr=0.5))
    outs = ref.net_forward(spec, x)
    assert abs(loss - ref.mse_loss(outs[-1], t)) <= 1e-5 * abs(loss)
    _, grads = ref.net_backward(spec, x, outs, ref.mse_loss_grad(outs[-1], t))
    for (p, _), (w, b, _), (gw, gb) in zip(net.parameters()[::2], spec, grads):
        np.testing.assert_allclose(p, w - 0.5 * gw, rtol=1e-5 if dtype == np.float32 else 1e-12)
