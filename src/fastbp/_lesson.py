"""``python -m fastbp demo --explain`` and ``--losses``: the teaching text's lesson, told by
fastbp's own computations, in English or in the text's Chinese (``--lang zh``).

Every number printed is computed at run time: the forward values are the Layers' outputs,
the factors come from ``fastbp.functional``, the gradients from ``Layer.backward`` and the
loss's ``backward()``, the updated weights from ``SGD.step``.  Only the inputs, targets and
starting weights are the text's data.  Lines of the form ``= 0.74 · 0.19 · 0.59`` are plain
arithmetic on the printed numbers (· is ×), so a reader can check each step with a calculator.
"""

from __future__ import annotations

import sys

import numpy as np

from fastbp import functional as F
from fastbp.layers import Layer
from fastbp.losses import MSELoss
from fastbp.optim import SGD

LANGS = ("en", "zh")

# Each phrase in the LANGS order: English, then the text's Chinese.
WORDS = {
    "explain_title": ("fastbp demo --explain: the worked 2-2-2 example, step by step ({dtype})",
                      "fastbp demo --explain: 2-2-2 网络案例, 逐步计算 ({dtype})"),
    "chain_title": ("Chain rule on one neuron: f = sigmoid(w·x + b), x = {x}, w = {w}, b = {b}",
                    "链式法则 (一个神经元): f = sigmoid(w·x + b), x = {x}, w = {w}, b = {b}"),
    "chain_note": ("(Layer(1, 1, 'sigmoid').backward: the text's w.grad and b.grad)",
                   "(Layer(1, 1, 'sigmoid').backward: 即原文的 w.grad 和 b.grad)"),
    "forward": ("Forward pass (input layer -> hidden layer -> output layer)",
                "前向传播 (输入层 -> 隐藏层 -> 输出层)"),
    "loss": ("Loss: E = ½·Σ (o − t)², here equal to MSELoss (the mean over the 2 outputs)",
             "损失计算: 损失函数 E = ½·Σ (o − t)², 这里等于 MSELoss (2 个输出的均值)"),
    "loss_grad": ("so ∂E/∂o_k = o_k − t_k (MSELoss.backward()):",
                  "所以 ∂E/∂o_k = o_k − t_k (MSELoss.backward()):"),
    "backward": ("Backward pass: the chain rule, gradients from Layer.backward",
                 "反向传播: 链式法则, 梯度来自 Layer.backward"),
    "output_w": ("Output layer weights: one path each, E <- o_k <- net_o_k <- w",
                 "输出层权重的梯度: 每个权重一条路径, E <- o_k <- net_o_k <- w"),
    "hidden_h": ("Hidden layer outputs: h_j reaches E through both o1 and o2, so the paths add up",
                 "隐藏层输出: h_j 经过 o1 和 o2 两条路径影响 E, 两条路径的梯度相加"),
    "hidden_w": ("Hidden layer weights: E <- h_j <- net_h_j <- w",
                 "隐藏层权重的梯度: E <- h_j <- net_h_j <- w"),
    "update": ("Parameter update: SGD, w <- w − lr·∂E/∂w, learning rate lr = {lr}",
               "参数更新: 梯度下降 (SGD), w <- w − lr·∂E/∂w, 学习率 lr = {lr}"),
    "after": ("Loss after the update: {loss}", "参数更新后的损失: {loss}"),
    "losses_title": ("fastbp demo --losses: the text's losses, by fastbp.functional ({dtype})",
                     "fastbp demo --losses: 原文的损失函数, 由 fastbp.functional 计算 ({dtype})"),
    "formula": ("formula ", "公式  "),
    "input": ("input   ", "预测值"),
    "target": ("target  ", "真实值"),
    "value": ("value   ", "损失值"),
    "gradient": ("gradient", "梯度  "),
    "L1": ("1. MAE loss, L1Loss (mean absolute error)", "1. MAE 损失, L1Loss (平均绝对误差)"),
    "MSE": ("2. MSE loss, MSELoss (mean squared error)", "2. MSE 损失, MSELoss (均方误差)"),
    "SmoothL1": ("3. SmoothL1Loss (beta = 1): L2 for small errors, L1 for large ones",
                 "3. SmoothL1Loss (beta = 1): 误差较小时为 L2 损失, 误差较大时为 L1 损失"),
    "CE": ("4. Multi-class: CrossEntropyLoss (softmax, then the negative log of the true class)",
           "4. 多分类损失函数: CrossEntropyLoss (交叉熵, 先 softmax 再取真实类别的负对数)"),
    "BCE": ("5. Binary: BCELoss (the output of a sigmoid, target 0 or 1)",
            "5. 二分类损失函数: BCELoss (二分类交叉熵, 输入为 sigmoid 激活值, 目标为 0 或 1)"),
}


def num(value) -> str:
    """A printed number: 10 significant digits, in parentheses when negative (inside products)."""
    text = f"{float(value):.10g}"
    return f"({text})" if text.startswith("-") else text


def array_text(arr) -> str:
    """[a, b, c] or [[a, b], [c, d]] with 10 significant digits."""
    if arr.ndim == 0:
        return f"{float(arr):.10g}"
    return "[" + ", ".join(array_text(row) for row in arr) + "]"


class _Printer:
    def __init__(self, lang, out):
        if lang not in LANGS:
            raise ValueError(f"lang: expected one of {LANGS}, got {lang!r}")
        self.lang, self.out = LANGS.index(lang), out

    def __call__(self, line=""):
        print(line, file=self.out)

    def word(self, key, **fields):
        return WORDS[key][self.lang].format(**fields)

    def equation(self, lhs, *rhs, indent="  "):
        """lhs = rhs[0], then each further rhs on its own line under the first '='."""
        self(f"{indent}{lhs} = {rhs[0]}")
        pad = " " * (len(indent) + len(lhs))
        for line in rhs[1:]:
            self(f"{pad} = {line}")


def _chain_rule_example(say, dtype):
    """The text's one-neuron example: x = 1, w = b = 0, grads 0.25 (computed by a Layer)."""
    layer = Layer(1, 1, "sigmoid", dtype=dtype)
    layer.weight, layer.bias = [[0.0]], [0.0]
    x = np.ones((1, 1), dtype=dtype)
    f = layer(x)
    layer.backward(np.ones_like(f))
    df_dz = F.sigmoid_backward(np.ones_like(f), f)
    w, b = layer.weight[0, 0], layer.bias[0]
    say(say.word("chain_title", x=num(x[0, 0]), w=num(w), b=num(b)))
    say.equation("∂f/∂w", "∂f/∂z · ∂z/∂w", "f·(1 − f) · x",
                 f"{num(df_dz[0, 0])} · {num(x[0, 0])}", num(layer.grad_weight[0, 0]))
    say.equation("∂f/∂b", "∂f/∂z · ∂z/∂b", "f·(1 − f) · 1",
                 f"{num(df_dz[0, 0])} · 1", num(layer.grad_bias[0]))
    say("  " + say.word("chain_note"))


def explain(net, x, target, lr=0.5, lang="en", out=sys.stdout):
    """Print the worked example (a 2-2-2 sigmoid Net, one sample) gradient by gradient.

    Leaves ``net`` after one SGD step of ``lr``, as the plain demo does.
    """
    say = _Printer(lang, out)
    hidden, output = net[0], net[1]
    dtype = net.dtype
    x = np.asarray(x, dtype=dtype)
    target = np.asarray(target, dtype=dtype)
    loss_fn = MSELoss()
    optimizer = SGD(net, lr=lr)

    say(say.word("explain_title", dtype=dtype.name))
    say()
    _chain_rule_example(say, dtype)
    say()

    # forward, loss and backward, layer by layer, so dE/dh is at hand
    net.zero_grad()
    h = hidden(x)
    o = output(h)
    loss = loss_fn(o, target)
    dE_do = loss_fn.backward()
    dE_dh = output.backward(dE_do)
    hidden.backward(dE_dh)
    net_h = F.linear(x, hidden.weight, hidden.bias)
    net_o = F.linear(h, output.weight, output.bias)
    do_dnet = F.sigmoid_backward(np.ones_like(o), o)  # o·(1 − o)
    dh_dnet = F.sigmoid_backward(np.ones_like(h), h)  # h·(1 − h)
    W_h, b_h, W_o, b_o = (hidden.weight.copy(), hidden.bias.copy(), output.weight.copy(),
                          output.bias.copy())
    i, t, h, o = x[0], target[0], h[0], o[0]

    def w_name(layer, k, j):  # w1..w4 feed h1, h2 from i1, i2; w5..w8 feed o1, o2 from h1, h2
        return f"w{4 * layer + 2 * k + j + 1}"

    say(say.word("forward"))
    say(f"  i1, i2 = {num(i[0])}, {num(i[1])}    t1, t2 = {num(t[0])}, {num(t[1])}")
    for layer, (inp, src, W, b, z, a, dst) in enumerate(
            [(i, "i", W_h, b_h, net_h[0], h, "h"), (h, "h", W_o, b_o, net_o[0], o, "o")]):
        bname = f"b{layer + 1}"
        for k in range(2):
            w0, w1 = w_name(layer, k, 0), w_name(layer, k, 1)
            say.equation(f"net_{dst}{k + 1}", f"{w0}·{src}1 + {w1}·{src}2 + {bname}",
                         f"{num(W[k, 0])} · {num(inp[0])} + {num(W[k, 1])} · {num(inp[1])} "
                         f"+ {num(b[k])}", num(z[k]))
            say.equation(f"{dst}{k + 1}", f"sigmoid(net_{dst}{k + 1})", num(a[k]))
    say()

    say(say.word("loss"))
    say.equation("E", "½·((o1 − t1)² + (o2 − t2)²)",
                 f"0.5 · ({num(dE_do[0, 0])}² + {num(dE_do[0, 1])}²)", num(loss))
    say("  " + say.word("loss_grad"))
    for k in range(2):
        say.equation(f"∂E/∂o{k + 1}", f"o{k + 1} − t{k + 1}", num(dE_do[0, k]))
    say()

    say(say.word("backward"))
    say(say.word("output_w"))
    path = "∂E/∂o{k} · ∂o{k}/∂net_o{k} · ∂net_o{k}/∂{p}"
    local = "(o{k} − t{k}) · o{k}·(1 − o{k}) · {last}"
    for k in range(2):
        for j in range(3):
            p, last, value = ((w_name(1, k, j), f"h{j + 1}", h[j]) if j < 2
                              else (f"b2 (o{k + 1})", "1", 1.0))
            grad = output.grad_weight[k, j] if j < 2 else output.grad_bias[k]
            say.equation(f"∂E/∂{p}", path.format(k=k + 1, p=p.split()[0]),
                         local.format(k=k + 1, last=last),
                         f"{num(dE_do[0, k])} · {num(do_dnet[0, k])} · {num(value)}", num(grad))
    say()
    say(say.word("hidden_h"))
    for j in range(2):
        terms = [f"∂E/∂o{k} · ∂o{k}/∂net_o{k} · ∂net_o{k}/∂h{j + 1}" for k in (1, 2)]
        local_terms = [f"(o{k + 1} − t{k + 1})·o{k + 1}(1 − o{k + 1})·{w_name(1, k, j)}"
                       for k in range(2)]
        products = [f"{num(dE_do[0, k])} · {num(do_dnet[0, k])} · {num(W_o[k, j])}"
                    for k in range(2)]
        partial = [num(dE_do[0, k] * do_dnet[0, k] * W_o[k, j]) for k in range(2)]
        say.equation(f"∂E/∂h{j + 1}", " + ".join(terms), " + ".join(local_terms),
                     " + ".join(products), " + ".join(partial), num(dE_dh[0, j]))
    say()
    say(say.word("hidden_w"))
    for k in range(2):
        for j in range(3):
            p, last, value = ((w_name(0, k, j), f"i{j + 1}", i[j]) if j < 2
                              else (f"b1 (h{k + 1})", "1", 1.0))
            grad = hidden.grad_weight[k, j] if j < 2 else hidden.grad_bias[k]
            say.equation(f"∂E/∂{p}",
                         f"∂E/∂h{k + 1} · ∂h{k + 1}/∂net_h{k + 1} · ∂net_h{k + 1}/∂{p.split()[0]}",
                         f"∂E/∂h{k + 1} · h{k + 1}·(1 − h{k + 1}) · {last}",
                         f"{num(dE_dh[0, k])} · {num(dh_dnet[0, k])} · {num(value)}", num(grad))
    say()

    optimizer.step()
    say(say.word("update", lr=f"{lr:g}"))
    for layer, W, b, live, bname, unit in [(1, W_o, b_o, output, "b2", "o"),
                                           (0, W_h, b_h, hidden, "b1", "h")]:
        for k in range(2):
            for j in range(3):
                if j < 2:
                    p, old, grad, new = (w_name(layer, k, j), W[k, j], live.grad_weight[k, j],
                                         live.weight[k, j])
                else:
                    p, old, grad, new = (f"{bname} ({unit}{k + 1})", b[k], live.grad_bias[k],
                                         live.bias[k])
                say.equation(f"{p} <- {p.split()[0]} − lr·∂E/∂{p.split()[0]}",
                             f"{num(old)} − {num(lr)} · {num(grad)}", num(new), indent="  ")
    say()
    say(say.word("after", loss=num(loss_fn(net(x), target))))
    return net


# The text's loss snippets: (key, function name, input, target, formula, gradient formula)
LOSS_SNIPPETS = [
    ("L1", "l1_loss", [1.0, 2.0, 3.0], [1.5, 2.5, 3.5],
     "L = 1/n · Σ |ŷ_i − y_i|", "∂L/∂ŷ_i = sign(ŷ_i − y_i) / n"),
    ("MSE", "mse_loss", [1.0, 2.0, 3.0], [1.5, 2.5, 3.5],
     "L = 1/n · Σ (ŷ_i − y_i)²", "∂L/∂ŷ_i = 2·(ŷ_i − y_i) / n"),
    ("SmoothL1", "smooth_l1_loss", [1.0, 2.0, 3.0, 6.0], [1.5, 2.5, 3.5, 4.5],
     "L = 1/n · Σ l_i,  d_i = ŷ_i − y_i,  l_i = 0.5·d_i² (|d_i| < 1),  |d_i| − 0.5 (|d_i| ≥ 1)",
     "∂L/∂ŷ_i = clamp(d_i, −1, 1) / n"),
    ("CE", "cross_entropy", [[1.5, 2.0, 0.5], [0.5, 1.0, 1.5]], [1, 2],
     "L = −1/N · Σ_n log softmax(z_n)[y_n]",
     "∂L/∂z_n = (softmax(z_n) − one_hot(y_n)) / N"),
    ("BCE", "binary_cross_entropy", [[0.7], [0.2], [0.9], [0.7]], [[1.0], [0.0], [1.0], [0.0]],
     "L = −1/n · Σ [y_i·log(p_i) + (1 − y_i)·log(1 − p_i)]",
     "∂L/∂p_i = (p_i − y_i) / (p_i·(1 − p_i)) / n"),
]
SYMBOL = {"CE": "z", "BCE": "p"}


def losses(dtype="float64", lang="en", out=sys.stdout):
    """Print each of the text's loss snippets with its formula, value and gradient."""
    say = _Printer(lang, out)
    dtype = np.dtype(dtype)
    say(say.word("losses_title", dtype=dtype.name))
    for key, fname, input, target, formula, grad_formula in LOSS_SNIPPETS:
        input = np.array(input, dtype=dtype)
        target = np.array(target, dtype=np.int64 if key == "CE" else dtype)
        value = getattr(F, fname)(input, target)
        grad = getattr(F, fname + "_grad")(input, target)
        say()
        say(say.word(key))
        say(f"   {say.word('formula')}  {formula}")
        say(f"   {say.word('input')}  {SYMBOL.get(key, 'ŷ')} = {array_text(input)}")
        say(f"   {say.word('target')}  y = {array_text(target)}")
        say(f"   {say.word('value')}  L = {num(value)}")
        say(f"   {say.word('gradient')}  {grad_formula} = {array_text(grad)}")
