"""``python -m fastbp [demo]``: the teaching text's worked 2-2-2 network, computed by fastbp.

``python -m fastbp info`` prints ``fastbp.show_config()``: the build and runtime
configuration a bug report needs.  ``python -m fastbp train | predict | evaluate``: see
fastbp.cli.

The network: inputs i1 = 0.05, i2 = 0.10; hidden h1, h2 and outputs o1, o2 all
sigmoid; weights w1..w4 = 0.15, 0.20, 0.25, 0.30 (h1 = sigmoid(w1 i1 + w2 i2 + b1)),
w5..w8 = 0.40, 0.45, 0.50, 0.55 (o1 = sigmoid(w5 h1 + w6 h2 + b2)), b1 = 0.35,
b2 = 0.60; target 0.01, 0.99; loss MSE; one SGD step.
"""

from __future__ import annotations

import argparse
import math
import os
import sys

import numpy as np

from fastbp import SGD, Layer, MSELoss, Net, cli, show_config
from fastbp import functional as F

INPUT = [[0.05, 0.10]]
TARGET = [[0.01, 0.99]]
W1 = [[0.15, 0.20], [0.25, 0.30]]  # rows: h1 (w1, w2), h2 (w3, w4)
B1 = [0.35, 0.35]
W2 = [[0.40, 0.45], [0.50, 0.55]]  # rows: o1 (w5, w6), o2 (w7, w8)
B2 = [0.60, 0.60]

# What the text prints (4 decimals); its gradient figures did not survive in our copy.
TEXT = {"h2 net": 0.3925, "h1": 0.5933, "h2": 0.5969, "o2 net": 1.2249, "o1": 0.7514,
        "o2": 0.7729}


def teaching_net(dtype) -> Net:
    """The text's network with its weights, as a fastbp Net."""
    hidden = Layer(2, 2, activation="sigmoid", dtype=dtype)
    output = Layer(2, 2, activation="sigmoid", dtype=dtype)
    hidden.weight, hidden.bias = W1, B1
    output.weight, output.bias = W2, B2
    return Net([hidden, output])


def chain_rule_by_hand(lr):
    """The text's derivation in plain Python floats, independent of fastbp, for display.

    Loss = ((o1 - t1)² + (o2 - t2)²) / 2, so dL/do_k = o_k - t_k.
    """
    (i1, i2), (t1, t2) = INPUT[0], TARGET[0]
    (w1, w2), (w3, w4) = W1
    (w5, w6), (w7, w8) = W2

    def sig(z):
        return 1.0 / (1.0 + math.exp(-z))

    h1 = sig(w1 * i1 + w2 * i2 + B1[0])
    h2 = sig(w3 * i1 + w4 * i2 + B1[1])
    o1 = sig(w5 * h1 + w6 * h2 + B2[0])
    o2 = sig(w7 * h1 + w8 * h2 + B2[1])
    d_o1 = (o1 - t1) * o1 * (1 - o1)  # dL/d(net input of o1)
    d_o2 = (o2 - t2) * o2 * (1 - o2)
    d_h1 = (d_o1 * w5 + d_o2 * w7) * h1 * (1 - h1)
    d_h2 = (d_o1 * w6 + d_o2 * w8) * h2 * (1 - h2)
    grads = {"w1": d_h1 * i1, "w2": d_h1 * i2, "w3": d_h2 * i1, "w4": d_h2 * i2,
             "b1 (h1)": d_h1, "b1 (h2)": d_h2,
             "w5": d_o1 * h1, "w6": d_o1 * h2, "w7": d_o2 * h1, "w8": d_o2 * h2,
             "b2 (o1)": d_o1, "b2 (o2)": d_o2}
    start = {"w1": w1, "w2": w2, "w3": w3, "w4": w4, "b1 (h1)": B1[0], "b1 (h2)": B1[1],
             "w5": w5, "w6": w6, "w7": w7, "w8": w8, "b2 (o1)": B2[0], "b2 (o2)": B2[1]}
    updated = {k: start[k] - lr * g for k, g in grads.items()}
    return grads, updated


def named_parameters(net: Net, which: str) -> dict:
    """w1..w8 and the biases from the Net's parameter (which='value') or gradient arrays."""
    (w_h, gw_h), (b_h, gb_h), (w_o, gw_o), (b_o, gb_o) = net.parameters()
    w_h, b_h, w_o, b_o = (w_h, b_h, w_o, b_o) if which == "value" else (gw_h, gb_h, gw_o, gb_o)
    return {"w1": w_h[0, 0], "w2": w_h[0, 1], "w3": w_h[1, 0], "w4": w_h[1, 1],
            "b1 (h1)": b_h[0], "b1 (h2)": b_h[1],
            "w5": w_o[0, 0], "w6": w_o[0, 1], "w7": w_o[1, 0], "w8": w_o[1, 1],
            "b2 (o1)": b_o[0], "b2 (o2)": b_o[1]}


def demo(lr=0.5, steps=1, dtype="float64", out=sys.stdout):
    def say(line=""):
        print(line, file=out)

    dt = np.dtype(dtype)
    net = teaching_net(dt)
    loss_fn = MSELoss()
    optimizer = SGD(net, lr=lr)
    x = np.array(INPUT, dtype=dt)
    target = np.array(TARGET, dtype=dt)

    say(f"fastbp demo: the teaching text's 2-2-2 sigmoid network ({dt.name})")
    say(f"{net!r}")
    say("input i1, i2 = 0.05, 0.10   target = 0.01, 0.99")
    say("w1..w4 = 0.15 0.20 0.25 0.30, b1 = 0.35   w5..w8 = 0.40 0.45 0.50 0.55, b2 = 0.60")
    say()
    say("Forward pass                       fastbp      text")
    z_h = F.linear(x, net[0].weight, net[0].bias)
    h = F.sigmoid(z_h)
    z_o = F.linear(h, net[1].weight, net[1].bias)
    o = F.sigmoid(z_o)
    rows = [("h1 net", z_h[0, 0]), ("h1", h[0, 0]), ("h2 net", z_h[0, 1]), ("h2", h[0, 1]),
            ("o1 net", z_o[0, 0]), ("o1", o[0, 0]), ("o2 net", z_o[0, 1]), ("o2", o[0, 1])]
    for name, value in rows:
        label = f"{name} = w·x + b" if name.endswith("net") else f"{name} = sigmoid({name} net)"
        text = f"{TEXT[name]:.4f}" if name in TEXT else ""
        say(f"  {label:<26} {value:14.10f}    {text}")
    say()

    half_sum = 0.5 * F.mse_loss(o, target, reduction="sum")
    say("Loss")
    say(f"  text's 0.5·Σ(o − t)²       {half_sum:14.10f}")
    loss = net.train_step(x, target, loss_fn, optimizer)
    say(f"  MSELoss (mean)             {loss:14.10f}    (equal: 2 outputs, so mean = Σ/2)")
    say()

    by_hand_grads, by_hand_updated = chain_rule_by_hand(lr)
    say("Gradients dL/dw (backward)         fastbp    chain rule by hand")
    for name, value in named_parameters(net, "grad").items():
        say(f"  {name:<26} {value:14.10f}    {by_hand_grads[name]:14.10f}")
    say()
    say(f"After one SGD step, lr = {lr:g}     fastbp    by hand (w - lr·dL/dw)")
    for name, value in named_parameters(net, "value").items():
        say(f"  {name:<26} {value:14.10f}    {by_hand_updated[name]:14.10f}")

    if steps > 1:
        say()
        say(f"Training: loss at each step (SGD, lr = {lr:g})")
        say(f"  step {1:>5}  {loss:.10f}")
        for step in range(2, steps + 1):
            loss = net.train_step(x, target, loss_fn, optimizer)
            say(f"  step {step:>5}  {loss:.10f}")
    final = F.mse_loss(net(x), target)
    say(f"Loss after {steps} step{'s' if steps != 1 else ''}: {final:.10f}")
    return net


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m fastbp",
                                     description="fastbp: exact, fast backpropagation on the CPU")
    commands = parser.add_subparsers(dest="command")
    demo_cmd = commands.add_parser("demo", help="the teaching text's 2-2-2 network (the default)")
    demo_cmd.add_argument("--lr", type=float, default=0.5, help="SGD learning rate (default 0.5)")
    demo_cmd.add_argument("--steps", type=positive_int, default=1,
                          help="SGD steps to run, printing the loss of each (default 1)")
    demo_cmd.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    commands.add_parser("info", help="the build and runtime configuration (compiler flags, OpenMP, "
                                     "BLAS, threads, versions) to paste into a bug report")
    cli.add_commands(commands)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["demo"] + argv
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        if args.lr < 0:
            build_parser().error(f"--lr: expected a value >= 0, got {args.lr}")
        demo(lr=args.lr, steps=args.steps, dtype=args.dtype)
    elif args.command == "info":
        show_config()
    elif args.command in cli.COMMANDS:
        return cli.run(args)
    return 0


def run_cli():
    """main(), quiet when the reader goes away (``python -m fastbp | head``)."""
    try:
        return main()
    except BrokenPipeError:
        # Python's documented recipe: point stdout at devnull so the flush at exit
        # does not raise a second time, and exit as a pipeline member would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(run_cli())
