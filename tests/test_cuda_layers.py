"""Activations, softmax / log_softmax, cross_entropy and mse_loss on the GPU:
forward and backward against the CPU backend and the float64 references of
ref_layers.py, in float32 and float64, over the CPU tests' configurations
(and the row shapes that pick each of the CUDA kernels' thread groups), the
device-side target check and the device-mixing errors."""

from __future__ import annotations

import numpy as np
import pytest

import ref_layers as ref

import convcore
import convcore.functional as F

pytestmark = pytest.mark.skipif(not convcore.cuda.is_available(), reason="needs a CUDA device")

DTYPES = (np.float32, np.float64)
# GPU vs references: FP32 relative error <= 1e-4, with an absolute floor for the
# results that cancel (log_softmax of large logits, softmax gradients near 0)
TOL = {np.float32: dict(rtol=1e-4, atol=2e-5), np.float64: dict(rtol=1e-11, atol=1e-12)}
ACTS = ("relu", "leaky_relu", "elu", "sigmoid", "tanh")
PARAM = {"leaky_relu": 0.1, "elu": 1.5}
SHAPES = ((), (1,), (7,), (3, 5, 17), (2, 3, 4, 5, 6), (40000,), (1 << 20,))


def dev(a):
    return convcore.cuda.asarray(np.asarray(a))  # keeps 0-d arrays 0-d


def host(a):
    assert isinstance(a, convcore.cuda.DeviceArray), type(a)
    return a.numpy()


def call_fwd(name, x, **kw):
    if name in PARAM:
        return getattr(F, name)(x, PARAM[name], **kw)
    return getattr(F, name)(x, **kw)


def call_bwd(name, g, x, **kw):
    if name in PARAM:
        return getattr(F, name + "_backward")(g, x, PARAM[name], **kw)
    return getattr(F, name + "_backward")(g, x, **kw)


def ref_fwd(name, x):
    f = ref.ACTIVATIONS[name][0]
    return f(x, PARAM[name]) if name in PARAM else f(x)


def ref_bwd(name, g, x):
    f = ref.ACTIVATIONS[name][1]
    return f(g, x, PARAM[name]) if name in PARAM else f(g, x)


# --- activations ---

@pytest.mark.parametrize("name", ACTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_activation_matches_cpu_and_reference(rng, name, dtype, shape):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    xd, gd = dev(x), dev(g)
    y = call_fwd(name, xd)
    assert y.shape == x.shape and y.dtype == dtype
    np.testing.assert_allclose(host(y), call_fwd(name, x), **TOL[dtype])
    np.testing.assert_allclose(host(y), ref_fwd(name, x), **TOL[dtype])
    gx = call_bwd(name, gd, xd)
    assert gx.shape == x.shape and gx.dtype == dtype
    np.testing.assert_allclose(host(gx), call_bwd(name, g, x), **TOL[dtype])
    np.testing.assert_allclose(host(gx), ref_bwd(name, g, x), **TOL[dtype])
    np.testing.assert_array_equal(xd.numpy(), x)
    np.testing.assert_array_equal(gd.numpy(), g)


@pytest.mark.parametrize("name", ("sigmoid", "tanh"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_from_saved_output(rng, name, dtype):
    x = (rng.standard_normal((5, 33)) * 3).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    xd, gd = dev(x), dev(g)
    y = call_fwd(name, xd)
    gx = call_bwd(name, gd, xd, output=y)
    np.testing.assert_allclose(host(gx), call_bwd(name, g, x, output=call_fwd(name, x)), **TOL[dtype])


@pytest.mark.parametrize("name", ("relu", "leaky_relu", "elu"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_inplace_on_device(rng, name, dtype):
    x = (rng.standard_normal((4, 1001)) * 3).astype(dtype)
    xd = dev(x)
    y = call_fwd(name, xd, inplace=True)
    assert y is xd
    np.testing.assert_allclose(xd.numpy(), call_fwd(name, x), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_out_on_device(rng, dtype):
    x = rng.standard_normal((3, 7)).astype(dtype)
    out = convcore.cuda.empty((3, 7), dtype)
    assert F.tanh(dev(x), out=out) is out
    np.testing.assert_allclose(out.numpy(), np.tanh(x), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_and_inf_through_activations(dtype):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 2.0, -3.0], dtype)
    xd = dev(x)
    for name in ACTS:
        kw = {"leaky_relu": (0.5,), "elu": (1.0,)}.get(name, ())
        got, want = host(getattr(F, name)(xd, *kw)), getattr(F, name)(x, *kw)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0, equal_nan=True)
    # backward: relu'(nan) = 0 and leaky_relu'(nan) = slope, as on the CPU
    g = np.ones_like(x)
    for name in ACTS:
        got = host(call_bwd(name, dev(g), xd))
        np.testing.assert_allclose(got, call_bwd(name, g, x), rtol=1e-6, equal_nan=True)


def test_gradients_at_kinks_are_the_left_derivative():
    x = np.zeros(3, np.float32)
    g = np.ones(3, np.float32)
    assert (host(F.relu_backward(dev(g), dev(x))) == 0).all()
    np.testing.assert_allclose(host(F.leaky_relu_backward(dev(g), dev(x), 0.2)), 0.2)
    np.testing.assert_allclose(host(F.elu_backward(dev(g), dev(x), 1.5)), 1.5)


# --- softmax / log_softmax ---

SOFTMAX_CASES = (((), 0), ((5,), 0), ((5,), -1), ((4, 1000), 1), ((3, 21, 17, 19), 1), ((2, 3, 4, 5), -2),
                 ((2, 3, 4, 5, 6), 2), ((2, 21, 1500), 1), ((1, 5, 300), 0), ((7, 1), 1),
                 # thread groups: warp rows, block rows (> 512 classes, >= 8192), strided columns,
                 # few strided columns of many classes (block), a thread per column
                 ((64, 33), 1), ((3, 5000), 1), ((2, 20000), -1), ((2, 3000, 3), 1), ((4, 10, 4096), 1),
                 ((5, 700, 2), 1))


@pytest.mark.parametrize("log", (False, True))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax_matches_cpu_and_reference(rng, log, dtype, shape, dim):
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    xd, gd = dev(x), dev(g)
    fwd, bwd = (F.log_softmax, F.log_softmax_backward) if log else (F.softmax, F.softmax_backward)
    rfwd, rbwd = (ref.log_softmax, ref.log_softmax_grad) if log else (ref.softmax, ref.softmax_grad)
    rdim = dim if x.ndim else None
    y = fwd(xd, dim)
    assert y.shape == x.shape and y.dtype == dtype
    np.testing.assert_allclose(host(y), fwd(x, dim), **TOL[dtype])
    np.testing.assert_allclose(host(y), rfwd(x, rdim), **TOL[dtype])
    expect = rbwd(g, x, rdim)
    np.testing.assert_allclose(host(bwd(gd, xd, dim)), expect, **TOL[dtype])
    np.testing.assert_allclose(host(bwd(gd, xd, dim, output=y)), expect, **TOL[dtype])
    np.testing.assert_allclose(host(bwd(gd, xd, dim)), bwd(g, x, dim), **TOL[dtype])
    np.testing.assert_array_equal(xd.numpy(), x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_is_stable_for_huge_logits(dtype):
    x = np.array([[1e4, 1e4 - 1, -1e4], [-1e30, -1e30, -1e30]], dtype)
    np.testing.assert_allclose(host(F.softmax(dev(x), 1)), F.softmax(x, 1), rtol=1e-6)
    np.testing.assert_allclose(host(F.log_softmax(dev(x), 1)), F.log_softmax(x, 1), rtol=1e-6)
    assert np.isneginf(host(F.log_softmax(dev(np.array([0.0, -np.inf], dtype)), 0))[1])


@pytest.mark.parametrize("dim", (0, 1))
def test_nan_propagates_through_softmax(dim):
    x = np.ones((18, 18), np.float32)
    x[3, 3] = np.nan
    for fn in (F.softmax, F.log_softmax):
        y = host(fn(dev(x), dim))
        np.testing.assert_array_equal(np.isnan(y), np.isnan(fn(x, dim)))


def test_softmax_is_deterministic(rng):
    x = dev(rng.standard_normal((3, 7000)).astype(np.float32))
    a, b = host(F.softmax(x, 1)), host(F.softmax(x, 1))
    np.testing.assert_array_equal(a, b)


def test_empty_arrays():
    assert F.relu(dev(np.zeros((0, 5), np.float32))).shape == (0, 5)
    assert F.softmax(dev(np.zeros((0, 5), np.float32)), 1).shape == (0, 5)
    assert F.softmax(dev(np.zeros((3, 0))), 1).shape == (3, 0)


# --- cross_entropy ---

CE_SHAPES = (((6, 5), (6,)), ((3, 37), (3,)), ((2, 4, 3, 5), (2, 3, 5)), ((2, 3, 1100), (2, 1100)),
             ((7,), ()), ((4, 3000), (4,)), ((3, 9000), (3,)), ((2, 700, 3), (2, 3)), ((600, 10), (600,)))


def make_target(rng, shape, classes, ignore=None):
    t = rng.integers(0, classes, size=shape)
    if ignore is not None and t.ndim:
        t.reshape(-1)[:: 3] = ignore
    return t


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", CE_SHAPES)
@pytest.mark.parametrize("reduction", ("none", "mean", "sum"))
@pytest.mark.parametrize("weighted", (False, True))
@pytest.mark.parametrize("smoothing", (0.0, 0.3))
def test_cross_entropy_matches_cpu_and_reference(rng, dtype, shapes, reduction, weighted, smoothing):
    xs, ts = shapes
    c = xs[0] if len(xs) == 1 else xs[1]
    x = (rng.standard_normal(xs) * 3).astype(dtype)
    t = make_target(rng, ts, c, ignore=-100)
    w = rng.uniform(0.5, 2.0, c).astype(dtype) if weighted else None
    kw = dict(reduction=reduction, label_smoothing=smoothing)
    dkw = dict(kw, weight=None if w is None else dev(w))
    kw["weight"] = w
    xd, td = dev(x), dev(t)
    loss = F.cross_entropy(xd, td, **dkw)
    expect = ref.cross_entropy(x, t, **kw)
    assert isinstance(loss, convcore.cuda.DeviceArray)
    assert loss.shape == expect.shape and loss.dtype == dtype
    np.testing.assert_allclose(host(loss), F.cross_entropy(x, t, **kw), **TOL[dtype])
    np.testing.assert_allclose(host(loss), expect, **TOL[dtype])
    g = rng.standard_normal(expect.shape).astype(dtype) if reduction == "none" else np.array(1.7, dtype)
    gx = F.cross_entropy_backward(dev(g), xd, td, **dkw)
    assert gx.shape == x.shape and gx.dtype == dtype
    np.testing.assert_allclose(host(gx), F.cross_entropy_backward(g, x, t, **kw), **TOL[dtype])
    np.testing.assert_array_equal(xd.numpy(), x)


@pytest.mark.parametrize("reduction", ("none", "mean", "sum"))
def test_cross_entropy_channels_last(rng, reduction):
    x = rng.standard_normal((2, 3, 4, 6))
    t = rng.integers(0, 6, (2, 3, 4))
    kw = dict(reduction=reduction, label_smoothing=0.1, data_format="NHWC")
    np.testing.assert_allclose(host(F.cross_entropy(dev(x), dev(t), **kw)), F.cross_entropy(x, t, **kw),
                               **TOL[np.float64])
    g = np.ones((2, 3, 4)) if reduction == "none" else np.array(1.0)
    np.testing.assert_allclose(host(F.cross_entropy_backward(dev(g), dev(x), dev(t), **kw)),
                               F.cross_entropy_backward(g, x, t, **kw), **TOL[np.float64])


def test_cross_entropy_ignore_index_and_all_ignored():
    x = np.ones((2, 3))
    t = np.array([-100, -100])
    assert np.isnan(host(F.cross_entropy(dev(x), dev(t))))
    np.testing.assert_array_equal(host(F.cross_entropy_backward(dev(np.array(1.0)), dev(x), dev(t))), 0.0)
    assert host(F.cross_entropy(dev(x), dev(t), reduction="sum")) == 0
    t2 = np.array([0, 2])
    np.testing.assert_allclose(host(F.cross_entropy(dev(x), dev(t2), ignore_index=2)),
                               F.cross_entropy(x, t2, ignore_index=2), rtol=1e-12)


def test_cross_entropy_out_of_range_target_raises():
    x = dev(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"target value 3 \(at flat index 1\) is out of range for 3 classes"):
        F.cross_entropy(x, dev(np.array([0, 3, 1, 7])))
    with pytest.raises(ValueError, match=r"target value -1 \(at flat index 2\)"):
        F.cross_entropy_backward(dev(np.array(1.0)), x, dev(np.array([0, 1, -1, 0])))
    # the first bad position is reported whatever the number of threads that see one
    t = np.zeros(1 << 20, np.int64)
    t[5000::7] = 99
    with pytest.raises(ValueError, match=r"target value 99 \(at flat index 5000\)"):
        F.cross_entropy(dev(np.ones((1 << 20, 3))), dev(t))


def test_cross_entropy_empty_batch():
    x, t = dev(np.zeros((0, 4))), dev(np.zeros(0, np.int64))
    assert F.cross_entropy(x, t, reduction="none").shape == (0,)
    assert host(F.cross_entropy(x, t, reduction="sum")) == 0
    assert F.cross_entropy_backward(dev(np.array(1.0)), x, t, reduction="sum").shape == (0, 4)


def test_cross_entropy_is_deterministic(rng):
    x = dev(rng.standard_normal((5000, 10)).astype(np.float32))
    t = dev(rng.integers(0, 10, 5000))
    a = host(F.cross_entropy(x, t))
    for _ in range(3):
        np.testing.assert_array_equal(host(F.cross_entropy(x, t)), a)


def test_cross_entropy_mixing_devices_raises(rng):
    x = rng.standard_normal((3, 4))
    t = np.array([0, 1, 2])
    with pytest.raises(ValueError, match="target"):
        F.cross_entropy(dev(x), t)
    with pytest.raises(ValueError, match="weight"):
        F.cross_entropy(dev(x), dev(t), weight=np.ones(4))


# --- mse_loss ---

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ("none", "mean", "sum"))
@pytest.mark.parametrize("shape", ((), (7,), (3, 5, 2, 3, 2), (40000,), (1 << 20,)))
def test_mse_matches_cpu_and_reference(rng, dtype, reduction, shape):
    x, t = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    loss = F.mse_loss(dev(x), dev(t), reduction)
    assert isinstance(loss, convcore.cuda.DeviceArray)
    expect = ref.mse(x, t, reduction)
    assert loss.shape == expect.shape and loss.dtype == dtype
    np.testing.assert_allclose(host(loss), F.mse_loss(x, t, reduction), **TOL[dtype])
    np.testing.assert_allclose(host(loss), expect, **TOL[dtype])
    g = rng.standard_normal(shape).astype(dtype) if reduction == "none" else np.array(0.7, dtype)
    gx = F.mse_loss_backward(dev(g), dev(x), dev(t), reduction)
    np.testing.assert_allclose(host(gx), F.mse_loss_backward(g, x, t, reduction), **TOL[dtype])


def test_mse_mixing_devices_raises(rng):
    x = rng.standard_normal((3, 4))
    with pytest.raises(ValueError, match="target"):
        F.mse_loss(dev(x), x)


# --- nn layers ---

def test_nn_losses_and_activations_on_device(rng):
    import convcore.nn as nn

    x = rng.standard_normal((8, 5)).astype(np.float32)
    t = rng.integers(0, 5, 8)
    ce = nn.CrossEntropyLoss()
    value = ce(dev(x), dev(t))
    cpu = nn.CrossEntropyLoss()
    np.testing.assert_allclose(value, cpu(x, t), rtol=1e-5)
    np.testing.assert_allclose(host(ce.backward()), cpu.backward(), rtol=1e-5, atol=1e-7)
    mse = nn.MSELoss(reduction="none")
    y = rng.standard_normal((8, 5)).astype(np.float32)
    np.testing.assert_allclose(host(mse(dev(x), dev(y))), (x - y) ** 2, rtol=1e-5)
    for layer in (nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.Softmax(1)):
        out = layer(dev(x))
        g = layer.backward(dev(np.ones_like(x)))
        ref_layer = type(layer)(1) if isinstance(layer, nn.Softmax) else type(layer)()
        np.testing.assert_allclose(host(out), ref_layer(x), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(host(g), ref_layer.backward(np.ones_like(x)), rtol=1e-4, atol=1e-6)
