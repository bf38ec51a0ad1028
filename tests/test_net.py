"""Net: composition against tests/reference.py, parameters, zero_grad, train_step, errors."""

import numpy as np
import pytest
from conftest import DTYPES, assert_close

import reference as ref
from fastbp import SGD, Layer, MSELoss, Net


def make_net(sizes, dtype, activation="sigmoid", seed=0):
    return Net([Layer(a, b, activation, dtype=dtype, seed=seed + k)
                for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))])


def spec(net):
    return [(layer.weight, layer.bias, layer.activation) for layer in net]


ACTIVATIONS = [None, "sigmoid", "relu", "tanh", "softmax", "log_softmax"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("sizes,n", [([2, 2, 2], 1), ([5, 7, 3], 4), ([30, 40, 20, 10], 17)])
def test_forward_backward_match_reference(rng, dtype, activation, sizes, n):
    net = make_net(sizes, dtype, activation)
    x = rng.standard_normal((n, sizes[0])).astype(dtype)
    gy = rng.standard_normal((n, sizes[-1])).astype(dtype)
    outs = ref.net_forward(spec(net), x)
    y = net(x)
    assert_close(y, outs[-1], dtype, 10)
    gx = net.backward(gy)
    egx, egrads = ref.net_backward(spec(net), x, outs, gy)
    assert_close(gx, egx, dtype, 10)
    for layer, (egw, egb) in zip(net, egrads):
        assert_close(layer.grad_weight, egw, dtype, 10 * n)
        assert_close(layer.grad_bias, egb, dtype, 10 * n)


def test_parameters_order_and_zero_grad(rng):
    l0 = Layer(3, 4, "sigmoid", seed=0)
    l1 = Layer(4, 2, bias=False, seed=1)
    l2 = Layer(2, 1, seed=2)
    net = Net([l0, l1, l2])
    params = net.parameters()
    expected = [(l0.weight, l0.grad_weight), (l0.bias, l0.grad_bias),
                (l1.weight, l1.grad_weight), (l2.weight, l2.grad_weight),
                (l2.bias, l2.grad_bias)]
    assert len(params) == len(expected)
    for (p, g), (ep, eg) in zip(params, expected):
        assert p is ep and g is eg
    net(rng.standard_normal((5, 3)))
    net.backward(np.ones((5, 1), np.float32))
    assert all(g.any() for _, g in params)
    net.zero_grad()
    assert not any(g.any() for _, g in params)


ACTIVATIONS = ["sigmoid", "gelu", ("gelu", {"approximate": "tanh"}), "silu",
               ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 0.5}),
               ("softplus", {"beta": 2.0, "threshold": 3.0})]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
                                     {"weight_decay": 0.01, "maximize": True}])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_train_step_equals_the_five_calls(rng, dtype, options, activation):
    x = rng.standard_normal((8, 5)).astype(dtype)
    t = rng.standard_normal((8, 3)).astype(dtype)
    fused = make_net([5, 6, 3], dtype, activation)
    manual = make_net([5, 6, 3], dtype, activation)
    opt_f, opt_m = SGD(fused, lr=0.1, **options), SGD(manual, lr=0.1, **options)
    loss_f, loss_m = MSELoss(), MSELoss()
    for _ in range(20):
        a = fused.train_step(x, t, loss_f, opt_f)
        manual.zero_grad()
        b = loss_m(manual(x), t)
        manual.backward(loss_m.backward())
        opt_m.step()
        assert a == b
        for (p, _), (q, _) in zip(fused.parameters(), manual.parameters()):
            np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_accumulates_until_zero_grad(rng, dtype):
    net = Net([Layer(6, 40, "tanh", dtype=dtype, seed=0), Layer(40, 3, "softmax", dtype=dtype, seed=1)])
    x = rng.standard_normal((16, 6))
    gy = rng.standard_normal((16, 3))
    net(x)
    net.backward(gy)
    once = [g.copy() for _, g in net.parameters()]
    net.backward(gy)
    for (_, g), g1 in zip(net.parameters(), once):
        # the same sums added a second time: exactly twice on the plain-loop path,
        # within rounding where BLAS accumulates (beta = 1)
        assert_close(g, 2 * g1, dtype, 16)
    np.testing.assert_array_equal(net[1].grad_bias, 2 * once[-1])
    net.zero_grad()
    assert not any(g.any() for _, g in net.parameters())


def test_state_dict_keys_and_copies():
    net = Net([Layer(3, 4, "relu", seed=0), Layer(4, 2, bias=False, seed=1), Layer(2, 1, seed=2)])
    state = net.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "2.weight", "2.bias"]
    for (p, _), (key, value) in zip(net.parameters(), state.items()):
        np.testing.assert_array_equal(value, p)
        assert value is not p and not np.shares_memory(value, p), key
    state["0.weight"][:] = 7  # a copy: the Net is unchanged
    assert not (net[0].weight == 7).any()


@pytest.mark.parametrize("dtype", DTYPES)
def test_load_state_dict_copies_in(rng, dtype):
    a = make_net([3, 5, 2], dtype, seed=0)
    b = make_net([3, 5, 2], dtype, seed=10)
    arrays = [p for p, _ in b.parameters()]
    state = {k: v.astype(np.float64) for k, v in a.state_dict().items()}  # converted in
    b.load_state_dict(state)
    for (p, _), (q, _), arr in zip(a.parameters(), b.parameters(), arrays):
        assert q is arr  # same arrays, so an optimizer made before keeps working
        np.testing.assert_array_equal(p, q)
    state["0.weight"][:] = 0  # copied, not shared
    np.testing.assert_array_equal(b[0].weight, a[0].weight)


def test_load_state_dict_errors_name_the_key_and_shapes():
    net = Net([Layer(3, 4, seed=0), Layer(4, 2, bias=False, seed=1)])
    good = net.state_dict()
    before = [p.copy() for p, _ in net.parameters()]
    with pytest.raises(ValueError, match=r"state_dict: missing key '0.bias' \(expected shape \(4,\), got no array\)"):
        net.load_state_dict({k: v for k, v in good.items() if k != "0.bias"})
    with pytest.raises(ValueError, match=r"state_dict: unexpected key '1.bias' \(shape \(2,\)\); expected the keys '0.weight', '0.bias', '1.weight'"):
        net.load_state_dict({**good, "1.bias": np.zeros(2)})
    with pytest.raises(ValueError, match=r"state_dict\['1.weight'\]: expected shape \(2, 4\), got \(4, 2\)"):
        net.load_state_dict({**good, "0.weight": good["0.weight"] + 1, "1.weight": np.zeros((4, 2))})
    with pytest.raises(TypeError, match=r"state_dict\['0.bias'\]: expected a real numeric array, got dtype complex128"):
        net.load_state_dict({**good, "0.bias": np.zeros(4, complex)})
    with pytest.raises(TypeError, match="state_dict: expected a mapping of name -> array, got list"):
        net.load_state_dict(list(good.values()))
    for (p, _), b in zip(net.parameters(), before):  # nothing was copied by a failing call
        np.testing.assert_array_equal(p, b)


def test_sizes_must_agree():
    with pytest.raises(ValueError, match=r"layers\[0\] has out_features 3 but layers\[1\] has in_features 4"):
        Net([Layer(2, 3), Layer(4, 1)])
    with pytest.raises(ValueError, match="one dtype"):
        Net([Layer(2, 3), Layer(3, 1, dtype=np.float64)])
    with pytest.raises(ValueError, match="at least one Layer"):
        Net([])
    with pytest.raises(TypeError, match=r"layers\[1\]: expected a Layer, got str"):
        Net([Layer(2, 2), "relu"])
    layer = Layer(2, 2)
    with pytest.raises(ValueError, match=r"layers\[1\]: the same Layer object as layers\[0\]"):
        Net([layer, layer])
    with pytest.raises(TypeError, match="wrap it in a list"):
        Net(layer)


def test_backward_before_forward_and_bad_grad():
    net = make_net([2, 3, 1], np.float32)
    with pytest.raises(RuntimeError, match="before forward"):
        net.backward(np.ones((1, 1)))
    net(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"grad_y: expected shape \(4, 1\), got \(4, 2\)"):
        net.backward(np.ones((4, 2)))


def test_repr_and_sequence_protocol():
    net = make_net([2, 2, 2], np.float64)
    assert len(net) == 2 and net[1] is net.layers[1] and list(net) == list(net.layers)
    assert repr(net) == ("Net(\n  (0): Layer(2, 2, activation='sigmoid', dtype=float64)\n"
                         "  (1): Layer(2, 2, activation='sigmoid', dtype=float64)\n)")
