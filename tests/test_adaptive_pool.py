"""Adaptive, global, spatial-pyramid and ROI pooling and max unpooling against
the float64 NumPy references of ref_adaptive_pool.py, finite differences,
PyTorch, and the bad-input catalogue.

These ops run plain C++ loops (no kernel-table entries), so there is no
per-ISA variant to cover."""

from __future__ import annotations

import convcore.functional as F
import numpy as np
import pytest
import ref_adaptive_pool as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import central_difference

DTYPES = (np.float32, np.float64)


def tol(dtype):
    return {"rtol": 2e-6, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-13}


def nhwc(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def nchw(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def distinct(rng, shape, dtype=np.float64):
    """Values without ties, so argmaxes are unambiguous and differentiable."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / max(n, 1) - 0.5).astype(dtype)


def as_layout(x, fmt):
    return nhwc(x) if fmt == "NHWC" else x


def from_layout(y, fmt):
    return nchw(y) if fmt == "NHWC" else y


# ----------------------------------------------------------------------------- adaptive pooling

ADAPTIVE_CASES = [  # (N, C, H, W), output_size
    ((2, 3, 10, 9), (3, 4)),
    ((1, 5, 7, 7), 7),
    ((2, 2, 5, 6), (8, 11)),  # larger than the input: bins repeat
    ((3, 70, 6, 5), (4, None)),  # more channels than one NHWC block
    ((1, 1, 1, 1), 1),
    ((2, 4, 13, 13), (1, 1)),
]


def resolved(size, shape):
    size = (size, size) if isinstance(size, int) else size
    return tuple(shape[2 + i] if s is None else s for i, s in enumerate(size))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("shape,size", ADAPTIVE_CASES)
def test_adaptive_avg_pool2d(rng, dtype, fmt, shape, size):
    x = rng.standard_normal(shape).astype(dtype)
    keep = x.copy()
    oh, ow = resolved(size, shape)
    want, _ = ref.adaptive_pool(x, oh, ow, "avg")
    got = F.adaptive_avg_pool2d(as_layout(x, fmt), size, data_format=fmt)
    assert got.dtype == dtype
    np.testing.assert_allclose(from_layout(got, fmt), want, **tol(dtype))
    gy = rng.standard_normal(want.shape).astype(dtype)
    gx = F.adaptive_avg_pool2d_backward(as_layout(gy, fmt), as_layout(x, fmt), size,
                                        data_format=fmt)
    np.testing.assert_allclose(from_layout(gx, fmt), ref.adaptive_pool_backward(gy, x, "avg"),
                               **tol(dtype))
    np.testing.assert_array_equal(x, keep)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("shape,size", ADAPTIVE_CASES)
def test_adaptive_max_pool2d(rng, dtype, fmt, shape, size):
    x = rng.integers(-3, 4, size=shape).astype(dtype)  # many ties: first maximum wins
    oh, ow = resolved(size, shape)
    want, want_ind = ref.adaptive_pool(x, oh, ow, "max")
    got, ind = F.adaptive_max_pool2d(as_layout(x, fmt), size, return_indices=True, data_format=fmt)
    np.testing.assert_array_equal(from_layout(got, fmt), want)
    np.testing.assert_array_equal(from_layout(ind, fmt), want_ind)
    np.testing.assert_array_equal(F.adaptive_max_pool2d(as_layout(x, fmt), size, data_format=fmt),
                                  got)
    gy = rng.standard_normal(want.shape).astype(dtype)
    expect = ref.adaptive_pool_backward(gy, x, "max", want_ind)
    for indices in (ind, None):
        gx = F.adaptive_max_pool2d_backward(as_layout(gy, fmt), as_layout(x, fmt), indices, size,
                                            data_format=fmt)
        np.testing.assert_allclose(from_layout(gx, fmt), expect, **tol(dtype))


@pytest.mark.parametrize("fmt", ["NCL", "NLC"])
@pytest.mark.parametrize("mode", ["avg", "max"])
def test_adaptive_pool1d(rng, fmt, mode):
    x = distinct(rng, (2, 3, 11))
    want, want_ind = ref.adaptive_pool(x[:, :, None, :], 1, 4, mode)
    want, want_ind = want[:, :, 0], want_ind[:, :, 0]
    tr = (lambda a: np.ascontiguousarray(a.transpose(0, 2, 1))) if fmt == "NLC" else (lambda a: a)
    if mode == "avg":
        got = F.adaptive_avg_pool1d(tr(x), 4, data_format=fmt)
    else:
        got, ind = F.adaptive_max_pool1d(tr(x), 4, True, data_format=fmt)
        np.testing.assert_array_equal(tr(ind), want_ind)
    np.testing.assert_allclose(tr(got), want, rtol=1e-12)
    gy = rng.standard_normal(want.shape)
    expect = ref.adaptive_pool_backward(gy[:, :, None, :], x[:, :, None, :], mode)[:, :, 0]
    if mode == "avg":
        gx = F.adaptive_avg_pool1d_backward(tr(gy), tr(x), 4, data_format=fmt)
    else:
        gx = F.adaptive_max_pool1d_backward(tr(gy), tr(x), None, 4, data_format=fmt)
    np.testing.assert_allclose(tr(gx), expect, rtol=1e-12)


def test_adaptive_unbatched_and_out(rng):
    x = rng.standard_normal((3, 8, 6))
    want = ref.adaptive_pool(x[None], 3, 2, "avg")[0][0]
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, (3, 2)), want, rtol=1e-12)
    out = np.full((3, 3, 2), np.nan)
    r = F.adaptive_avg_pool2d(x, (3, 2), out=out)
    assert r is out
    np.testing.assert_allclose(out, want, rtol=1e-12)
    gx_out = np.full(x.shape, np.nan)
    F.adaptive_avg_pool2d_backward(np.ones((3, 3, 2)), x, (3, 2), out=gx_out)
    np.testing.assert_allclose(gx_out, ref.adaptive_pool_backward(np.ones((1, 3, 3, 2)), x[None],
                                                                  "avg")[0], rtol=1e-12)
    y, ind = F.adaptive_max_pool2d(x, 2, return_indices=True)
    assert y.shape == ind.shape == (3, 2, 2)


def test_adaptive_noncontiguous_and_empty_batch(rng):
    x = rng.standard_normal((2, 9, 10, 4)).transpose(0, 3, 1, 2)  # a non-contiguous NCHW view
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 3),
                               ref.adaptive_pool(np.ascontiguousarray(x), 3, 3, "avg")[0],
                               rtol=1e-12)
    for fmt, shape in (("NCHW", (0, 3, 5, 5)), ("NHWC", (0, 5, 5, 3))):
        e = np.zeros(shape, np.float32)
        assert F.adaptive_max_pool2d(e, 2, data_format=fmt).shape == (
            (0, 3, 2, 2) if fmt == "NCHW" else (0, 2, 2, 3))
        assert F.adaptive_avg_pool2d_backward(np.zeros((0, 3, 2, 2) if fmt == "NCHW" else
                                                       (0, 2, 2, 3), np.float32), e, 2,
                                              data_format=fmt).shape == shape


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_max_nan_propagates(fmt):
    x = np.zeros((1, 2, 4, 4))
    x[0, 0, 1, 2] = np.nan
    x[0, 0, 1, 3] = np.nan
    x[0, 1, 3, 3] = 5.0
    y, ind = F.adaptive_max_pool2d(as_layout(x, fmt), 1, True, data_format=fmt)
    y, ind = from_layout(y, fmt), from_layout(ind, fmt)
    assert np.isnan(y[0, 0, 0, 0]) and ind[0, 0, 0, 0] == 7  # the last NaN, as torch
    assert y[0, 1, 0, 0] == 5.0 and ind[0, 1, 0, 0] == 15
    assert np.isnan(F.global_max_pool2d(as_layout(x, fmt), data_format=fmt)[0, 0])
    assert np.isnan(F.spatial_pyramid_pool2d(as_layout(x, fmt), (1,), data_format=fmt)[0, 0])
    # Infinities are values, not NaNs: -inf never wins over a finite value.
    x = np.full((1, 3, 2, 2), -np.inf)
    x[0, 1, 1, 0], x[0, 2] = np.inf, [[1.0, -np.inf], [2.0, np.inf]]
    for levels in ((1,), (2,)):
        want = ref.spp(x, levels, "max")
        np.testing.assert_array_equal(
            F.spatial_pyramid_pool2d(as_layout(x, fmt), levels, data_format=fmt), want)
    y, ind = F.adaptive_max_pool2d(as_layout(x, fmt), 1, True, data_format=fmt)
    np.testing.assert_array_equal(from_layout(ind, fmt)[0, :, 0, 0], [0, 2, 3])


# ----------------------------------------------------------------------------- global pooling

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_global_pool(rng, dtype, fmt, keepdim):
    x = distinct(rng, (3, 70, 5, 7), dtype)
    xl = as_layout(x, fmt)
    kshape = (3, 70, 1, 1) if fmt == "NCHW" else (3, 1, 1, 70)
    for mode, fwd, bwd, red in (("avg", F.global_avg_pool2d, F.global_avg_pool2d_backward, np.mean),
                                ("max", F.global_max_pool2d, F.global_max_pool2d_backward, np.max)):
        y = fwd(xl, keepdim, data_format=fmt)
        assert y.shape == (kshape if keepdim else (3, 70))
        np.testing.assert_allclose(y.reshape(3, 70), red(x.astype(np.float64), axis=(2, 3)),
                                   **tol(dtype))
        gy = rng.standard_normal((3, 70)).astype(dtype)
        gx = bwd(gy.reshape(y.shape), xl, keepdim, data_format=fmt)
        expect = ref.adaptive_pool_backward(gy.reshape(3, 70, 1, 1), x, mode)
        np.testing.assert_allclose(from_layout(gx, fmt), expect, **tol(dtype))


def test_global_unbatched_and_out(rng):
    x = rng.standard_normal((4, 3, 5))
    np.testing.assert_allclose(F.global_avg_pool2d(x), x.mean(axis=(1, 2)), rtol=1e-12)
    assert F.global_max_pool2d(x, True).shape == (4, 1, 1)
    out = np.empty((4,))
    assert F.global_avg_pool2d(x, out=out) is out
    np.testing.assert_allclose(out, x.mean(axis=(1, 2)), rtol=1e-12)
    out2 = np.empty((2, 4, 1, 1))
    x2 = rng.standard_normal((2, 4, 3, 5))
    F.global_max_pool2d(x2, True, out=out2)
    np.testing.assert_array_equal(out2[:, :, 0, 0], x2.max(axis=(2, 3)))


# ----------------------------------------------------------------------------- spatial pyramid

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("shape,levels", [((2, 3, 13, 11), (1, 2, 4)), ((1, 66, 5, 6), (3, 1)),
                                          ((2, 2, 3, 3), (6,))])
def test_spatial_pyramid_pool2d(rng, dtype, fmt, mode, shape, levels):
    x = distinct(rng, shape, dtype)
    want = ref.spp(x, levels, mode)
    got = F.spatial_pyramid_pool2d(as_layout(x, fmt), levels, mode, data_format=fmt)
    assert got.shape == (shape[0], shape[1] * sum(l * l for l in levels))
    np.testing.assert_allclose(got, want, **tol(dtype))
    gy = rng.standard_normal(want.shape).astype(dtype)
    gx = F.spatial_pyramid_pool2d_backward(gy, as_layout(x, fmt), levels, mode, data_format=fmt)
    expect = ref.spp_backward(gy, x, levels, mode)
    np.testing.assert_allclose(from_layout(gx, fmt), expect, **tol(dtype))
    if mode == "max":
        y, ind = F.spatial_pyramid_pool2d(as_layout(x, fmt), levels, data_format=fmt,
                                          return_indices=True)
        np.testing.assert_array_equal(y, got)
        np.testing.assert_array_equal(
            ind, np.concatenate([ref.adaptive_pool(x, l, l, "max")[1].reshape(shape[0], -1)
                                 for l in levels], axis=1))
        gx = F.spatial_pyramid_pool2d_backward(gy, as_layout(x, fmt), levels, data_format=fmt,
                                               indices=ind)
        np.testing.assert_allclose(from_layout(gx, fmt), expect, **tol(dtype))


def test_spp_unbatched_and_out(rng):
    x = rng.standard_normal((3, 7, 9))
    want = ref.spp(x[None], (1, 2), "avg")[0]
    np.testing.assert_allclose(F.spatial_pyramid_pool2d(x, (1, 2), "avg"), want, rtol=1e-12)
    out = np.empty(15)
    assert F.spatial_pyramid_pool2d(x, (1, 2), "avg", out=out) is out
    np.testing.assert_allclose(out, want, rtol=1e-12)
    gx = F.spatial_pyramid_pool2d_backward(np.ones(15), x, (1, 2), "avg")
    np.testing.assert_allclose(gx, ref.spp_backward(np.ones((1, 15)), x[None], (1, 2), "avg")[0])


# ----------------------------------------------------------------------------- ROI pooling

def make_boxes(rng, n, H, W, K, scale, dtype):
    """Boxes in image coordinates: integer corners, some outside or past the map."""
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
    x = distinct(rng, (2, 67, 9, 11), dtype)
    boxes = make_boxes(rng, 2, 9, 11, 6, scale, dtype)
    boxes[0] = (1, 200, 200, 300, 300)  # off the map: empty bins give 0
    keep = boxes.copy()
    ph, pw = (size, size) if isinstance(size, int) else size
    want = ref.roi_pool(x, boxes, ph, pw, scale)
    got = F.roi_pool(as_layout(x, fmt), boxes, size, scale, data_format=fmt)
    assert got.dtype == dtype
    np.testing.assert_array_equal(from_layout(got, fmt), want)
    assert np.all(want[0] == 0)
    gy = rng.standard_normal(want.shape).astype(dtype)
    gx = F.roi_pool_backward(as_layout(gy, fmt), as_layout(x, fmt), boxes, size, scale,
                             data_format=fmt)
    np.testing.assert_allclose(from_layout(gx, fmt), ref.roi_pool_backward(gy, x, boxes, scale),
                               **tol(dtype))
    np.testing.assert_array_equal(boxes, keep)


def test_roi_pool_rounding_and_out(rng):
    # x1 * scale = 2.5 rounds away from zero (to 3), as torchvision's std::round.
    x = distinct(rng, (1, 2, 8, 8))
    boxes = np.array([[0, 5, 1, 11, 13], [0, 0, 0, 0, 0]], dtype=np.float64)
    want = ref.roi_pool(x, boxes, 2, 2, 0.5)
    assert ref.roi_bins(5, 11, 0.5, 2, 8, np.float64)[0][0] == 3
    out = np.empty((2, 2, 2, 2))
    assert F.roi_pool(x, boxes, 2, 0.5, out=out) is out
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(out[1], np.broadcast_to(x[0, :, :1, :1], (2, 2, 2)))
    assert F.roi_pool(x, np.zeros((0, 5)), 3).shape == (0, 2, 3, 3)


# ----------------------------------------------------------------------------- max unpooling

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
@pytest.mark.parametrize("k,s,p,hw", [((2, 2), (2, 2), (0, 0), (8, 10)),
                                      ((3, 3), (2, 2), (1, 1), (9, 7)),
                                      ((3, 2), (1, 2), (0, 1), (6, 6))])
def test_max_unpool2d(rng, dtype, fmt, k, s, p, hw):
    x = distinct(rng, (2, 66) + hw, dtype)
    pooled, ind = ref.max_pool(x, k, s, p)
    pooled = pooled.astype(dtype)
    ind_keep = ind.copy()
    kw = {"stride": s, "padding": p, "output_size": hw, "data_format": fmt}
    got = F.max_unpool2d(as_layout(pooled, fmt), as_layout(ind, fmt), k, **kw)
    np.testing.assert_array_equal(from_layout(got, fmt), ref.max_unpool(pooled, ind, *hw))
    gy = rng.standard_normal((2, 66) + hw).astype(dtype)
    gx = F.max_unpool2d_backward(as_layout(gy, fmt), as_layout(pooled, fmt), as_layout(ind, fmt),
                                 k, **kw)
    np.testing.assert_array_equal(from_layout(gx, fmt), ref.max_unpool_backward(gy, ind))
    np.testing.assert_array_equal(ind, ind_keep)


def test_max_unpool_defaults_duplicates_1d_out(rng):
    x = rng.standard_normal((1, 2, 3, 3))
    ind = np.zeros((1, 2, 3, 3), np.int64)  # every value to position 0: the last one wins
    ind[0, 1] = np.arange(9).reshape(3, 3) * 2
    y = F.max_unpool2d(x, ind, 2)  # default size (3 - 1) * 2 + 2 = 6
    assert y.shape == (1, 2, 6, 6)
    assert y[0, 0, 0, 0] == x[0, 0, 2, 2] and np.count_nonzero(y[0, 0]) == 1
    np.testing.assert_array_equal(y[0, 1].reshape(-1)[::2][:9], x[0, 1].reshape(-1))
    gx = F.max_unpool2d_backward(np.arange(72.0).reshape(1, 2, 6, 6), x, ind, 2)
    np.testing.assert_array_equal(gx[0, 0], np.zeros((3, 3)))  # every duplicate gathers
    full = F.max_unpool2d(x, ind, 2, output_size=(1, 2, 7, 7))
    assert full.shape == (1, 2, 7, 7)
    x1 = rng.standard_normal((2, 5))  # unbatched 1-D, (C, L)
    i1 = np.array([[0, 3, 4, 7, 9]] * 2, np.int64)
    y1 = F.max_unpool1d(x1, i1, 2)
    assert y1.shape == (2, 10)
    np.testing.assert_array_equal(y1[:, [0, 3, 4, 7, 9]], x1)
    out = np.empty((2, 10))
    assert F.max_unpool1d(x1, i1, 2, out=out) is out
    np.testing.assert_array_equal(out, y1)
    np.testing.assert_array_equal(F.max_unpool1d_backward(y1 * 2, x1, i1, 2), 2 * x1)
    nlc = F.max_unpool1d(x1.T[None].copy(), i1.T[None].copy(), 2, data_format="NLC")
    np.testing.assert_array_equal(nlc[0].T, y1)


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_one_pixel_planes(rng, fmt):
    # An NCHW map of 1 x 1 planes has unit channel stride, like NHWC.
    x = rng.standard_normal((2, 5, 1, 1))
    np.testing.assert_array_equal(
        from_layout(F.adaptive_max_pool2d(as_layout(x, fmt), 3, data_format=fmt), fmt),
        np.broadcast_to(x, (2, 5, 3, 3)))
    gx = F.adaptive_avg_pool2d_backward(as_layout(np.ones((2, 5, 3, 3)), fmt), as_layout(x, fmt),
                                        3, data_format=fmt)
    np.testing.assert_allclose(from_layout(gx, fmt), np.full((2, 5, 1, 1), 9.0))
    ind = np.full((2, 5, 1, 1), 3, np.int64)
    y = from_layout(F.max_unpool2d(as_layout(x, fmt), as_layout(ind, fmt), 2, data_format=fmt),
                    fmt)
    np.testing.assert_array_equal(y, ref.max_unpool(x, ind, 2, 2))
    g = rng.standard_normal((2, 5, 2, 2))
    np.testing.assert_array_equal(
        from_layout(F.max_unpool2d_backward(as_layout(g, fmt), as_layout(x, fmt),
                                            as_layout(ind, fmt), 2, data_format=fmt), fmt),
        ref.max_unpool_backward(g, ind))


# ----------------------------------------------------------------------------- gradients

def test_gradients_by_finite_differences(rng):
    x = distinct(rng, (1, 2, 6, 5))
    boxes = np.array([[0, 0, 0, 4, 5], [0, 1, 2, 3, 3]], np.float64)
    calls = {
        "adaptive_avg": (lambda a: F.adaptive_avg_pool2d(a, (4, 3)),
                         lambda g, a: F.adaptive_avg_pool2d_backward(g, a, (4, 3))),
        "adaptive_max": (lambda a: F.adaptive_max_pool2d(a, (4, 3)),
                         lambda g, a: F.adaptive_max_pool2d_backward(g, a, None, (4, 3))),
        "global_avg": (F.global_avg_pool2d, F.global_avg_pool2d_backward),
        "global_max": (F.global_max_pool2d, F.global_max_pool2d_backward),
        "spp_max": (lambda a: F.spatial_pyramid_pool2d(a, (1, 2, 3)),
                    lambda g, a: F.spatial_pyramid_pool2d_backward(g, a, (1, 2, 3))),
        "spp_avg": (lambda a: F.spatial_pyramid_pool2d(a, (1, 2), "avg"),
                    lambda g, a: F.spatial_pyramid_pool2d_backward(g, a, (1, 2), "avg")),
        "roi": (lambda a: F.roi_pool(a, boxes, 2),
                lambda g, a: F.roi_pool_backward(g, a, boxes, 2)),
    }
    for name, (fwd, bwd) in calls.items():
        gy = rng.standard_normal(fwd(x).shape)
        num = central_difference(lambda a, f=fwd, g=gy: float(np.sum(f(a) * g)), x, eps=1e-6)
        np.testing.assert_allclose(bwd(gy, x), num, atol=1e-7, err_msg=name)
    pooled, ind = ref.max_pool(x, (2, 2), (2, 2), (0, 0))
    gy = rng.standard_normal((1, 2, 6, 5))
    num = central_difference(
        lambda a: float(np.sum(F.max_unpool2d(a, ind, 2, output_size=(6, 5)) * gy)), pooled)
    np.testing.assert_allclose(F.max_unpool2d_backward(gy, pooled, ind, 2, output_size=(6, 5)),
                               num, atol=1e-7)


# ----------------------------------------------------------------------------- randomized

@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 2), c=st.integers(1, 5), h=st.integers(1, 9), w=st.integers(1, 9),
       oh=st.integers(1, 10), ow=st.integers(1, 10), mode=st.sampled_from(["avg", "max"]),
       fmt=st.sampled_from(["NCHW", "NHWC"]), seed=st.integers(0, 2**31))
def test_adaptive_randomized(n, c, h, w, oh, ow, mode, fmt, seed):
    rng = np.random.default_rng(seed)
    x = distinct(rng, (n, c, h, w))
    fwd = F.adaptive_avg_pool2d if mode == "avg" else F.adaptive_max_pool2d
    want = ref.adaptive_pool(x, oh, ow, mode)[0]
    np.testing.assert_allclose(from_layout(fwd(as_layout(x, fmt), (oh, ow), data_format=fmt), fmt),
                               want, rtol=1e-12, atol=1e-15)
    gy = rng.standard_normal(want.shape)
    gx = (F.adaptive_avg_pool2d_backward(as_layout(gy, fmt), as_layout(x, fmt), (oh, ow),
                                         data_format=fmt) if mode == "avg" else
          F.adaptive_max_pool2d_backward(as_layout(gy, fmt), as_layout(x, fmt), None, (oh, ow),
                                         data_format=fmt))
    np.testing.assert_allclose(from_layout(gx, fmt), ref.adaptive_pool_backward(gy, x, mode),
                               rtol=1e-12, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), ph=st.integers(1, 5), pw=st.integers(1, 5),
       k=st.integers(0, 5), scale=st.sampled_from([1.0, 0.5, 0.25, 0.125]),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**31))
def test_roi_randomized(h, w, ph, pw, k, scale, dtype, seed):
    rng = np.random.default_rng(seed)
    x = distinct(rng, (2, 3, h, w), dtype)
    boxes = make_boxes(rng, 2, h, w, k, scale, dtype)
    np.testing.assert_array_equal(F.roi_pool(x, boxes, (ph, pw), scale),
                                  ref.roi_pool(x, boxes, ph, pw, scale))
    gy = rng.standard_normal((k, 3, ph, pw)).astype(dtype)
    np.testing.assert_allclose(F.roi_pool_backward(gy, x, boxes, (ph, pw), scale),
                               ref.roi_pool_backward(gy, x, boxes, scale), **tol(dtype))


# ----------------------------------------------------------------------------- PyTorch parity

@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_parity(torch, rng, dtype):
    tf = torch.nn.functional
    x = rng.standard_normal((2, 5, 11, 9)).astype(dtype)
    tx = torch.from_numpy(x).requires_grad_(True)
    for size in [(3, 4), 5, (None, 2), (13, 1)]:
        ty = tf.adaptive_avg_pool2d(tx, size)
        gy = rng.standard_normal(ty.shape).astype(dtype)
        (tg,) = torch.autograd.grad(ty, tx, torch.from_numpy(gy))
        np.testing.assert_allclose(F.adaptive_avg_pool2d(x, size), ty.detach().numpy(),
                                   **tol(dtype))
        np.testing.assert_allclose(F.adaptive_avg_pool2d_backward(gy, x, size), tg.numpy(),
                                   **tol(dtype))
        ty, ti = tf.adaptive_max_pool2d(tx, size, return_indices=True)
        (tg,) = torch.autograd.grad(ty, tx, torch.from_numpy(gy))
        y, ind = F.adaptive_max_pool2d(x, size, True)
        np.testing.assert_array_equal(y, ty.detach().numpy())
        np.testing.assert_array_equal(ind, ti.numpy())
        np.testing.assert_allclose(F.adaptive_max_pool2d_backward(gy, x, ind, size), tg.numpy(),
                                   **tol(dtype))
    x1 = x[:, :, 0]
    np.testing.assert_allclose(F.adaptive_avg_pool1d(x1, 4),
                               tf.adaptive_avg_pool1d(torch.from_numpy(x1), 4).numpy(), **tol(dtype))
    y1, i1 = F.adaptive_max_pool1d(x1, 4, True)
    ty1, ti1 = tf.adaptive_max_pool1d(torch.from_numpy(x1), 4, return_indices=True)
    np.testing.assert_array_equal(y1, ty1.numpy())
    np.testing.assert_array_equal(i1, ti1.numpy())
    np.testing.assert_allclose(F.global_avg_pool2d(x, True),
                               tf.adaptive_avg_pool2d(torch.from_numpy(x), 1).numpy(), **tol(dtype))
    tp, tind = tf.max_pool2d(torch.from_numpy(x), 3, 2, 1, return_indices=True)
    # torch flags CPU max_unpool2d non-deterministic (duplicate indices); its CPU
    # loop is serial within a plane, so the last duplicate wins, as in convcore.
    torch.use_deterministic_algorithms(False)
    try:
        _unpool_parity(torch, rng, dtype, tp, tind)
    finally:
        torch.use_deterministic_algorithms(True)


def _unpool_parity(torch, rng, dtype, tp, tind):
    tf = torch.nn.functional
    for osize in (None, (11, 9), (2, 5, 11, 9)):
        want = tf.max_unpool2d(tp, tind, 3, 2, 1, output_size=osize)
        np.testing.assert_array_equal(F.max_unpool2d(tp.numpy(), tind.numpy(), 3, 2, 1, osize),
                                      want.numpy())
    tp.requires_grad_(True)
    want = tf.max_unpool2d(tp, tind, 3, 2, 1, output_size=(11, 9))
    g = rng.standard_normal(want.shape).astype(dtype)
    (tg,) = torch.autograd.grad(want, tp, torch.from_numpy(g))
    np.testing.assert_array_equal(
        F.max_unpool2d_backward(g, tp.detach().numpy(), tind.numpy(), 3, 2, 1, (11, 9)), tg.numpy())


# ----------------------------------------------------------------------------- bad inputs

def raises(exc, fragment, fn, *args, **kwargs):
    with pytest.raises(exc) as e:
        fn(*args, **kwargs)
    assert fragment in str(e.value), str(e.value)


def test_bad_inputs(rng):
    x = rng.standard_normal((2, 3, 6, 6))
    raises(ValueError, "output_size (height) must be positive, got 0", F.adaptive_avg_pool2d, x, 0)
    raises(ValueError, "output_size (width) must be positive, got -2", F.adaptive_max_pool2d, x,
           (2, -2))
    raises(TypeError, "output_size must be an int or a sequence of 2", F.adaptive_avg_pool2d, x,
           (1, 2, 3))
    raises(ValueError, "expected input to be 3-D (unbatched) or 4-D (batched)", F.adaptive_avg_pool2d, x[0, 0], 2)
    raises(ValueError, "data_format must be 'NCHW' or 'NHWC', got 'CHWN'", F.adaptive_avg_pool2d,
           x, 2, data_format="CHWN")
    raises(TypeError, "input has dtype int32", F.adaptive_avg_pool2d, x.astype(np.int32), 2)
    raises(ValueError, "non-zero channels and spatial sizes", F.adaptive_avg_pool2d,
           np.zeros((1, 3, 0, 4)), 2)
    raises(TypeError, "grad_output has dtype float32 but input has float64",
           F.adaptive_avg_pool2d_backward, np.zeros((2, 3, 2, 2), np.float32), x, 2)
    raises(ValueError, "grad_output has shape (2, 3, 3, 3), expected (2, 3, 2, 2)",
           F.adaptive_avg_pool2d_backward, np.zeros((2, 3, 3, 3)), x, 2)
    raises(TypeError, "indices has dtype int32; expected int64", F.adaptive_max_pool2d_backward,
           np.zeros((2, 3, 2, 2)), x, np.zeros((2, 3, 2, 2), np.int32), 2)
    raises(ValueError, "indices has shape (2, 3, 1, 2), expected (2, 3, 2, 2)",
           F.adaptive_max_pool2d_backward, np.zeros((2, 3, 2, 2)), x,
           np.zeros((2, 3, 1, 2), np.int64), 2)
    raises(ValueError, "indices value 36 is out of range for a plane of 6 x 6",
           F.adaptive_max_pool2d_backward, np.zeros((2, 3, 2, 2)), x,
           np.full((2, 3, 2, 2), 36, np.int64), 2)
    raises(ValueError, "out has shape (2, 3, 2, 2), expected (2, 3, 3, 3)", F.adaptive_avg_pool2d,
           x, 3, out=np.zeros((2, 3, 2, 2)))
    raises(TypeError, "out (output) has dtype float32, expected float64", F.adaptive_avg_pool2d,
           x, 3, out=np.zeros((2, 3, 3, 3), np.float32))
    raises(ValueError, "grad_output has shape (2, 4), expected (2, 3)",
           F.global_avg_pool2d_backward, np.zeros((2, 4)), x)
    # spatial pyramid
    raises(ValueError, "levels must not be empty", F.spatial_pyramid_pool2d, x, ())
    raises(ValueError, "levels must be positive (and at most 2^20), got 0",
           F.spatial_pyramid_pool2d, x, (1, 0))
    raises(TypeError, "levels must be a sequence of ints", F.spatial_pyramid_pool2d, x, 2)
    raises(ValueError, "mode must be 'max' or 'avg', got 'sum'", F.spatial_pyramid_pool2d, x,
           (1,), "sum")
    raises(ValueError, "grad_output has shape (2, 10), expected (2, 15)",
           F.spatial_pyramid_pool2d_backward, np.zeros((2, 10)), x, (1, 2))
    raises(ValueError, "indices exist only for mode 'max'", F.spatial_pyramid_pool2d, x, (1,),
           "avg", return_indices=True)
    raises(ValueError, "indices has shape (2, 4), expected (2, 3)",
           F.spatial_pyramid_pool2d_backward, np.zeros((2, 3)), x, (1,),
           indices=np.zeros((2, 4), np.int64))
    raises(ValueError, "indices value -1 is out of range for a plane of 6 x 6",
           F.spatial_pyramid_pool2d_backward, np.zeros((2, 3)), x, (1,),
           indices=np.full((2, 3), -1, np.int64))
    # ROI
    boxes = np.array([[0, 0, 0, 3, 3]], np.float64)
    raises(ValueError, "boxes must have shape (K, 5)", F.roi_pool, x, boxes[:, :4], 2)
    raises(TypeError, "boxes has dtype float32 but input has float64", F.roi_pool, x,
           boxes.astype(np.float32), 2)
    raises(ValueError, "boxes[0, 0] (batch index) must be an integer in [0, 2), got 2", F.roi_pool,
           x, np.array([[2, 0, 0, 3, 3]], np.float64), 2)
    raises(ValueError, "boxes[0, 0] (batch index) must be an integer in [0, 2), got 0.5",
           F.roi_pool, x, np.array([[0.5, 0, 0, 3, 3]], np.float64), 2)
    raises(ValueError, "boxes[0, 3] must be finite, got inf", F.roi_pool, x,
           np.array([[0, 0, 0, np.inf, 3]], np.float64), 2)
    raises(ValueError, "output_size (width) must be positive, got 0", F.roi_pool, x, boxes, (2, 0))
    raises(ValueError, "spatial_scale must be positive and finite, got -1", F.roi_pool, x, boxes,
           2, -1.0)
    raises(ValueError, "spatial_scale must be positive and finite, got nan", F.roi_pool, x, boxes,
           2, float("nan"))
    raises(ValueError, "expected input to be 4-D", F.roi_pool, x[0], boxes, 2)
    raises(ValueError, "grad_output has shape (1, 3, 3, 3), expected (1, 3, 2, 2)",
           F.roi_pool_backward, np.zeros((1, 3, 3, 3)), x, boxes, 2)
    # unpooling
    p, ind = ref.max_pool(x, (2, 2), (2, 2), (0, 0))
    raises(ValueError, "indices value 36 is out of range for a plane of 6 x 6", F.max_unpool2d, p,
           np.where(ind == ind.max(), 36, ind), 2)
    raises(ValueError, "indices value -1 is out of range", F.max_unpool2d, p,
           np.where(ind == ind.max(), -1, ind), 2)
    raises(ValueError, "indices value 40 is out of range", F.max_unpool2d_backward,
           np.zeros((2, 3, 6, 6)), p, np.full(p.shape, 40, np.int64), 2)
    raises(TypeError, "indices has dtype float64; expected int64", F.max_unpool2d, p,
           ind.astype(np.float64), 2)
    raises(ValueError, "indices has shape (2, 3, 3, 2), expected input's (2, 3, 3, 3)",
           F.max_unpool2d, p, ind[..., :2], 2)
    raises(ValueError, "output_size height 9 is not valid for this input; it must lie strictly "
           "between 4 and 8", F.max_unpool2d, p, ind, 2, output_size=(9, 6))
    raises(ValueError, "kernel_size must be positive, got 0", F.max_unpool2d, p, ind, 0)
    raises(ValueError, "stride must be positive, got -1", F.max_unpool2d, p, ind, 2, -1)
    raises(ValueError, "padding must be non-negative, got -1", F.max_unpool2d, p, ind, 2, 2, -1)
    raises(ValueError, "output_size must be a sequence of 2 ints", F.max_unpool2d, p, ind, 2,
           output_size=(6,))
    raises(ValueError, "grad_output has shape (2, 3, 5, 6), expected (2, 3, 6, 6)",
           F.max_unpool2d_backward, np.zeros((2, 3, 5, 6)), p, ind, 2)


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_max_pool2d_indices_drive_max_unpool2d(rng, fmt):
    """DeconvNet switches: convcore's own max_pool2d indices put each maximum
    back where it came from, and unpooling's backward routes exactly like the
    pool's backward."""
    x = rng.standard_normal((2, 3, 8, 10)).astype(np.float32)
    xa = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if fmt == "NHWC" else x
    y, idx = F.max_pool2d(xa, 2, return_indices=True, data_format=fmt)
    up = F.max_unpool2d(y, idx, 2, data_format=fmt)
    assert up.shape == xa.shape
    kept = up != 0
    np.testing.assert_array_equal(up[kept], xa[kept])
    assert kept.sum() == y.size
    g = rng.standard_normal(up.shape).astype(np.float32)
    gx = F.max_pool2d_backward(F.max_unpool2d_backward(g, y, idx, 2, data_format=fmt), xa, idx, 2,
                               data_format=fmt)
    np.testing.assert_array_equal(gx, np.where(kept, g, 0))
