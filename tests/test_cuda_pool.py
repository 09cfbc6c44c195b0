"""The pooling family on the GPU: max / avg / Lp pooling 1-D and 2-D, global,
adaptive, spatial pyramid and ROI pooling, max unpooling, forward and
backward, against the CPU backend (indices exactly equal) and the NumPy
references, in float32 and float64, both layouts; mixing host and device
arrays raises ValueError."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convcore
import convcore.functional as F
import ref_adaptive_pool as aref
from ref_pool import (
    avg_pool2d_backward_ref,
    avg_pool2d_ref,
    lp_pool2d_backward_ref,
    lp_pool2d_ref,
    max_pool2d_backward_ref,
    max_pool2d_ref,
    out_size,
    to_nchw,
    to_nhwc,
)

pytestmark = pytest.mark.skipif(not convcore.cuda.is_available(), reason="needs a CUDA device")

DTYPES = [np.float32, np.float64]


def tol(dtype):
    return {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}


def dev(a):
    return convcore.cuda.asarray(np.ascontiguousarray(a))


def host(a):
    if isinstance(a, tuple):
        return tuple(host(v) for v in a)
    assert isinstance(a, convcore.cuda.DeviceArray), type(a)
    return a.numpy()


def both(fn, *args, **kw):
    """fn on host arrays and on their device copies: (cpu result, gpu result as NumPy)."""
    cpu = fn(*args, **kw)
    gargs = [dev(a) if isinstance(a, np.ndarray) else a for a in args]
    gkw = {k: dev(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    return cpu, host(fn(*gargs, **gkw))


def in_layout(x, layout):
    return x if layout == "NCHW" else to_nhwc(x)


def from_layout(y, layout):
    return y if layout == "NCHW" else to_nchw(y)


def distinct(rng, shape, dtype=np.float64):
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / max(n, 1) - 0.5).astype(dtype)


MAX_CONFIGS = [  # (kernel, stride, padding, dilation, ceil_mode), as tests/test_pool.py
    (3, 2, 1, 1, False),
    (2, 2, 0, 1, False),
    (3, 1, 1, 1, False),
    (3, 2, 1, 1, True),
    ((2, 3), (1, 2), (1, 1), (1, 1), True),
    (3, 2, 2, 2, False),
    ((3, 2), (2, 3), (1, 0), (2, 1), True),
    (2, 3, 1, 1, True),
    (1, 1, 0, 1, False),
]
AVG_CONFIGS = [  # (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    (3, 1, 1, False, True, None),
    (2, 2, 0, False, True, None),
    (3, 2, 1, True, True, None),
    (3, 2, 1, True, False, None),
    ((2, 3), (2, 1), (1, 1), True, False, None),
    (3, 3, 1, True, True, None),
    (3, 2, 1, False, True, 5),
    (2, 3, 1, True, False, None),
]
LP_CONFIGS = [(2.0, 2, 2, False), (2.0, 3, 2, True), (1.0, (2, 3), (2, 1), True),
              (3.0, 3, 1, False), (1.5, 2, 3, True)]


# ---------------------------------------------------------------- max / avg / lp pooling

@pytest.mark.parametrize("cfg", MAX_CONFIGS)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_max_pool2d(rng, cfg, layout, dtype):
    k, s, p, d, c = cfg
    x = rng.standard_normal((2, 19, 9, 11)).astype(dtype)
    xl = in_layout(x, layout)
    kw = dict(data_format=layout)
    (cy, ci), (gy_, gi) = both(F.max_pool2d, xl, k, s, p, d, c, True, **kw)
    np.testing.assert_array_equal(gy_, cy)
    np.testing.assert_array_equal(gi, ci)
    ry, ridx = max_pool2d_ref(x, k, s, p, d, c)
    np.testing.assert_array_equal(from_layout(gy_, layout), ry.astype(dtype))
    g = rng.standard_normal(cy.shape).astype(dtype)
    for idx in (ci, None):
        cg, gg = both(F.max_pool2d_backward, g, xl, idx, k, s, p, d, c, **kw)
        np.testing.assert_allclose(gg, cg, **tol(dtype))
    if np.all(ridx < 9 * 11):
        np.testing.assert_allclose(from_layout(gg, layout),
                                   max_pool2d_backward_ref(from_layout(g, layout), ridx, x.shape),
                                   **tol(dtype))


@pytest.mark.parametrize("cfg", AVG_CONFIGS)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool2d(rng, cfg, layout, dtype):
    k, s, p, c, cip, dov = cfg
    x = rng.standard_normal((2, 19, 9, 11)).astype(dtype)
    xl = in_layout(x, layout)
    kw = dict(data_format=layout)
    cy, gy_ = both(F.avg_pool2d, xl, k, s, p, c, cip, dov, **kw)
    np.testing.assert_allclose(gy_, cy, **tol(dtype))
    np.testing.assert_allclose(from_layout(gy_, layout), avg_pool2d_ref(x, k, s, p, c, cip, dov),
                               **tol(dtype))
    g = rng.standard_normal(cy.shape).astype(dtype)
    cg, gg = both(F.avg_pool2d_backward, g, xl, k, s, p, c, cip, dov, **kw)
    np.testing.assert_allclose(gg, cg, **tol(dtype))
    np.testing.assert_allclose(
        from_layout(gg, layout),
        avg_pool2d_backward_ref(from_layout(g, layout), x.shape, k, s, p, c, cip, dov),
        **tol(dtype))


@pytest.mark.parametrize("cfg", LP_CONFIGS)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_lp_pool2d(rng, cfg, layout, dtype):
    p, k, s, c = cfg
    x = np.abs(rng.standard_normal((2, 5, 9, 11))).astype(dtype) + 0.1
    xl = in_layout(x, layout)
    kw = dict(data_format=layout)
    cy, gy_ = both(F.lp_pool2d, xl, p, k, s, c, **kw)
    np.testing.assert_allclose(gy_, cy, **tol(dtype))
    np.testing.assert_allclose(from_layout(gy_, layout), lp_pool2d_ref(x, p, k, s, c), **tol(dtype))
    g = rng.standard_normal(cy.shape).astype(dtype)
    cg, gg = both(F.lp_pool2d_backward, g, xl, p, k, s, c, **kw)
    np.testing.assert_allclose(gg, cg, **tol(dtype))
    np.testing.assert_allclose(
        from_layout(gg, layout), lp_pool2d_backward_ref(from_layout(g, layout), x, p, k, s, c),
        **tol(dtype))


@pytest.mark.parametrize("layout", ["NCL", "NLC"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_1d_pools_and_unbatched(rng, layout, dtype):
    x = rng.standard_normal((3, 4, 17)).astype(dtype)
    if layout == "NLC":
        x = np.ascontiguousarray(x.transpose(0, 2, 1))
    kw = dict(data_format=layout)
    (cy, ci), (gy_, gi) = both(F.max_pool1d, x, 3, 2, 1, 2, True, True, **kw)
    np.testing.assert_array_equal(gy_, cy)
    np.testing.assert_array_equal(gi, ci)
    g = rng.standard_normal(cy.shape).astype(dtype)
    cg, gg = both(F.max_pool1d_backward, g, x, ci, 3, 2, 1, 2, True, **kw)
    np.testing.assert_allclose(gg, cg, **tol(dtype))
    cy, gy_ = both(F.avg_pool1d, x, 3, 2, 1, True, False, **kw)
    np.testing.assert_allclose(gy_, cy, **tol(dtype))
    g = rng.standard_normal(cy.shape).astype(dtype)
    cg, gg = both(F.avg_pool1d_backward, g, x, 3, 2, 1, True, False, **kw)
    np.testing.assert_allclose(gg, cg, **tol(dtype))
    xp = np.abs(x) + 0.1
    cy, gy_ = both(F.lp_pool1d, xp, 2, 3, 2, True, **kw)
    np.testing.assert_allclose(gy_, cy, **tol(dtype))
    (cy, ci), (gy_, gi) = both(F.max_pool2d, x, 2, return_indices=True)  # unbatched 2-D (C, H, W)
    np.testing.assert_array_equal(gy_, cy)
    np.testing.assert_array_equal(gi, ci)


def test_ties_nan_and_empty_dilated_windows():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 1, 2] = 1.0  # a tie: the first wins
    x[0, 0, 3, 0] = np.nan
    x[0, 0, 3, 1] = np.nan  # two NaNs: the last one's index
    for layout in ("NCHW", "NHWC"):
        xl = in_layout(x, layout)
        (cy, ci), (gy_, gi) = both(F.max_pool2d, xl, 2, 2, 0, 1, False, True, data_format=layout)
        np.testing.assert_array_equal(gy_, cy)
        np.testing.assert_array_equal(gi, ci)
    # padding 2 with dilation 3: the first window's taps miss the input.
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 3))
    (cy, ci), (gy_, gi) = both(F.max_pool2d, x, 2, 2, 2, 3, True, True)
    np.testing.assert_array_equal(gy_, cy)
    np.testing.assert_array_equal(gi, ci)
    g = np.ones_like(cy)
    cg, gg = both(F.max_pool2d_backward, g, x, None, 2, 2, 2, 3, True)
    np.testing.assert_array_equal(gg, cg)


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(1, 9), w=st.integers(1, 9), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)), d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pad=st.tuples(st.integers(0, 2), st.integers(0, 2)), ceil=st.booleans(), nhwc=st.booleans(),
    cip=st.booleans(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**31),
)
def test_random_configurations(h, w, k, s, d, pad, ceil, nhwc, cip, dtype, seed):
    rng = np.random.default_rng(seed)
    layout = "NHWC" if nhwc else "NCHW"
    x = in_layout(rng.standard_normal((2, 3, h, w)).astype(dtype), layout)
    kw = dict(data_format=layout)
    ek = [d[i] * (k[i] - 1) + 1 for i in range(2)]
    p_max = tuple(min(pad[i], ek[i] // 2) for i in range(2))
    if all(out_size((h, w)[i], k[i], s[i], p_max[i], d[i], ceil) >= 1 for i in range(2)):
        (cy, ci), (gy_, gi) = both(F.max_pool2d, x, k, s, p_max, d, ceil, True, **kw)
        np.testing.assert_array_equal(gy_, cy)
        np.testing.assert_array_equal(gi, ci)
        g = rng.standard_normal(cy.shape).astype(dtype)
        cg, gg = both(F.max_pool2d_backward, g, x, None, k, s, p_max, d, ceil, **kw)
        np.testing.assert_allclose(gg, cg, **tol(dtype))
    p_avg = tuple(min(pad[i], k[i] // 2) for i in range(2))
    if all(out_size((h, w)[i], k[i], s[i], p_avg[i], 1, ceil) >= 1 for i in range(2)):
        cy, gy_ = both(F.avg_pool2d, x, k, s, p_avg, ceil, cip, **kw)
        np.testing.assert_allclose(gy_, cy, **tol(dtype))
        g = rng.standard_normal(cy.shape).astype(dtype)
        cg, gg = both(F.avg_pool2d_backward, g, x, k, s, p_avg, ceil, cip, **kw)
        np.testing.assert_allclose(gg, cg, **tol(dtype))


def test_empty_batch_out_and_bad_indices(rng):
    x = rng.standard_normal((0, 3, 6, 6))
    assert F.max_pool2d(dev(x), 2).shape == (0, 3, 3, 3)
    x = rng.standard_normal((2, 3, 6, 6))
    out = convcore.cuda.empty((2, 3, 3, 3), np.float64)
    assert F.avg_pool2d(dev(x), 2, out=out) is out
    np.testing.assert_allclose(out.numpy(), F.avg_pool2d(x, 2), rtol=1e-12)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    idx[0, 0, 0, 0] = 36
    with pytest.raises(ValueError, match="outside the input plane"):
        F.max_pool2d_backward(dev(np.ones_like(y)), dev(x), dev(idx), 2)


# ---------------------------------------------------------------- adaptive / global / SPP

ADAPTIVE_CASES = [((2, 3, 10, 9), (3, 4)), ((1, 5, 7, 7), 7), ((2, 2, 5, 6), (8, 11)),
                  ((3, 70, 6, 5), (4, None)), ((1, 1, 1, 1), 1), ((2, 4, 13, 13), (1, 1))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("shape,size", ADAPTIVE_CASES)
def test_adaptive_pool2d(rng, dtype, fmt, shape, size):
    x = in_layout(distinct(rng, shape, dtype), fmt)
    kw = dict(data_format=fmt)
    cy, gy_ = both(F.adaptive_avg_pool2d, x, size, **kw)
    np.testing.assert_allclose(gy_, cy, **tol(dtype))
    g = rng.standard_normal(cy.shape).astype(dtype)
    cg, gg = both(F.adaptive_avg_pool2d_backward, g, x, size, **kw)
    np.testing.assert_allclose(gg, cg, **tol(dtype))
    (cy, ci), (gy_, gi) = both(F.adaptive_max_pool2d, x, size, True, **kw)
    np.testing.assert_array_equal(gy_, cy)
    np.testing.assert_array_equal(gi, ci)
    for idx in (ci, None):
        cg, gg = both(F.adaptive_max_pool2d_backward, g, x, idx, size, **kw)
        np.testing.assert_allclose(gg, cg, **tol(dtype))
    oh, ow = cy.shape[1:3] if fmt == "NHWC" else cy.shape[2:]
    want, _ = aref.adaptive_pool(from_layout(x, fmt).astype(np.float64), oh, ow, "max")
    np.testing.assert_array_equal(from_layout(gy_, fmt), want.astype(dtype))


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_adaptive_max_nan(fmt):
    x = np.zeros((1, 2, 4, 4))
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 2, 2] = np.nan
    x[0, 1, 0, 0] = x[0, 1, 0, 1] = 5.0
    (cy, ci), (gy_, gi) = both(F.adaptive_max_pool2d, in_layout(x, fmt), 2, True, data_format=fmt)
    np.testing.assert_array_equal(gy_, cy)
    np.testing.assert_array_equal(gi, ci)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_global_pool(rng, dtype, fmt, keepdim):
    x = in_layout(rng.standard_normal((2, 5, 7, 6)).astype(dtype), fmt)
    for fwd, bwd in ((F.global_avg_pool2d, F.global_avg_pool2d_backward),
                     (F.global_max_pool2d, F.global_max_pool2d_backward)):
        cy, gy_ = both(fwd, x, keepdim, data_format=fmt)
        np.testing.assert_allclose(gy_, cy, **tol(dtype))
        g = rng.standard_normal(cy.shape).astype(dtype)
        cg, gg = both(bwd, g, x, keepdim, data_format=fmt)
        np.testing.assert_allclose(gg, cg, **tol(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_spatial_pyramid_pool2d(rng, dtype, fmt, mode):
    x = in_layout(distinct(rng, (2, 3, 9, 7), dtype), fmt)
    levels = (1, 2, 4)
    if mode == "max":
        (cy, ci), (gy_, gi) = both(F.spatial_pyramid_pool2d, x, levels, mode, data_format=fmt,
                                   return_indices=True)
        np.testing.assert_array_equal(gi, ci)
    else:
        cy, gy_ = both(F.spatial_pyramid_pool2d, x, levels, mode, data_format=fmt)
        ci = None
    np.testing.assert_allclose(gy_, cy, **tol(dtype))
    np.testing.assert_allclose(gy_, aref.spp(from_layout(x, fmt), levels, mode), **tol(dtype))
    g = rng.standard_normal(cy.shape).astype(dtype)
    cg, gg = both(F.spatial_pyramid_pool2d_backward, g, x, levels, mode, data_format=fmt,
                  indices=ci)
    np.testing.assert_allclose(gg, cg, **tol(dtype))
    # unbatched
    cy, gy_ = both(F.spatial_pyramid_pool2d, x[0].copy(), levels, mode, data_format=fmt)
    np.testing.assert_allclose(gy_, cy, **tol(dtype))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 2), c=st.integers(1, 5), h=st.integers(1, 9), w=st.integers(1, 9),
       oh=st.integers(1, 10), ow=st.integers(1, 10), mode=st.sampled_from(["avg", "max"]),
       fmt=st.sampled_from(["NCHW", "NHWC"]), seed=st.integers(0, 2**31))
def test_adaptive_randomized(n, c, h, w, oh, ow, mode, fmt, seed):
    rng = np.random.default_rng(seed)
    x = in_layout(distinct(rng, (n, c, h, w)), fmt)
    fwd = F.adaptive_avg_pool2d if mode == "avg" else F.adaptive_max_pool2d
    cy, gy_ = both(fwd, x, (oh, ow), data_format=fmt)
    np.testing.assert_allclose(gy_, cy, rtol=1e-12, atol=1e-15)
    g = rng.standard_normal(cy.shape)
    if mode == "avg":
        cg, gg = both(F.adaptive_avg_pool2d_backward, g, x, (oh, ow), data_format=fmt)
    else:
        cg, gg = both(F.adaptive_max_pool2d_backward, g, x, None, (oh, ow), data_format=fmt)
    np.testing.assert_allclose(gg, cg, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- ROI pooling

def make_boxes(rng, n, H, W, K, scale, dtype):
    img_h, img_w = H / scale, W / scale
    b = np.zeros((K, 5))
    b[:, 0] = rng.integers(0, n, K)
    x1 = rng.integers(-4, int(img_w), K)
    y1 = rng.integers(-4, int(img_h), K)
    b[:, 1], b[:, 2] = x1, y1
    b[:, 3] = x1 + rng.integers(0, int(img_w), K)
    b[:, 4] = y1 + rng.integers(0, int(img_h), K)
    return b.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("scale,size", [(1.0, (2, 3)), (0.25, 3), (1 / 16, (7, 7)), (0.5, (1, 5))])
def test_roi_pool(rng, dtype, fmt, scale, size):
    x = in_layout(distinct(rng, (2, 67, 9, 11), dtype), fmt)
    boxes = make_boxes(rng, 2, 9, 11, 6, scale, dtype)
    boxes[0] = (1, 200, 200, 300, 300)
    cy, gy_ = both(F.roi_pool, x, boxes, size, scale, data_format=fmt)
    np.testing.assert_array_equal(gy_, cy)
    g = rng.standard_normal(cy.shape).astype(dtype)
    cg, gg = both(F.roi_pool_backward, g, x, boxes, size, scale, data_format=fmt)
    np.testing.assert_allclose(gg, cg, **tol(dtype))
    assert F.roi_pool(dev(x), dev(np.zeros((0, 5), dtype)), 3, data_format=fmt).shape[0] == 0


# ---------------------------------------------------------------- max unpooling

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("k,s,p,hw", [((2, 2), (2, 2), (0, 0), (8, 10)),
                                      ((3, 3), (2, 2), (1, 1), (9, 7)),
                                      ((3, 2), (1, 2), (0, 1), (6, 6))])
def test_max_unpool2d(rng, dtype, fmt, k, s, p, hw):
    x = distinct(rng, (2, 66) + hw, dtype)
    pooled, ind = aref.max_pool(x, k, s, p)
    pooled, ind = in_layout(pooled.astype(dtype), fmt), in_layout(ind, fmt)
    kw = {"stride": s, "padding": p, "output_size": hw, "data_format": fmt}
    cy, gy_ = both(F.max_unpool2d, pooled, ind, k, **kw)
    np.testing.assert_array_equal(gy_, cy)
    g = in_layout(rng.standard_normal((2, 66) + hw).astype(dtype), fmt)
    cg, gg = both(F.max_unpool2d_backward, g, pooled, ind, k, **kw)
    np.testing.assert_array_equal(gg, cg)


def test_max_unpool_duplicates_last_wins_and_bad_index(rng):
    x = rng.standard_normal((1, 2, 3, 3))
    ind = np.zeros((1, 2, 3, 3), np.int64)
    ind[0, 1] = np.arange(9).reshape(3, 3) * 2
    cy, gy_ = both(F.max_unpool2d, x, ind, 2)
    np.testing.assert_array_equal(gy_, cy)
    x1 = rng.standard_normal((2, 5))
    i1 = np.array([[0, 3, 4, 7, 9]] * 2, np.int64)
    cy, gy_ = both(F.max_unpool1d, x1, i1, 2)
    np.testing.assert_array_equal(gy_, cy)
    ind[0, 0, 0, 0] = 99
    with pytest.raises(ValueError, match="out of range"):
        F.max_unpool2d(dev(x), dev(ind), 2)


def test_max_pool_indices_drive_unpool_on_device(rng):
    x = dev(distinct(rng, (2, 3, 8, 8)))
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert isinstance(idx, convcore.cuda.DeviceArray) and idx.dtype == np.int64
    u = F.max_unpool2d(y, idx, 2)
    cy, cidx = F.max_pool2d(x.numpy(), 2, return_indices=True)
    np.testing.assert_array_equal(u.numpy(), F.max_unpool2d(cy, cidx, 2))


# ---------------------------------------------------------------- mixing devices

def test_mixing_host_and_device_raises(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    gx = dev(x)
    with pytest.raises(ValueError, match="indices"):
        F.max_pool2d_backward(dev(np.ones_like(y)), gx, idx, 2)
    with pytest.raises(ValueError):
        F.avg_pool2d_backward(np.ones_like(y), gx, 2)
    with pytest.raises(ValueError):
        F.adaptive_max_pool2d_backward(dev(np.ones_like(y)), gx, idx, 3)
    with pytest.raises(ValueError):
        F.max_unpool2d(dev(y), idx, 2)
    with pytest.raises(ValueError, match="boxes"):
        F.roi_pool(gx, np.array([[0, 0, 0, 3, 3]], np.float64), 2)
    with pytest.raises(ValueError):
        F.avg_pool2d(gx, 2, out=np.empty((2, 3, 3, 3)))
