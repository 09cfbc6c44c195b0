"""Max / average / Lp pooling, 1-D and 2-D, forward and backward: every option
against the float64 loop references of ref_pool.py (both dtypes, both layouts,
every ISA), finite-difference gradients, PyTorch parity (ties, NaN, ceil_mode
edges), hypothesis-random configurations and the bad-input catalogue."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convcore.functional as F
from ref_pool import (
    avg_pool2d_backward_ref,
    avg_pool2d_ref,
    distinct,
    lp_pool2d_backward_ref,
    lp_pool2d_ref,
    max_pool2d_backward_ref,
    max_pool2d_ref,
    out_size,
    to_nchw,
    to_nhwc,
)
from reference import central_difference

TOL = {np.float32: {"rtol": 2e-6, "atol": 2e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}

# (kernel, stride, padding, dilation, ceil_mode): common, strided, padded,
# dilated, anisotropic, ceil windows cut by the edge, stride > kernel.
MAX_CONFIGS = [
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
LP_CONFIGS = [  # (p, kernel, stride, ceil_mode)
    (2.0, 2, 2, False),
    (2.0, 3, 2, True),
    (1.0, (2, 3), (2, 1), True),
    (3.0, 3, 1, False),
    (1.5, 2, 3, True),
]


def run_layout(fn, x, layout, *args, **kw):
    """fn on x (NCHW) in the given layout; results back in NCHW."""
    if layout == "NCHW":
        return fn(x, *args, **kw)
    res = fn(to_nhwc(x), *args, data_format="NHWC", **kw)
    if isinstance(res, tuple):
        return tuple(to_nchw(r) for r in res)
    return to_nchw(res)


@pytest.mark.parametrize("cfg", MAX_CONFIGS)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d_matches_reference(isa, rng, cfg, layout, dtype):
    k, s, p, d, c = cfg
    x = rng.standard_normal((2, 19, 9, 11)).astype(dtype)
    x_before = x.copy()
    y, idx = run_layout(F.max_pool2d, x, layout, k, s, p, d, c, True)
    ry, ridx = max_pool2d_ref(x, k, s, p, d, c)
    np.testing.assert_array_equal(y, ry.astype(dtype))
    np.testing.assert_array_equal(idx, ridx)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(run_layout(F.max_pool2d, x, layout, k, s, p, d, c), y)
    gy = rng.standard_normal(y.shape).astype(dtype)
    ref = max_pool2d_backward_ref(gy, ridx, x.shape)
    # with the forward's indices in the layout of the call, and recomputed
    if layout == "NCHW":
        gx = F.max_pool2d_backward(gy, x, idx, k, s, p, d, c)
    else:
        gx = to_nchw(F.max_pool2d_backward(to_nhwc(gy), to_nhwc(x), to_nhwc(idx), k, s, p, d, c,
                                           data_format="NHWC"))
    np.testing.assert_allclose(gx, ref, **TOL[dtype])
    gx2 = run_layout(lambda xx, *a, **kw: F.max_pool2d_backward(
        gy if layout == "NCHW" else to_nhwc(gy), xx, None, *a, **kw), x, layout, k, s, p, d, c)
    np.testing.assert_array_equal(gx2, gx)
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("cfg", AVG_CONFIGS)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avg_pool2d_matches_reference(isa, rng, cfg, layout, dtype):
    k, s, p, c, cip, div = cfg
    x = rng.standard_normal((2, 19, 10, 9)).astype(dtype)
    y = run_layout(F.avg_pool2d, x, layout, k, s, p, c, cip, div)
    np.testing.assert_allclose(y, avg_pool2d_ref(x, k, s, p, c, cip, div), **TOL[dtype])
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = run_layout(lambda xx, *a, **kw: F.avg_pool2d_backward(
        gy if "data_format" not in kw else to_nhwc(gy), xx, *a, **kw), x, layout, k, s, p, c, cip, div)
    np.testing.assert_allclose(gx, avg_pool2d_backward_ref(gy, x.shape, k, s, p, c, cip, div),
                               **TOL[dtype])


@pytest.mark.parametrize("cfg", LP_CONFIGS)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lp_pool2d_matches_reference(isa, rng, cfg, layout, dtype):
    p, k, s, c = cfg
    x = rng.standard_normal((2, 18, 9, 10)).astype(dtype)
    if p != int(p):
        x = np.abs(x)
    y = run_layout(F.lp_pool2d, x, layout, p, k, s, c)
    tol = {"rtol": 2e-5, "atol": 2e-5} if dtype == np.float32 else TOL[dtype]
    np.testing.assert_allclose(y, lp_pool2d_ref(x, p, k, s, c), equal_nan=True, **tol)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = run_layout(lambda xx, *a, **kw: F.lp_pool2d_backward(
        gy if "data_format" not in kw else to_nhwc(gy), xx, *a, **kw), x, layout, p, k, s, c)
    np.testing.assert_allclose(gx, lp_pool2d_backward_ref(gy, x, p, k, s, c), equal_nan=True,
                               rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-4 if dtype == np.float32 else 1e-10)


@pytest.mark.parametrize("layout", ["NCL", "NLC"])
def test_1d_pools_match_2d_reference(rng, layout):
    x = rng.standard_normal((3, 5, 17))
    xin = x if layout == "NCL" else np.ascontiguousarray(x.transpose(0, 2, 1))

    def back(a):
        return a if layout == "NCL" else a.transpose(0, 2, 1)

    x4 = x[:, :, None, :]
    y, idx = F.max_pool1d(xin, 3, 2, 1, 2, True, True, data_format=layout)
    ry, ridx = max_pool2d_ref(x4, (1, 3), (1, 2), (0, 1), (1, 2), True)
    np.testing.assert_array_equal(back(y), ry[:, :, 0])
    np.testing.assert_array_equal(back(idx), ridx[:, :, 0])
    gy = rng.standard_normal(y.shape)
    gx = F.max_pool1d_backward(gy, xin, idx, 3, 2, 1, 2, True, data_format=layout)
    np.testing.assert_allclose(back(gx), max_pool2d_backward_ref(back(gy)[:, :, None], ridx, x4.shape)[:, :, 0])

    y = F.avg_pool1d(xin, 4, 3, 2, True, False, data_format=layout)
    np.testing.assert_allclose(back(y), avg_pool2d_ref(x4, (1, 4), (1, 3), (0, 2), True, False)[:, :, 0])
    gy = rng.standard_normal(y.shape)
    gx = F.avg_pool1d_backward(gy, xin, 4, 3, 2, True, False, data_format=layout)
    np.testing.assert_allclose(
        back(gx), avg_pool2d_backward_ref(back(gy)[:, :, None], x4.shape, (1, 4), (1, 3), (0, 2), True, False)[:, :, 0])

    y = F.lp_pool1d(xin, 2, 3, 2, True, data_format=layout)
    np.testing.assert_allclose(back(y), lp_pool2d_ref(x4, 2, (1, 3), (1, 2), True)[:, :, 0])
    gy = rng.standard_normal(y.shape)
    gx = F.lp_pool1d_backward(gy, xin, 2, 3, 2, True, data_format=layout)
    np.testing.assert_allclose(
        back(gx), lp_pool2d_backward_ref(back(gy)[:, :, None], x4, 2, (1, 3), (1, 2), True)[:, :, 0])


# ---------------------------------------------------------------- gradients by finite differences


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_gradients_by_central_differences(rng, layout):
    x = distinct(rng, (1, 2, 6, 7))
    x += 1 - x.min()  # positive: odd-p Lp sums stay real
    xl = x if layout == "NCHW" else to_nhwc(x)
    kw = {"data_format": layout}
    cases = [
        (lambda a: F.max_pool2d(a, 3, 2, 1, 1, True, **kw),
         lambda g: F.max_pool2d_backward(g, xl, None, 3, 2, 1, 1, True, **kw)),
        (lambda a: F.max_pool2d(a, 2, 1, 1, 2, False, **kw),
         lambda g: F.max_pool2d_backward(g, xl, None, 2, 1, 1, 2, False, **kw)),
        (lambda a: F.avg_pool2d(a, 3, 2, 1, True, False, **kw),
         lambda g: F.avg_pool2d_backward(g, xl, 3, 2, 1, True, False, **kw)),
        (lambda a: F.avg_pool2d(a, 2, 1, 1, False, True, 3, **kw),
         lambda g: F.avg_pool2d_backward(g, xl, 2, 1, 1, False, True, 3, **kw)),
        (lambda a: F.lp_pool2d(a, 2, 3, 2, True, **kw),
         lambda g: F.lp_pool2d_backward(g, xl, 2, 3, 2, True, **kw)),
        (lambda a: F.lp_pool2d(a, 3, 2, 1, False, **kw),
         lambda g: F.lp_pool2d_backward(g, xl, 3, 2, 1, False, **kw)),
    ]
    for fwd, bwd in cases:
        gy = rng.standard_normal(fwd(xl).shape)
        num = central_difference(lambda a, f=fwd, g=gy: float(np.sum(f(a) * g)), xl, eps=1e-6)
        np.testing.assert_allclose(bwd(gy), num, rtol=1e-6, atol=1e-6)


def test_lp_gradient_is_zero_where_window_sum_is_zero(rng):
    x = rng.standard_normal((1, 2, 4, 4))
    x[:, :, :2, :2] = 0
    gy = np.ones((1, 2, 2, 2))
    gx = F.lp_pool2d_backward(gy, x, 2, 2)
    assert np.all(np.isfinite(gx))
    np.testing.assert_array_equal(gx[:, :, :2, :2], 0)
    np.testing.assert_allclose(gx, lp_pool2d_backward_ref(gy, x, 2, 2))


# ---------------------------------------------------------------- conveniences


def test_unbatched_out_and_empty_batch(rng):
    x = rng.standard_normal((3, 8, 8)).astype(np.float32)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    ry, ridx = max_pool2d_ref(x[None], 2)
    np.testing.assert_array_equal(y, ry[0])
    np.testing.assert_array_equal(idx, ridx[0])
    out = np.full((3, 4, 4), 7, np.float32)
    assert F.avg_pool2d(x, 2, out=out) is out
    np.testing.assert_allclose(out, avg_pool2d_ref(x[None], 2)[0], rtol=1e-6)
    gout = np.full_like(x, 7)
    assert F.avg_pool2d_backward(np.ones((3, 4, 4), np.float32), x, 2, out=gout) is gout
    np.testing.assert_allclose(gout, 0.25)
    out1 = np.empty((3, 4), np.float64)
    assert F.lp_pool1d(x[:, 0].astype(np.float64), 2, 2, out=out1) is out1
    e = np.zeros((0, 3, 8, 8), np.float32)
    assert F.max_pool2d(e, 2).shape == (0, 3, 4, 4)
    assert F.max_pool2d_backward(np.zeros((0, 3, 4, 4), np.float32), e, None, 2).shape == e.shape
    assert F.lp_pool2d(np.zeros((0, 8, 8, 3)), 2, 2, data_format="NHWC").shape == (0, 4, 4, 3)


def test_non_contiguous_input(rng):
    base = rng.standard_normal((2, 9, 9, 4))
    x = base.transpose(0, 3, 1, 2)  # NCHW view of an NHWC array
    np.testing.assert_allclose(F.avg_pool2d(x, 3, 2, 1), avg_pool2d_ref(x, 3, 2, 1))


def test_max_pool_ties_take_first_index_and_nan_propagates():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = 5  # tie inside window (0, 0)
    x[0, 0, 2:, 2:] = np.nan           # NaNs: the last one in scan order wins
    x[0, 0, 3, 1] = np.inf
    for layout in ("NCHW", "NHWC"):
        y, idx = run_layout(F.max_pool2d, x, layout, 2, 2, 0, 1, False, True)
        assert y[0, 0, 0, 0] == 5 and idx[0, 0, 0, 0] == 1
        assert np.isnan(y[0, 0, 1, 1]) and idx[0, 0, 1, 1] == 15
        assert y[0, 0, 1, 0] == np.inf and idx[0, 0, 1, 0] == 13
        assert y[0, 0, 0, 1] == 0 and idx[0, 0, 0, 1] == 2
    lowest = np.finfo(np.float32).min
    x = np.full((1, 1, 3, 3), lowest, np.float32)  # equal to the kernels' padding value
    _, idx = F.max_pool2d(x, 3, 1, 1, return_indices=True)
    _, ridx = max_pool2d_ref(x, 3, 1, 1)
    np.testing.assert_array_equal(idx, ridx)


def test_offsets_too_large_for_float32_take_the_exact_path():
    # Tap offsets up to 2^24 + 1, which a float32 cannot hold: the scalar path runs.
    d = 2**24 + 1
    x = np.zeros((1, 1, d + 2), np.float32)
    x[0, 0, d], x[0, 0, 1] = 3, 5
    y, idx = F.max_pool1d(x, 2, 1, 0, d, return_indices=True)
    np.testing.assert_array_equal(y[0, 0], [3, 5])
    np.testing.assert_array_equal(idx[0, 0], [d, 1])
    y, idx = F.max_pool1d(x.reshape(1, -1, 1), 2, 1, 0, d, return_indices=True, data_format="NLC")
    np.testing.assert_array_equal(idx[0, :, 0], [d, 1])


def test_bad_index_raises_without_writing(rng):
    x = rng.standard_normal((1, 2, 4, 4))
    _, idx = F.max_pool2d(x, 2, return_indices=True)
    for bad in (16, -1):
        idx2 = idx.copy()
        idx2[0, 1, 1, 1] = bad
        with pytest.raises(ValueError, match=f"indices holds {bad}, outside the input plane"):
            F.max_pool2d_backward(np.ones((1, 2, 2, 2)), x, idx2, 2)
        with pytest.raises(ValueError, match=f"indices holds {bad}"):
            F.max_pool2d_backward(np.ones((1, 2, 2, 2)), to_nhwc(x), to_nhwc(idx2), 2,
                                  data_format="NHWC")


# ---------------------------------------------------------------- PyTorch parity


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_torch_parity(torch, rng, layout):
    tf = torch.nn.functional
    x = rng.integers(-3, 4, size=(2, 5, 13, 12)).astype(np.float32)  # many ties
    x[0, 1, 3, 4] = np.nan
    xl = x if layout == "NCHW" else to_nhwc(x)
    back = (lambda a: a) if layout == "NCHW" else to_nchw
    fwd_kw = {"data_format": layout}
    t = torch.from_numpy(x).requires_grad_()
    # torch's indices path bounds padding by half the undilated kernel (convcore: dilated)
    for k, s, p, d, c in [m for m in MAX_CONFIGS if np.all(np.asarray(m[2]) <= np.asarray(m[0]) // 2)]:
        ty, ti = tf.max_pool2d(t, k, s, p, d, c, True)
        y, idx = F.max_pool2d(xl, k, s, p, d, c, True, **fwd_kw)
        np.testing.assert_array_equal(back(y), ty.detach().numpy())
        np.testing.assert_array_equal(back(idx), ti.numpy())
        gy = rng.standard_normal(ty.shape).astype(np.float32)
        (tg,) = torch.autograd.grad(ty, t, torch.from_numpy(gy))
        gyl = gy if layout == "NCHW" else to_nhwc(gy)
        np.testing.assert_allclose(back(F.max_pool2d_backward(gyl, xl, idx, k, s, p, d, c, **fwd_kw)),
                                   tg.numpy(), rtol=1e-6, atol=1e-6)
    x = rng.standard_normal((2, 5, 13, 12)).astype(np.float32)
    xl = x if layout == "NCHW" else to_nhwc(x)
    t = torch.from_numpy(x).requires_grad_()
    for k, s, p, c, cip, div in AVG_CONFIGS:
        ty = tf.avg_pool2d(t, k, s, p, c, cip, div)
        np.testing.assert_allclose(back(F.avg_pool2d(xl, k, s, p, c, cip, div, **fwd_kw)),
                                   ty.detach().numpy(), rtol=1e-6, atol=1e-6)
        gy = rng.standard_normal(ty.shape).astype(np.float32)
        (tg,) = torch.autograd.grad(ty, t, torch.from_numpy(gy))
        gyl = gy if layout == "NCHW" else to_nhwc(gy)
        np.testing.assert_allclose(back(F.avg_pool2d_backward(gyl, xl, k, s, p, c, cip, div, **fwd_kw)),
                                   tg.numpy(), rtol=1e-5, atol=1e-6)
    for p, k, s, c in LP_CONFIGS:
        xx = np.abs(x) if p != int(p) else x
        xx[0, 0, :3, :3] = 0  # a zero window sum: gradient 0, not NaN
        xxl = xx if layout == "NCHW" else to_nhwc(xx)
        t = torch.from_numpy(xx.copy()).requires_grad_()
        ty = tf.lp_pool2d(t, p, k, s, c)
        np.testing.assert_allclose(back(F.lp_pool2d(xxl, p, k, s, c, **fwd_kw)), ty.detach().numpy(),
                                   rtol=1e-5, atol=1e-6, equal_nan=True)
        gy = rng.standard_normal(ty.shape).astype(np.float32)
        (tg,) = torch.autograd.grad(ty, t, torch.from_numpy(gy))
        gyl = gy if layout == "NCHW" else to_nhwc(gy)
        got = back(F.lp_pool2d_backward(gyl, xxl, p, k, s, c, **fwd_kw))
        finite = np.isfinite(tg.numpy())  # torch gives NaN at zero-sum windows; convcore 0
        np.testing.assert_allclose(got[finite], tg.numpy()[finite], rtol=1e-4, atol=1e-5)
        assert np.all(np.isfinite(got[~finite]) | np.isnan(ty.detach().numpy()).any())


def test_torch_parity_1d(torch, rng):
    tf = torch.nn.functional
    x = rng.standard_normal((2, 3, 20)).astype(np.float32)
    t = torch.from_numpy(x)
    ty, ti = tf.max_pool1d(t, 3, 2, 1, 2, True, True)
    y, idx = F.max_pool1d(x, 3, 2, 1, 2, True, True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(idx, ti.numpy())
    np.testing.assert_allclose(F.avg_pool1d(x, 3, 2, 1, True, False),
                               tf.avg_pool1d(t, 3, 2, 1, True, False).numpy(), rtol=1e-6)
    np.testing.assert_allclose(F.lp_pool1d(x, 2, 3, 2, True), tf.lp_pool1d(t, 2, 3, 2, True).numpy(),
                               rtol=1e-5)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 9), w=st.integers(1, 9), k=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)), d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pad=st.tuples(st.integers(0, 2), st.integers(0, 2)), ceil=st.booleans(), nhwc=st.booleans(),
    cip=st.booleans(), seed=st.integers(0, 2**31),
)
def test_random_configurations(h, w, k, s, d, pad, ceil, nhwc, cip, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, h, w))
    layout = "NHWC" if nhwc else "NCHW"
    ek = [d[i] * (k[i] - 1) + 1 for i in range(2)]
    p_max = tuple(min(pad[i], ek[i] // 2) for i in range(2))
    ok = all(out_size((h, w)[i], k[i], s[i], p_max[i], d[i], ceil) >= 1 for i in range(2))
    if ok:
        y, idx = run_layout(F.max_pool2d, x, layout, k, s, p_max, d, ceil, True)
        ry, ridx = max_pool2d_ref(x, k, s, p_max, d, ceil)
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(idx, ridx)
        if np.all(ridx < h * w):  # else an empty dilated window: PyTorch's index lies outside
            gy = rng.standard_normal(y.shape)
            gx = run_layout(lambda a, *r, **kw: F.max_pool2d_backward(
                gy if not nhwc else to_nhwc(gy), a, None, *r, **kw), x, layout, k, s, p_max, d, ceil)
            np.testing.assert_allclose(gx, max_pool2d_backward_ref(gy, ridx, x.shape), rtol=1e-12)
    else:
        with pytest.raises(ValueError, match="too small"):
            F.max_pool2d(x, k, s, p_max, d, ceil)
    p_avg = tuple(min(pad[i], k[i] // 2) for i in range(2))
    if all(out_size((h, w)[i], k[i], s[i], p_avg[i], 1, ceil) >= 1 for i in range(2)):
        y = run_layout(F.avg_pool2d, x, layout, k, s, p_avg, ceil, cip)
        np.testing.assert_allclose(y, avg_pool2d_ref(x, k, s, p_avg, ceil, cip), rtol=1e-12, atol=1e-12)
        gy = rng.standard_normal(y.shape)
        gx = run_layout(lambda a, *r, **kw: F.avg_pool2d_backward(
            gy if not nhwc else to_nhwc(gy), a, *r, **kw), x, layout, k, s, p_avg, ceil, cip)
        np.testing.assert_allclose(gx, avg_pool2d_backward_ref(gy, x.shape, k, s, p_avg, ceil, cip),
                                   rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- the bad-input catalogue


@contextlib.contextmanager
def raises(exc, *parts):
    with pytest.raises(exc) as info:
        yield
    for p in parts:
        assert p in str(info.value), f"{p!r} not in {str(info.value)!r}"


X = np.zeros((1, 2, 6, 6), np.float32)


def test_bad_inputs():
    with raises(ValueError, "max_pool2d", "kernel_size must be positive, got 0 (width)"):
        F.max_pool2d(X, (2, 0))
    with raises(ValueError, "stride must be positive, got -1 (height)"):
        F.avg_pool2d(X, 2, (-1, 1))
    with raises(ValueError, "dilation must be positive, got 0"):
        F.max_pool2d(X, 2, 1, 0, 0)
    with raises(ValueError, "padding must be non-negative, got -1"):
        F.max_pool2d(X, 3, 1, -1)
    with raises(ValueError, "padding must be at most half of the kernel size, got padding 2 for kernel size 3"):
        F.avg_pool2d(X, 3, 1, 2)
    with raises(ValueError, "half of the dilated kernel size, got padding 3 for kernel size 5"):
        F.max_pool2d(X, 3, 1, 3, 2)
    with raises(ValueError, "calculated output size 0 x 0 is too small"):
        F.max_pool2d(X, 7)
    with raises(ValueError, "output size 0 is too small"):
        F.max_pool1d(np.zeros((1, 2, 3)), 4)
    with raises(ValueError, "expected input to be 3-D (unbatched) or 4-D (batched)", "(6, 6)"):
        F.max_pool2d(np.zeros((6, 6)), 2)
    with raises(ValueError, "max_pool1d", "expected input to be 2-D (unbatched) or 3-D"):
        F.max_pool1d(X, 2)
    with raises(TypeError, "input has dtype int32"):
        F.avg_pool2d(X.astype(np.int32), 2)
    with raises(TypeError, "grad_output has dtype float64, expected float32"):
        F.avg_pool2d_backward(np.zeros((1, 2, 3, 3)), X, 2)
    with raises(ValueError, "grad_output has shape [1, 2, 2, 2], expected [1, 2, 3, 3]"):
        F.avg_pool2d_backward(np.zeros((1, 2, 2, 2), np.float32), X, 2)
    with raises(TypeError, "indices has dtype int32; expected int64"):
        F.max_pool2d_backward(np.zeros((1, 2, 3, 3), np.float32), X, np.zeros((1, 2, 3, 3), np.int32), 2)
    with raises(ValueError, "indices has shape [1, 2, 2, 3], expected [1, 2, 3, 3]"):
        F.max_pool2d_backward(np.zeros((1, 2, 3, 3), np.float32), X, np.zeros((1, 2, 2, 3), np.int64), 2)
    with raises(ValueError, "indices has 3 dimensions"):
        F.max_pool2d_backward(np.zeros((1, 2, 3, 3), np.float32), X, np.zeros((2, 3, 3), np.int64), 2)
    with raises(ValueError, "data_format must be 'NCHW' or 'NHWC', got 'NCL'"):
        F.max_pool2d(X, 2, data_format="NCL")
    with raises(TypeError, "kernel_size must be an int or a sequence of 2 ints"):
        F.max_pool2d(X, 2.5)
    with raises(ValueError, "kernel_size value 18446744073709551616 does not fit"):
        F.max_pool2d(X, 2**64)
    with raises(ValueError, "kernel_size must be at most 2^40"):
        F.max_pool2d(X, 2**50)
    with raises(ValueError, "overflows int64"):
        F.max_pool2d(X, 2**39, 1, 0, 2**39)
    with raises(ValueError, "divisor_override must be non-zero"):
        F.avg_pool2d(X, 2, divisor_override=0)
    with raises(ValueError, "norm_type must be finite and non-zero, got 0"):
        F.lp_pool2d(X, 0, 2)
    with raises(TypeError, "norm_type must be a real number"):
        F.lp_pool2d(X, "2", 2)
    with raises(TypeError, "ceil_mode must be a bool"):
        F.max_pool2d(X, 2, ceil_mode=1)
    with raises(ValueError, "zero-size channel or spatial dimension"):
        F.max_pool2d(np.zeros((1, 0, 4, 4), np.float32), 2)
    with raises(ValueError, "out has shape (1, 2, 2, 2), expected (1, 2, 3, 3)"):
        F.max_pool2d(X, 2, out=np.zeros((1, 2, 2, 2), np.float32))
    with raises(TypeError, "out (output) has dtype float64, expected float32"):
        F.max_pool2d(X, 2, out=np.zeros((1, 2, 3, 3)))
    with raises(ValueError, "out must not overlap an input array"):
        F.avg_pool2d_backward(np.zeros((1, 2, 3, 3), np.float32), X, 2, out=X)


def test_ceil_mode_drops_a_window_starting_in_the_right_padding(torch):
    # n = 5, k = 2, s = 2, pad = 1: ceil would give 4 windows, the last starting at 5 >= n.
    x = np.arange(10, dtype=np.float32).reshape(1, 2, 5)
    assert F.max_pool1d(x, 2, 2, 1, ceil_mode=True).shape == (1, 2, 3)
    t = torch.from_numpy(x)
    np.testing.assert_array_equal(F.avg_pool1d(x, 2, 2, 1, True, False),
                                  torch.nn.functional.avg_pool1d(t, 2, 2, 1, True, False).numpy())
