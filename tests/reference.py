"""Float64 NumPy references for convcore's convolutions (TESTING.md section 6.2).

Everything here works in NCHW float64 and is written for clarity, not speed:
explicit padding with ``np.pad``, then one ``einsum`` per kernel tap over the
strided window view. The backward pass routes the gradient of the padded input
back to the source pixels through the same index map the padding uses (built
by padding an index array with the same mode), so reflected / replicated /
wrapped pixels receive the sum of their shares and constant padding none.

Padding widths are always given as ``(top, bottom, left, right)``.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

# API padding_mode names -> np.pad modes. 'zeros' and ('constant', v) both map
# to 'constant'.
NP_MODES = {
    "zeros": "constant",
    "constant": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "edge": "edge",
    "circular": "wrap",
    "wrap": "wrap",
    "symmetric": "symmetric",
}


def split_mode(padding_mode) -> Tuple[str, float]:
    """An API padding_mode (string or ('constant', value)) -> (np.pad mode, value)."""
    if isinstance(padding_mode, tuple):
        assert padding_mode[0] == "constant"
        return "constant", float(padding_mode[1])
    return NP_MODES[padding_mode], 0.0


def pad(x: np.ndarray, pads: Sequence[int], mode="zeros", value: float = 0.0) -> np.ndarray:
    """Pads the last two axes of x by (top, bottom, left, right).

    ``mode`` is an API padding_mode ('zeros', 'reflect', 'replicate'/'edge',
    'circular'/'wrap', 'symmetric', ('constant', v)) or an np.pad mode name;
    ``value`` is the constant for constant padding (overridden by the value of a
    ('constant', v) tuple)."""
    if isinstance(mode, tuple):
        mode, value = split_mode(mode)
    else:
        mode = NP_MODES.get(mode, mode)
    t, b, l, r = (int(p) for p in pads)
    widths = [(0, 0)] * (x.ndim - 2) + [(t, b), (l, r)]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=mode)


def source_map(h: int, w: int, pads: Sequence[int], mode="zeros") -> np.ndarray:
    """For every pixel of the padded (h, w) plane, the flat index (row * w + col)
    of the source pixel it reads, or -1 where it reads the constant."""
    idx = np.arange(h * w, dtype=np.int64).reshape(h, w)
    np_mode = split_mode(mode)[0] if isinstance(mode, tuple) else NP_MODES.get(mode, mode)
    return pad(idx, pads, np_mode, value=-1)


def output_size(n: int, k: int, s: int, before: int, after: int, d: int) -> int:
    return (n + before + after - d * (k - 1) - 1) // s + 1


def _pair(v) -> Tuple[int, int]:
    if isinstance(v, (tuple, list)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _windows(xp: np.ndarray, a: int, b: int, oh: int, ow: int, s, d) -> np.ndarray:
    """xp[..., a*dh + i*sh, b*dw + j*sw] for i < oh, j < ow (a view)."""
    sh, sw = s
    dh, dw = d
    return xp[..., a * dh : a * dh + sh * (oh - 1) + 1 : sh, b * dw : b * dw + sw * (ow - 1) + 1 : sw]


def conv2d_ref(
    x: np.ndarray,
    w: np.ndarray,
    b: Optional[np.ndarray] = None,
    stride=1,
    pads: Sequence[int] = (0, 0, 0, 0),
    dilation=1,
    groups: int = 1,
    mode="zeros",
    value: float = 0.0,
) -> np.ndarray:
    """Forward cross-correlation in float64; x (N, Cin, H, W), w (Cout, Cin/g, kh, kw)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    s, d = _pair(stride), _pair(dilation)
    n, cin, h, wd = x.shape
    cout, cin_g, kh, kw = w.shape
    g = groups
    assert cin == cin_g * g and cout % g == 0
    xp = pad(x, pads, mode, value)
    hp, wp = xp.shape[2:]
    oh = (hp - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (wp - d[1] * (kw - 1) - 1) // s[1] + 1
    assert oh >= 1 and ow >= 1
    xg = xp.reshape(n, g, cin_g, hp, wp)
    wg = w.reshape(g, cout // g, cin_g, kh, kw)
    y = np.zeros((n, g, cout // g, oh, ow))
    for a in range(kh):
        for bb in range(kw):
            win = _windows(xg, a, bb, oh, ow, s, d)
            y += np.einsum("ngchw,goc->ngohw", win, wg[:, :, :, a, bb])
    y = y.reshape(n, cout, oh, ow)
    if b is not None:
        y += np.asarray(b, np.float64)[None, :, None, None]
    return y


def conv2d_backward_ref(
    gy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride=1,
    pads: Sequence[int] = (0, 0, 0, 0),
    dilation=1,
    groups: int = 1,
    mode="zeros",
    value: float = 0.0,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grad_input, grad_weight, grad_bias) of conv2d_ref for output gradient gy."""
    gy = np.asarray(gy, np.float64)
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    s, d = _pair(stride), _pair(dilation)
    n, cin, h, wd = x.shape
    cout, cin_g, kh, kw = w.shape
    g = groups
    xp = pad(x, pads, mode, value)
    hp, wp = xp.shape[2:]
    oh, ow = gy.shape[2:]
    assert gy.shape == (n, cout, oh, ow)
    xg = xp.reshape(n, g, cin_g, hp, wp)
    wg = w.reshape(g, cout // g, cin_g, kh, kw)
    gyg = gy.reshape(n, g, cout // g, oh, ow)

    gxp = np.zeros((n, g, cin_g, hp, wp))
    gw = np.zeros((g, cout // g, cin_g, kh, kw))
    for a in range(kh):
        for bb in range(kw):
            win = _windows(xg, a, bb, oh, ow, s, d)
            gw[:, :, :, a, bb] = np.einsum("ngohw,ngchw->goc", gyg, win)
            _windows(gxp, a, bb, oh, ow, s, d)[...] += np.einsum(
                "ngohw,goc->ngchw", gyg, wg[:, :, :, a, bb]
            )
    gx = fold(gxp.reshape(n, cin, hp, wp), h, wd, pads, mode)
    return gx, gw.reshape(w.shape), gy.sum(axis=(0, 2, 3))


def fold(grad_padded: np.ndarray, h: int, w: int, pads: Sequence[int], mode="zeros") -> np.ndarray:
    """Adjoint of ``pad``: sends the gradient of every padded pixel to the source
    pixel it was read from (np.add.at, so repeated reads add up)."""
    lead = grad_padded.shape[:-2]
    src = source_map(h, w, pads, mode).ravel()
    keep = src >= 0
    flat = grad_padded.reshape(-1, grad_padded.shape[-2] * grad_padded.shape[-1])
    out = np.zeros((h * w, flat.shape[0]))
    np.add.at(out, src[keep], flat[:, keep].T)
    return out.T.reshape(lead + (h, w))


# ----------------------------------------------------------------------------- 1-D


def conv1d_ref(x, w, b=None, stride=1, pads=(0, 0), dilation=1, groups=1, mode="zeros", value=0.0):
    """x (N, Cin, L), w (Cout, Cin/g, k); pads (left, right)."""
    y = conv2d_ref(
        np.asarray(x)[:, :, None, :], np.asarray(w)[:, :, None, :], b, (1, stride), (0, 0) + tuple(pads),
        (1, dilation), groups, mode, value,
    )
    return y[:, :, 0, :]


def conv1d_backward_ref(gy, x, w, stride=1, pads=(0, 0), dilation=1, groups=1, mode="zeros", value=0.0):
    gx, gw, gb = conv2d_backward_ref(
        np.asarray(gy)[:, :, None, :], np.asarray(x)[:, :, None, :], np.asarray(w)[:, :, None, :],
        (1, stride), (0, 0) + tuple(pads), (1, dilation), groups, mode, value,
    )
    return gx[:, :, 0, :], gw[:, :, 0, :], gb


# ----------------------------------------------------------------------------- padding forms


def same_pads_1d(n: int, k: int, s: int = 1, d: int = 1) -> Tuple[int, int]:
    """TensorFlow SAME: output ceil(n / s), odd unit after."""
    out = -(-n // s)
    total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
    return total // 2, total - total // 2


def resolve_padding(padding, hw: Sequence[int], k: Sequence[int], s: Sequence[int], d: Sequence[int]):
    """Any API padding form -> (top, bottom, left, right) (2-D) or (left, right) (1-D)."""
    nd = len(hw)
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * (2 * nd)
        if padding == "same":
            return tuple(p for i in range(nd) for p in same_pads_1d(hw[i], k[i], s[i], d[i]))
        if padding == "full":
            return tuple(p for i in range(nd) for p in (d[i] * (k[i] - 1),) * 2)
        raise ValueError(padding)
    if isinstance(padding, int):
        return (padding,) * (2 * nd)
    padding = tuple(padding)
    if len(padding) == nd:
        return tuple(p for p in padding for _ in range(2))
    assert len(padding) == 2 * nd
    return padding


# ----------------------------------------------------------------------------- tolerances

U32 = 2.0 ** -24


def bound_check(got: np.ndarray, ref: np.ndarray, B: np.ndarray, K, dtype, factor: float = 8.0,
                rel_l2: float = 1e-5, f64_tol: float = 1e-10, what: str = "") -> None:
    """TESTING.md 6.5: float32 element-wise |y - y64| <= factor*sqrt(K)*u*B + 1e-30 and
    relative L2 error <= rel_l2; float64 |y - y64| <= f64_tol*B + 1e-300.
    ``B`` is the same operation on absolute values (float64), ``K`` the accumulation
    length (scalar or an array broadcastable to the output)."""
    got = np.asarray(got, np.float64)
    ref = np.asarray(ref, np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    assert np.all(np.isfinite(got)), f"{what}: non-finite values"
    err = np.abs(got - ref)
    if np.dtype(dtype) == np.float32:
        tol = factor * np.sqrt(np.maximum(K, 1)) * U32 * B + 1e-30
        bad = err > tol
        assert not bad.any(), (
            f"{what}: {bad.sum()} of {bad.size} elements exceed the float32 bound; worst "
            f"err/tol = {np.max(err / tol):.3g} at {np.unravel_index(np.argmax(err / tol), err.shape)}"
        )
        nref = np.linalg.norm(ref)
        if nref > 0:
            rel = np.linalg.norm(got - ref) / nref
            assert rel <= rel_l2, f"{what}: relative L2 error {rel:.3g} > {rel_l2}"
    else:
        tol = f64_tol * B + 1e-300
        bad = err > tol
        assert not bad.any(), (
            f"{what}: {bad.sum()} of {bad.size} elements exceed the float64 bound; max err "
            f"{err.max():.3g}, max B {B.max():.3g}"
        )


# ----------------------------------------------------------------------------- finite differences


def central_difference(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Gradient of the scalar function f at x by central differences, element by element
    (x is float64; it is perturbed in a copy)."""
    x = np.array(x, dtype=np.float64, copy=True)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f(x)
        flat[i] = old - eps
        fm = f(x)
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return grad


# ----------------------------------------------------------------------------- exact-integer data


def int_data(rng: np.random.Generator, shape, lo: int, hi: int, K: int = 1, thin: bool = False,
             dtype=np.float32) -> np.ndarray:
    """Integers uniform in [lo, hi] (element 0 positive); with ``thin`` zeroed with
    Bernoulli density min(1, 16384 / K) so every float32 partial sum is exact
    (TESTING.md 6.3)."""
    a = rng.integers(lo, hi + 1, size=shape).astype(np.float64)
    if a.size:
        a.reshape(-1)[0] = max(1, abs(int(a.reshape(-1)[0])))
    if thin:
        density = min(1.0, 16384.0 / max(K, 1))
        a *= rng.random(shape) < density
    return a.astype(dtype)


def sqrt_ceil(v: float) -> int:
    return int(math.ceil(math.sqrt(v)))
