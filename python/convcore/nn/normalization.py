"""Normalization layers: BatchNorm1d, BatchNorm2d, LocalResponseNorm.

Per-sample arithmetic: shape unchanged, no window; batch norm counts one MAC
per element (the folded scale and shift)."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, cast

import numpy as np

from .. import _ops
from .. import functional as F
from . import _checks as chk
from ._scalars import real
from .layer import Layer, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LocalResponseNorm"]


class _BatchNorm(Layer):
    """Batch normalization over every axis but the channels (PyTorch's
    semantics): training normalizes with the batch statistics and updates the
    running statistics in place; eval uses the running statistics (the batch
    ones when ``track_running_stats=False``). Parameters ``weight`` (ones) and
    ``bias`` (zeros) of shape (C,) when ``affine``; buffers ``running_mean``
    (zeros) and ``running_var`` (ones) when ``track_running_stats``."""

    ranks: tuple[int, ...]
    formats: tuple[str, ...]
    running_mean: Optional[np.ndarray]
    running_var: Optional[np.ndarray]

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, *, data_format: Optional[str] = None,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = chk.positive(name, "num_features", num_features)
        self.eps = real(name, "eps", eps, 0.0)
        self.momentum = real(name, "momentum", momentum, 0.0, 1.0)
        if data_format is not None and data_format not in self.formats:
            raise ValueError(f"{name}: data_format must be one of {self.formats}, got {data_format!r}")
        self.data_format = data_format
        self.affine = chk.flag(name, "affine", affine)
        self.track_running_stats = chk.flag(name, "track_running_stats", track_running_stats)
        dt = chk.float_dtype(name, dtype)
        self.weight = Parameter(np.ones(self.num_features, dt)) if self.affine else None
        self.bias = Parameter(np.zeros(self.num_features, dt)) if self.affine else None
        self.register_buffer("running_mean", np.zeros(self.num_features, dt) if self.track_running_stats else None)
        self.register_buffer("running_var", np.ones(self.num_features, dt) if self.track_running_stats else None)
        self._saved: Optional[tuple] = None

    def _check(self, shape: Sequence[int]) -> None:
        """Checks a batched input shape's rank and channel count."""
        name = type(self).__name__
        if len(shape) not in self.ranks:
            raise ValueError(f"{name}: expected a {' or '.join(map(str, self.ranks))}-D input, "
                             f"got shape {tuple(shape)}")
        channels = shape[-1] if self._format(len(shape)) in ("NLC", "NHWC") else shape[1]
        if channels != self.num_features:
            raise ValueError(f"{name}: input has {channels} channels, expected num_features={self.num_features}")

    def _format(self, ndim: int) -> Optional[str]:
        """The data_format for the functional op: (N, C) has only one layout."""
        return self.data_format if ndim > 2 else None

    def _arrays(self) -> tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray],
                               Optional[np.ndarray]]:
        """running_mean, running_var, weight, bias (each None where absent)."""
        w = None if self.weight is None else self.weight.data
        b = None if self.bias is None else self.bias.data
        return self.running_mean, self.running_var, w, b

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check(x.shape)
        batch_stats = self.training or self.running_mean is None
        y, mean, invstd = F.batch_norm(x, *self._arrays(), batch_stats, self.momentum, self.eps,
                                       data_format=self._format(x.ndim), return_stats=True)
        self._saved = (x, batch_stats, mean, invstd)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._saved is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        x, batch_stats, mean, invstd = self._saved
        gx, gw, gb = F.batch_norm_backward(grad_output, x, *self._arrays(), batch_stats, self.eps,
                                           data_format=self._format(x.ndim), save_mean=mean, save_invstd=invstd)
        if self.weight is not None and self.bias is not None:
            _ops.add_(self.weight.grad, gw)
            _ops.add_(self.bias.grad, gb)
        return cast(np.ndarray, gx)

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        """The input's shape, after checking its rank and channel count."""
        self._check((1, *input_shape))
        return tuple(input_shape)

    def macs(self, input_shape: Sequence[int]) -> int:
        return math.prod(self.output_shape(input_shape))

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) or (N, C, L) inputs ((N, L, C) with data_format='NLC')."""

    ranks, formats = (2, 3), ("NCL", "NLC")


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) inputs ((N, H, W, C) with data_format='NHWC')."""

    ranks, formats = (4,), ("NCHW", "NHWC")


class LocalResponseNorm(Layer):
    """Local response normalization across channels (AlexNet):
    y_c = x_c / (k + alpha / size * sum of x_j^2 over the ``size`` channels
    around c) ** beta. Input (N, C, L) or (N, C, H, W) (channels-last with
    data_format='NLC' / 'NHWC'); output shaped as input."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0, *,
                 data_format: Optional[str] = None) -> None:
        super().__init__()
        self.size = chk.positive("LocalResponseNorm", "size", size)
        self.alpha = real("LocalResponseNorm", "alpha", alpha)
        self.beta = real("LocalResponseNorm", "beta", beta)
        self.k = real("LocalResponseNorm", "k", k)
        if data_format not in (None, "NCL", "NLC", "NCHW", "NHWC"):
            raise ValueError(f"LocalResponseNorm: data_format must be None, 'NCL', 'NLC', 'NCHW' or 'NHWC', "
                             f"got {data_format!r}")
        self.data_format = data_format
        self._x: Optional[np.ndarray] = None

    def _args(self) -> tuple:
        return self.size, self.alpha, self.beta, self.k

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return F.local_response_norm(x, *self._args(), data_format=self.data_format)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("LocalResponseNorm.backward called before forward")
        return F.local_response_norm_backward(grad_output, self._x, *self._args(), data_format=self.data_format)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
