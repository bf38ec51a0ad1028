"""Net: a list of Layers run in order, with backward in reverse order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from fastbp import _validate as v
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

    def train_step(self, x: ArrayLike, target: ArrayLike, loss_fn: LossFunction,
                   optimizer: Optimizer) -> float:
        """zero_grad, forward, loss, backward and optimizer.step in one call; returns the loss.

        The result and the parameters after it are exactly those of the five calls by hand.
        """
        self.zero_grad()
        output = self.forward(x)
        loss = loss_fn(output, target)
        self.backward(loss_fn.backward())
        optimizer.step()
        return loss

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({k}): {layer!r}" for k, layer in enumerate(self.layers))
        return f"Net({inner}\n)"
