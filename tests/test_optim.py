"""SGD against tests/reference.py's torch.optim.SGD rule, and its option errors."""

import copy
import pickle

import numpy as np
import pytest
from conftest import DTYPES

import reference as ref
from fastbp import SGD, Layer, MSELoss, Net

OPTIONS = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.3},
    {"momentum": 0.9, "nesterov": True},
    {"weight_decay": 0.05},
    {"maximize": True},
    {"momentum": 0.5, "dampening": 0.1, "weight_decay": 0.02, "maximize": True},
    {"momentum": 0.8, "nesterov": True, "weight_decay": 1e-3, "maximize": True},
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", OPTIONS)
def test_sgd_matches_reference_rule(rng, dtype, options):
    shapes = [(3, 4), (4,), (1,), (2, 5)]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [np.zeros_like(p) for p in params]
    expected = [p.copy() for p in params]
    states = [{} for _ in params]
    opt = SGD(list(zip(params, grads)), lr=0.05, **options)
    for _ in range(10):
        for k, g in enumerate(grads):
            g[...] = rng.standard_normal(g.shape)
            expected[k] = ref.sgd_step(expected[k], g.copy(), states[k], 0.05, **options)
        opt.step()
        for p, e in zip(params, expected):
            # same operations in the same dtype and order: the same floats
            np.testing.assert_array_equal(p, e)


def test_first_step_buffer_is_the_gradient():
    p = np.array([1.0])
    g = np.array([2.0])
    opt = SGD([(p, g)], lr=0.1, momentum=0.9, dampening=0.5)
    opt.step()  # buf = g = 2 (no dampening on the first step, as torch)
    assert p[0] == 1.0 - 0.1 * 2.0
    opt.step()  # buf = 0.9*2 + 0.5*2 = 2.8
    assert p[0] == (1.0 - 0.1 * 2.0) - 0.1 * (0.9 * 2.0 + 0.5 * 2.0)


def test_accepts_a_net_and_zero_grad():
    net = Net([Layer(2, 3, seed=0), Layer(3, 1, seed=1)])
    opt = SGD(net, lr=0.1)
    assert len(opt.params) == 4
    for _, g in net.parameters():
        g[...] = 1.0
    before = [p.copy() for p, _ in net.parameters()]
    opt.step()
    for (p, _), b in zip(net.parameters(), before):
        np.testing.assert_array_equal(p, b - np.float32(0.1) * np.float32(1.0))
    opt.zero_grad()
    assert not any(g.any() for _, g in net.parameters())


def test_option_errors_match_torch():
    p = [(np.zeros(2), np.zeros(2))]
    with pytest.raises(ValueError, match="nesterov: Nesterov momentum requires momentum > 0"):
        SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="dampening == 0"):
        SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="lr: expected a value >= 0.0, got -0.1"):
        SGD(p, lr=-0.1)
    with pytest.raises(ValueError, match="momentum: expected a value >= 0.0"):
        SGD(p, lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="weight_decay: expected a value >= 0.0"):
        SGD(p, lr=0.1, weight_decay=-1)
    with pytest.raises(TypeError, match="lr: expected a real number, got '0.1'"):
        SGD(p, lr="0.1")
    with pytest.raises(TypeError, match="nesterov: expected True or False"):
        SGD(p, lr=0.1, momentum=0.9, nesterov=1)


def test_parameter_errors():
    with pytest.raises(TypeError, match=r"params\[0\]: expected a \(value, grad\) pair"):
        SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[0\]: value \(2,\) float64 and grad \(3,\) float64 differ"):
        SGD([(np.zeros(2), np.zeros(3))], lr=0.1)
    ro = np.zeros(2)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\[0\] value: expected a writable"):
        SGD([(ro, np.zeros(2))], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\] value: expected float32 or float64, got int64"):
        SGD([(np.zeros(2, np.int64), np.zeros(2, np.int64))], lr=0.1)
    a = np.zeros(4)
    with pytest.raises(ValueError, match="share memory"):
        SGD([(a[:2], a[1:3])], lr=0.1)


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))])
def test_copied_net_and_optimizer_continue_as_the_original(clone):
    # the optimizer's record points at the copied parameters and carries the copied
    # momentum buffers and step count
    net = Net([Layer(3, 2, "tanh", dtype=np.float64, seed=0)])
    opt = SGD(net, lr=0.1, momentum=0.9)
    x, t = np.linspace(-1, 1, 12).reshape(4, 3), np.zeros((4, 2))
    net.train_step(x, t, MSELoss(), opt)
    net2, opt2 = clone((net, opt))
    assert opt2.params[0][0] is net2[0].weight and opt2.params[0][0] is not net[0].weight
    for _ in range(2):
        assert net.train_step(x, t, MSELoss(), opt) == net2.train_step(x, t, MSELoss(), opt2)
    np.testing.assert_array_equal(net[0].weight, net2[0].weight)
    assert opt2._state.steps == 3
