"""Values and gradients against PyTorch itself; skipped cleanly when torch is absent."""

import io

import numpy as np
import pytest
from conftest import DTYPES, SGD_OPTIONS, assert_close

from fastbp import SGD, CrossEntropyLoss, Layer, MSELoss, Net
from fastbp import functional as F
from fastbp.__main__ import demo

torch = pytest.importorskip("torch")

TORCH_DTYPE = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


def tt(a, grad=False):
    return torch.tensor(np.asarray(a), requires_grad=grad)


TORCH_ACTIVATION = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh,
                    "softmax": lambda: torch.nn.Softmax(dim=-1),
                    "log_softmax": lambda: torch.nn.LogSoftmax(dim=-1),
                    "gelu": torch.nn.GELU, "silu": torch.nn.SiLU,
                    "leaky_relu": torch.nn.LeakyReLU, "elu": torch.nn.ELU,
                    "softplus": torch.nn.Softplus}


def torch_net(net):
    """torch.nn.Sequential with the same weights as a fastbp Net."""
    modules = []
    for layer in net:
        lin = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None,
                              dtype=TORCH_DTYPE[layer.dtype])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.weight))
            if layer.bias is not None:
                lin.bias.copy_(torch.from_numpy(layer.bias))
        modules.append(lin)
        if layer.activation is not None:  # a name, or (name, {options})
            name, options = ((layer.activation, {}) if isinstance(layer.activation, str)
                             else layer.activation)
            modules.append(TORCH_ACTIVATION[name](**options))
    return torch.nn.Sequential(*modules)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,i,o", [(1, 2, 2), (7, 13, 5), (64, 100, 30)])
def test_linear_and_backward(rng, dtype, n, i, o):
    x = rng.standard_normal((n, i)).astype(dtype)
    w = rng.standard_normal((o, i)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    gy = rng.standard_normal((n, o)).astype(dtype)
    tx, tw, tb = tt(x, True), tt(w, True), tt(b, True)
    ty = torch.nn.functional.linear(tx, tw, tb)
    ty.backward(tt(gy))
    scale = float(np.abs(x).sum(1).max() * np.abs(w).max()) + 1
    assert_close(F.linear(x, w, b), ty.detach().numpy(), dtype, scale)
    gx, gw, gb = F.linear_backward(gy, x, w)
    assert_close(gx, tx.grad.numpy(), dtype, scale)
    assert_close(gw, tw.grad.numpy(), dtype, float(np.abs(gy).sum(0).max() * np.abs(x).max()) + 1)
    assert_close(gb, tb.grad.numpy(), dtype, float(np.abs(gy).sum(0).max()))


ELEMENTWISE = {"sigmoid": (F.sigmoid, F.sigmoid_backward, torch.sigmoid),
               "relu": (F.relu, F.relu_backward, torch.relu),
               "tanh": (F.tanh, F.tanh_backward, torch.tanh)}
ROWWISE = {"softmax": (F.softmax, F.softmax_backward, lambda t: torch.softmax(t, -1)),
           "log_softmax": (F.log_softmax, F.log_softmax_backward,
                           lambda t: torch.log_softmax(t, -1))}


def assert_same_as_torch(x, gy, forward, backward, torch_fn, dtype):
    tx = tt(x, True)
    ty = torch_fn(tx)
    ty.backward(tt(gy))
    y = forward(x)
    expected_y, expected_gx = ty.detach().numpy(), tx.grad.numpy()
    # nan exactly where torch has nan, inf exactly where torch has inf
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected_y))
    np.testing.assert_array_equal(np.isposinf(y), np.isposinf(expected_y))
    np.testing.assert_array_equal(np.isneginf(y), np.isneginf(expected_y))
    assert_close(y, expected_y, dtype)
    gx = backward(gy, y)
    np.testing.assert_array_equal(np.isnan(gx), np.isnan(expected_gx))
    assert_close(gx, expected_gx, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_activation_and_backward(rng, dtype, name):
    x = np.concatenate([8 * rng.standard_normal(200),
                        [0, -0.0, 50, -50, 100, -100, 1e4, -1e4, np.inf, -np.inf, np.nan]]).astype(dtype)
    gy = rng.standard_normal(x.shape).astype(dtype)
    gy[-4:] = [np.nan, np.inf, 0, 1]
    forward, backward, torch_fn = ELEMENTWISE[name]
    assert_same_as_torch(x, gy, forward, backward, torch_fn, dtype)
    if name == "relu":
        # -0.0 keeps its sign, as torch's clamp_min does
        np.testing.assert_array_equal(np.signbit(F.relu(x)), np.signbit(torch.relu(tt(x)).numpy()))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ROWWISE)
def test_rowwise_activation_and_backward(rng, dtype, name):
    inf, nan = np.inf, np.nan
    x = np.concatenate([6 * rng.standard_normal((40, 5)),
                        [[-inf, -inf, -inf, -inf, -inf], [-inf, 0, 1, 2, -inf], [inf, 0, 1, 2, 3],
                         [nan, 0, 1, 2, 3], [1e4, -1e4, 0, 5e3, -5e3], [-1e4] * 5,
                         [100, -100, 100, -100, 0], [-inf, -inf, 5, -inf, -inf]]]).astype(dtype)
    gy = rng.standard_normal(x.shape).astype(dtype)
    forward, backward, torch_fn = ROWWISE[name]
    assert_same_as_torch(x, gy, forward, backward, torch_fn, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(rng, dtype, reduction):
    x = rng.standard_normal((16, 3)).astype(dtype)
    t = rng.standard_normal((16, 3)).astype(dtype)
    tx = tt(x, True)
    tl = torch.nn.functional.mse_loss(tx, tt(t), reduction=reduction)
    tl.sum().backward()
    assert_close(F.mse_loss(x, t, reduction), tl.detach().numpy(), dtype)
    assert_close(F.mse_loss_grad(x, t, reduction), tx.grad.numpy(), dtype)
    loss_fn = MSELoss(reduction)
    loss_fn(x, t)
    assert_close(loss_fn.backward(), tx.grad.numpy(), dtype)


def test_mse_teaching_text_snippet_matches_torch():
    pred, true = [1.0, 2.0, 3.0], [1.5, 2.5, 3.5]
    expected = torch.nn.MSELoss()(torch.tensor(pred), torch.tensor(true)).item()
    assert F.mse_loss(np.array(pred, np.float32), np.array(true, np.float32)) == expected


def test_worked_example_matches_torch_to_1e12():
    """The demo's network, loss, every gradient and the lr-0.5 update, float64."""
    net = demo(lr=0.5, steps=1, dtype="float64", out=io.StringIO())
    seq = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid(),
                              torch.nn.Linear(2, 2), torch.nn.Sigmoid()).double()
    with torch.no_grad():
        seq[0].weight.copy_(torch.tensor([[0.15, 0.20], [0.25, 0.30]], dtype=torch.float64))
        seq[0].bias.copy_(torch.tensor([0.35, 0.35], dtype=torch.float64))
        seq[2].weight.copy_(torch.tensor([[0.40, 0.45], [0.50, 0.55]], dtype=torch.float64))
        seq[2].bias.copy_(torch.tensor([0.60, 0.60], dtype=torch.float64))
    opt = torch.optim.SGD(seq.parameters(), lr=0.5)
    opt.zero_grad()
    loss = torch.nn.MSELoss()(seq(torch.tensor([[0.05, 0.10]], dtype=torch.float64)),
                              torch.tensor([[0.01, 0.99]], dtype=torch.float64))
    loss.backward()
    grads = [p.grad.numpy().copy() for p in seq.parameters()]
    opt.step()
    for (p, g), tp, tg in zip(net.parameters(), seq.parameters(), grads):
        np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-12, atol=1e-15)
    # and the loss itself, recomputed by fastbp for the same starting point
    fresh = demo(lr=0.0, steps=1, dtype="float64", out=io.StringIO())
    assert abs(F.mse_loss(fresh(np.array([[0.05, 0.10]])), np.array([[0.01, 0.99]]))
               - loss.item()) <= 1e-12 * loss.item()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activations", [["sigmoid", "relu"], ["tanh", None], ["relu", "softmax"],
                                         ["tanh", "log_softmax"], ["relu", "tanh", "sigmoid"]])
@pytest.mark.parametrize("n", [1, 13])
def test_net_forward_backward_match_sequential(rng, dtype, activations, n):
    sizes = [6, 40, 9, 4][:len(activations) + 1]
    net = Net([Layer(a, b, act, bias=k != 1, dtype=dtype, seed=k)
               for k, (a, b, act) in enumerate(zip(sizes, sizes[1:], activations))])
    seq = torch_net(net)
    x = rng.standard_normal((n, sizes[0])).astype(dtype)
    gy = rng.standard_normal((n, sizes[-1])).astype(dtype)
    tx = tt(x, True)
    ty = seq(tx)
    ty.backward(tt(gy))
    assert_close(net(x), ty.detach().numpy(), dtype, 10)
    assert_close(net.backward(gy), tx.grad.numpy(), dtype, 10 * n)
    torch_params = list(seq.parameters())
    assert len(torch_params) == len(net.parameters())
    for (_, g), tp in zip(net.parameters(), torch_params):
        assert_close(g, tp.grad.numpy(), dtype, 10 * n)


# The losses trained through in the 50-step trajectories: name -> (fastbp loss, torch loss,
# each made for a dtype; target for a batch of n outputs of c values; whether the last
# layer has the activation too -- cross entropy takes the last layer's raw logits).
W2 = np.array([0.7, 1.6])


def class_probabilities(rng, n, c, dtype):
    return rng.dirichlet(np.ones(c), n).astype(dtype)


TRAJECTORY_LOSSES = {
    "mse": (lambda dtype: MSELoss(), lambda dtype: torch.nn.MSELoss(),
            lambda rng, n, c, dtype: rng.random((n, c)).astype(dtype), True),
    "cross_entropy": (lambda dtype: CrossEntropyLoss(), lambda dtype: torch.nn.CrossEntropyLoss(),
                      lambda rng, n, c, dtype: rng.integers(0, c, n), False),
    "cross_entropy(probabilities, weight, label_smoothing)": (
        lambda dtype: CrossEntropyLoss(W2, label_smoothing=0.1),
        lambda dtype: torch.nn.CrossEntropyLoss(torch.tensor(W2, dtype=TORCH_DTYPE[np.dtype(dtype)]),
                                                label_smoothing=0.1),
        class_probabilities, False),
}


@pytest.fixture
def one_torch_thread():
    """torch on one thread for the trajectories: on a busy 2-core machine its
    cross_entropy on 2 threads took 6-8 ms a call (thread wake-ups; 20 us on one), which
    made these tests 20x slower.  Batches this small are not split across threads anyway."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", TRAJECTORY_LOSSES)
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("options", SGD_OPTIONS, ids=lambda o: ",".join(o) or "plain")
def test_sgd_trajectory_50_steps(rng, dtype, loss, activation, options):
    make_loss, make_torch_loss, make_target, activated_output = TRAJECTORY_LOSSES[loss]
    net = Net([Layer(4, 8, activation, dtype=dtype, seed=1), Layer(8, 3, dtype=dtype, seed=2),
               Layer(3, 2, activation if activated_output else None, dtype=dtype, seed=3)])
    seq = torch_net(net)
    x = rng.standard_normal((16, 4)).astype(dtype)
    t = make_target(rng, 16, 2, dtype)
    # Gradient ascent on cross entropy has no top: the logits grow without bound, and at
    # lr 0.2 the loss passes 1e10 or overflows to nan within 50 steps, torch's as ours (a
    # trajectory that explodes magnifies every rounding difference).  At lr 0.02 it stays
    # finite and the comparison means something.
    lr = 0.02 if options.get("maximize") and not activated_output else 0.2
    opt = SGD(net, lr=lr, **options)
    topt = torch.optim.SGD(seq.parameters(), lr=lr, **options)
    loss_fn, tloss_fn = make_loss(dtype), make_torch_loss(dtype)
    for step in range(50):
        value = net.train_step(x, t, loss_fn, opt)
        topt.zero_grad()
        tloss = tloss_fn(seq(torch.from_numpy(x)), torch.from_numpy(t))
        tloss.backward()
        topt.step()
        # rounding differences compound over steps; 50 steps of this small net stay
        # within 20x a single operation's tolerance
        assert abs(value - tloss.item()) <= 20 * (1e-5 if dtype == np.float32 else 1e-12) * abs(tloss.item())
    for (p, _), tp in zip(net.parameters(), seq.parameters()):
        assert_close(p, tp.detach().numpy(), dtype, scale=20)
