"""Containers: ``Sequential`` (here), ``Residual`` and ``Concat``."""

from __future__ import annotations

from typing import Iterator, Optional, Sequence

import numpy as np

from .layer import Layer

__all__ = ["Sequential"]


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse. Children are
    named ``'0'``, ``'1'``, ... as in PyTorch; ``model[i]`` and ``len(model)``
    work, and ``add`` appends."""

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        for layer in layers:
            self.add(layer)

    def add(self, layer: Layer) -> "Sequential":
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential: expected a Layer, got {type(layer).__name__}")
        setattr(self, str(len(self._children)), layer)
        return self

    def __getitem__(self, i: int) -> Layer:
        return list(self._children.values())[i]

    def __len__(self) -> int:
        return len(self._children)

    def __iter__(self) -> Iterator[Layer]:
        return iter(list(self._children.values()))

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self:
            x = layer.forward(x)
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        for layer in reversed(list(self)):
            grad_output = layer.backward(grad_output)
        return grad_output

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        shape = tuple(input_shape)
        for layer in self:
            shape = layer.output_shape(shape)
        return shape

    def macs(self, input_shape: Sequence[int]) -> int:
        total, shape = 0, tuple(input_shape)
        for layer in self:
            total += layer.macs(shape)
            shape = layer.output_shape(shape)
        return total

    def receptive_field(self, input_shape: Sequence[int]) -> Optional[list[tuple[int, int, int]]]:
        """The composed window: None when no child moves the receptive field."""
        composed: Optional[list[tuple[int, int, int]]] = None
        shape = tuple(input_shape)
        for layer in self:
            step = layer.receptive_field(shape)
            shape = layer.output_shape(shape)
            if step is None:
                continue
            if composed is None:
                composed = list(step)
                continue
            # A window k2/s2/p2 over a window k1/s1/p1: k = k1 + (k2 - 1) * s1, s = s1 * s2,
            # p = p1 + p2 * s1.
            composed = [(k1 + (k2 - 1) * s1, s1 * s2, p1 + p2 * s1)
                        for (k1, s1, p1), (k2, s2, p2) in zip(composed, step)]
        return composed
