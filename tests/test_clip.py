"""clip_grad_norm_ / clip_grad_value_ against torch.nn.utils."""

import numpy as np
import pytest
from conftest import DTYPES, assert_close

import fastbp
from fastbp import Layer, Net

torch = pytest.importorskip("torch")

SHAPES = [(5, 4), (5,), (3, 5), (3,)]


def make(rng, dtype, scale):
    grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in SHAPES]
    params = [(np.zeros(s, dtype), g) for s, g in zip(SHAPES, grads)]
    tparams = []
    for g in grads:
        t = torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype, requires_grad=True)
        t.grad = torch.from_numpy(g.copy())
        tparams.append(t)
    return params, tparams


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), "inf", 3.5, 0.5, 0.0,
                                       -float("inf")])
@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0])
def test_clip_grad_norm_matches_torch(rng, dtype, norm_type, scale):
    params, tparams = make(rng, dtype, scale)
    total = fastbp.clip_grad_norm_(params, 1.5, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, 1.5, norm_type)
    assert isinstance(total, float)
    assert_close(total, ttotal.item(), dtype)
    for (_, g), t in zip(params, tparams):
        assert_close(g, t.grad.numpy(), dtype)


def test_no_clipping_leaves_the_gradients_exactly(rng):
    params, _ = make(rng, np.float32, 0.01)
    before = [g.copy() for _, g in params]
    total = fastbp.clip_grad_norm_(params, 100.0)
    assert total < 100
    for (_, g), b in zip(params, before):
        np.testing.assert_array_equal(g, b)


def test_accepts_a_net():
    net = Net([Layer(3, 4, seed=0), Layer(4, 2, seed=1)])
    for _, g in net.parameters():
        g[...] = 1.0
    total = fastbp.clip_grad_norm_(net, 1.0)
    assert total == pytest.approx(np.sqrt(12 + 4 + 8 + 2))
    joint = np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for _, g in net.parameters()))
    assert joint == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("norm_type", [2.0, float("inf")])
def test_nonfinite_as_torch(rng, bad, norm_type):
    params, tparams = make(rng, np.float64, 1.0)
    params[1][1][2] = bad
    tparams[1].grad[2] = bad
    total = fastbp.clip_grad_norm_(params, 1.0, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, 1.0, norm_type)
    np.testing.assert_array_equal(total, ttotal.item())
    for (_, g), t in zip(params, tparams):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(t.grad.numpy()))
        assert_close(g, t.grad.numpy(), np.float64)

    params, tparams = make(rng, np.float64, 1.0)
    params[0][1][0, 0] = bad
    tparams[0].grad[0, 0] = bad
    before = [g.copy() for _, g in params]
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(tparams, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        fastbp.clip_grad_norm_(params, 1.0, norm_type, error_if_nonfinite=True)
    for (_, g), b in zip(params, before):
        np.testing.assert_array_equal(g, b)


def test_mixed_dtypes_and_empty(rng):
    params, tparams = make(rng, np.float32, 10.0)
    p64, t64 = make(rng, np.float64, 10.0)
    total = fastbp.clip_grad_norm_(params + p64, 2.0)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams + t64, 2.0)
    assert_close(total, ttotal.item(), np.float32)
    for (_, g), t in zip(params + p64, tparams + t64):
        assert_close(g, t.grad.numpy(), np.float32)
    assert fastbp.clip_grad_norm_([], 1.0) == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("clip_value", [0.5, 2.0, 0.0])
def test_clip_grad_value_matches_torch(rng, dtype, clip_value):
    params, tparams = make(rng, dtype, 1.0)
    params[0][1][1, 1] = np.nan
    tparams[0].grad[1, 1] = np.nan
    assert fastbp.clip_grad_value_(params, clip_value) is None
    torch.nn.utils.clip_grad_value_(tparams, clip_value)
    for (_, g), t in zip(params, tparams):
        np.testing.assert_array_equal(g, t.grad.numpy())


def test_option_errors():
    params = [(np.zeros(2), np.ones(2))]
    with pytest.raises(ValueError, match="norm_type"):
        fastbp.clip_grad_norm_(params, 1.0, "two")
    with pytest.raises(TypeError, match="max_norm"):
        fastbp.clip_grad_norm_(params, None)
    with pytest.raises(TypeError, match="error_if_nonfinite"):
        fastbp.clip_grad_norm_(params, 1.0, error_if_nonfinite="yes")
    with pytest.raises(TypeError, match="clip_value"):
        fastbp.clip_grad_value_(params, "1")
    with pytest.raises(TypeError, match="params"):
        fastbp.clip_grad_value_(3, 1.0)


@pytest.mark.parametrize("name, options", [("SGD", {"lr": 0.1, "momentum": 0.9}),
                                           ("Adam", {"lr": 0.01}), ("AdamW", {}),
                                           ("RMSprop", {"centered": True})])
@pytest.mark.parametrize("dtype", DTYPES)
def test_train_step_max_grad_norm(rng, name, options, dtype):
    from fastbp import MSELoss
    nets = [Net([Layer(4, 6, "tanh", dtype=dtype, seed=1), Layer(6, 2, dtype=dtype, seed=2)])
            for _ in range(2)]
    opts = [getattr(fastbp, name)(net, **options) for net in nets]
    lin = [torch.nn.Linear(4, 6, dtype=torch.from_numpy(np.zeros(1, dtype)).dtype),
           torch.nn.Linear(6, 2, dtype=torch.from_numpy(np.zeros(1, dtype)).dtype)]
    with torch.no_grad():
        for t, layer in zip(lin, nets[0]):
            t.weight.copy_(torch.from_numpy(layer.weight))
            t.bias.copy_(torch.from_numpy(layer.bias))
    seq = torch.nn.Sequential(lin[0], torch.nn.Tanh(), lin[1])
    extra = {} if name == "SGD" else {"foreach": False}
    topt = getattr(torch.optim, name)(seq.parameters(), **options, **extra)
    x = (rng.standard_normal((8, 4)) * 3).astype(dtype)
    y = (rng.standard_normal((8, 2)) * 3).astype(dtype)
    loss_fn = MSELoss()
    for _ in range(20):
        a = nets[0].train_step(x, y, loss_fn, opts[0], max_grad_norm=0.5)
        nets[1].zero_grad()
        b = loss_fn(nets[1](x), y)
        nets[1].backward(loss_fn.backward())
        fastbp.clip_grad_norm_(nets[1], 0.5)
        opts[1].step()
        assert a == b
        topt.zero_grad()
        tloss = torch.nn.functional.mse_loss(seq(torch.from_numpy(x)), torch.from_numpy(y))
        tloss.backward()
        torch.nn.utils.clip_grad_norm_(seq.parameters(), 0.5)
        topt.step()
    tol = 2e-5 if dtype == np.float32 else 1e-10  # 20 steps compound rounding (see test_optim)
    for (p, _), (q, _), t in zip(nets[0].parameters(), nets[1].parameters(), seq.parameters()):
        np.testing.assert_array_equal(p, q)
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=tol, atol=tol)
