"""Net.to_torch / Net.from_torch against torch's own modules; Net.to_onnx under onnxruntime."""

import subprocess
import sys

import numpy as np
import pytest

from fastbp import Layer, Net

ACTIVATIONS = [None, "sigmoid", "relu", "tanh", "softmax", "log_softmax"]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


def every_activation_net(dtype, bias_last=True):
    """One layer per activation (and one without bias), sizes varying so a transpose shows."""
    sizes = [5, 7, 4, 6, 3, 8, 4, 3]
    layers = [Layer(sizes[k], sizes[k + 1], act, dtype=dtype, seed=k)
              for k, act in enumerate(ACTIVATIONS)]
    layers.append(Layer(sizes[6], sizes[7], "sigmoid", bias=not bias_last, dtype=dtype, seed=9))
    return Net(layers)


def batch(n, features, dtype, seed=0):
    return np.random.default_rng(seed).normal(size=(n, features)).astype(dtype)


def test_import_fastbp_imports_neither_torch_nor_onnx():
    code = ("import sys, fastbp; import numpy as np;"
            "n = fastbp.Net([fastbp.Layer(2, 2, 'softmax')]); n(np.ones((1, 2)));"
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_torch_same_weights_same_output(dtype):
    torch = pytest.importorskip("torch")
    net = every_activation_net(dtype)
    model = net.to_torch()
    assert isinstance(model, torch.nn.Sequential)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Linear", "Linear", "Sigmoid", "Linear", "ReLU", "Linear", "Tanh",
                     "Linear", "Softmax", "Linear", "LogSoftmax", "Linear", "Sigmoid"]
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for layer, linear in zip(net, linears):
        assert linear.weight.dtype == (torch.float64 if dtype == np.float64 else torch.float32)
        np.testing.assert_array_equal(linear.weight.detach().numpy(), layer.weight)
        if layer.bias is None:
            assert linear.bias is None
        else:
            np.testing.assert_array_equal(linear.bias.detach().numpy(), layer.bias)
    x = batch(9, 5, dtype)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), expected, **TOL[dtype])
    # copies: changing the torch module leaves the Net alone
    with torch.no_grad():
        linears[0].weight.zero_()
    assert np.all(net[0].weight != 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dim", [-1, 1])
def test_from_torch(dtype, dim):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    nn = torch.nn
    model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 4, bias=False), nn.ReLU(),
                          nn.Linear(4, 4), nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 5),
                          nn.LogSoftmax(dim=dim), nn.Linear(5, 3), nn.Softmax(dim=dim)).to(tdtype)
    net = Net.from_torch(model)
    assert net.dtype == dtype
    assert [layer.activation for layer in net] == ["tanh", "relu", None, "sigmoid",
                                                   "log_softmax", "softmax"]
    assert net[1].bias is None
    x = batch(8, 5, dtype)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), expected, **TOL[dtype])
    net[0].weight[0, 0] += 1.0  # copies, not views of torch's memory
    assert net[0].weight[0, 0] != model[0].weight[0, 0].item()


def test_round_trip_is_exact():
    pytest.importorskip("torch")
    net = every_activation_net(np.float64)
    again = Net.from_torch(net.to_torch())
    for (key, a), (key2, b) in zip(net.state_dict().items(), again.state_dict().items()):
        assert key == key2
        np.testing.assert_array_equal(a, b)
    assert [layer.activation for layer in again] == [layer.activation for layer in net]


def test_from_torch_names_the_first_module_it_cannot_take():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    cases = [
        (nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Dropout(0.5), nn.Conv2d(1, 1, 1)),
         "module 2 (Dropout"),
        (nn.Sequential(nn.Conv2d(1, 1, 1), nn.Linear(3, 3)), "module 0 (Conv2d"),
        (nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)), "module 1 (BatchNorm1d"),
        (nn.Sequential(nn.Linear(3, 3), nn.Softmax(dim=0)), "module 1 (Softmax(dim=0))"),
        (nn.Sequential(nn.Linear(3, 3), nn.LogSoftmax(dim=0)), "module 1 (LogSoftmax(dim=0))"),
        (nn.Sequential(nn.Linear(3, 3), nn.Softmax()), "module 1 (Softmax(dim=None))"),
        (nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Sigmoid()), "module 2 (Sigmoid()"),
        (nn.Sequential(nn.Tanh(), nn.Linear(3, 3)), "module 0 (Tanh()"),
        (nn.Sequential(nn.Linear(3, 3), nn.Hardtanh()), "module 1 (Hardtanh"),
    ]
    for model, expected in cases:
        with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
            Net.from_torch(model)
    with pytest.raises(ValueError, match="Sequential"):
        Net.from_torch(nn.Linear(3, 3))
    with pytest.raises(ValueError, match="no Linear"):
        Net.from_torch(nn.Sequential())
    with pytest.raises(ValueError, match="float32 or all float64"):
        Net.from_torch(nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3).double()))
    with pytest.raises(ValueError, match="float32 or all float64"):
        Net.from_torch(nn.Sequential(nn.Linear(3, 3).half()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_onnx_runs_under_onnxruntime(tmp_path, dtype):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    net = every_activation_net(dtype)
    path = tmp_path / "net.onnx"
    net.to_onnx(path)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    ops = [node.op_type for node in model.graph.node]
    assert ops == ["Gemm", "Gemm", "Sigmoid", "Gemm", "Relu", "Gemm", "Tanh", "Gemm",
                   "Softmax", "Gemm", "LogSoftmax", "Gemm", "Sigmoid"]
    assert all(a.i == 1 for node in model.graph.node if node.op_type == "Gemm"
               for a in node.attribute if a.name == "transB")
    assert len(model.graph.node[-2].input) == 2  # the layer without bias: no C input
    batch_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param and not batch_dim.HasField("dim_value")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 7):
        x = batch(n, 5, dtype, seed=n)
        (out,) = session.run(None, {"input": x})
        assert out.dtype == dtype and out.shape == (n, 3)
        np.testing.assert_allclose(out, net(x), **TOL[dtype])


def test_to_onnx_without_onnx_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['onnx'] = None; import fastbp;"
            "fastbp.Net([fastbp.Layer(2, 2)]).to_onnx(sys.argv[1])")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.onnx")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "pip install fastbp[onnx]" in r.stderr


V2_ACTIVATIONS = ["gelu", ("gelu", {"approximate": "tanh"}), "silu",
                  ("leaky_relu", {"negative_slope": 0.2}), "leaky_relu", ("elu", {"alpha": 0.7}),
                  ("softplus", {"beta": 2.0, "threshold": 3.0}), "softplus"]


def v2_net(dtype, activations):
    """A wide first layer (large pre-activations reach softplus's threshold and saturate elu)."""
    sizes = [5] + [6] * len(activations)
    layers = [Layer(sizes[k], sizes[k + 1], act, dtype=dtype, seed=k)
              for k, act in enumerate(activations)]
    layers[0].weight = np.asarray(layers[0].weight) * 8
    return Net(layers)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_v2_activations_to_and_from_torch(dtype):
    torch = pytest.importorskip("torch")
    net = v2_net(dtype, V2_ACTIVATIONS)
    model = net.to_torch()
    kinds = [type(m).__name__ for m in model][1::2]
    assert kinds == ["GELU", "GELU", "SiLU", "LeakyReLU", "LeakyReLU", "ELU", "Softplus",
                     "Softplus"]
    assert model[3].approximate == "tanh" and model[7].negative_slope == 0.2
    assert model[11].alpha == 0.7 and (model[13].beta, model[13].threshold) == (2.0, 3.0)
    x = batch(11, 5, dtype)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net(x), expected, **TOL[dtype])
    back = Net.from_torch(model)
    assert [layer.activation_options for layer in back] == [layer.activation_options
                                                            for layer in net]
    np.testing.assert_array_equal(back(x), net(x))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_v2_activations_to_onnx(dtype, tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    # onnxruntime has no float64 Erf kernel: exact GELU runs under it in float32 only
    activations = V2_ACTIVATIONS[1:] if dtype == np.float64 else V2_ACTIVATIONS
    net = v2_net(dtype, activations)
    path = tmp_path / "v2.onnx"
    net.to_onnx(path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 7):
        x = batch(n, 5, dtype, seed=n)
        (out,) = session.run(None, {"input": x})
        np.testing.assert_allclose(out, net(x), **TOL[dtype])
