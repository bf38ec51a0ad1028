"""Layer(init=...) against torch.nn.init's formulas and draws."""

import math

import numpy as np
import pytest

from fastbp import Layer

torch = pytest.importorskip("torch")

IN, OUT = 300, 200  # 60,000 draws: sample std within ~0.6% (3 sigma) of the true one
ACTIVATIONS = {None: "linear", "sigmoid": "sigmoid", "relu": "relu", "tanh": "tanh",
               "softmax": "linear", "log_softmax": "linear"}


def torch_weight(init, activation):
    """torch.nn.init's own draw for the same shape and gain."""
    w = torch.empty(OUT, IN, dtype=torch.float64)
    gain = torch.nn.init.calculate_gain(ACTIVATIONS[activation])
    torch.manual_seed(0)
    if init == "xavier_uniform":
        torch.nn.init.xavier_uniform_(w, gain=gain)
    elif init == "xavier_normal":
        torch.nn.init.xavier_normal_(w, gain=gain)
    else:
        # kaiming's gain is calculate_gain(nonlinearity, a): pick the nonlinearity
        kwargs = ({"nonlinearity": "relu"} if activation == "relu" else
                  {"nonlinearity": "tanh"} if activation == "tanh" else
                  {"nonlinearity": "linear"})
        getattr(torch.nn.init, init + "_")(w, mode="fan_in", **kwargs)
    return w.numpy(), gain


def expected_std(init, gain):
    if init.startswith("xavier"):
        return gain * math.sqrt(2.0 / (IN + OUT))
    return gain / math.sqrt(IN)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("init", ["xavier_uniform", "xavier_normal", "kaiming_uniform",
                                  "kaiming_normal"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_statistics_match_torch_init(init, activation, dtype):
    layer = Layer(IN, OUT, activation, dtype=dtype, seed=3, init=init)
    w = layer.weight.astype(np.float64)
    tw, gain = torch_weight(init, activation)
    std = expected_std(init, gain)
    assert layer.weight.dtype == dtype
    np.testing.assert_array_equal(layer.bias, 0)
    assert abs(w.mean()) < 0.02 * std
    assert w.std() == pytest.approx(std, rel=0.02)
    assert tw.std() == pytest.approx(std, rel=0.02)  # the formula is torch's
    if init.endswith("uniform"):
        bound = math.sqrt(3.0) * std
        assert np.abs(w).max() <= bound * (1 + 1e-6)
        assert np.abs(w).max() == pytest.approx(bound, rel=1e-3)
        assert np.abs(tw).max() == pytest.approx(bound, rel=1e-3)
    else:
        # normal: the fourth moment tells it from a uniform of the same std
        assert ((w / std) ** 4).mean() == pytest.approx(3.0, rel=0.05)


def test_gains_are_calculate_gains():
    # relu sqrt(2), tanh 5/3, sigmoid and the rest 1: visible in kaiming_normal's std
    for activation, name in ACTIVATIONS.items():
        w = Layer(IN, OUT, activation, seed=1, init="kaiming_normal").weight.astype(np.float64)
        gain = torch.nn.init.calculate_gain(name)
        assert w.std() * math.sqrt(IN) == pytest.approx(gain, rel=0.02)


def test_default_is_torch_linear_and_unchanged():
    layer = Layer(IN, OUT, "relu", seed=5)
    same = Layer(IN, OUT, "relu", seed=5, init="default")
    np.testing.assert_array_equal(layer.weight, same.weight)
    np.testing.assert_array_equal(layer.bias, same.bias)
    bound = 1 / math.sqrt(IN)
    assert np.abs(layer.weight).max() <= bound and np.abs(layer.bias).max() <= bound
    assert np.abs(layer.bias).max() > 0.5 * bound  # the bias is drawn too


@pytest.mark.parametrize("init", ["default", "xavier_uniform", "xavier_normal",
                                  "kaiming_uniform", "kaiming_normal"])
def test_seed_reproducible(init):
    a = Layer(20, 10, "tanh", seed=7, init=init)
    b = Layer(20, 10, "tanh", seed=7, init=init)
    c = Layer(20, 10, "tanh", seed=8, init=init)
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.bias, b.bias)
    assert not np.array_equal(a.weight, c.weight)


def test_no_bias_and_unknown_init():
    assert Layer(4, 3, bias=False, init="xavier_normal", seed=0).bias is None
    with pytest.raises(ValueError, match="init: expected one of .*got 'he_normal'"):
        Layer(4, 3, init="he_normal")
