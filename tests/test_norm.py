"""batch_norm and local_response_norm, forward and backward: against the float64
references of ref_norm.py on every ISA, layout and dtype; finite-difference
gradients; numerical stability; PyTorch parity; the bad-input catalogue."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convcore
import convcore.functional as F
import ref_norm as R
from conftest import run_isolated
from reference import central_difference

# Channels-first shapes with their channels-last data_format (None: (N, C)).
SHAPES = [
    ((6, 5), None),
    ((3, 4, 37), "NLC"),
    ((2, 3, 5, 7), "NHWC"),
    ((2, 3, 40, 41), "NHWC"),  # planes past the kernels' float32 block; > 32 rows
    ((5, 19, 3, 1), "NHWC"),  # channels past one vector, with a tail
    ((2, 3, 2, 3, 4), "NDHWC"),
]
FIRST_FORMAT = {2: None, 3: "NCL", 4: "NCHW", 5: "NCDHW"}
# (shape, channels-last data_format, channels_last): both layouts of each shape.
LAYOUTS = [(s, f, cl) for s, f in SHAPES for cl in (False, True) if f or not cl]
TOL = {np.float32: {"rtol": 2e-5, "atol": 2e-5}, np.float64: {"rtol": 1e-11, "atol": 1e-11}}


def layout(x: np.ndarray, channels_last: bool) -> np.ndarray:
    return R.to_channels_last(x) if channels_last and x.ndim > 2 else x


def unlayout(y: np.ndarray, channels_last: bool) -> np.ndarray:
    return R.to_channels_first(y) if channels_last and y.ndim > 2 else y


def fmt_of(shape, channels_last_fmt, channels_last):
    return channels_last_fmt if channels_last else FIRST_FORMAT[len(shape)]


def bn_data(rng, shape, dtype, mean=0.5, std=2.0):
    c = shape[1]
    x = (rng.standard_normal(shape) * std + mean).astype(dtype)
    rm = rng.standard_normal(c).astype(dtype)
    rv = (rng.random(c) + 0.5).astype(dtype)
    w = rng.standard_normal(c).astype(dtype)
    b = rng.standard_normal(c).astype(dtype)
    return x, rm, rv, w, b


def close(got, want, dtype, scale=1.0):
    tol = TOL[dtype]
    np.testing.assert_allclose(got, want, rtol=tol["rtol"], atol=tol["atol"] * scale)


# ============================================================================ batch norm forward


@pytest.mark.parametrize("shape,cl_fmt,channels_last", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("affine", [False, True])
def test_batch_norm_matches_reference(isa, rng, shape, cl_fmt, dtype, channels_last, training,
                                      affine):
    x, rm, rv, w, b = bn_data(rng, shape, dtype)
    if not affine:
        w = b = None
    y_ref, mean, var, rm_ref, rv_ref = R.batch_norm(x, rm, rv, w, b, training, 0.2, 1e-3)
    xl = layout(x, channels_last)
    x_before = xl.copy()
    rm1, rv1 = rm.copy(), rv.copy()
    y, save_mean, save_invstd = F.batch_norm(
        xl, rm1, rv1, w, b, training, 0.2, 1e-3,
        data_format=fmt_of(shape, cl_fmt, channels_last), return_stats=True)
    assert y.dtype == dtype and y.shape == xl.shape
    close(unlayout(y, channels_last), y_ref, dtype, scale=10)
    close(rm1, rm_ref, dtype)
    close(rv1, rv_ref, dtype)
    close(save_mean, mean, dtype)
    close(save_invstd, 1 / np.sqrt(var + 1e-3), dtype)
    np.testing.assert_array_equal(xl, x_before)
    if not training:
        np.testing.assert_array_equal(rm1, rm)  # eval leaves the running stats alone


def test_batch_norm_training_without_running_stats(rng):
    x, *_ = bn_data(rng, (4, 3, 6), np.float64)
    y = F.batch_norm(x, None, None, training=True)
    np.testing.assert_allclose(y, R.batch_norm(x, None, None, training=True)[0], atol=1e-12)
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)


def test_batch_norm_momentum_extremes(rng):
    x, rm, rv, _, _ = bn_data(rng, (4, 3, 6), np.float64)
    rm0, rv0 = rm.copy(), rv.copy()
    F.batch_norm(x, rm0, rv0, training=True, momentum=0.0)
    np.testing.assert_array_equal(rm0, rm)
    rm1, rv1 = rm.copy(), rv.copy()
    F.batch_norm(x, rm1, rv1, training=True, momentum=1.0)
    np.testing.assert_allclose(rm1, x.mean(axis=(0, 2)), atol=1e-12)
    np.testing.assert_allclose(rv1, x.var(axis=(0, 2), ddof=1), atol=1e-12)


def test_batch_norm_out_and_noncontiguous(rng):
    x, rm, rv, w, b = bn_data(rng, (3, 4, 5, 6), np.float32)
    xt = np.asfortranarray(x)
    out = np.full_like(x, np.nan)
    y = F.batch_norm(xt, rm, rv, w, b, out=out)
    assert y is out
    close(out, R.batch_norm(x, rm, rv, w, b)[0], np.float32, scale=10)
    with pytest.raises(ValueError, match="out"):
        F.batch_norm(x, rm, rv, w, b, out=x)


@pytest.mark.parametrize("training", [False, True])
def test_batch_norm_empty_batch(training):
    """As torch: an empty output, running statistics untouched, zero parameter gradients."""
    x = np.zeros((0, 3, 4, 4), np.float32)
    rm, rv = np.full(3, 0.5, np.float32), np.full(3, 2.0, np.float32)
    assert F.batch_norm(x, rm, rv, training=training).shape == x.shape
    np.testing.assert_array_equal(rm, 0.5)
    np.testing.assert_array_equal(rv, 2.0)
    gx, gw, gb = F.batch_norm_backward(x, x, rm, rv, np.ones(3, np.float32),
                                       np.zeros(3, np.float32), training)
    assert gx.shape == x.shape
    np.testing.assert_array_equal(gw, 0)
    np.testing.assert_array_equal(gb, 0)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_batch_norm_large_mean_is_stable(isa, rng, dtype, tol, channels_last):
    """Mean 1e4, std 1: E[x^2] - E[x]^2 would lose the variance in float32."""
    shape = (8, 3, 30, 30)
    x = (1e4 + rng.standard_normal(shape)).astype(dtype)
    rm, rv = np.zeros(3, dtype), np.ones(3, dtype)
    y_ref, _, _, rm_ref, rv_ref = R.batch_norm(x, rm, rv, training=True)
    xl = layout(x, channels_last)
    fmt = "NHWC" if channels_last else None
    y = F.batch_norm(xl, rm, rv, training=True, data_format=fmt)
    np.testing.assert_allclose(unlayout(y, channels_last), y_ref, rtol=0, atol=tol)
    np.testing.assert_allclose(rv, rv_ref, rtol=tol)
    np.testing.assert_allclose(rm, rm_ref, rtol=1e-7)
    g = rng.standard_normal(shape).astype(dtype)
    gx, gw, gb = F.batch_norm_backward(layout(g, channels_last), xl, rm, rv,
                                       np.ones(3, dtype), np.ones(3, dtype), True,
                                       data_format=fmt)
    gx_ref, gw_ref, gb_ref = R.batch_norm_backward(g, x, rm, rv, np.ones(3), True)
    np.testing.assert_allclose(unlayout(gx, channels_last), gx_ref, rtol=0, atol=tol)
    np.testing.assert_allclose(gw, gw_ref, rtol=0, atol=tol * 100)
    np.testing.assert_allclose(gb, gb_ref, rtol=1e-5 if dtype == np.float32 else 1e-12)


# ============================================================================ batch norm backward


@pytest.mark.parametrize("shape,cl_fmt,channels_last", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("saved", [False, True])
def test_batch_norm_backward_matches_reference(isa, rng, shape, cl_fmt, dtype, channels_last,
                                               training, saved):
    x, rm, rv, w, b = bn_data(rng, shape, dtype)
    g = rng.standard_normal(shape).astype(dtype)
    fmt = fmt_of(shape, cl_fmt, channels_last)
    xl, gl = layout(x, channels_last), layout(g, channels_last)
    kw = {}
    if saved:
        _, sm, si = F.batch_norm(xl, rm.copy(), rv.copy(), w, b, training, data_format=fmt,
                                 return_stats=True)
        kw = {"save_mean": sm, "save_invstd": si}
    before = (xl.copy(), gl.copy(), rm.copy(), rv.copy())
    gx, gw, gb = F.batch_norm_backward(gl, xl, rm, rv, w, b, training, data_format=fmt, **kw)
    gx_ref, gw_ref, gb_ref = R.batch_norm_backward(g, x, rm, rv, w, training)
    scale = 1 if dtype == np.float64 else np.sqrt(x.size // x.shape[1])
    close(unlayout(gx, channels_last), gx_ref, dtype, scale=10)
    close(gw, gw_ref, dtype, scale=10 * scale)
    close(gb, gb_ref, dtype, scale=10 * scale)
    for a, a0 in zip((xl, gl, rm, rv), before):
        np.testing.assert_array_equal(a, a0)


def test_batch_norm_backward_needs(rng):
    x, rm, rv, w, b = bn_data(rng, (3, 4, 5), np.float64)
    g = rng.standard_normal(x.shape)
    full = F.batch_norm_backward(g, x, rm, rv, w, b, True)
    gx, gw, gb = F.batch_norm_backward(g, x, rm, rv, w, b, True, needs=("weight",))
    assert gx is None and gb is None
    np.testing.assert_array_equal(gw, full[1])
    gx, gw, gb = F.batch_norm_backward(g, x, rm, rv, None, None, True)
    assert gw is None and gb is None
    np.testing.assert_allclose(gx, R.batch_norm_backward(g, x, rm, rv, None, True)[0], atol=1e-12)


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("shape", [(3, 2), (2, 3, 4), (2, 2, 3, 2)])
def test_batch_norm_gradients_by_central_differences(rng, training, shape):
    x, rm, rv, w, b = bn_data(rng, shape, np.float64)
    g = rng.standard_normal(shape)

    def loss(x_, w_, b_):
        return float(np.sum(g * F.batch_norm(x_, rm.copy(), rv.copy(), w_, b_, training)))

    gx, gw, gb = F.batch_norm_backward(g, x, rm, rv, w, b, training)
    np.testing.assert_allclose(gx, central_difference(lambda v: loss(v, w, b), x), atol=1e-6)
    np.testing.assert_allclose(gw, central_difference(lambda v: loss(x, v, b), w), atol=1e-6)
    np.testing.assert_allclose(gb, central_difference(lambda v: loss(x, w, v), b), atol=1e-6)


# ============================================================================ LRN

LRN_SHAPES = [((2, 7, 5, 6), "NHWC"), ((2, 9, 37), "NLC"), ((1, 3, 40, 41), "NHWC"),
              ((3, 33, 2, 3), "NHWC"), ((2, 6, 2, 3, 4), "NDHWC")]


@pytest.mark.parametrize("shape,cl_fmt", LRN_SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("size,beta", [(1, 0.75), (2, 0.5), (5, 0.75), (4, 1.0), (12, 0.6)])
def test_lrn_matches_reference(isa, rng, shape, cl_fmt, dtype, channels_last, size, beta):
    x = rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    fmt = fmt_of(shape, cl_fmt, channels_last)
    xl, gl = layout(x, channels_last), layout(g, channels_last)
    before = (xl.copy(), gl.copy())
    y = F.local_response_norm(xl, size, 0.3, beta, 1.5, data_format=fmt)
    close(unlayout(y, channels_last), R.local_response_norm(x, size, 0.3, beta, 1.5), dtype)
    gx = F.local_response_norm_backward(gl, xl, size, 0.3, beta, 1.5, data_format=fmt)
    close(unlayout(gx, channels_last),
          R.local_response_norm_backward(g, x, size, 0.3, beta, 1.5), dtype, scale=5)
    np.testing.assert_array_equal(xl, before[0])
    np.testing.assert_array_equal(gl, before[1])


@pytest.mark.parametrize("size,beta", [(3, 0.75), (4, 0.6), (1, 1.0)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_lrn_gradient_by_central_differences(rng, size, beta, channels_last):
    x = rng.standard_normal((2, 5, 2, 3))
    g = rng.standard_normal(x.shape)
    fmt = "NHWC" if channels_last else None
    xl, gl = layout(x, channels_last), layout(g, channels_last)
    numeric = central_difference(
        lambda v: float(np.sum(gl * F.local_response_norm(v, size, 0.5, beta, 1.0, data_format=fmt))),
        xl)
    gx = F.local_response_norm_backward(gl, xl, size, 0.5, beta, 1.0, data_format=fmt)
    np.testing.assert_allclose(gx, numeric, atol=1e-7)


def test_lrn_out(rng):
    x = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    out = np.empty_like(x)
    assert F.local_response_norm(x, 3, out=out) is out
    close(out, R.local_response_norm(x, 3), np.float32)
    gout = np.empty_like(x)
    assert F.local_response_norm_backward(x, x, 3, out=gout) is gout


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 20), h=st.integers(1, 9), w=st.integers(1, 21),
       size=st.integers(1, 9), channels_last=st.booleans(), training=st.booleans(),
       seed=st.integers(0, 2**31))
def test_random_configurations(n, c, h, w, size, channels_last, training, seed):
    rng = np.random.default_rng(seed)
    shape = (n, c, h, w)
    x, rm, rv, wt, b = bn_data(rng, shape, np.float64)
    g = rng.standard_normal(shape)
    fmt = "NHWC" if channels_last else None
    xl, gl = layout(x, channels_last), layout(g, channels_last)
    np.testing.assert_allclose(
        unlayout(F.local_response_norm(xl, size, 0.2, 0.75, 1.0, data_format=fmt), channels_last),
        R.local_response_norm(x, size, 0.2, 0.75, 1.0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        unlayout(F.local_response_norm_backward(gl, xl, size, 0.2, 0.75, 1.0, data_format=fmt),
                 channels_last),
        R.local_response_norm_backward(g, x, size, 0.2, 0.75, 1.0), rtol=1e-11, atol=1e-11)
    if training and n * h * w == 1:
        return
    y = F.batch_norm(xl, rm.copy(), rv.copy(), wt, b, training, data_format=fmt)
    np.testing.assert_allclose(unlayout(y, channels_last),
                               R.batch_norm(x, rm, rv, wt, b, training)[0], atol=1e-9)
    gx, gw, gb = F.batch_norm_backward(gl, xl, rm, rv, wt, b, training, data_format=fmt)
    ref = R.batch_norm_backward(g, x, rm, rv, wt, training)
    np.testing.assert_allclose(unlayout(gx, channels_last), ref[0], atol=1e-8)
    np.testing.assert_allclose(gw, ref[1], atol=1e-8)
    np.testing.assert_allclose(gb, ref[2], atol=1e-8)


# ============================================================================ PyTorch parity


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("channels_last", [False, True])
def test_batch_norm_torch_parity(torch, rng, training, channels_last):
    x, rm, rv, w, b = bn_data(rng, (4, 6, 7, 9), np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    wt, bt = torch.from_numpy(w).requires_grad_(), torch.from_numpy(b).requires_grad_()
    rmt, rvt = torch.from_numpy(rm.copy()), torch.from_numpy(rv.copy())
    yt = torch.nn.functional.batch_norm(xt, rmt, rvt, wt, bt, training, 0.1, 1e-5)
    yt.backward(torch.from_numpy(g))
    fmt = "NHWC" if channels_last else None
    xl, gl = layout(x, channels_last), layout(g, channels_last)
    y = F.batch_norm(xl, rm, rv, w, b, training, 0.1, 1e-5, data_format=fmt)
    gx, gw, gb = F.batch_norm_backward(gl, xl, rm, rv, w, b, training, 1e-5, data_format=fmt)
    np.testing.assert_allclose(unlayout(y, channels_last), yt.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(rm, rmt.numpy(), atol=1e-6)
    np.testing.assert_allclose(rv, rvt.numpy(), atol=1e-6)
    np.testing.assert_allclose(unlayout(gx, channels_last), xt.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(gw, wt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gb, bt.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape", [(2, 96, 13, 11), (3, 7, 10)])
def test_lrn_torch_parity(torch, rng, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_()
    yt = torch.nn.functional.local_response_norm(xt, 5, 1e-4, 0.75, 2.0)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(F.local_response_norm(x, 5, 1e-4, 0.75, 2.0),
                               yt.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(F.local_response_norm_backward(g, x, 5, 1e-4, 0.75, 2.0),
                               xt.grad.numpy(), rtol=1e-5, atol=1e-6)


# ============================================================================ bad inputs


@contextlib.contextmanager
def raises(exc, *parts):
    with pytest.raises(exc) as info:
        yield
    for p in parts:
        assert p in str(info.value), f"{p!r} not in {str(info.value)!r}"


f32 = np.float32
X = np.zeros((2, 3, 4, 4), f32)
C3 = np.zeros(3, f32)
ONES = np.ones(3, f32)


def test_batch_norm_bad_inputs():
    with raises(ValueError, "input", "1-D", "[3]"):
        F.batch_norm(C3, C3, ONES)
    with raises(ValueError, "input", "6 dimensions"):
        F.batch_norm(np.zeros((1, 3, 1, 1, 1, 2), f32), C3, ONES)
    with raises(ValueError, "running_mean", "[3]", "[4]"):
        F.batch_norm(X, np.zeros(4, f32), ONES)
    with raises(ValueError, "weight", "[3]", "[2]"):
        F.batch_norm(X, C3, ONES, np.ones(2, f32))
    with raises(ValueError, "bias", "[3]", "[3, 1]"):
        F.batch_norm(X, C3, ONES, ONES, np.zeros((3, 1), f32))
    with raises(ValueError, "running_mean", "[4]"):  # channels-last: C is the last axis
        F.batch_norm(X, C3, ONES, data_format="NHWC")
    with raises(TypeError, "running_var", "float64", "float32"):
        F.batch_norm(X, C3, np.ones(3))
    with raises(TypeError, "weight", "float64", "float32"):
        F.batch_norm(X, C3, ONES, np.ones(3))
    with raises(TypeError, "input", "int64"):
        F.batch_norm(X.astype(np.int64), C3, ONES)
    with raises(ValueError, "eps", "0"):
        F.batch_norm(X, C3, ONES, eps=0.0)
    with raises(ValueError, "eps", "nan"):
        F.batch_norm(X, C3, ONES, eps=float("nan"))
    with raises(ValueError, "eps", "inf"):
        F.batch_norm(X, C3, ONES, eps=float("inf"))
    with raises(ValueError, "momentum", "1.5"):
        F.batch_norm(X, C3.copy(), ONES.copy(), training=True, momentum=1.5)
    with raises(ValueError, "momentum", "-0.1"):
        F.batch_norm(X, C3.copy(), ONES.copy(), training=True, momentum=-0.1)
    with raises(ValueError, "running_mean and running_var are required"):
        F.batch_norm(X, None, None)
    with raises(ValueError, "both"):
        F.batch_norm(X, C3.copy(), None, training=True)
    with raises(ValueError, "Expected more than 1 value per channel when training", "[1, 3]"):
        F.batch_norm(np.zeros((1, 3), f32), C3.copy(), ONES.copy(), training=True)
    with raises(ValueError, "Expected more than 1 value per channel when training"):
        F.batch_norm(np.zeros((1, 3, 1, 1), f32), None, None, training=True)
    with raises(ValueError, "data_format", "'NCL'"):
        F.batch_norm(X, C3, ONES, data_format="NCL")


def test_batch_norm_bad_running_stats_in_training():
    ro = C3.copy()
    ro.flags.writeable = False
    with raises(ValueError, "running_mean", "read-only"):
        F.batch_norm(X, ro, ONES.copy(), training=True)
    strided = np.zeros(6, f32)[::2]
    with raises(ValueError, "running_var", "C-contiguous"):
        F.batch_norm(X, C3.copy(), strided, training=True)
    with raises(TypeError, "running_mean", "numpy.ndarray"):
        F.batch_norm(X, [0.0, 0.0, 0.0], ONES.copy(), training=True)
    F.batch_norm(X, ro, strided + 1, training=False)  # eval only reads them


def test_batch_norm_backward_bad_inputs():
    with raises(ValueError, "grad_output", "[2, 3, 4, 5]", "[2, 3, 4, 4]"):
        F.batch_norm_backward(np.zeros((2, 3, 4, 5), f32), X, C3, ONES)
    with raises(TypeError, "grad_output", "float64"):
        F.batch_norm_backward(X.astype(np.float64), X, C3, ONES)
    with raises(ValueError, "save_mean and save_invstd"):
        F.batch_norm_backward(X, X, C3, ONES, training=True, save_mean=C3)
    with raises(ValueError, "save_invstd", "[2]"):
        F.batch_norm_backward(X, X, C3, ONES, training=True, save_mean=C3,
                              save_invstd=np.ones(2, f32))
    with raises(ValueError, "needs", "'gamma'"):
        F.batch_norm_backward(X, X, C3, ONES, needs=("gamma",))
    with raises(ValueError, "eps", "-1"):
        F.batch_norm_backward(X, X, C3, ONES, eps=-1.0)


def test_lrn_bad_inputs():
    with raises(ValueError, "size must be positive", "0"):
        F.local_response_norm(X, 0)
    with raises(ValueError, "size must be positive", "-2"):
        F.local_response_norm_backward(X, X, -2)
    with raises(TypeError, "size", "2.5"):
        F.local_response_norm(X, 2.5)
    with raises(ValueError, "input", "2-D", "[2, 3]"):
        F.local_response_norm(np.zeros((2, 3), f32), 3)
    with raises(ValueError, "data_format", "'NC'", "'NHWC'"):
        F.batch_norm(np.zeros((2, 3), f32), C3, ONES, data_format="NHWC")
    with raises(ValueError, "alpha", "nan"):
        F.local_response_norm(X, 3, alpha=float("nan"))
    with raises(ValueError, "grad_output", "[2, 3, 4]"):
        F.local_response_norm_backward(np.zeros((2, 3, 4), f32), X, 3)
    with raises(TypeError, "grad_output", "float64", "float32"):
        F.local_response_norm_backward(X.astype(np.float64), X, 3)
    with raises(ValueError, "data_format", "'NHWC'"):
        F.local_response_norm(np.zeros((2, 3, 4), f32), 3, data_format="NHWC")


def test_lrn_empty_batch():
    x = np.zeros((0, 4, 3, 3), np.float32)
    assert F.local_response_norm(x, 3).shape == x.shape
    assert F.local_response_norm_backward(x, x, 3, data_format="NHWC").shape == x.shape


@pytest.mark.parametrize("channels_last", [False, True])
def test_volumes_with_out(rng, channels_last):
    """5-D inputs run with their spatial axes merged; out= still receives the result."""
    x, rm, rv, w, b = bn_data(rng, (2, 3, 2, 3, 4), np.float64)
    fmt = "NDHWC" if channels_last else "NCDHW"
    xl = layout(x, channels_last)
    out = np.empty_like(xl)
    assert F.batch_norm(xl, rm, rv, w, b, data_format=fmt, out=out) is out
    np.testing.assert_allclose(unlayout(out, channels_last), R.batch_norm(x, rm, rv, w, b)[0],
                               atol=1e-12)
    gout = np.empty_like(xl)
    gx, _, _ = F.batch_norm_backward(xl, xl, rm, rv, w, b, True, data_format=fmt, out=gout)
    assert gx is gout
    np.testing.assert_allclose(unlayout(gout, channels_last),
                               R.batch_norm_backward(x, x, rm, rv, w, True)[0], atol=1e-12)
    lout = np.empty_like(xl)
    assert F.local_response_norm(xl, 3, data_format=fmt, out=lout) is lout
    np.testing.assert_allclose(unlayout(lout, channels_last), R.local_response_norm(x, 3),
                               atol=1e-12)


def test_thread_splits_agree(request):
    """Per-thread float64 partials: the result does not depend on the split
    (planes or row blocks over 2 threads vs 1) beyond rounding. Runs in a child
    process (conftest.run_isolated), going from 2 threads to 1 once."""
    if run_isolated(request):
        return
    rng = np.random.default_rng(7)
    x, rm, rv, w, b = bn_data(rng, (5, 6, 9, 11), np.float64)
    g = rng.standard_normal(x.shape)
    results = []
    for nthreads in (2, 1):
        convcore.set_num_threads(nthreads)
        results.append([
            F.batch_norm(x, rm.copy(), rv.copy(), w, b, True),
            *F.batch_norm_backward(g, x, rm, rv, w, b, True),
            F.batch_norm(np.moveaxis(x, 1, -1), None, None, w, b, True, data_format="NHWC"),
            F.local_response_norm(x, 5, 0.1, 0.75, 1.0),
            F.local_response_norm_backward(g, x, 5, 0.1, 0.75, 1.0),
        ])
    for two, one in zip(*results):
        np.testing.assert_allclose(two, one, rtol=1e-12, atol=1e-12)
