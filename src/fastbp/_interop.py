"""Net <-> torch.nn.Sequential, and Net -> ONNX.

torch and onnx are imported inside the functions only: ``import fastbp`` needs neither.
Each activation is one row of ``BRIDGES``: the v2 ones come from their specs
(specs/activations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from fastbp._activation_specs import ONNX, OPTIONS, TORCH_MODULES

# The lowest opset with Softmax/LogSoftmax over one axis (13); a row needing a newer op
# raises it through ``opset``.
OPSET = 13


class Bridge(NamedTuple):
    """How one fastbp activation is spelled in torch and in ONNX."""

    torch_class: str  # the torch.nn module class
    onnx: Callable  # onnx(graph, x, options) -> the output's name, built with graph.node/const
    options: tuple = ()  # fastbp option names, equal to the torch attribute names
    fixed: dict = {}  # torch attributes that must hold one of the given values
    opset: int = OPSET  # the lowest opset with those ops


def _op(op_type, **attrs):
    """An activation that is one ONNX node."""
    return lambda graph, x, options: graph.node(op_type, x, **attrs)


BRIDGES = {
    "sigmoid": Bridge("Sigmoid", _op("Sigmoid")),
    "relu": Bridge("ReLU", _op("Relu")),
    "tanh": Bridge("Tanh", _op("Tanh")),
    "softmax": Bridge("Softmax", _op("Softmax", axis=-1), fixed={"dim": (-1, 1)}),
    "log_softmax": Bridge("LogSoftmax", _op("LogSoftmax", axis=-1), fixed={"dim": (-1, 1)}),
}
# The v2 activations, one spec each (specs/activations).  onnxruntime (1.32) has float64
# kernels for every op used here; it has none for LeakyRelu, Elu, Softplus, Erf or
# Gelu(approximate='none'), so their graphs are built from Relu, Min, Max, Mul, Add, Exp,
# Log, Where, Tanh (which it has) to keep float64 models runnable.
BRIDGES.update({name: Bridge(TORCH_MODULES[name], ONNX[name], options=tuple(OPTIONS[name]))
                for name in OPTIONS})


def _name_and_options(layer):
    """A layer's activation name (or None) and every option of it, defaults filled in."""
    activation = layer.activation
    name = activation[0] if isinstance(activation, tuple) else activation
    return name, layer.activation_options or {}


def _import(module, install):
    try:
        return __import__(module)
    except ImportError as exc:
        raise ImportError(f"{module} is needed for this: pip install {install}") from exc


def to_torch(net):
    """torch.nn.Sequential of Linear and activation modules holding copies of net's weights."""
    torch = _import("torch", "torch")
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    modules = []
    for layer in net:
        linear = torch.nn.Linear(layer.in_features, layer.out_features,
                                 bias=layer.bias is not None, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.weight))
            if layer.bias is not None:
                linear.bias.copy_(torch.from_numpy(layer.bias))
        modules.append(linear)
        name, options = _name_and_options(layer)
        if name is not None:
            bridge = BRIDGES[name]
            fixed = {attr: allowed[0] for attr, allowed in bridge.fixed.items()}
            modules.append(getattr(torch.nn, bridge.torch_class)(**fixed, **options))
    return torch.nn.Sequential(*modules)


def _describe(k, module):
    return f"module {k} ({module!r})"


def from_torch(cls, layer_cls, module):
    """A Net (of class cls) with the weights of a torch.nn.Sequential of Linear and activations."""
    torch = _import("torch", "torch")
    if not isinstance(module, torch.nn.Sequential):
        raise ValueError(f"module: expected a torch.nn.Sequential of Linear and activation "
                         f"modules, got {type(module).__name__}")
    by_class = {bridge.torch_class: name for name, bridge in BRIDGES.items()}
    supported = ", ".join(["Linear"] + list(by_class))
    specs = []  # [Linear, activation or None]
    for k, sub in enumerate(module):
        kind = type(sub).__name__
        if type(sub) is torch.nn.Linear:
            specs.append([sub, None])
            continue
        name = by_class.get(kind) if type(sub) is getattr(torch.nn, kind, None) else None
        if name is None:
            raise ValueError(f"from_torch: cannot take {_describe(k, sub)}: expected Linear or "
                             f"one of the activations {supported}")
        if not specs or specs[-1][1] is not None:
            raise ValueError(f"from_torch: cannot take {_describe(k, sub)}: an activation must "
                             f"follow a Linear (fastbp's Layer is Linear + one activation)")
        bridge = BRIDGES[name]
        for attr, allowed in bridge.fixed.items():
            if getattr(sub, attr) not in allowed:
                raise ValueError(f"from_torch: cannot take {_describe(k, sub)}: {attr} must be "
                                 f"one of {allowed} (fastbp's {name} is over the last axis of "
                                 f"(N, features))")
        options = {opt: getattr(sub, opt) for opt in bridge.options}
        specs[-1][1] = (name, options) if options else name
    if not specs:
        raise ValueError("from_torch: module holds no Linear layer")
    dtypes = {linear.weight.dtype for linear, _ in specs}
    if not dtypes <= {torch.float32, torch.float64} or len(dtypes) != 1:
        raise ValueError(f"from_torch: the Linear layers must all be float32 or all float64, "
                         f"got {sorted(str(d) for d in dtypes)}")
    dtype = np.float64 if dtypes == {torch.float64} else np.float32
    layers = []
    for linear, activation in specs:
        layer = layer_cls(linear.in_features, linear.out_features, activation,
                          bias=linear.bias is not None, dtype=dtype)
        layer.weight = linear.weight.detach().cpu().numpy()
        if linear.bias is not None:
            layer.bias = linear.bias.detach().cpu().numpy()
        layers.append(layer)
    return cls(layers)


class _Graph:
    """The nodes and initializers of an ONNX graph in one dtype, named in order."""

    def __init__(self, helper, numpy_helper, dtype):
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, dtype
        self.nodes, self.initializers = [], []

    def node(self, op_type, *inputs, **attrs):
        out = f"{len(self.nodes)}.{op_type}"
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def const(self, value, name=None):
        name = name or f"const.{len(self.initializers)}"
        array = np.asarray(value, dtype=self.dtype)
        self.initializers.append(self.numpy_helper.from_array(array, name=name))
        return name


def to_onnx(net, path):
    """Write net as an ONNX model: Gemm (transB=1) and activation nodes, batch dimension "N"."""
    onnx = _import("onnx", "fastbp[onnx]")
    from onnx import TensorProto, helper, numpy_helper

    elem = TensorProto.DOUBLE if net.dtype == np.float64 else TensorProto.FLOAT
    graph = _Graph(helper, numpy_helper, net.dtype)
    opset = OPSET
    current = "input"
    for k, layer in enumerate(net):
        inputs = [current, graph.const(layer.weight, f"{k}.weight")]
        if layer.bias is not None:
            inputs.append(graph.const(layer.bias, f"{k}.bias"))
        current = graph.node("Gemm", *inputs, transB=1)
        name, options = _name_and_options(layer)
        if name is not None:
            bridge = BRIDGES[name]
            opset = max(opset, bridge.opset)
            current = bridge.onnx(graph, current, options)
    assert current == graph.nodes[-1].output[0]  # the last node computes the output
    graph.nodes[-1].output[0] = "output"
    model = helper.make_model(
        helper.make_graph(
            graph.nodes, "fastbp",
            [helper.make_tensor_value_info("input", elem, ["N", net.in_features])],
            [helper.make_tensor_value_info("output", elem, ["N", net.out_features])],
            graph.initializers),
        opset_imports=[helper.make_opsetid("", opset)], producer_name="fastbp")
    onnx.checker.check_model(model)
    onnx.save(model, path)
