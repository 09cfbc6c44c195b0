"""Activation layers: ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Softmax.

All take an array of any shape and return one of the same shape (per-sample
arithmetic: shape unchanged, no MACs, no window)."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from .. import functional as F
from .._args import is_int
from ._scalars import real
from .layer import Layer

__all__ = ["ELU", "LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh"]


class _Activation(Layer):
    """An elementwise activation ``fn(x, *args)`` whose backward is
    ``grad_fn(grad_output, x, *args)``, or with ``uses_output``
    ``grad_fn(grad_output, x, *args, output=y)`` (the saved forward output)."""

    fn: Callable[..., Any]  # ndarray or DeviceArray results
    grad_fn: Callable[..., Any]
    uses_output = False

    def __init__(self) -> None:
        super().__init__()
        self._x: Optional[np.ndarray] = None
        self._y: Optional[np.ndarray] = None

    def _args(self) -> tuple:
        return ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = type(self).fn(x, *self._args())
        self._x, self._y = x, (y if self.uses_output else None)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        kwargs: dict[str, Any] = {"output": self._y} if self.uses_output else {}
        return type(self).grad_fn(grad_output, self._x, *self._args(), **kwargs)


class ReLU(_Activation):
    """max(x, 0)."""

    fn, grad_fn = F.relu, F.relu_backward


class LeakyReLU(_Activation):
    """x where x > 0, else negative_slope * x."""

    fn, grad_fn = F.leaky_relu, F.leaky_relu_backward

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = real("LeakyReLU", "negative_slope", negative_slope)

    def _args(self) -> tuple:
        return (self.negative_slope,)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_Activation):
    """x where x > 0, else alpha * (exp(x) - 1)."""

    fn, grad_fn = F.elu, F.elu_backward

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = real("ELU", "alpha", alpha)

    def _args(self) -> tuple:
        return (self.alpha,)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Sigmoid(_Activation):
    """1 / (1 + exp(-x)); backward reuses the saved output."""

    fn, grad_fn, uses_output = F.sigmoid, F.sigmoid_backward, True


class Tanh(_Activation):
    """tanh(x); backward reuses the saved output."""

    fn, grad_fn, uses_output = F.tanh, F.tanh_backward, True


class Softmax(_Activation):
    """exp(x) / sum(exp(x)) over axis ``dim`` (counting the batch axis, as
    PyTorch: dim=1 is the class / channel axis of (N, C, ...)); backward reuses
    the saved output."""

    fn, grad_fn, uses_output = F.softmax, F.softmax_backward, True

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        if not is_int(dim):
            raise TypeError(f"Softmax: dim must be an int, got {dim!r}")
        self.dim = int(dim)

    def _args(self) -> tuple:
        return (self.dim,)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
