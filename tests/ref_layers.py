"""float64 NumPy references for the layer operators (activations, softmax,
losses, linear), written plainly: elementwise formulas and explicit loops."""

from __future__ import annotations

import math
from typing import Optional

import numpy as np


def _f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def relu(x):
    return np.maximum(_f64(x), 0.0)


def leaky_relu(x, slope=0.01):
    x = _f64(x)
    return np.where(x > 0, x, slope * x)


def elu(x, alpha=1.0):
    x = _f64(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def sigmoid(x):
    x = _f64(x)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def tanh(x):
    return np.tanh(_f64(x))


# Derivatives; the kinks take the left derivative (relu'(0) = 0, as PyTorch).
def relu_grad(g, x):
    return _f64(g) * (_f64(x) > 0)


def leaky_relu_grad(g, x, slope=0.01):
    return _f64(g) * np.where(_f64(x) > 0, 1.0, slope)


def elu_grad(g, x, alpha=1.0):
    x = _f64(x)
    return _f64(g) * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def sigmoid_grad(g, x):
    s = sigmoid(x)
    return _f64(g) * s * (1 - s)


def tanh_grad(g, x):
    t = tanh(x)
    return _f64(g) * (1 - t * t)


ACTIVATIONS = {
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
}


def softmax(x, dim):
    x = _f64(x)
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax(x, dim):
    x = _f64(x)
    m = x.max(axis=dim, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=dim, keepdims=True))


def softmax_grad(g, x, dim):
    y = softmax(x, dim)
    g = _f64(g)
    return y * (g - (g * y).sum(axis=dim, keepdims=True))


def log_softmax_grad(g, x, dim):
    g = _f64(g)
    return g - softmax(x, dim) * g.sum(axis=dim, keepdims=True)


def cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Position by position, as PyTorch composes it: (1-eps) w_t (-log p_t) +
    eps/C sum_c w_c (-log p_c); 'mean' divides by the sum of w_t over the
    positions not ignored."""
    x = _f64(x)
    target = np.asarray(target)
    if x.ndim == 1:
        x, target = x[None], target[None]
        squeeze = True
    else:
        squeeze = False
    n, c = x.shape[:2]
    rest = x.shape[2:]
    w = np.ones(c) if weight is None else _f64(weight)
    loss = np.zeros((n,) + rest)
    denom = 0.0
    for i in range(n):
        for pos in np.ndindex(*rest):
            t = int(target[(i,) + pos])
            if t == ignore_index:
                continue
            logits = np.array([x[(i, k) + pos] for k in range(c)])
            lse = logits.max() + math.log(np.exp(logits - logits.max()).sum())
            nll = w[t] * (lse - logits[t])
            smooth = sum(w[k] * (lse - logits[k]) for k in range(c))
            loss[(i,) + pos] = (1 - label_smoothing) * nll + label_smoothing / c * smooth
            denom += w[t]
    if reduction == "none":
        return loss[0] if squeeze else loss
    if reduction == "sum":
        return np.array(loss.sum())
    with np.errstate(invalid="ignore"):  # every position ignored: nan, as PyTorch
        return np.array(loss.sum() / denom)


def mse(x, t, reduction="mean"):
    d = (_f64(x) - _f64(t)) ** 2
    return d if reduction == "none" else np.array(d.sum() if reduction == "sum" else d.mean())


def linear(x, w, b: Optional[np.ndarray] = None):
    y = np.einsum("...i,oi->...o", _f64(x), _f64(w))
    return y if b is None else y + _f64(b)


def linear_grad(g, x, w):
    g, x, w = _f64(g), _f64(x), _f64(w)
    gx = np.einsum("...o,oi->...i", g, w)
    gw = np.einsum("ro,ri->oi", g.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1]))
    gb = g.reshape(-1, w.shape[0]).sum(axis=0)
    return gx, gw, gb
