"""fastbp.gradcheck: passes on every activation x loss, catches a wrong gradient, changes nothing."""

import numpy as np
import pytest

import fastbp
from fastbp import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GradcheckError, HuberLoss,
                    L1Loss, Layer, MSELoss, NLLLoss, Net, SmoothL1Loss, gradcheck)

ACTIVATIONS = [None, "sigmoid", "relu", "tanh", "softmax", "log_softmax", "gelu",
               ("gelu", {"approximate": "tanh"}), "silu", ("leaky_relu", {"negative_slope": 0.2}),
               "elu", ("softplus", {"beta": 2.0})]
LOSSES = [L1Loss, MSELoss, SmoothL1Loss, HuberLoss, CrossEntropyLoss, NLLLoss, BCELoss,
          BCEWithLogitsLoss]


def problem(activation, loss_cls, dtype=np.float64, n=6, reduction="mean"):
    """A 4-5-3 net with ``activation`` in both layers (the output one replaced by sigmoid
    where BCELoss needs probabilities), an input and a target that fit the loss."""
    rng = np.random.default_rng(7)
    out_act = activation
    if loss_cls is BCELoss and activation not in ("sigmoid", "softmax"):
        out_act = "sigmoid"
    net = Net([Layer(4, 5, activation, dtype=dtype, seed=1),
               Layer(5, 3, out_act, dtype=dtype, seed=2)])
    x = rng.normal(size=(n, 4)).astype(dtype)
    if loss_cls in (CrossEntropyLoss, NLLLoss):
        target = rng.integers(0, 3, size=n)
    elif loss_cls in (BCELoss, BCEWithLogitsLoss):
        target = rng.uniform(size=(n, 3)).astype(dtype)
    else:
        target = rng.normal(size=(n, 3)).astype(dtype)
    return net, x, target, loss_cls(reduction=reduction)


@pytest.mark.parametrize("loss_cls", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_and_loss_passes(activation, loss_cls):
    net, x, target, loss_fn = problem(activation, loss_cls)
    assert gradcheck(net, x, target, loss_fn) is True


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_other_reductions(reduction):
    for loss_cls in (MSELoss, CrossEntropyLoss, BCELoss):
        net, x, target, loss_fn = problem("tanh", loss_cls, reduction=reduction)
        assert gradcheck(net, x, target, loss_fn)


def test_float32_net_is_checked_on_a_float64_copy_and_left_alone():
    net, x, target, loss_fn = problem("sigmoid", MSELoss, dtype=np.float32)
    before = {k: a.copy() for k, a in net.state_dict().items()}
    grads_before = [g.copy() for _, g in net.parameters()]
    x_before, t_before = x.copy(), target.copy()
    loss_fn(np.zeros((2, 2), np.float32), np.ones((2, 2), np.float32))
    last_grad = loss_fn.backward().copy()
    # float32 arithmetic would be far off with eps=1e-6; float64 passes a tight check
    assert gradcheck(net, x, target, loss_fn, atol=1e-8, rtol=1e-6)
    for k, a in net.state_dict().items():
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, before[k])
    for (_, g), g0 in zip(net.parameters(), grads_before):
        np.testing.assert_array_equal(g, g0)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(target, t_before)
    np.testing.assert_array_equal(loss_fn.backward(), last_grad)


def test_catches_a_wrong_parameter_gradient(monkeypatch):
    net, x, target, loss_fn = problem("tanh", MSELoss)
    backward = Net.backward

    def wrong_backward(self, grad_out):
        grad_in = backward(self, grad_out)
        self[1].grad_weight[2, 1] += 1e-3  # one entry off
        return grad_in

    monkeypatch.setattr(Net, "backward", wrong_backward)
    with pytest.raises(GradcheckError, match=r"1\.weight\[2, 1\].*1 of 43 entries") as info:
        gradcheck(net, x, target, loss_fn)
    err = info.value
    assert isinstance(err, RuntimeError)
    assert err.parameter == "1.weight" and err.index == (2, 1)
    assert err.analytic - err.numeric == pytest.approx(1e-3, rel=1e-4)


def test_catches_a_wrong_activation_gradient():
    class HalfSigmoidGradient(Layer):
        """Passes on half of the gradient it receives: every parameter upstream is wrong."""

        def backward(self, grad_y):
            return super().backward(np.asarray(grad_y) * 0.5)

    rng = np.random.default_rng(3)
    net = Net([Layer(3, 4, "relu", dtype=np.float64, seed=0),
               HalfSigmoidGradient(4, 2, "sigmoid", dtype=np.float64, seed=1)])
    with pytest.raises(GradcheckError) as info:
        gradcheck(net, rng.normal(size=(5, 3)), rng.normal(size=(5, 2)), MSELoss())
    assert info.value.analytic == pytest.approx(info.value.numeric / 2, rel=1e-6)
    assert str(info.value).startswith(f"gradcheck: the gradient of {info.value.parameter}[")


def test_tolerances_and_options():
    net, x, target, loss_fn = problem("sigmoid", MSELoss)
    with pytest.raises(GradcheckError):  # nothing passes a zero tolerance with rounding
        gradcheck(net, x, target, loss_fn, atol=0.0, rtol=0.0)
    for name, bad in (("eps", 0.0), ("eps", -1e-6), ("atol", -1.0), ("rtol", -1e-3)):
        with pytest.raises(ValueError, match=name):
            gradcheck(net, x, target, loss_fn, **{name: bad})
    with pytest.raises(TypeError, match="net"):
        gradcheck([net], x, target, loss_fn)
    with pytest.raises(ValueError, match="x"):
        gradcheck(net, x[:, :3], target, loss_fn)


def test_exported():
    assert "gradcheck" in fastbp.__all__ and "GradcheckError" in fastbp.__all__
