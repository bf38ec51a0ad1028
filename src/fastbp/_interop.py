"""Net <-> torch.nn.Sequential, and Net -> ONNX.

torch and onnx are imported inside the functions only: ``import fastbp`` needs neither.
Each activation is one row of ``BRIDGES``; a new activation adds one row.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# The lowest opset with Softmax/LogSoftmax over one axis (13) that onnxruntime runs in
# float64 for every op used here; a row needing a newer op raises it through ``opset``.
OPSET = 13


class Bridge(NamedTuple):
    """How one fastbp activation is spelled in torch and in ONNX."""

    torch_class: str  # the torch.nn module class
    options: tuple = ()  # fastbp option names, equal to the torch attribute names
    fixed: dict = {}  # torch attributes that must hold one of the given values
    onnx: tuple = ()  # (op_type, {attribute: value}), applied in order
    opset: int = OPSET  # the lowest opset with those ops


BRIDGES = {
    "sigmoid": Bridge("Sigmoid", onnx=(("Sigmoid", {}),)),
    "relu": Bridge("ReLU", onnx=(("Relu", {}),)),
    "tanh": Bridge("Tanh", onnx=(("Tanh", {}),)),
    "softmax": Bridge("Softmax", fixed={"dim": (-1, 1)}, onnx=(("Softmax", {"axis": -1}),)),
    "log_softmax": Bridge("LogSoftmax", fixed={"dim": (-1, 1)},
                          onnx=(("LogSoftmax", {"axis": -1}),)),
}


def _name_and_options(activation):
    """('leaky_relu', {...}) or 'relu' or None -> (name, options dict)."""
    if isinstance(activation, tuple):
        return activation[0], dict(activation[1])
    return activation, {}


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
        name, options = _name_and_options(layer.activation)
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


def to_onnx(net, path):
    """Write net as an ONNX model: Gemm (transB=1) and activation nodes, batch dimension "N"."""
    onnx = _import("onnx", "fastbp[onnx]")
    from onnx import TensorProto, helper, numpy_helper

    elem = TensorProto.DOUBLE if net.dtype == np.float64 else TensorProto.FLOAT
    nodes, initializers = [], []
    opset = OPSET
    current = "input"
    for k, layer in enumerate(net):
        weight = numpy_helper.from_array(layer.weight, name=f"{k}.weight")
        initializers.append(weight)
        inputs = [current, weight.name]
        if layer.bias is not None:
            bias = numpy_helper.from_array(layer.bias, name=f"{k}.bias")
            initializers.append(bias)
            inputs.append(bias.name)
        current = f"{k}.linear"
        nodes.append(helper.make_node("Gemm", inputs, [current], name=current, transB=1))
        name, options = _name_and_options(layer.activation)
        if name is not None:
            bridge = BRIDGES[name]
            opset = max(opset, bridge.opset)
            for j, (op, attrs) in enumerate(bridge.onnx):
                out = f"{k}.{name}.{j}"
                nodes.append(helper.make_node(op, [current], [out], name=out,
                                              **_attributes(attrs, options)))
                current = out
    nodes[-1].output[0] = "output"
    graph = helper.make_graph(
        nodes, "fastbp", [helper.make_tensor_value_info("input", elem, ["N", net.in_features])],
        [helper.make_tensor_value_info("output", elem, ["N", net.out_features])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="fastbp")
    onnx.checker.check_model(model)
    onnx.save(model, path)


def _attributes(attrs, options):
    """An ONNX node's attributes: constants, or a callable of the layer's activation options."""
    return {key: value(options) if callable(value) else value for key, value in attrs.items()}
