"""Net: a list of Layers run in order, with backward in reverse order."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from fastbp import _interop, _io, _schema, training
from fastbp import _validate as v
from fastbp._step import TrainStep
from fastbp.clip import clip_grad_norm_
from fastbp._typing import ArrayLike, FloatArray, LossFunction, Optimizer, ParameterPair
from fastbp.layers import Layer

__all__ = ["Net"]


class Net:
    """A feed-forward network: ``Net([Layer(2, 2, 'sigmoid'), Layer(2, 2, 'sigmoid')])``.

    PyTorch equivalent: ``torch.nn.Sequential`` of Linear and activation modules.

    Consecutive sizes must agree (layers[k].out_features == layers[k+1].in_features)
    and all layers share one dtype.
    """

    def __init__(self, layers: Iterable[Layer]) -> None:
        self.layers = v.net_layers(layers, Layer)
        self._step = TrainStep(self.layers)  # train_step's compiled path and its workspaces

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, k: int) -> Layer:
        return self.layers[k]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.layers[0].dtype

    @property
    def in_features(self) -> int:
        return self.layers[0].in_features

    @property
    def out_features(self) -> int:
        return self.layers[-1].out_features

    def forward(self, x: ArrayLike) -> FloatArray:
        """The output for x of shape (N, in_features), converted to the Net's dtype."""
        x = self.layers[0].forward(x)
        for layer in self.layers[1:]:
            x = layer._forward(x)
        return x

    __call__ = forward

    def backward(self, grad_out: ArrayLike) -> FloatArray:
        """grad_in = d(loss)/d(x) for grad_out = d(loss)/d(output) of the most recent forward.

        Adds every parameter's gradient into its grad array (call zero_grad between steps).
        """
        last = self.layers[-1]
        if last._y is None:
            raise RuntimeError("Net.backward() called before forward()")
        grad = last.backward(grad_out)
        for layer in reversed(self.layers[:-1]):
            grad = layer._backward(grad)
        return grad

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def parameters(self) -> list[ParameterPair]:
        """[(value, grad), ...]: layer0.weight, layer0.bias, layer1.weight, ... (no bias pair
        for a layer built with bias=False)."""
        return [pair for layer in self.layers for pair in layer.parameters()]

    # --- state ----------------------------------------------------------------------------

    def _named_parameters(self):
        """{"0.weight": array, "0.bias": array, ...} of the live parameter arrays, in order."""
        return dict(zip(_parameter_names(self._architecture()["layers"]),
                        [value for value, _ in self.parameters()]))

    def state_dict(self) -> dict[str, FloatArray]:
        """{"0.weight": ..., "0.bias": ..., "1.weight": ...}: copies of the parameters.

        A layer built with bias=False has no "k.bias" key.  The arrays are copies:
        changing them does not change the Net (use load_state_dict).

        PyTorch equivalent: ``nn.Module.state_dict()`` (which returns views instead).
        """
        return {name: value.copy() for name, value in self._named_parameters().items()}

    def load_state_dict(self, state_dict: dict[str, ArrayLike]) -> None:
        """Copy the arrays of ``state_dict`` into the parameters (converted to the Net's dtype).

        The keys must be exactly those of :meth:`state_dict`, each with the same shape;
        otherwise ValueError naming the key and the shapes, and nothing is changed.

        PyTorch equivalent: ``nn.Module.load_state_dict(d)`` (strict=True).
        """
        params = self._named_parameters()
        expected = {name: value.shape for name, value in params.items()}
        arrays = v.state_dict_arrays(state_dict, expected, self.dtype)
        for name, value in params.items():
            np.copyto(value, arrays[name])

    def _architecture(self):
        return {"format": _schema.MODEL_FORMAT, "version": _schema.MODEL_VERSION, "dtype": self.dtype.name,
                "layers": [{"in_features": layer.in_features, "out_features": layer.out_features,
                            "activation": layer.activation, "bias": layer.bias is not None}
                           for layer in self.layers]}

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the Net (architecture and parameters) to the .npz file ``path``.

        The file is written under a temporary name in the same directory and renamed
        over ``path``, so an interrupted save never leaves a truncated model behind.
        It holds no pickle: ``np.load(path, allow_pickle=False)`` reads it.
        ``path`` is used as given (no ".npz" is appended).

        PyTorch equivalent: ``torch.save(model.state_dict(), path)``, plus the architecture.
        """
        _io.write_model(path, self._architecture(), self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Net:
        """The Net saved in ``path`` by :meth:`save`.

        A file that is not a fastbp model (another format, truncated or corrupted, an
        .npz without the architecture record or with pickled data inside) is a
        ValueError naming the path and the problem.
        """
        record, arrays = _io.read_model(path)
        try:
            dtype = v.dtype_option(record["dtype"])
            # The arrays must fit the architecture before Layers are allocated at its sizes
            # (a damaged record must not ask for gigabytes).
            v.state_dict_arrays(arrays, _parameter_names(record["layers"]), dtype)
            net = cls([Layer(spec["in_features"], spec["out_features"], spec["activation"],
                             bias=spec["bias"], dtype=dtype)
                       for spec in record["layers"]])
            net.load_state_dict(arrays)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: not a fastbp model file: {exc}") from None
        return net

    # --- training ----------------------------------------------------------------------------

    def train_step(self, x: ArrayLike, target: ArrayLike, loss_fn: LossFunction,
                   optimizer: Optimizer, *, max_grad_norm: float | None = None) -> float:
        """zero_grad, forward, loss, backward and optimizer.step in one call; returns the loss.

        The result and the parameters after it are the same floats as those of
        ``net.zero_grad(); loss = loss_fn(net(x), target); net.backward(loss_fn.backward());
        clip_grad_norm_(net, max_grad_norm); optimizer.step()`` (the clipping only when
        max_grad_norm is given).  With fastbp's own loss classes (reduction 'mean' or 'sum')
        and optimizers over exactly this Net's parameters, the step is one compiled call over
        workspaces the Net keeps; anything else runs the five calls.  Afterwards
        ``loss_fn.backward()`` and the Layers' caches hold this step, as after the five
        calls.  An invalid target raises what ``loss_fn`` raises, before anything changes.

        Parameters
        ----------
        x : array (N, in_features), converted to the Net's dtype
        target : what ``loss_fn`` takes as its target
        loss_fn : a loss object, e.g. ``MSELoss()``
        optimizer : e.g. ``SGD(net, lr=0.1)``
        max_grad_norm : float or None, keyword-only; when given, the gradients are clipped
            to this joint 2-norm (``clip_grad_norm_``) before the optimizer's step

        Returns
        -------
        float : the loss before the update (an ndarray for reduction='none')

        PyTorch equivalent: ``opt.zero_grad(); loss = loss_fn(model(x), target);
        loss.backward(); opt.step()``.
        """
        if max_grad_norm is not None:
            max_grad_norm = v.real_number(max_grad_norm, "max_grad_norm")
        loss = self._step.run(x, target, loss_fn, optimizer, max_grad_norm)
        if loss is None:  # not a loss/optimizer the compiled step supports
            loss = self._unfused_train_step(x, target, loss_fn, optimizer, max_grad_norm)
        return loss

    def _gathered_train_step(self, x, target, rows, loss_fn, optimizer, *,
                             max_grad_norm=None):
        """train_step(x[rows], target, ...) with the compiled step gathering the rows (a
        shuffled batch of Net.fit: no copy x[rows] made first)."""
        if max_grad_norm is not None:
            max_grad_norm = v.real_number(max_grad_norm, "max_grad_norm")
        loss = self._step.run(x, target, loss_fn, optimizer, max_grad_norm, rows)
        if loss is None:
            loss = self._unfused_train_step(x[rows], target, loss_fn, optimizer, max_grad_norm)
        return loss

    def _unfused_train_step(self, x, target, loss_fn, optimizer, max_grad_norm=None):
        self.zero_grad()
        output = self.forward(x)
        loss = loss_fn(output, target)
        self.backward(loss_fn.backward())
        if max_grad_norm is not None:
            clip_grad_norm_(self, max_grad_norm)
        optimizer.step()
        return loss

    def _gradients(self, x, target, loss_fn, rows=None):
        """zero_grad, forward, loss, backward, skipping the input's gradient (no parameter
        needs it): the local part of a data-parallel step, one compiled call when
        train_step's would be (on x[rows], gathered by the step, when rows are given).
        Returns (loss, output)."""
        loss = self._step.run(x, target, loss_fn, None, None, rows)
        if loss is not None:
            return loss, self.layers[-1]._y
        if rows is not None:
            x = x[rows]
        self.zero_grad()
        output = self.forward(x)
        loss = loss_fn(output, target)
        grad = loss_fn.backward()
        for k in range(len(self.layers) - 1, -1, -1):
            grad = self.layers[k]._backward(grad, need_grad_x=k > 0)
        return loss, output

    # Keras's fit, predict and evaluate over train_step and forward (fastbp.training).
    fit = training.fit
    predict = training.predict
    evaluate = training.evaluate

    # --- interop ---------------------------------------------------------------------------

    def to_torch(self) -> Any:
        """A ``torch.nn.Sequential`` of ``Linear`` and activation modules with copies of the
        weights, in the Net's dtype: its output equals ``net(x)`` (within rounding).

        torch is imported here, never by ``import fastbp``.

        PyTorch equivalent: the Sequential itself.
        """
        return _interop.to_torch(self)

    @classmethod
    def from_torch(cls, module: Any) -> Net:
        """The Net of a ``torch.nn.Sequential`` of ``Linear`` modules, each optionally followed
        by one activation module (Sigmoid, ReLU, Tanh, Softmax(dim=-1 or 1),
        LogSoftmax(dim=-1 or 1)), with copies of its weights, float32 or float64 as they are.

        Any other module (Conv2d, Dropout, BatchNorm1d, a Softmax over another dim, two
        activations in a row) is a ValueError naming the first such module.

        PyTorch equivalent: the Sequential itself.
        """
        return _interop.from_torch(cls, Layer, module)

    def to_onnx(self, path: str | os.PathLike[str]) -> None:
        """Write the Net to ``path`` as an ONNX model (opset 13): one Gemm (transB=1) per
        layer and its activation node (Softmax/LogSoftmax over axis -1), input "input" and
        output "output" of shape (N, features) with a dynamic batch dimension N, in the
        Net's dtype (float32 or float64).

        Needs the onnx package (``pip install fastbp[onnx]``: ImportError otherwise);
        onnxruntime runs the file.  The v2 activations are built from basic ops, which
        onnxruntime runs in both dtypes, except exact GELU's Erf: onnxruntime has it in
        float32 only.

        PyTorch equivalent: ``torch.onnx.export(model, x, path)``.
        """
        _interop.to_onnx(self, path)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({k}): {layer!r}" for k, layer in enumerate(self.layers))
        return f"Net({inner}\n)"


def _parameter_names(layer_specs) -> dict:
    """{"0.weight": (out, in), "0.bias": (out,), "1.weight": ...} for architecture records
    (``Net._architecture()["layers"]``), in Net.parameters() order."""
    shapes = {}
    for k, spec in enumerate(layer_specs):
        shapes[f"{k}.weight"] = (spec["out_features"], spec["in_features"])
        if spec["bias"]:
            shapes[f"{k}.bias"] = (spec["out_features"],)
    return shapes
