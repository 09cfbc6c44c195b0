"""Activations and softmax / log_softmax, forward and backward, against the
float64 references of ref_layers.py, every ISA, with finite-difference
gradient checks, PyTorch parity and the bad-input catalogue."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ref_layers as ref
from reference import central_difference

import convcore.functional as F

DTYPES = (np.float32, np.float64)
# float32: a few ulp of the value (the vector exp / log are accurate to ~1-2 ulp)
TOL = {np.float32: dict(rtol=4e-6, atol=1e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}
ACTS = ("relu", "leaky_relu", "elu", "sigmoid", "tanh")
PARAM = {"leaky_relu": 0.1, "elu": 1.5}
# sizes with vector tails, and one past the elementwise chunk (threads)
SHAPES = ((), (1,), (7,), (3, 5, 17), (2, 3, 4, 5, 6), (40000,))


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


@pytest.mark.parametrize("name", ACTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_activation_matches_reference(isa, rng, name, dtype, shape):
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    x0, g0 = x.copy(), g.copy()
    y = call_fwd(name, x)
    assert y.shape == x.shape and y.dtype == dtype
    np.testing.assert_allclose(y, ref_fwd(name, x), **TOL[dtype])
    gx = call_bwd(name, g, x)
    assert gx.shape == x.shape and gx.dtype == dtype
    np.testing.assert_allclose(gx, ref_bwd(name, g, x), **TOL[dtype])
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("name", ("elu", "sigmoid", "tanh"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_transcendental_accuracy_over_the_whole_range(isa, name, dtype):
    # every exponent range, denormal-producing and saturating inputs, +-inf, NaN
    x = np.concatenate([np.linspace(-120, 120, 20001), np.geomspace(1e-30, 50, 5000),
                        -np.geomspace(1e-30, 50, 5000), [0.0, -0.0, np.inf, -np.inf, np.nan]]).astype(dtype)
    y = call_fwd(name, x)
    r = ref_fwd(name, x.astype(np.float64))
    finite = np.isfinite(r)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(r))
    np.testing.assert_array_equal(y[np.isinf(r)], r[np.isinf(r)])
    tiny = np.finfo(dtype).tiny  # results below the normal range may flush to 0
    ulps = 4 if dtype == np.float32 else 8
    excess = np.abs(y[finite] - r[finite]) - ulps * np.finfo(dtype).eps * np.abs(r[finite])
    assert excess.max() <= tiny, excess.max()


def test_gradients_at_kinks_are_the_left_derivative():
    x = np.zeros(5)
    g = np.full(5, 3.0)
    np.testing.assert_array_equal(F.relu_backward(g, x), 0.0)
    np.testing.assert_array_equal(F.leaky_relu_backward(g, x, 0.25), 0.75)
    np.testing.assert_array_equal(F.elu_backward(g, x, 2.0), 6.0)


def test_relu_keeps_nan():
    y = F.relu(np.array([np.nan, -1.0, 2.0], np.float32))
    assert np.isnan(y[0]) and y[1] == 0 and y[2] == 2


@pytest.mark.parametrize("name", ACTS)
def test_activation_gradient_by_central_differences(rng, name):
    x = rng.standard_normal((3, 7)) * 2
    x[np.abs(x) < 1e-3] = 0.5  # keep off the kinks
    g = rng.standard_normal(x.shape)
    fd = central_difference(lambda v: float((call_fwd(name, v) * g).sum()), x)
    np.testing.assert_allclose(call_bwd(name, g, x), fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ("sigmoid", "tanh"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_from_saved_output(rng, name, dtype):
    x = rng.standard_normal((4, 33)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    y = call_fwd(name, x)
    # from the rounded output, 1 - t^2 and s (1 - s) lose up to ~2 ulp of 1 (as PyTorch)
    err = np.abs(call_bwd(name, g, x, output=y) - ref_bwd(name, g, x))
    assert (err <= 4 * np.finfo(dtype).eps * np.abs(g) + 1e-300).all()


@pytest.mark.parametrize("name", ("relu", "leaky_relu", "elu"))
def test_inplace_writes_into_input(rng, name):
    x = rng.standard_normal((5, 9)).astype(np.float32)
    expect = call_fwd(name, x)
    y = call_fwd(name, x, inplace=True)
    assert y is x
    np.testing.assert_array_equal(x, expect)


@pytest.mark.parametrize("name", ("relu", "leaky_relu", "elu"))
def test_inplace_rejects_what_it_cannot_write(name):
    x = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="writeable C-contiguous"):
        call_fwd(name, x[:, ::2], inplace=True)
    ro = x.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable C-contiguous"):
        call_fwd(name, ro, inplace=True)
    with pytest.raises(TypeError, match="int64"):
        call_fwd(name, np.ones(3, np.int64), inplace=True)


@pytest.mark.parametrize("name", ACTS)
def test_out_and_non_contiguous(rng, name):
    x = rng.standard_normal((6, 10))
    xs = x[:, ::2]
    out = np.empty((6, 5))
    y = call_fwd(name, xs, out=out)
    assert y is out
    np.testing.assert_allclose(out, ref_fwd(name, xs), **TOL[np.float64])
    gout = np.empty((6, 5))
    assert call_bwd(name, np.ones((6, 5)), xs, out=gout) is gout


def test_activation_errors():
    x32, x64 = np.ones((2, 3), np.float32), np.ones((2, 3))
    with pytest.raises(TypeError, match="input has dtype int32"):
        F.relu(np.ones(3, np.int32))
    with pytest.raises(TypeError, match="grad_output has dtype float32 but input has dtype float64|"
                                        "input has dtype float64 but grad_output has dtype float32"):
        F.relu_backward(x32, x64)
    with pytest.raises(ValueError, match=r"grad_output has shape \(2, 3\) but input has shape \(3, 2\)"):
        F.tanh_backward(x64, np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"out \(output\) has shape \(3,\), expected \(2, 3\)"):
        F.sigmoid(x64, out=np.empty(3))
    with pytest.raises(TypeError, match="out \\(output\\) has dtype float32, expected float64"):
        F.sigmoid(x64, out=np.empty((2, 3), np.float32))


# --- softmax / log_softmax ---

SOFTMAX_CASES = (((), 0), ((5,), 0), ((5,), -1), ((4, 1000), 1), ((3, 21, 17, 19), 1), ((2, 3, 4, 5), -2),
                 ((2, 3, 4, 5, 6), 2), ((2, 21, 1500), 1), ((1, 5, 300), 0), ((7, 1), 1))


@pytest.mark.parametrize("log", (False, True))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax_matches_reference(isa, rng, log, dtype, shape, dim):
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    x0 = x.copy()
    fwd, bwd = (F.log_softmax, F.log_softmax_backward) if log else (F.softmax, F.softmax_backward)
    rfwd, rbwd = (ref.log_softmax, ref.log_softmax_grad) if log else (ref.softmax, ref.softmax_grad)
    rdim = dim if x.ndim else None
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    y = fwd(x, dim)
    assert y.shape == x.shape and y.dtype == dtype
    np.testing.assert_allclose(y, rfwd(x, rdim), **tol)
    np.testing.assert_allclose(bwd(g, x, dim), rbwd(g, x, rdim), **tol)
    np.testing.assert_allclose(bwd(g, x, dim, output=y), rbwd(g, x, rdim), **tol)
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_is_stable_for_huge_logits(isa, dtype):
    x = np.array([[1e4, 1e4 - 1, -1e4], [-1e30, -1e30, -1e30]], dtype)
    y = F.softmax(x, 1)
    np.testing.assert_allclose(y, [[1 / (1 + np.exp(-1)), np.exp(-1) / (1 + np.exp(-1)), 0], [1 / 3] * 3],
                               rtol=1e-6)
    np.testing.assert_allclose(F.log_softmax(x, 1)[0, :2], [-np.log1p(np.exp(-1)), -1 - np.log1p(np.exp(-1))],
                               rtol=1e-6)
    assert np.isneginf(F.log_softmax(np.array([0.0, -np.inf], dtype), 0)[1])


@pytest.mark.parametrize("log", (False, True))
def test_softmax_gradient_by_central_differences(rng, log):
    x = rng.standard_normal((2, 4, 3))
    g = rng.standard_normal(x.shape)
    fwd, bwd = (F.log_softmax, F.log_softmax_backward) if log else (F.softmax, F.softmax_backward)
    fd = central_difference(lambda v: float((fwd(v, 1) * g).sum()), x)
    np.testing.assert_allclose(bwd(g, x, 1), fd, rtol=1e-6, atol=1e-8)


def test_softmax_out(rng):
    x = rng.standard_normal((3, 8))
    out = np.empty_like(x)
    assert F.softmax(x, -1, out=out) is out
    np.testing.assert_allclose(out, ref.softmax(x, -1), rtol=1e-12)
    gout = np.empty_like(x)
    assert F.log_softmax_backward(x, x, 0, out=gout) is gout


def test_softmax_errors():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"dim 2 is out of range .*shape \(2, 3\)"):
        F.softmax(x, 2)
    with pytest.raises(ValueError, match=r"dim -3 is out of range"):
        F.log_softmax(x, -3)
    with pytest.raises(TypeError, match="dim must be an int"):
        F.softmax(x, None)
    with pytest.raises(TypeError):
        F.softmax(x)  # dim is required
    with pytest.raises(ValueError, match=r"output has shape \(2, 2\) but input has shape \(2, 3\)"):
        F.softmax_backward(x, x, 1, output=np.ones((2, 2)))


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=4), data=st.data(),
       log=st.booleans(), f32=st.booleans())
def test_softmax_random_shapes(shape, data, log, f32):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    dtype = np.float32 if f32 else np.float64
    x = np.random.default_rng(len(shape) * 7 + dim).standard_normal(shape).astype(dtype) * 3
    tol = dict(rtol=2e-5, atol=2e-6) if f32 else dict(rtol=1e-12, atol=1e-13)
    fwd, rfwd = (F.log_softmax, ref.log_softmax) if log else (F.softmax, ref.softmax)
    np.testing.assert_allclose(fwd(x, dim), rfwd(x, dim), **tol)


@pytest.mark.parametrize("name", ACTS)
def test_activation_torch_parity(rng, torch, name):
    x = rng.standard_normal((4, 64, 9)).astype(np.float32) * 3
    g = rng.standard_normal(x.shape).astype(np.float32)
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    kw = {"leaky_relu": {"negative_slope": PARAM["leaky_relu"]}, "elu": {"alpha": PARAM["elu"]}}.get(name, {})
    ty = getattr(torch.nn.functional, name)(tx, **kw) if name not in ("sigmoid", "tanh") else getattr(torch, name)(tx)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(call_fwd(name, x), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(call_bwd(name, g, x), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("log", (False, True))
def test_softmax_torch_parity(rng, torch, log):
    x = rng.standard_normal((2, 21, 7, 9)).astype(np.float32) * 4
    g = rng.standard_normal(x.shape).astype(np.float32)
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    ty = (torch.log_softmax if log else torch.softmax)(tx, 1)
    ty.backward(torch.from_numpy(g))
    fwd, bwd = (F.log_softmax, F.log_softmax_backward) if log else (F.softmax, F.softmax_backward)
    np.testing.assert_allclose(fwd(x, 1), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bwd(g, x, 1), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_empty_arrays():
    x = np.zeros((0, 5), np.float32)
    assert F.relu(x).shape == (0, 5)
    assert F.softmax(x, 1).shape == (0, 5)
    assert F.softmax(np.zeros((3, 0)), 1).shape == (3, 0)
    assert F.tanh_backward(x, x).shape == (0, 5)


@pytest.mark.parametrize("dim", (0, 1))
def test_nan_propagates_through_softmax(isa, dim):
    x = np.ones((18, 18), np.float32)
    x[3, 3] = np.nan
    for fn in (F.softmax, F.log_softmax):
        y = fn(x, dim)
        bad = np.zeros((18, 18), bool)
        if dim == 1:
            bad[3, :] = True
        else:
            bad[:, 3] = True
        assert np.isnan(y[bad]).all() and not np.isnan(y[~bad]).any()


def test_nan_and_inf_through_activations(isa):
    x = np.array([np.nan, np.inf, -np.inf], np.float32)
    np.testing.assert_array_equal(F.sigmoid(x), [np.nan, 1, 0])
    np.testing.assert_array_equal(F.tanh(x), [np.nan, 1, -1])
    np.testing.assert_array_equal(F.elu(x), [np.nan, np.inf, -1])
    np.testing.assert_array_equal(F.leaky_relu(x, 0.5), [np.nan, np.inf, -np.inf])


def test_core_takes_arrays_only():
    # the bindings take NumPy arrays or DeviceArrays (no implicit conversion there)
    from convcore import _C

    with pytest.raises(TypeError, match="relu: input must be a numpy.ndarray or a convcore DeviceArray, got list"):
        _C.relu([1.0])
    with pytest.raises(TypeError, match="softmax_backward: grad_output must be a numpy.ndarray"):
        _C.softmax_backward([1.0], np.ones(1), 0)
    with pytest.raises(TypeError, match="cross_entropy: target must be a numpy.ndarray"):
        _C.cross_entropy(np.ones((2, 3)), [0, 1], None, -100, "mean", 0.0)
    with pytest.raises(TypeError, match="mse_loss: target must be a numpy.ndarray"):
        _C.mse_loss(np.ones(2), [1.0, 2.0], "mean")
    with pytest.raises(TypeError, match="inplace=True needs a numpy.ndarray or DeviceArray input, got list"):
        F.relu([1.0], inplace=True)
