"""Float64 NumPy references for batch norm and local response norm, written
plainly: channels-first (N, C, *spatial) arrays, explicit sums over the axes."""

from __future__ import annotations

from typing import Optional

import numpy as np


def _axes(x: np.ndarray) -> tuple:
    return (0,) + tuple(range(2, x.ndim))


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """(y, mean, var, new_running_mean, new_running_var), all float64; mean/var
    are the ones normalized with (batch, biased in training; running in eval)."""
    x = np.asarray(x, np.float64)
    c = x.shape[1]
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    b = np.zeros(c) if bias is None else np.asarray(bias, np.float64)
    new_rm = None if running_mean is None else np.asarray(running_mean, np.float64).copy()
    new_rv = None if running_var is None else np.asarray(running_var, np.float64).copy()
    if training:
        n = x.size // c
        mean = x.mean(axis=_axes(x))
        var = ((x - _per_channel(mean, x.ndim)) ** 2).mean(axis=_axes(x))
        if new_rm is not None:
            new_rm = (1 - momentum) * new_rm + momentum * mean
            new_rv = (1 - momentum) * new_rv + momentum * var * n / (n - 1)
    else:
        mean, var = new_rm, new_rv
    xhat = (x - _per_channel(mean, x.ndim)) / np.sqrt(_per_channel(var, x.ndim) + eps)
    y = xhat * _per_channel(w, x.ndim) + _per_channel(b, x.ndim)
    return y, mean, var, new_rm, new_rv


def batch_norm_backward(gy, x, running_mean, running_var, weight=None, training=False,
                        eps=1e-5):
    """(grad_input, grad_weight, grad_bias) in float64, by the textbook formulas."""
    gy, x = np.asarray(gy, np.float64), np.asarray(x, np.float64)
    c = x.shape[1]
    w = np.ones(c) if weight is None else np.asarray(weight, np.float64)
    if training:
        mean = x.mean(axis=_axes(x))
        var = ((x - _per_channel(mean, x.ndim)) ** 2).mean(axis=_axes(x))
    else:
        mean, var = np.asarray(running_mean, np.float64), np.asarray(running_var, np.float64)
    invstd = 1 / np.sqrt(var + eps)
    xhat = (x - _per_channel(mean, x.ndim)) * _per_channel(invstd, x.ndim)
    grad_bias = gy.sum(axis=_axes(x))
    grad_weight = (gy * xhat).sum(axis=_axes(x))
    scale = _per_channel(w * invstd, x.ndim)
    if training:
        n = x.size // c
        gx = scale * (gy - _per_channel(grad_bias, x.ndim) / n
                      - xhat * _per_channel(grad_weight, x.ndim) / n)
    else:
        gx = scale * gy
    return gx, grad_weight, grad_bias


def _window(c: int, size: int, channels: int) -> range:
    """Channels summed for channel c: torch pads size//2 before, (size-1)//2 after."""
    return range(max(0, c - size // 2), min(channels, c - size // 2 + size))


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    x = np.asarray(x, np.float64)
    y = np.empty_like(x)
    for c in range(x.shape[1]):
        s = sum(x[:, j] ** 2 for j in _window(c, size, x.shape[1]))
        y[:, c] = x[:, c] / (k + alpha / size * s) ** beta
    return y


def local_response_norm_backward(gy, x, size, alpha=1e-4, beta=0.75, k=1.0):
    """dL/dx_j = sum_c gy_c dy_c/dx_j, with dy_c/dx_j =
    [c == j] d_c^-beta - x_c beta d_c^(-beta-1) alpha/size 2 x_j  (j in window(c))."""
    gy, x = np.asarray(gy, np.float64), np.asarray(x, np.float64)
    channels = x.shape[1]
    d = np.empty_like(x)
    for c in range(channels):
        d[:, c] = k + alpha / size * sum(x[:, j] ** 2 for j in _window(c, size, channels))
    gx = gy * d ** -beta
    for c in range(channels):
        common = gy[:, c] * x[:, c] * beta * d[:, c] ** (-beta - 1) * alpha / size * 2
        for j in _window(c, size, channels):
            gx[:, j] -= common * x[:, j]
    return gx


def to_channels_last(x: Optional[np.ndarray]) -> Optional[np.ndarray]:
    return None if x is None else np.ascontiguousarray(np.moveaxis(x, 1, -1))


def to_channels_first(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, -1, 1)
