"""ELU: y = x where x > 0, else alpha (e^x - 1).  torch.nn.functional.elu, torch.nn.ELU."""

ORDER = 4
TORCH_MODULE = "ELU"
OPTIONS = {"alpha": 1.0}

KERNELS = {
    "elu": dict(
        code=10,
        # torch: x > 0 ? x : expm1(x) alpha
        forward="""
            return x > (T)0 ? x : EXPM1(x) * alpha;
        """,
        # elu_backward from the input (is_result=False): x > 0 ? gy : gy alpha e^x (nan: nan,
        # as torch's vectorized path)
        backward="""
            return x > (T)0 ? gy : gy * alpha * EXP(x);
        """,
    ),
}

# e^x - 1 as tanh(x/2)·(e^x + 1): no cancellation near 0, where Exp(x) - 1 loses digits
ONNX = """
    alpha = g.const(o["alpha"])
    expm1 = g.node("Mul", g.node("Tanh", g.node("Mul", x, g.const(0.5))),
                   g.node("Add", g.node("Exp", x), g.const(1.0)))
    negative = g.node("Mul", alpha, expm1)
    return g.node("Where", g.node("Greater", x, g.const(0.0)), x, negative)
"""

DOC = """
    y = x where x > 0, else alpha (exp(x) - 1) (computed as expm1); elementwise.

    PyTorch equivalent: ``torch.nn.functional.elu``.

    >>> elu(np.array([0.0, 1.0]))
    array([0., 1.])
"""

BACKWARD_DOC = """
    grad_x = grad_y where x > 0, else grad_y alpha exp(x), from the forward INPUT x.

    PyTorch equivalent: ``torch.ops.aten.elu_backward(grad_y, alpha, 1, 1, False, x)``,
    what autograd runs for ``F.elu``.
"""
