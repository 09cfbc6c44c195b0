"""linear forward and backward on convcore's GEMM against float64 einsum
references, every ISA, finite differences, PyTorch parity and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

import ref_layers as ref
from reference import central_difference

import convcore.functional as F

DTYPES = (np.float32, np.float64)
# input shape, out_features: 1-D input, batches, leading axes, tails of every tile;
# up to 32 rows run as row dot products (several k-runs past 2048), more on the GEMM
CASES = (((7,), 4), ((5, 7), 4), ((2, 3, 33), 17), ((16, 300), 65), ((1, 2, 3, 4, 9), 3), ((7, 4500), 6),
         ((33, 50), 9), ((129, 8), 1))


def assert_gemm_close(got, expect, bound_terms, k, dtype):
    """The element-wise GEMM bound of TESTING.md: 8 sqrt(K) u |a||b|."""
    u = np.finfo(dtype).eps / 2
    bound = 8 * np.sqrt(max(k, 1)) * u * bound_terms + 1e-30
    assert (np.abs(got - expect) <= bound).all(), np.max(np.abs(got - expect) / bound)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,out_features", CASES)
@pytest.mark.parametrize("with_bias", (False, True))
def test_linear_matches_reference(isa, rng, dtype, shape, out_features, with_bias):
    k = shape[-1]
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((out_features, k)).astype(dtype)
    b = rng.standard_normal(out_features).astype(dtype) if with_bias else None
    x0, w0 = x.copy(), w.copy()
    y = F.linear(x, w, b)
    assert y.shape == shape[:-1] + (out_features,) and y.dtype == dtype
    abs_b = None if b is None else np.abs(b)
    assert_gemm_close(y, ref.linear(x, w, b), ref.linear(np.abs(x), np.abs(w), abs_b), k, dtype)
    g = rng.standard_normal(y.shape).astype(dtype)
    gx, gw, gb = F.linear_backward(g, x, w, b)
    rgx, rgw, rgb = ref.linear_grad(g, x, w)
    agx, agw, _ = ref.linear_grad(np.abs(g), np.abs(x), np.abs(w))
    rows = int(np.prod(shape[:-1]))
    assert gx.shape == x.shape and gw.shape == w.shape
    assert_gemm_close(gx, rgx, agx, out_features, dtype)
    assert_gemm_close(gw, rgw, agw, rows, dtype)
    if with_bias:
        assert gb.shape == (out_features,)
        assert_gemm_close(gb, rgb, np.abs(g).reshape(-1, out_features).sum(0), rows, dtype)
    else:
        assert gb is None
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


def test_linear_gradients_by_central_differences(rng):
    x, w, b = rng.standard_normal((2, 3, 5)), rng.standard_normal((4, 5)), rng.standard_normal(4)
    g = rng.standard_normal((2, 3, 4))
    gx, gw, gb = F.linear_backward(g, x, w, b)
    np.testing.assert_allclose(gx, central_difference(lambda v: float((F.linear(v, w, b) * g).sum()), x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gw, central_difference(lambda v: float((F.linear(x, v, b) * g).sum()), w), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gb, central_difference(lambda v: float((F.linear(x, w, v) * g).sum()), b), rtol=1e-6, atol=1e-8)


def test_linear_backward_needs(rng):
    x, w, b = rng.standard_normal((3, 5)), rng.standard_normal((4, 5)), rng.standard_normal(4)
    g = rng.standard_normal((3, 4))
    full = F.linear_backward(g, x, w, b)
    gx, gw, gb = F.linear_backward(g, x, w, b, needs=("weight",))
    assert gx is None and gb is None
    np.testing.assert_array_equal(gw, full[1])
    gx, gw, gb = F.linear_backward(g, x, w, b, needs=("input", "bias"))
    assert gw is None
    np.testing.assert_array_equal(gx, full[0])
    np.testing.assert_array_equal(gb, full[2])
    with pytest.raises(ValueError, match="needs must be a sequence of"):
        F.linear_backward(g, x, w, needs=("inputs",))


def test_linear_large_multithreaded(rng):
    x = rng.standard_normal((16, 1000)).astype(np.float32)
    w = rng.standard_normal((512, 1000)).astype(np.float32)
    b = rng.standard_normal(512).astype(np.float32)
    assert_gemm_close(F.linear(x, w, b), ref.linear(x, w, b), ref.linear(np.abs(x), np.abs(w), np.abs(b)), 1000,
                      np.float32)


def test_linear_out_and_empty(rng):
    x, w = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    out = np.empty((3, 4))
    assert F.linear(x, w, out=out) is out
    np.testing.assert_allclose(out, x @ w.T, rtol=1e-12)
    assert F.linear(np.zeros((0, 5)), w).shape == (0, 4)
    gx, gw, gb = F.linear_backward(np.zeros((0, 4)), np.zeros((0, 5)), w, np.ones(4))
    assert gx.shape == (0, 5)
    np.testing.assert_array_equal(gw, 0)
    np.testing.assert_array_equal(gb, 0)
    np.testing.assert_array_equal(F.linear(np.zeros((2, 0)), np.zeros((3, 0)), np.arange(3.0)), [[0, 1, 2]] * 2)


def test_linear_torch_parity(rng, torch):
    x = rng.standard_normal((16, 256)).astype(np.float32)
    w = rng.standard_normal((100, 256)).astype(np.float32)
    b = rng.standard_normal(100).astype(np.float32)
    tx, tw, tb = (torch.from_numpy(a.copy()).requires_grad_(True) for a in (x, w, b))
    ty = torch.nn.functional.linear(tx, tw, tb)
    g = rng.standard_normal(ty.shape).astype(np.float32)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(F.linear(x, w, b), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    for got, want in zip(F.linear_backward(g, x, w, b), (tx.grad, tw.grad, tb.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-4)


def test_linear_errors():
    x, w = np.ones((3, 5)), np.ones((4, 5))
    with pytest.raises(ValueError, match=r"input has shape \(3, 6\) but weight has shape \(4, 5\)"):
        F.linear(np.ones((3, 6)), w)
    with pytest.raises(ValueError, match=r"weight must be 2-D .* got shape \(5,\)"):
        F.linear(x, np.ones(5))
    with pytest.raises(ValueError, match=r"bias has shape \(3,\), expected \(4,\)"):
        F.linear(x, w, np.ones(3))
    with pytest.raises(TypeError, match="weight has dtype float32 but input has dtype float64|"
                                        "input has dtype float64 but weight has dtype float32"):
        F.linear(x, w.astype(np.float32))
    with pytest.raises(ValueError, match=r"grad_output has shape \(3, 3\) but the output has shape \(3, 4\)"):
        F.linear_backward(np.ones((3, 3)), x, w)
    with pytest.raises(ValueError, match=r"bias has shape \(2,\), expected \(4,\)"):
        F.linear_backward(np.ones((3, 4)), x, w, np.ones(2))
    with pytest.raises(TypeError, match="input has dtype int64"):
        F.linear(np.ones((3, 5), np.int64), w)
