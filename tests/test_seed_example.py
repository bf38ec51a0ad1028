"""The teaching text's worked 2-2-2 sigmoid network, against numbers computed by hand.

The text prints the forward values to 4 decimals.  The gradients and updated
weights are the standard hand derivation of this very network (inputs 0.05/0.10,
weights 0.15..0.55, biases 0.35/0.60, targets 0.01/0.99), as published to 9
decimals in Matt Mazur's "A Step by Step Backpropagation Example" (2015), which
uses the same 0.5·Σ(o − t)² loss; with two outputs it equals torch's MSELoss mean.
"""

import io

import numpy as np
import pytest

from fastbp import SGD, Layer, MSELoss, Net
from fastbp.__main__ import demo, teaching_net

X = np.array([[0.05, 0.10]])
T = np.array([[0.01, 0.99]])


def test_forward_matches_the_text():
    net = teaching_net(np.float64)
    out = net(X)
    hidden = net[0]._y
    # 4 decimals as printed: h1 0.5933, h2 0.5969 (net input 0.3925), o1 0.7514, o2 0.7729
    np.testing.assert_allclose(hidden, [[0.5933, 0.5969]], atol=5e-5)
    np.testing.assert_allclose(out, [[0.7514, 0.7729]], atol=5e-5)
    # 9 decimals of the hand derivation
    np.testing.assert_allclose(hidden, [[0.593269992, 0.596884378]], atol=5e-10)
    np.testing.assert_allclose(out, [[0.75136507, 0.772928465]], atol=5e-9)


def test_loss_gradients_and_update_match_hand_derivation():
    net = teaching_net(np.float64)
    loss_fn = MSELoss()
    loss = loss_fn(net(X), T)
    assert abs(loss - 0.298371109) < 5e-10
    net.backward(loss_fn.backward())
    gw1, gw2 = net[0].grad_weight, net[1].grad_weight
    assert abs(gw2[0, 0] - 0.082167041) < 5e-10  # dE/dw5
    assert abs(gw1[0, 0] - 0.000438568) < 5e-10  # dE/dw1
    SGD(net, lr=0.5).step()
    w1, w2 = net[0].weight, net[1].weight
    np.testing.assert_allclose(w2, [[0.35891648, 0.408666186], [0.511301270, 0.561370121]],
                               atol=5e-9)
    np.testing.assert_allclose(w1, [[0.149780716, 0.19956143], [0.24975114, 0.29950229]],
                               atol=5e-9)


def test_text_chain_rule_snippet():
    # fx = sigmoid(w*x + b) at w = b = 0, x = 1: w.grad = b.grad = 0.25
    layer = Layer(1, 1, "sigmoid", dtype=np.float64)
    layer.weight, layer.bias = [[0.0]], [0.0]
    layer(np.array([[1.0]]))
    layer.backward(np.array([[1.0]]))
    assert layer.grad_weight[0, 0] == 0.25 and layer.grad_bias[0] == 0.25


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_demo_prints_the_example(dtype):
    buf = io.StringIO()
    net = demo(lr=0.5, steps=3, dtype=dtype, out=buf)
    text = buf.getvalue()
    for label in ["h1 = sigmoid", "h2 = sigmoid", "o1 = sigmoid", "o2 = sigmoid", "w1", "w8",
                  "MSELoss (mean)", "0.5·Σ(o − t)²", "step     3"]:
        assert label in text
    if dtype == "float64":
        assert "0.5932699921    0.5933" in text
        assert "0.7729284653    0.7729" in text
    assert net.dtype == np.dtype(dtype)


def test_demo_loss_decreases():
    buf = io.StringIO()
    demo(lr=0.5, steps=50, out=buf)
    losses = [float(line.split()[-1]) for line in buf.getvalue().splitlines()
              if line.strip().startswith("step")]
    assert len(losses) == 50
    assert all(b < a for a, b in zip(losses, losses[1:]))
