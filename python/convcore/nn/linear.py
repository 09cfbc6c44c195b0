"""Fully connected layers: Linear and Flatten."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, cast

import numpy as np

from .. import _ops
from .. import functional as F
from .._args import is_int
from . import _checks as chk
from .init import default_init_
from .layer import Layer, Parameter

__all__ = ["Flatten", "Linear"]


class Linear(Layer):
    """y = x @ weight.T + bias. Input (..., in_features) -> (..., out_features);
    ``weight`` (out_features, in_features), ``bias`` (out_features,) or None.
    PyTorch's default initialization (:func:`convcore.nn.init.default_init_`):
    both uniform in +-1/sqrt(in_features), drawn from nn.init's seeded generator."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, dtype: Any = np.float32) -> None:
        super().__init__()
        self.in_features = chk.positive("Linear", "in_features", in_features)
        self.out_features = chk.positive("Linear", "out_features", out_features)
        dt = chk.float_dtype("Linear", dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dt))
        self.bias = Parameter(np.empty(self.out_features, dt)) if chk.flag("Linear", "bias", bias) else None
        self.reset_parameters()
        self._x: Optional[np.ndarray] = None

    def reset_parameters(self, rng: Optional[np.random.Generator] = None) -> None:
        """PyTorch's default initialization (see :func:`convcore.nn.init.default_init_`)."""
        default_init_(self.weight, self.bias, rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return F.linear(x, self.weight.data, None if self.bias is None else self.bias.data)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("Linear.backward called before forward")
        gx, gw, gb = F.linear_backward(grad_output, self._x, self.weight.data,
                                       None if self.bias is None else self.bias.data)
        _ops.add_(self.weight.grad, gw)
        if self.bias is not None:
            _ops.add_(self.bias.grad, gb)
        return cast(np.ndarray, gx)

    def _check_shape(self, input_shape: Sequence[int]) -> None:
        if len(input_shape) < 1 or input_shape[-1] != self.in_features:
            raise ValueError(f"Linear: input shape {tuple(input_shape)} does not end in "
                             f"in_features={self.in_features}")

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        self._check_shape(input_shape)
        return (*input_shape[:-1], self.out_features)

    def macs(self, input_shape: Sequence[int]) -> int:
        self._check_shape(input_shape)
        return math.prod(input_shape[:-1]) * self.in_features * self.out_features

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Layer):
    """Merges axes start_dim..end_dim (counting the batch axis; start_dim >= 1
    so the batch axis stays): (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if not is_int(value):
                raise TypeError(f"Flatten: {name} must be an int, got {value!r}")
        if start_dim < 1:
            raise ValueError(f"Flatten: start_dim must be >= 1 (the batch axis stays), got {start_dim!r}")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)
        self._shape: Optional[tuple] = None

    def _flat(self, shape: Sequence[int]) -> tuple:
        """A batched ``shape`` flattened."""
        start, end = self.start_dim, self.end_dim + len(shape) if self.end_dim < 0 else self.end_dim
        if not start <= end < len(shape):
            raise ValueError(f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} do not fit "
                             f"a {len(shape)}-D input")
        return (*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:])

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._shape = tuple(x.shape)
        return x.reshape(*self._flat(x.shape))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._shape is None:
            raise RuntimeError("Flatten.backward called before forward")
        return grad_output.reshape(*self._shape)

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        return self._flat((1, *input_shape))[1:]

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
