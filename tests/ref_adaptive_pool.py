"""Plain NumPy references (NCHW, loops) for adaptive / global / spatial-pyramid /
ROI pooling and max unpooling, forward and backward. Max ties go to the first
maximum in row-major order and a NaN wins (the last NaN), as convcore's and PyTorch's."""

from __future__ import annotations

import math

import numpy as np


def adaptive_bins(n: int, out: int) -> list[tuple[int, int]]:
    return [(i * n // out, -(-(i + 1) * n // out)) for i in range(out)]


def _argmax(window: np.ndarray) -> int:
    """Flat position (row-major) of the first maximum, or of the last NaN."""
    flat = window.reshape(-1)
    nan = np.flatnonzero(np.isnan(flat))
    return int(nan[-1]) if nan.size else int(np.argmax(flat))


def _pool_bins(plane: np.ndarray, rows, cols, mode: str):
    """(values (len(rows), len(cols)), flat argmax positions in the plane)."""
    W = plane.shape[1]
    y = np.zeros((len(rows), len(cols)))
    ind = np.full((len(rows), len(cols)), -1, dtype=np.int64)
    for i, (h0, h1) in enumerate(rows):
        for j, (w0, w1) in enumerate(cols):
            win = plane[h0:h1, w0:w1]
            if win.size == 0:
                continue
            if mode == "avg":
                y[i, j] = win.mean()
            else:
                a = _argmax(win)
                y[i, j] = win.reshape(-1)[a]
                ind[i, j] = (h0 + a // win.shape[1]) * W + w0 + a % win.shape[1]
    return y, ind


def _unpool_bins(g: np.ndarray, plane_shape, rows, cols, mode: str, ind=None, plane=None):
    gx = np.zeros(plane_shape)
    W = plane_shape[1]
    for i, (h0, h1) in enumerate(rows):
        for j, (w0, w1) in enumerate(cols):
            n = (h1 - h0) * (w1 - w0)
            if n <= 0:
                continue
            if mode == "avg":
                gx[h0:h1, w0:w1] += g[i, j] / n
            else:
                if ind is None:
                    win = plane[h0:h1, w0:w1]
                    a = _argmax(win)
                    at = (h0 + a // win.shape[1]) * W + w0 + a % win.shape[1]
                else:
                    at = ind[i, j]
                gx[at // W, at % W] += g[i, j]
    return gx


def adaptive_pool(x: np.ndarray, oh: int, ow: int, mode: str):
    N, C, H, W = x.shape
    rows, cols = adaptive_bins(H, oh), adaptive_bins(W, ow)
    y = np.zeros((N, C, oh, ow))
    ind = np.zeros((N, C, oh, ow), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            y[n, c], ind[n, c] = _pool_bins(x[n, c].astype(np.float64), rows, cols, mode)
    return y, ind


def adaptive_pool_backward(gy: np.ndarray, x: np.ndarray, mode: str, ind=None):
    N, C, H, W = x.shape
    oh, ow = gy.shape[2:]
    rows, cols = adaptive_bins(H, oh), adaptive_bins(W, ow)
    gx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            gx[n, c] = _unpool_bins(gy[n, c], (H, W), rows, cols, mode,
                                    None if ind is None else ind[n, c], x[n, c])
    return gx


def spp(x: np.ndarray, levels, mode: str) -> np.ndarray:
    return np.concatenate(
        [adaptive_pool(x, l, l, mode)[0].reshape(x.shape[0], -1) for l in levels], axis=1)


def spp_backward(gy: np.ndarray, x: np.ndarray, levels, mode: str) -> np.ndarray:
    gx, off = np.zeros(x.shape), 0
    for l in levels:
        n = x.shape[1] * l * l
        gx += adaptive_pool_backward(gy[:, off:off + n].reshape(x.shape[0], -1, l, l), x, mode)
        off += n
    return gx


def _round_half_away(v: float) -> int:
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def roi_bins(lo, hi, scale, pooled: int, n: int, dtype) -> list[tuple[int, int]]:
    """torchvision's roi_pool bins along one axis, with its arithmetic in `dtype`."""
    t = np.dtype(dtype).type
    start = _round_half_away(float(t(lo) * t(scale)))
    end = _round_half_away(float(t(hi) * t(scale)))
    size = max(end - start + 1, 1)
    bin_ = t(size) / t(pooled)
    clip = lambda v: min(max(v, 0), n)
    return [(clip(math.floor(t(i) * bin_) + start), clip(math.ceil(t(i + 1) * bin_) + start))
            for i in range(pooled)]


def roi_pool(x: np.ndarray, boxes: np.ndarray, ph: int, pw: int, scale: float):
    _, C, H, W = x.shape
    K = boxes.shape[0]
    y = np.zeros((K, C, ph, pw))
    for k in range(K):
        b, x1, y1, x2, y2 = boxes[k]
        rows = roi_bins(y1, y2, scale, ph, H, x.dtype)
        cols = roi_bins(x1, x2, scale, pw, W, x.dtype)
        for c in range(C):
            y[k, c] = _pool_bins(x[int(b), c].astype(np.float64), rows, cols, "max")[0]
    return y


def roi_pool_backward(gy: np.ndarray, x: np.ndarray, boxes: np.ndarray, scale: float):
    _, C, H, W = x.shape
    ph, pw = gy.shape[2:]
    gx = np.zeros(x.shape)
    for k in range(boxes.shape[0]):
        b, x1, y1, x2, y2 = boxes[k]
        rows = roi_bins(y1, y2, scale, ph, H, x.dtype)
        cols = roi_bins(x1, x2, scale, pw, W, x.dtype)
        for c in range(C):
            gx[int(b), c] += _unpool_bins(gy[k, c], (H, W), rows, cols, "max", None, x[int(b), c])
    return gx


def max_pool(x: np.ndarray, k, s, p):
    """max_pool2d with torch's indices (flat h * W + w in the input plane), -inf padding."""
    N, C, H, W = x.shape
    oh, ow = (H + 2 * p[0] - k[0]) // s[0] + 1, (W + 2 * p[1] - k[1]) // s[1] + 1
    rows = [(max(i * s[0] - p[0], 0), min(i * s[0] - p[0] + k[0], H)) for i in range(oh)]
    cols = [(max(j * s[1] - p[1], 0), min(j * s[1] - p[1] + k[1], W)) for j in range(ow)]
    y = np.zeros((N, C, oh, ow))
    ind = np.zeros((N, C, oh, ow), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            y[n, c], ind[n, c] = _pool_bins(x[n, c].astype(np.float64), rows, cols, "max")
    return y, ind


def max_unpool(x: np.ndarray, ind: np.ndarray, oh: int, ow: int) -> np.ndarray:
    N, C, H, W = x.shape
    y = np.zeros((N, C, oh * ow))
    for n in range(N):
        for c in range(C):
            for h in range(H):
                for w in range(W):  # scan order: the last duplicate wins
                    y[n, c, ind[n, c, h, w]] = x[n, c, h, w]
    return y.reshape(N, C, oh, ow)


def max_unpool_backward(gy: np.ndarray, ind: np.ndarray) -> np.ndarray:
    N, C = gy.shape[:2]
    flat = gy.reshape(N, C, -1)
    return np.take_along_axis(flat, ind.reshape(N, C, -1), axis=2).reshape(ind.shape)
