"""linear and dropout on the GPU: linear against the CPU backend and the float64
einsum references (fp32 math mode); dropout masks equal to the CPU's bit for
bit for the same seed, forward and backward; mixing host and device arrays."""

from __future__ import annotations

import numpy as np
import pytest

import convcore
import convcore.cuda as cc
import convcore.functional as F
import ref_layers as ref

pytestmark = pytest.mark.skipif(not convcore.cuda.is_available(), reason="needs a CUDA device")

DTYPES = (np.float32, np.float64)
CASES = (((7,), 4), ((5, 7), 4), ((2, 3, 33), 17), ((16, 300), 65), ((1, 2, 3, 4, 9), 3),
         ((7, 4500), 6), ((33, 50), 9), ((129, 8), 1), ((300, 257), 130))


@pytest.fixture(autouse=True)
def fp32_math():
    before = cc.get_math_mode()
    cc.set_math_mode("fp32")
    yield
    cc.set_math_mode(before)


def dev(a):
    return None if a is None else cc.asarray(a)


def host(a):
    assert isinstance(a, cc.DeviceArray), type(a)
    return a.numpy()


def assert_gemm_close(got, expect, bound_terms, k, dtype):
    """The element-wise GEMM bound of TESTING.md, 8 sqrt(K) u |a||b|, with some room
    for a different summation order on each side."""
    u = np.finfo(dtype).eps / 2
    bound = 16 * np.sqrt(max(k, 1)) * u * bound_terms + 1e-30
    assert (np.abs(got - expect) <= bound).all(), np.max(np.abs(got - expect) / bound)


# ============================================================================ linear


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,out_features", CASES)
@pytest.mark.parametrize("with_bias", (False, True))
def test_linear_matches_cpu_and_reference(rng, dtype, shape, out_features, with_bias):
    k = shape[-1]
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((out_features, k)).astype(dtype)
    b = rng.standard_normal(out_features).astype(dtype) if with_bias else None
    y = F.linear(dev(x), dev(w), dev(b))
    assert isinstance(y, cc.DeviceArray)
    assert y.shape == shape[:-1] + (out_features,) and y.dtype == dtype
    abs_b = None if b is None else np.abs(b)
    bound = ref.linear(np.abs(x), np.abs(w), abs_b)
    assert_gemm_close(host(y), ref.linear(x, w, b), bound, k, dtype)
    assert_gemm_close(host(y), F.linear(x, w, b), bound, k, dtype)
    g = rng.standard_normal(y.shape).astype(dtype)
    gx, gw, gb = F.linear_backward(dev(g), dev(x), dev(w), dev(b))
    cgx, cgw, cgb = F.linear_backward(g, x, w, b)
    rgx, rgw, rgb = ref.linear_grad(g, x, w)
    agx, agw, _ = ref.linear_grad(np.abs(g), np.abs(x), np.abs(w))
    rows = int(np.prod(shape[:-1]))
    assert gx.shape == x.shape and gw.shape == w.shape
    assert_gemm_close(host(gx), rgx, agx, out_features, dtype)
    assert_gemm_close(host(gw), rgw, agw, rows, dtype)
    assert_gemm_close(gx.numpy(), cgx, agx, out_features, dtype)
    assert_gemm_close(gw.numpy(), cgw, agw, rows, dtype)
    if with_bias:
        assert gb.shape == (out_features,)
        # the same additions in the same order as the CPU's column sums
        np.testing.assert_array_equal(host(gb), cgb)
        assert_gemm_close(gb.numpy(), rgb, np.abs(g).reshape(-1, out_features).sum(0), rows, dtype)
    else:
        assert gb is None


@pytest.mark.parametrize("needs", [("input",), ("weight",), ("bias",), ()])
def test_linear_backward_needs(rng, needs):
    x, w, b = rng.standard_normal((6, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    g = rng.standard_normal((6, 3))
    got = F.linear_backward(dev(g), dev(x), dev(w), dev(b), needs=needs)
    want = F.linear_backward(g, x, w, b, needs=needs)
    for a, c in zip(got, want):
        assert (a is None) == (c is None)
        if c is not None:
            np.testing.assert_allclose(host(a), c, rtol=1e-12, atol=1e-12)


def test_linear_empty_and_out(rng):
    w = rng.standard_normal((4, 0)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    x = np.zeros((3, 0), np.float32)
    np.testing.assert_array_equal(host(F.linear(dev(x), dev(w), dev(b))), np.tile(b, (3, 1)))
    np.testing.assert_array_equal(host(F.linear(dev(x), dev(w))), np.zeros((3, 4), np.float32))
    gx, gw, gb = F.linear_backward(dev(np.ones((3, 4), np.float32)), dev(x), dev(w), dev(b))
    assert gx.shape == (3, 0) and gw.shape == (4, 0)
    np.testing.assert_array_equal(gb.numpy(), np.full(4, 3, np.float32))
    x2, w2 = rng.standard_normal((0, 5)), rng.standard_normal((2, 5))
    gx, gw, gb = F.linear_backward(dev(np.zeros((0, 2))), dev(x2), dev(w2), dev(np.ones(2)))
    np.testing.assert_array_equal(gw.numpy(), np.zeros((2, 5)))
    np.testing.assert_array_equal(gb.numpy(), np.zeros(2))
    x3 = rng.standard_normal((5, 7)).astype(np.float32)
    w3 = rng.standard_normal((3, 7)).astype(np.float32)
    out = cc.empty((5, 3), np.float32)
    assert F.linear(dev(x3), dev(w3), out=out) is out
    np.testing.assert_allclose(out.numpy(), F.linear(x3, w3), rtol=1e-4, atol=1e-4)


def test_linear_mixing_devices_raises(rng):
    x, w, b = rng.standard_normal((6, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
    with pytest.raises(ValueError, match="weight"):
        F.linear(dev(x), w)
    with pytest.raises(ValueError, match="bias"):
        F.linear(dev(x), dev(w), b)
    with pytest.raises(ValueError, match="grad_output|input"):
        F.linear_backward(np.ones((6, 3)), dev(x), dev(w))


# ============================================================================ dropout


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", (0.0, 0.1, 0.5, 0.9, 1.0))
@pytest.mark.parametrize("shape", [(1,), (7,), (64, 65), (3, 5, 7, 9), (2, 3, 4, 5, 6), (200_001,)])
def test_dropout_mask_equals_cpu(rng, dtype, p, shape):
    x = rng.uniform(0.5, 1.5, shape).astype(dtype)
    seed = int(rng.integers(0, 2**63))
    y_cpu, m_cpu = F.dropout(x, p, seed=seed, return_mask=True)
    y, m = F.dropout(dev(x), p, seed=seed, return_mask=True)
    assert isinstance(y, cc.DeviceArray) and isinstance(m, cc.DeviceArray)
    assert m.dtype == np.bool_ and m.shape == x.shape and y.shape == x.shape
    np.testing.assert_array_equal(host(m), m_cpu)
    np.testing.assert_array_equal(host(y), y_cpu)  # the same product x * scale
    g = rng.standard_normal(shape).astype(dtype)
    want = F.dropout_backward(g, x, p, mask=m_cpu)
    np.testing.assert_array_equal(host(F.dropout_backward(dev(g), dev(x), p, mask=m)), want)
    np.testing.assert_array_equal(host(F.dropout_backward(dev(g), dev(x), p, seed=seed)), want)


def test_dropout_seed_reproduces_and_differs():
    x = dev(np.ones((64, 65), np.float32))
    a = F.dropout(x, 0.5, seed=1).numpy()
    np.testing.assert_array_equal(a, F.dropout(x, 0.5, seed=1).numpy())
    assert not np.array_equal(a, F.dropout(x, 0.5, seed=2).numpy())


def test_dropout_eval_inplace_out_and_empty(rng):
    x = rng.standard_normal((5, 6)).astype(np.float32)
    y, m = F.dropout(dev(x), 0.5, training=False, return_mask=True)
    np.testing.assert_array_equal(host(y), x)
    assert m.numpy().all()
    xd = dev(x)
    r = F.dropout(xd, 0.5, inplace=True, seed=5)
    assert r is xd
    np.testing.assert_array_equal(xd.numpy(), F.dropout(x, 0.5, seed=5))
    out = cc.empty(x.shape, np.float32)
    assert F.dropout(dev(x), 0.3, seed=9, out=out) is out
    np.testing.assert_array_equal(out.numpy(), F.dropout(x, 0.3, seed=9))
    e = F.dropout(dev(np.zeros((0, 3), np.float32)), 0.5, seed=1)
    assert e.shape == (0, 3)
    g = rng.standard_normal((5, 6)).astype(np.float32)
    np.testing.assert_array_equal(host(F.dropout_backward(dev(g), dev(x), 0.5, training=False)), g)


def test_dropout_mixing_devices_raises(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    m = np.ones((4, 5), bool)
    with pytest.raises(ValueError, match="mask"):
        F.dropout_backward(dev(x), dev(x), 0.5, mask=m)
    with pytest.raises(ValueError, match="out"):
        F.dropout(dev(x), 0.5, seed=1, out=np.empty_like(x))
