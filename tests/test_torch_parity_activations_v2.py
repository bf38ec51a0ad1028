"""The v2 activations against torch: torch.nn.functional and torch.nn modules (values and
autograd gradients), Nets against torch.nn.Sequential, SGD trajectories."""

import numpy as np
import pytest
from conftest import DTYPES, assert_close, tol
from test_activations_v2 import (CASES, IDS, assert_within, cancellation_scale, fastbp_pair,
                                 inputs, spec)

from fastbp import SGD, Layer, MSELoss, Net
from fastbp import functional as F

torch = pytest.importorskip("torch")
from test_torch_parity import TORCH_ACTIVATION, torch_net  # noqa: E402 (needs torch)

TF = torch.nn.functional

# --- functional ---------------------------------------------------------------------------------


def torch_value_and_grad(fn, x, gy):
    tx = torch.tensor(x, requires_grad=True)
    ty = fn(tx)
    ty.backward(torch.tensor(gy))
    return ty.detach().numpy(), tx.grad.numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,options", CASES, ids=IDS)
@pytest.mark.parametrize("torch_api", ["functional", "module"])
def test_torch_parity(rng, dtype, name, options, torch_api):
    """Values and autograd gradients of torch.nn.functional and torch.nn modules, on finite
    inputs in the same dtype.  Tolerance: tol (|torch| + 8 eps (1 + |x|) |gy|): where the
    formulas cancel (1 + erf(x/√2) below x = -4, 1 + tanh, silu's 1 + x (1 - s) near
    x = -1.28) the result is far below its terms, and torch's float32 erf is not exact
    (Abramowitz-Stegun 7.1.26 on its vectorized path: 1.5e-7 absolute, so gelu(-5) in
    float32 is -1.19e-6 in torch, -1.49e-6 here, -1.43e-6 exactly)."""
    forward, backward = fastbp_pair(name, options)
    fn = (lambda t: getattr(TF, name)(t, **options)) if torch_api == "functional" \
        else TORCH_ACTIVATION[name](**options)
    x, gy = inputs(rng, dtype, name, options)
    ty, tgx = torch_value_and_grad(fn, x, gy)
    eps_scale = 8 * np.finfo(dtype).eps / tol(dtype)
    assert_within(forward(x), ty, dtype, eps_scale * cancellation_scale(x))
    assert_within(backward(gy, x), tgx, dtype, eps_scale * cancellation_scale(x, gy))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,options", CASES, ids=IDS)
def test_nan_and_infinities_follow_torch(dtype, name, options):
    """nan gives nan, value and gradient; ±inf give torch's float64 results.  torch is not
    consistent with itself here: its float32 gelu(+inf) is nan on its vectorized path but
    inf on its scalar one (tensors under one vector long) and in float64 (inf here), and
    its elu gradient at nan is nan on the vectorized path, grad_y on the scalar one (nan
    here).  So the comparison is with a tensor long enough for the vectorized path."""
    forward, backward = fastbp_pair(name, options)
    x = np.tile(np.array([np.nan, np.inf, -np.inf, -np.nan], dtype), 16)
    gy = np.tile(np.array([1.0, 1.0, 1.0, np.nan], dtype), 16)
    ty, tgx = torch_value_and_grad(lambda t: getattr(TF, name)(t, **options),
                                   x.astype(np.float64), gy.astype(np.float64))
    np.testing.assert_array_equal(forward(x), ty.astype(dtype))
    np.testing.assert_array_equal(backward(gy, x), tgx.astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("slope", [0.01, 0.2, -1.5, 0.0])
def test_leaky_relu_is_torchs_to_the_bit(rng, dtype, slope):
    """leaky_relu is one multiply: torch's floats exactly, -0.0 and the gradient at 0
    (negative_slope, as torch) included."""
    x = np.concatenate([rng.standard_normal(999), [0.0, -0.0, 1e-30, -1e-30]]).astype(dtype)
    gy = rng.standard_normal(x.size).astype(dtype)
    ty, tgx = torch_value_and_grad(lambda t: TF.leaky_relu(t, slope), x, gy)
    y, gx = F.leaky_relu(x, slope), F.leaky_relu_backward(gy, x, slope)
    np.testing.assert_array_equal(y.view(np.uint8), ty.view(np.uint8))
    np.testing.assert_array_equal(gx.view(np.uint8), tgx.view(np.uint8))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,options", CASES, ids=IDS)
def test_net_forward_backward_match_torch(rng, dtype, name, options):
    act = spec(name, options)
    net = Net([Layer(5, 30, act, dtype=dtype, seed=1), Layer(30, 7, "tanh", dtype=dtype, seed=2),
               Layer(7, 3, act, bias=False, dtype=dtype, seed=3)])
    seq = torch_net(net)
    x = (2 * rng.standard_normal((13, 5))).astype(dtype)
    gy = rng.standard_normal((13, 3)).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    ty = seq(tx)
    ty.backward(torch.tensor(gy))
    assert_close(net(x), ty.detach().numpy(), dtype, 10)
    assert_close(net.backward(gy), tx.grad.numpy(), dtype, 10 * 13)
    for (_, g), tp in zip(net.parameters(), seq.parameters()):
        assert_close(g, tp.grad.numpy(), dtype, 10 * 13)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,options", CASES, ids=IDS)
def test_sgd_trajectory_10_steps(rng, dtype, name, options):
    act = spec(name, options)
    net = Net([Layer(4, 8, act, dtype=dtype, seed=1), Layer(8, 3, act, dtype=dtype, seed=2),
               Layer(3, 2, dtype=dtype, seed=3)])
    seq = torch_net(net)
    x = rng.standard_normal((16, 4)).astype(dtype)
    t = rng.random((16, 2)).astype(dtype)
    opt = SGD(net, lr=0.2, momentum=0.9)
    topt = torch.optim.SGD(seq.parameters(), lr=0.2, momentum=0.9)
    loss_fn = MSELoss()
    for _ in range(10):
        value = net.train_step(x, t, loss_fn, opt)
        topt.zero_grad()
        tloss = torch.nn.functional.mse_loss(seq(torch.from_numpy(x)), torch.from_numpy(t))
        tloss.backward()
        topt.step()
        # rounding differences compound over the steps: 10x one operation's tolerance
        assert abs(value - tloss.item()) <= 10 * tol(dtype) * abs(tloss.item())
    for (p, _), tp in zip(net.parameters(), seq.parameters()):
        assert_close(p, tp.detach().numpy(), dtype, scale=10)


