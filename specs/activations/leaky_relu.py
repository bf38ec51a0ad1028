"""LeakyReLU: y = x where x > 0, else negative_slope x.  torch.nn.functional.leaky_relu,
torch.nn.LeakyReLU."""

ORDER = 3
TORCH_MODULE = "LeakyReLU"
OPTIONS = {"negative_slope": 0.01}

KERNELS = {
    "leaky_relu": dict(
        code=9,
        # torch: x * (x > 0 ? 1 : slope); the gradient at 0 is slope; nan stays nan
        forward="""
            return x * (x > (T)0 ? (T)1 : negative_slope);
        """,
        backward="""
            return gy * (x > (T)0 ? (T)1 : negative_slope);
        """,
    ),
}

# torch.nn.init.calculate_gain('leaky_relu', negative_slope)
INIT_GAIN = "math.sqrt(2.0 / (1 + negative_slope ** 2))"

# relu(x) + slope·min(x, 0): x above 0, slope·x below, as torch's select
ONNX = """
    return g.node("Add", g.node("Relu", x),
                  g.node("Mul", g.const(o["negative_slope"]), g.node("Min", x, g.const(0.0))))
"""

DOC = """
    y = x where x > 0, else negative_slope · x; elementwise, any shape.

    PyTorch equivalent: ``torch.nn.functional.leaky_relu``.

    >>> leaky_relu(np.array([-1.0, 2.0]), 0.5)
    array([-0.5,  2. ])
"""

BACKWARD_DOC = """
    grad_x = grad_y where x > 0, else negative_slope · grad_y (so negative_slope at 0,
    as torch), from the forward INPUT x.

    PyTorch equivalent: ``torch.ops.aten.leaky_relu_backward(grad_y, x, negative_slope,
    False)``.
"""
