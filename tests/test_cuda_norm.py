"""batch_norm and local_response_norm on the GPU: the same configurations as
test_norm.py, DeviceArray results against the CPU backend and the float64
references of ref_norm.py; running statistics updated on the device; the
statistics' determinism; mixing host and device arrays."""

from __future__ import annotations

import numpy as np
import pytest

import convcore
import convcore.cuda as cc
import convcore.functional as F
import ref_norm as R

pytestmark = pytest.mark.skipif(not convcore.cuda.is_available(), reason="needs a CUDA device")

SHAPES = [
    ((6, 5), None),
    ((3, 4, 37), "NLC"),
    ((2, 3, 5, 7), "NHWC"),
    ((2, 3, 40, 41), "NHWC"),
    ((5, 19, 3, 1), "NHWC"),
    ((2, 3, 2, 3, 4), "NDHWC"),
    ((64, 40, 2, 3), "NHWC"),  # more than one channel tile of the rows kernel
    ((9, 3, 70, 90), "NHWC"),  # several partial sums per channel
]
FIRST_FORMAT = {2: None, 3: "NCL", 4: "NCHW", 5: "NCDHW"}
LAYOUTS = [(s, f, cl) for s, f in SHAPES for cl in (False, True) if f or not cl]
TOL = {np.float32: {"rtol": 1e-4, "atol": 1e-4}, np.float64: {"rtol": 1e-10, "atol": 1e-10}}


def layout(x, channels_last):
    return R.to_channels_last(x) if channels_last and x.ndim > 2 else x


def unlayout(y, channels_last):
    return R.to_channels_first(y) if channels_last and y.ndim > 2 else y


def fmt_of(shape, cl_fmt, channels_last):
    return cl_fmt if channels_last else FIRST_FORMAT[len(shape)]


def bn_data(rng, shape, dtype, mean=0.5, std=2.0):
    c = shape[1]
    x = (rng.standard_normal(shape) * std + mean).astype(dtype)
    rm = rng.standard_normal(c).astype(dtype)
    rv = (rng.random(c) + 0.5).astype(dtype)
    w = rng.standard_normal(c).astype(dtype)
    b = rng.standard_normal(c).astype(dtype)
    return x, rm, rv, w, b


def dev(a):
    return None if a is None else cc.asarray(a)


def host(a):
    assert isinstance(a, cc.DeviceArray), type(a)
    return a.numpy()


def close(got, want, dtype, scale=1.0):
    tol = TOL[dtype]
    np.testing.assert_allclose(got, want, rtol=tol["rtol"], atol=tol["atol"] * scale)


# ============================================================================ batch norm


@pytest.mark.parametrize("shape,cl_fmt,channels_last", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("affine", [False, True])
def test_batch_norm_forward_matches_cpu(rng, shape, cl_fmt, channels_last, dtype, training, affine):
    x, rm, rv, w, b = bn_data(rng, shape, dtype)
    if not affine:
        w = b = None
    fmt = fmt_of(shape, cl_fmt, channels_last)
    xl = layout(x, channels_last)
    rm_cpu, rv_cpu = rm.copy(), rv.copy()
    y_cpu, m_cpu, s_cpu = F.batch_norm(xl, rm_cpu, rv_cpu, w, b, training, 0.2, 1e-3,
                                       data_format=fmt, return_stats=True)
    rm_gpu, rv_gpu = cc.asarray(rm), cc.asarray(rv)
    y, m, s = F.batch_norm(dev(xl), rm_gpu, rv_gpu, dev(w), dev(b), training, 0.2, 1e-3,
                           data_format=fmt, return_stats=True)
    assert isinstance(y, cc.DeviceArray) and y.shape == xl.shape and y.dtype == dtype
    close(host(y), y_cpu, dtype, scale=10)
    close(host(m), m_cpu, dtype)
    close(host(s), s_cpu, dtype)
    # the running statistics are updated on the device, in place, like the CPU's
    close(rm_gpu.numpy(), rm_cpu, dtype)
    close(rv_gpu.numpy(), rv_cpu, dtype)
    y_ref, mean, var, rm_ref, rv_ref = R.batch_norm(x, rm, rv, w, b, training, 0.2, 1e-3)
    close(unlayout(host(y), channels_last), y_ref, dtype, scale=10)
    close(rm_gpu.numpy(), rm_ref, dtype)
    close(rv_gpu.numpy(), rv_ref, dtype)
    if not training:
        np.testing.assert_array_equal(rm_gpu.numpy(), rm)


@pytest.mark.parametrize("shape,cl_fmt,channels_last", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("saved", [False, True])
def test_batch_norm_backward_matches_cpu(rng, shape, cl_fmt, channels_last, dtype, training, saved):
    x, rm, rv, w, b = bn_data(rng, shape, dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    fmt = fmt_of(shape, cl_fmt, channels_last)
    xl, gyl = layout(x, channels_last), layout(gy, channels_last)
    sm = si = None
    if saved and training:
        _, sm, si = F.batch_norm(xl, None, None, w, b, True, 0.1, 1e-3, data_format=fmt,
                                 return_stats=True)
    want = F.batch_norm_backward(gyl, xl, rm, rv, w, b, training, 1e-3, data_format=fmt,
                                 save_mean=sm, save_invstd=si)
    got = F.batch_norm_backward(dev(gyl), dev(xl), dev(rm), dev(rv), dev(w), dev(b), training,
                                1e-3, data_format=fmt, save_mean=dev(sm), save_invstd=dev(si))
    for g, c in zip(got, want):
        close(host(g), c, dtype, scale=100)
    ref = R.batch_norm_backward(gy, x, rm, rv, w, training, 1e-3)
    close(unlayout(host(got[0]), channels_last), ref[0], dtype, scale=100)
    close(host(got[1]), ref[1], dtype, scale=100)
    close(host(got[2]), ref[2], dtype, scale=100)


@pytest.mark.parametrize("needs", [("input",), ("weight",), ("bias",), ("weight", "bias"), ()])
def test_batch_norm_backward_needs(rng, needs):
    x, rm, rv, w, b = bn_data(rng, (4, 3, 5, 6), np.float64)
    gy = rng.standard_normal(x.shape)
    want = F.batch_norm_backward(gy, x, rm, rv, w, b, True, needs=needs)
    got = F.batch_norm_backward(dev(gy), dev(x), dev(rm), dev(rv), dev(w), dev(b), True,
                                needs=needs)
    for g, c in zip(got, want):
        assert (g is None) == (c is None)
        if c is not None:
            close(host(g), c, np.float64, scale=100)


def test_batch_norm_without_running_stats_and_empty_batch(rng):
    x, *_ = bn_data(rng, (4, 3, 6), np.float64)
    y = F.batch_norm(dev(x), None, None, training=True)
    close(host(y), F.batch_norm(x, None, None, training=True), np.float64)
    e = np.zeros((0, 3, 4))
    rm, rv = cc.asarray(np.ones(3)), cc.asarray(np.ones(3))
    ye = F.batch_norm(dev(e), rm, rv, training=True)
    assert ye.shape == e.shape
    np.testing.assert_array_equal(rm.numpy(), np.ones(3))  # left alone on an empty batch


def test_batch_norm_large_mean_small_variance(rng):
    """The shifted float64 sums keep the variance of values far from zero."""
    x = (1e4 + rng.standard_normal((8, 3, 50, 50)) * 1e-2).astype(np.float32)
    y_cpu = F.batch_norm(x, None, None, training=True)
    y = F.batch_norm(dev(x), None, None, training=True)
    np.testing.assert_allclose(host(y), y_cpu, rtol=1e-3, atol=1e-3)


def test_batch_norm_statistics_are_deterministic(rng):
    x = rng.standard_normal((16, 5, 64, 65)).astype(np.float32)
    gy = rng.standard_normal(x.shape).astype(np.float32)
    w = rng.standard_normal(5).astype(np.float32)
    runs = [F.batch_norm_backward(dev(gy), dev(x), None, None, dev(w), None, True) for _ in range(3)]
    for r in runs[1:]:
        for a, b in zip(r, runs[0]):
            if a is not None:
                np.testing.assert_array_equal(a.numpy(), b.numpy())
    ys = [F.batch_norm(dev(x), None, None, dev(w), training=True).numpy() for _ in range(3)]
    for y in ys[1:]:
        np.testing.assert_array_equal(y, ys[0])


def test_batch_norm_repeated_training_updates(rng):
    """Several training steps update the device's running statistics like the CPU's."""
    x, rm, rv, w, b = bn_data(rng, (8, 4, 7, 7), np.float32)
    rm_c, rv_c = rm.copy(), rv.copy()
    rm_g, rv_g = cc.asarray(rm), cc.asarray(rv)
    for step in range(4):
        xs = x + step
        F.batch_norm(xs, rm_c, rv_c, w, b, True, 0.3)
        F.batch_norm(dev(xs), rm_g, rv_g, dev(w), dev(b), True, 0.3)
    close(rm_g.numpy(), rm_c, np.float32)
    close(rv_g.numpy(), rv_c, np.float32)


def test_batch_norm_out(rng):
    x, rm, rv, w, b = bn_data(rng, (3, 4, 5, 6), np.float32)
    out = cc.empty(x.shape, np.float32)
    y = F.batch_norm(dev(x), dev(rm), dev(rv), dev(w), dev(b), out=out)
    assert y is out
    close(out.numpy(), F.batch_norm(x, rm, rv, w, b), np.float32, scale=10)


def test_batch_norm_mixing_devices_raises(rng):
    x, rm, rv, w, b = bn_data(rng, (3, 4, 5), np.float32)
    with pytest.raises(ValueError, match="weight"):
        F.batch_norm(dev(x), dev(rm), dev(rv), w, dev(b))
    with pytest.raises(ValueError, match="running_mean|input"):
        F.batch_norm(x, dev(rm), dev(rv), w, b)
    with pytest.raises(ValueError, match="grad_output|input"):
        F.batch_norm_backward(x, dev(x), dev(rm), dev(rv))


# ============================================================================ LRN


LRN_SHAPES = [((2, 7, 5), "NLC"), ((2, 6, 4, 5), "NHWC"), ((1, 13, 3, 3), "NHWC"),
              ((2, 5, 2, 3, 2), "NDHWC"), ((3, 40, 9, 11), "NHWC")]
LRN_LAYOUTS = [(s, f, cl) for s, f in LRN_SHAPES for cl in (False, True)]


@pytest.mark.parametrize("shape,cl_fmt,channels_last", LRN_LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size,beta", [(1, 0.75), (2, 0.5), (3, 0.75), (5, 1.0), (4, 0.6), (9, 0.75)])
def test_lrn_matches_cpu(rng, shape, cl_fmt, channels_last, dtype, size, beta):
    x = rng.standard_normal(shape).astype(dtype)
    gy = rng.standard_normal(shape).astype(dtype)
    fmt = fmt_of(shape, cl_fmt, channels_last)
    xl, gyl = layout(x, channels_last), layout(gy, channels_last)
    kw = dict(alpha=0.3, beta=beta, k=1.5, data_format=fmt)
    y = F.local_response_norm(dev(xl), size, **kw)
    assert isinstance(y, cc.DeviceArray) and y.shape == xl.shape
    close(host(y), F.local_response_norm(xl, size, **kw), dtype)
    close(unlayout(host(y), channels_last), R.local_response_norm(x, size, 0.3, beta, 1.5), dtype)
    gx = F.local_response_norm_backward(dev(gyl), dev(xl), size, **kw)
    close(host(gx), F.local_response_norm_backward(gyl, xl, size, **kw), dtype)
    close(unlayout(host(gx), channels_last),
          R.local_response_norm_backward(gy, x, size, 0.3, beta, 1.5), dtype)


def test_lrn_mixing_devices_raises(rng):
    x = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="grad_output|input"):
        F.local_response_norm_backward(x, dev(x), 3)
    with pytest.raises(ValueError, match="out"):
        F.local_response_norm(dev(x), 3, out=np.empty_like(x))
