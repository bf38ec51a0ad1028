"""``python -m fastbp demo --explain / --losses [--lang zh]``, run as a user would.

The printed arithmetic is re-evaluated here: each line of plain numbers must equal the
gradient (or value) its block ends with, and those must equal Net.backward's gradients, the
SGD update, fastbp.functional's and torch's losses.
"""

import ast
import re
import subprocess
import sys

import numpy as np
import pytest

from fastbp import SGD, Layer, MSELoss, Net
from fastbp import functional as F

X = np.array([[0.05, 0.10]])
T = np.array([[0.01, 0.99]])
W_H, B_H = [[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35]
W_O, B_O = [[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60]
PRINTED = dict(rel=2e-9, abs=1e-15)  # numbers are printed to 10 significant digits
ZH_TERMS = ("前向传播", "反向传播", "链式法则", "损失函数", "参数更新", "学习率", "梯度",
            "隐藏层", "输出层", "输入层", "权重")


def run(*args):
    r = subprocess.run([sys.executable, "-m", "fastbp", *args], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return r.stdout


def blocks(text):
    """[(lhs, [rhs, ...])] for 'lhs = rhs' lines and the '= rhs' lines under them."""
    found = []
    for line in text.splitlines():
        cont = re.match(r"^\s+= (.*)$", line)
        head = re.match(r"^\s+(\S.*?) = (.*)$", line)
        if cont and found:
            found[-1][1].append(cont.group(1))
        elif head:
            found.append((head.group(1), [head.group(2)]))
    return found


def evaluate(expr):
    """The value of a line of printed arithmetic, or None if it holds symbols."""
    expr = expr.replace("−", "-").replace("·", "*").replace("²", "**2")
    if not re.fullmatch(r"[0-9eE.+\-*() ]+", expr):
        return None
    return eval(expr, {"__builtins__": {}})  # only digits and operators reach here


def checked_values(text, tol=PRINTED):
    """{lhs: final value}, after checking that every numeric line of a block equals it."""
    values, products = {}, 0
    for lhs, rhs in blocks(text):
        numbers = [evaluate(r) for r in rhs]
        final = numbers[-1]
        if final is None:
            continue
        for expr, value in zip(rhs, numbers[:-1]):
            if value is not None:
                assert value == pytest.approx(final, **tol), (lhs, expr, rhs[-1])
                products += 1
        values[lhs] = final
    return values, products


def reference_net():
    hidden = Layer(2, 2, "sigmoid", dtype=np.float64)
    output = Layer(2, 2, "sigmoid", dtype=np.float64)
    hidden.weight, hidden.bias, output.weight, output.bias = W_H, B_H, W_O, B_O
    return Net([hidden, output])


def test_explain_factors_multiply_to_net_backward_gradients():
    out = run("demo", "--explain")
    values, products = checked_values(out)
    assert products >= 12 + 2 + 12 + 8  # gradients, both ∂E/∂h, updates, forward sums

    net = reference_net()
    loss_fn = MSELoss()
    loss = loss_fn(net(X), T)
    net.backward(loss_fn.backward())
    gh, go = net[0].grad_weight, net[1].grad_weight
    expected = {"∂E/∂w1": gh[0, 0], "∂E/∂w2": gh[0, 1], "∂E/∂w3": gh[1, 0], "∂E/∂w4": gh[1, 1],
                "∂E/∂w5": go[0, 0], "∂E/∂w6": go[0, 1], "∂E/∂w7": go[1, 0], "∂E/∂w8": go[1, 1],
                "∂E/∂b1 (h1)": net[0].grad_bias[0], "∂E/∂b1 (h2)": net[0].grad_bias[1],
                "∂E/∂b2 (o1)": net[1].grad_bias[0], "∂E/∂b2 (o2)": net[1].grad_bias[1],
                "E": loss, "∂f/∂w": 0.25, "∂f/∂b": 0.25}
    for name, value in expected.items():
        assert values[name] == pytest.approx(value, **PRINTED), name

    start = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45,
             "w7": 0.50, "w8": 0.55}
    updates = {lhs.split(" <- ")[0]: v for lhs, v in values.items() if " <- " in lhs}
    assert len(updates) == 12
    for name, w0 in start.items():
        assert updates[name] == pytest.approx(w0 - 0.5 * expected[f"∂E/∂{name}"], **PRINTED)
    SGD(net, lr=0.5).step()
    assert updates["b2 (o2)"] == pytest.approx(net[1].bias[1], **PRINTED)

    # the text's order: output weights, then the hidden outputs, then hidden weights
    order = [lhs for lhs, _ in blocks(out) if lhs in ("∂E/∂w5", "∂E/∂w7", "∂E/∂h1", "∂E/∂w1")]
    assert order == ["∂E/∂w5", "∂E/∂w7", "∂E/∂h1", "∂E/∂w1"]
    assert out.index("w5 <- w5") < out.index("w1 <- w1")
    assert "∂E/∂w5 = ∂E/∂o1 · ∂o1/∂net_o1 · ∂net_o1/∂w5" in out


def test_explain_forward_values_match_the_text():
    values, _ = checked_values(run("demo", "--explain"))
    # the text's 4-decimal numbers
    for name, text in (("h1", 0.5933), ("h2", 0.5969), ("o1", 0.7514), ("o2", 0.7729),
                       ("net_h2", 0.3925), ("net_o2", 1.2249)):
        assert abs(values[name] - text) < 5e-5, name


def test_explain_lr_and_float32():
    out = run("demo", "--explain", "--lr", "0.1", "--dtype", "float32")
    assert "(float32)" in out and "lr = 0.1" in out
    values, _ = checked_values(out, tol=dict(rel=1e-6, abs=1e-9))  # float32 rounding
    assert values["w5 <- w5 − lr·∂E/∂w5"] == pytest.approx(0.4 - 0.1 * 0.0821670406, rel=1e-6)


TEXT_LOSSES = [  # (input, target, functional name, torch function name)
    ([1.0, 2.0, 3.0], [1.5, 2.5, 3.5], "l1_loss", "l1_loss"),
    ([1.0, 2.0, 3.0], [1.5, 2.5, 3.5], "mse_loss", "mse_loss"),
    ([1.0, 2.0, 3.0, 6.0], [1.5, 2.5, 3.5, 4.5], "smooth_l1_loss", "smooth_l1_loss"),
    ([[1.5, 2.0, 0.5], [0.5, 1.0, 1.5]], [1, 2], "cross_entropy", "cross_entropy"),
    ([[0.7], [0.2], [0.9], [0.7]], [[1.0], [0.0], [1.0], [0.0]], "binary_cross_entropy",
     "binary_cross_entropy"),
]


def printed_losses(out):
    """[(value, gradient array)] per section of --losses, in order."""
    sections = [s for s in out.split("\n\n")[1:] if s.strip()]
    result = []
    for section in sections:
        value = float(re.search(r" L = (\S+)$", section, re.M).group(1))
        grad_line = section.strip().splitlines()[-1]
        grad = np.array(ast.literal_eval(grad_line.rsplit(" = ", 1)[1]))
        result.append((value, grad))
    return result


def test_losses_equal_functional():
    printed = printed_losses(run("demo", "--losses"))
    assert len(printed) == len(TEXT_LOSSES)
    for (value, grad), (inp, tgt, name, _) in zip(printed, TEXT_LOSSES):
        inp = np.array(inp)
        tgt = np.array(tgt) if name == "cross_entropy" else np.array(tgt, dtype=np.float64)
        assert value == pytest.approx(getattr(F, name)(inp, tgt), **PRINTED), name
        np.testing.assert_allclose(grad, getattr(F, name + "_grad")(inp, tgt), rtol=2e-9,
                                   atol=1e-15)
    # the numbers the text prints
    assert printed[0][0] == 0.5 and printed[1][0] == 0.25
    assert printed[3][0] == pytest.approx(0.6422001123428345, rel=1e-7)  # torch float32's


def test_losses_equal_torch():
    torch = pytest.importorskip("torch")
    printed = printed_losses(run("demo", "--losses"))
    for (value, grad), (inp, tgt, _, name) in zip(printed, TEXT_LOSSES):
        x = torch.tensor(inp, dtype=torch.float64, requires_grad=True)
        t = torch.tensor(tgt) if name == "cross_entropy" else torch.tensor(tgt,
                                                                            dtype=torch.float64)
        loss = getattr(torch.nn.functional, name)(x, t)
        loss.backward()
        assert value == pytest.approx(loss.item(), **PRINTED), name
        np.testing.assert_allclose(grad, x.grad.numpy(), rtol=2e-9, atol=1e-15)


def numbers(text):
    return re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text)


def test_chinese_output_has_the_texts_terms_and_the_same_numbers():
    zh = {}
    for option in ("--explain", "--losses"):
        en, zh[option] = run("demo", option), run("demo", option, "--lang", "zh")
        assert numbers(zh[option]) == numbers(en)
        assert len(numbers(en)) > 20
    both = run("demo", "--losses", "--explain", "--lang", "zh")
    for term in ZH_TERMS + ("交叉熵", "二分类", "多分类", "平均绝对误差", "均方误差"):
        assert term in both, term
    assert both == zh["--losses"] + "\n" + zh["--explain"]


def test_plain_demo_unchanged_and_bad_lang():
    assert run() == run("demo")
    assert "∂E/∂w5" not in run("demo")
    r = subprocess.run([sys.executable, "-m", "fastbp", "demo", "--explain", "--lang", "fr"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "usage:" in r.stderr and "--lang" in r.stderr
