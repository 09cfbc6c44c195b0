"""Containers: ``Sequential`` (here), ``Residual`` and ``Concat``."""

from __future__ import annotations

import math
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from .. import _ops
from .. import functional as F
from .._args import is_int
from .layer import Layer

__all__ = ["Concat", "Residual", "Sequential"]


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


def _widest(fields: Sequence[Optional[list[tuple[int, int, int]]]]) -> Optional[list[tuple[int, int, int]]]:
    """The receptive field of parallel branches: the largest window (by its
    area) among those that have one; None when no branch moves it."""
    windows = [f for f in fields if f is not None]
    return max(windows, key=lambda f: math.prod(k for k, _, _ in f), default=None)


class Residual(Layer):
    """relu(body(x) + shortcut(x)), the ResNet block; ``shortcut=None`` is the
    identity (then body must keep the shape), otherwise any layer, e.g. a
    projection ``Sequential(Conv2d(cin, cout, 1, stride=s), BatchNorm2d(cout))``.
    Children ``body`` and ``shortcut``. The receptive field is the body's,
    unless the shortcut's is larger."""

    def __init__(self, body: Layer, shortcut: Optional[Layer] = None) -> None:
        super().__init__()
        for name, value in (("body", body), ("shortcut", shortcut)):
            if value is not None and not isinstance(value, Layer):
                raise TypeError(f"Residual: {name} must be a Layer, got {type(value).__name__}")
        self.body = body
        self.shortcut = shortcut
        self._sum: Optional[np.ndarray] = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        main = self.body.forward(x)
        side = x if self.shortcut is None else self.shortcut.forward(x)
        if main.shape != side.shape:
            raise ValueError(f"Residual: body output {main.shape} and shortcut output {side.shape} differ")
        self._sum = _ops.add(main, side)
        y: Any = F.relu(self._sum)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._sum is None:
            raise RuntimeError("Residual.backward called before forward")
        g: Any = F.relu_backward(grad_output, self._sum)
        grad = self.body.backward(g)
        return _ops.add(grad, g if self.shortcut is None else self.shortcut.backward(g))

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        main = self.body.output_shape(input_shape)
        side = tuple(input_shape) if self.shortcut is None else self.shortcut.output_shape(input_shape)
        if main != side:
            raise ValueError(f"Residual: body output {main} and shortcut output {side} differ "
                             f"for input {tuple(input_shape)}")
        return main

    def macs(self, input_shape: Sequence[int]) -> int:
        return self.body.macs(input_shape) + (0 if self.shortcut is None else self.shortcut.macs(input_shape))

    def receptive_field(self, input_shape: Sequence[int]) -> Optional[list[tuple[int, int, int]]]:
        side = None if self.shortcut is None else self.shortcut.receptive_field(input_shape)
        return _widest([self.body.receptive_field(input_shape), side])


class Concat(Layer):
    """Branches applied to the same input, their outputs concatenated along
    ``axis`` (counting the batch axis: 1 is the channel axis of NCHW, -1 that
    of NHWC), the GoogLeNet inception block. Children ``'0'``, ``'1'``, ...;
    the receptive field is the largest branch's."""

    def __init__(self, *branches: Layer, axis: int = 1) -> None:
        super().__init__()
        if not branches:
            raise ValueError("Concat: needs at least one branch")
        if not is_int(axis) or axis == 0:
            raise ValueError(f"Concat: axis must be a non-zero int (0 is the batch axis), got {axis!r}")
        for i, branch in enumerate(branches):
            if not isinstance(branch, Layer):
                raise TypeError(f"Concat: branch {i} must be a Layer, got {type(branch).__name__}")
            setattr(self, str(i), branch)
        self.axis = int(axis)
        self._sizes: Optional[list[int]] = None

    def branches(self) -> list[Layer]:
        return list(self._children.values())

    def forward(self, x: np.ndarray) -> np.ndarray:
        outs = [branch.forward(x) for branch in self.branches()]
        self._sizes = [out.shape[self.axis] for out in outs]
        return _ops.concat(outs, self.axis)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._sizes is None:
            raise RuntimeError("Concat.backward called before forward")
        parts = _ops.split(grad_output, self._sizes, self.axis)
        grads = [branch.backward(g) for branch, g in zip(self.branches(), parts)]
        total = grads[0]
        for g in grads[1:]:
            total = _ops.add(total, g)
        return total

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        shapes = [branch.output_shape(input_shape) for branch in self.branches()]
        axis = self.axis - 1 if self.axis > 0 else self.axis + len(shapes[0])
        if not 0 <= axis < len(shapes[0]) or any(
                len(s) != len(shapes[0]) or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]
                for s in shapes):
            raise ValueError(f"Concat: branch outputs {shapes} cannot be concatenated on axis {self.axis}")
        return (*shapes[0][:axis], sum(s[axis] for s in shapes), *shapes[0][axis + 1:])

    def macs(self, input_shape: Sequence[int]) -> int:
        return sum(branch.macs(input_shape) for branch in self.branches())

    def receptive_field(self, input_shape: Sequence[int]) -> Optional[list[tuple[int, int, int]]]:
        return _widest([branch.receptive_field(input_shape) for branch in self.branches()])

    def extra_repr(self) -> str:
        return f"axis={self.axis}"
