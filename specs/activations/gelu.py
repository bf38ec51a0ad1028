"""GELU: y = x Φ(x) = x/2 (1 + erf(x/√2)); approximate='tanh' puts
tanh(√(2/π) (x + 0.044715 x³)) for erf(x/√2).  torch.nn.functional.gelu, torch.nn.GELU."""

ORDER = 1
TORCH_MODULE = "GELU"
OPTIONS = {"approximate": "none"}
# approximate picks the kernel: torch raises for any other value ("approximate argument must
# be either none or tanh")
SELECTOR = "approximate"

# torch's constants: M_SQRT1_2; M_2_SQRTPI * M_SQRT1_2 * 0.5 = 1/sqrt(2 pi);
# M_SQRT2 * M_2_SQRTPI * 0.5 = sqrt(2/pi); 0.044715
C_CONSTANTS = {
    "FASTBP_GELU_ALPHA": "0.70710678118654752440",
    "FASTBP_GELU_PDF": "0.39894228040143267794",
    "FASTBP_GELU_BETA": "0.79788456080286535588",
    "FASTBP_GELU_KAPPA": "0.044715",
}

KERNELS = {
    "gelu": dict(
        code=6,
        when="none",
        # x/2 (1 + erf(x/sqrt2)); at x < -5 the 1 + erf cancels, in torch too
        forward="""
            return x * (T)0.5 * ((T)1 + ERF(x * (T)FASTBP_GELU_ALPHA));
        """,
        backward="""
            T cdf = (T)0.5 + (T)0.5 * ERF(x * (T)FASTBP_GELU_ALPHA); /* = (1 + erf) / 2 exactly */
            T pdf = (T)FASTBP_GELU_PDF * EXP(x * x * (T)-0.5);
            return gy * (cdf + x * pdf);
        """,
    ),
    "gelu_tanh": dict(
        code=7,
        when="tanh",
        forward="""
            T inner = (T)FASTBP_GELU_BETA * (x + (T)FASTBP_GELU_KAPPA * (x * x * x));
            return (T)0.5 * x * ((T)1 + TANH(inner));
        """,
        backward="""
            const T beta = (T)FASTBP_GELU_BETA, kappa = (T)FASTBP_GELU_KAPPA;
            T x_sq = x * x;
            T inner = beta * (x + kappa * (x * x * x));
            T th = TANH(inner);
            T left = (T)0.5 * x;
            T left_derivative = (T)0.5 + (T)0.5 * th; /* = right / 2 exactly */
            T tanh_derivative = (T)1 - th * th;
            T inner_derivative = beta * ((T)1 + (T)3 * kappa * x_sq);
            return gy * (left_derivative + left * tanh_derivative * inner_derivative);
        """,
    ),
}

# 0.5·x·(1 + erf(x/√2)), or with tanh(√(2/π)·(x + 0.044715·x³)) for approximate='tanh'
ONNX = """
    if o["approximate"] == "tanh":
        cube = g.node("Mul", g.node("Mul", x, x), x)
        inner = g.node("Mul", g.const(np.sqrt(2 / np.pi)),
                       g.node("Add", x, g.node("Mul", g.const(0.044715), cube)))
        shape = g.node("Tanh", inner)
    else:
        shape = g.node("Erf", g.node("Mul", x, g.const(1 / np.sqrt(2))))
    return g.node("Mul", g.node("Mul", g.const(0.5), x),
                  g.node("Add", g.const(1.0), shape))
"""

DOC = """
    y = x Φ(x) = x/2 (1 + erf(x/√2)), elementwise, any shape; ``approximate='tanh'``:
    x/2 (1 + tanh(√(2/π) (x + 0.044715 x³))).

    float32 is computed in float32 arithmetic, as torch does; for x below about -5 the
    1 + erf(...) cancels, in torch as here.

    PyTorch equivalent: ``torch.nn.functional.gelu(x, approximate=approximate)``.

    >>> gelu(np.array([0.0, 1.0]))
    array([0.        , 0.84134475])
"""

BACKWARD_DOC = """
    grad_x = grad_y (Φ(x) + x φ(x)) (or the derivative of the tanh form), from the
    forward INPUT x.

    PyTorch equivalent: ``torch.ops.aten.gelu_backward(grad_y, x, approximate=...)``.
"""
