"""SiLU (swish): y = x σ(x) = x / (1 + e^-x).  torch.nn.functional.silu, torch.nn.SiLU."""

ORDER = 2
TORCH_MODULE = "SiLU"
OPTIONS = {}

KERNELS = {
    "silu": dict(
        code=8,
        # x / (1 + e^-x): e^-x = inf for x below about -88.7 (float32) gives -0
        forward="""
            return x / ((T)1 + EXP(-x));
        """,
        backward="""
            T s = (T)1 / ((T)1 + EXP(-x));
            return gy * s * ((T)1 + x * ((T)1 - s));
        """,
    ),
}

ONNX = """
    return g.node("Mul", x, g.node("Sigmoid", x))
"""

DOC = """
    y = x / (1 + exp(-x)), elementwise, any shape.

    PyTorch equivalent: ``torch.nn.functional.silu``.

    >>> silu(np.array([0.0]))
    array([0.])
"""

BACKWARD_DOC = """
    grad_x = grad_y s (1 + x (1 - s)), s = sigmoid(x), from the forward INPUT x.

    PyTorch equivalent: ``torch.ops.aten.silu_backward(grad_y, x)``.
"""
