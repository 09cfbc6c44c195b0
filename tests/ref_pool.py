"""Float64 NumPy references for max / average / Lp pooling and their input
gradients, written as plain loops over windows (obviously correct, slow:
keep shapes small). Arrays are NCHW; a 1-D pool is the 2-D one with H = 1."""

from __future__ import annotations

import math
import numpy as np


def pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


def out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling_output_shape."""
    num = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = math.floor(num / s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _geometry(x, kernel, stride, padding, dilation, ceil_mode):
    kh, kw = pair(kernel)
    sh, sw = pair(kernel if stride is None else stride)
    ph, pw = pair(padding)
    dh, dw = pair(dilation)
    H, W = x.shape[2:]
    oh = out_size(H, kh, sh, ph, dh, ceil_mode)
    ow = out_size(W, kw, sw, pw, dw, ceil_mode)
    return kh, kw, sh, sw, ph, pw, dh, dw, oh, ow


def max_pool2d_ref(x, kernel, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(values, indices): the first maximum in row-major window order; a NaN
    always replaces the running maximum (the last NaN wins), as PyTorch."""
    kh, kw, sh, sw, ph, pw, dh, dw, oh, ow = _geometry(x, kernel, stride, padding, dilation, ceil_mode)
    N, C, H, W = x.shape
    y = np.empty((N, C, oh, ow), np.float64)
    idx = np.empty((N, C, oh, ow), np.int64)
    for n in range(N):
        for c in range(C):
            for i in range(oh):
                for j in range(ow):
                    # PyTorch starts from the first tap at or after row/column 0, even
                    # when a dilated window holds no input element at all (-inf).
                    h0, w0 = i * sh - ph, j * sw - pw
                    h0 += -(h0 // dh) * dh if h0 < 0 else 0
                    w0 += -(w0 // dw) * dw if w0 < 0 else 0
                    best, at = -np.inf, h0 * W + w0
                    for a in range(kh):
                        for b in range(kw):
                            h, w = i * sh - ph + a * dh, j * sw - pw + b * dw
                            if not (0 <= h < H and 0 <= w < W):
                                continue
                            v = float(x[n, c, h, w])
                            if v > best or math.isnan(v):
                                best, at = v, h * W + w
                    y[n, c, i, j], idx[n, c, i, j] = best, at
    return y, idx


def max_pool2d_backward_ref(gy, idx, input_shape):
    gx = np.zeros(input_shape, np.float64)
    N, C = input_shape[:2]
    for n in range(N):
        for c in range(C):
            plane = gx[n, c].reshape(-1)
            for g, at in zip(gy[n, c].reshape(-1), idx[n, c].reshape(-1)):
                plane[at] += g
    return gx


def _avg_windows(shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """For each output (i, j): (rows slice, cols slice, divisor) by PyTorch's rules."""
    x = np.empty(shape)
    kh, kw, sh, sw, ph, pw, _, _, oh, ow = _geometry(x, kernel, stride, padding, 1, ceil_mode)
    H, W = shape[2:]
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * sh - ph, j * sw - pw
            h1, w1 = min(h0 + kh, H + ph), min(w0 + kw, W + pw)
            size = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            if divisor_override:
                div = divisor_override
            else:
                div = size if count_include_pad else (h1 - h0) * (w1 - w0)
            yield i, j, slice(h0, h1), slice(w0, w1), div
    return oh, ow


def avg_pool2d_ref(x, kernel, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                   divisor_override=None):
    *_, oh, ow = _geometry(x, kernel, stride, padding, 1, ceil_mode)
    y = np.zeros(x.shape[:2] + (oh, ow), np.float64)
    for i, j, rs, cs, div in _avg_windows(x.shape, kernel, stride, padding, ceil_mode,
                                          count_include_pad, divisor_override):
        y[:, :, i, j] = x[:, :, rs, cs].astype(np.float64).sum(axis=(2, 3)) / div
    return y


def avg_pool2d_backward_ref(gy, input_shape, kernel, stride=None, padding=0, ceil_mode=False,
                            count_include_pad=True, divisor_override=None):
    gx = np.zeros(input_shape, np.float64)
    for i, j, rs, cs, div in _avg_windows(input_shape, kernel, stride, padding, ceil_mode,
                                          count_include_pad, divisor_override):
        gx[:, :, rs, cs] += (gy[:, :, i, j] / div)[:, :, None, None]
    return gx


def lp_pool2d_ref(x, p, kernel, stride=None, ceil_mode=False):
    """PyTorch's definition: (sign(a) * relu(|a|) * kh * kw) ** (1 / p) with
    a = avg_pool2d(x ** p, kernel, stride, 0, ceil_mode)."""
    kh, kw = pair(kernel)
    with np.errstate(invalid="ignore"):
        a = avg_pool2d_ref(np.power(x.astype(np.float64), p), kernel, stride, 0, ceil_mode)
        return np.power(np.sign(a) * np.maximum(np.abs(a), 0) * (kh * kw), 1.0 / p)


def lp_pool2d_backward_ref(gy, x, p, kernel, stride=None, ceil_mode=False):
    """Each window adds grad * out / sum(x ** p) * x ** (p - 1) to its inputs
    (0 for a window whose sum is 0)."""
    x = x.astype(np.float64)
    out = lp_pool2d_ref(x, p, kernel, stride, ceil_mode)
    gx = np.zeros(x.shape, np.float64)
    xp = np.power(x, p)
    with np.errstate(invalid="ignore", divide="ignore"):
        for i, j, rs, cs, _ in _avg_windows(x.shape, kernel, stride, 0, ceil_mode, True, None):
            s = xp[:, :, rs, cs].sum(axis=(2, 3))
            coef = np.where(s != 0, gy[:, :, i, j] * out[:, :, i, j] / np.where(s != 0, s, 1), 0.0)
            gx[:, :, rs, cs] += coef[:, :, None, None] * np.power(x[:, :, rs, cs], p - 1)
    return gx


def to_nhwc(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def to_nchw(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def distinct(rng: np.random.Generator, shape, dtype=np.float64) -> np.ndarray:
    """Values pairwise at least 1e-2 apart (max pooling's gradient has no kink
    within a finite-difference step)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) * 0.01 - n * 0.005).astype(dtype)
