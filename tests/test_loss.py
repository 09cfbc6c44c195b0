"""cross_entropy and mse_loss, forward and backward, against the float64
references of ref_layers.py (every ISA), finite differences, PyTorch parity
and the bad-input catalogue."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ref_layers as ref
from reference import central_difference

import convcore.functional as F

DTYPES = (np.float32, np.float64)
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
REDUCTIONS = ("none", "mean", "sum")
# logits shape, target shape: batched rows, wide rows (vector tails), dense, unbatched
CE_SHAPES = (((6, 5), (6,)), ((3, 37), (3,)), ((2, 4, 3, 5), (2, 3, 5)), ((2, 3, 1100), (2, 1100)),
             ((7,), ()))


def make_target(rng, shape, classes, ignore=None):
    t = rng.integers(0, classes, size=shape)
    if ignore is not None and t.ndim:
        t.reshape(-1)[:: 3] = ignore
    return t


def ce_grad_ref(g, x, t, **kw):
    """Central differences of <g, cross_entropy> in float64."""
    g = np.asarray(g, np.float64)
    return central_difference(lambda v: float((ref.cross_entropy(v, t, **kw) * g).sum()), x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", CE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", (False, True))
@pytest.mark.parametrize("smoothing", (0.0, 0.3))
def test_cross_entropy_matches_reference(isa, rng, dtype, shapes, reduction, weighted, smoothing):
    xs, ts = shapes
    c = xs[0] if len(xs) == 1 else xs[1]
    x = (rng.standard_normal(xs) * 3).astype(dtype)
    t = make_target(rng, ts, c, ignore=-100)
    w = rng.uniform(0.5, 2.0, c).astype(dtype) if weighted else None
    kw = dict(weight=w, reduction=reduction, label_smoothing=smoothing)
    x0 = x.copy()
    loss = F.cross_entropy(x, t, **kw)
    expect = ref.cross_entropy(x, t, **kw)
    assert loss.shape == expect.shape and loss.dtype == dtype
    np.testing.assert_allclose(loss, expect, **TOL[dtype])
    g = rng.standard_normal(expect.shape).astype(dtype) if reduction == "none" else np.array(1.7, dtype)
    gx = F.cross_entropy_backward(g, x, t, **kw)
    assert gx.shape == x.shape and gx.dtype == dtype
    if dtype == np.float64 and x.size <= 200:
        # central differences of a summed loss carry ~1e-16 * loss / 1e-6 of rounding
        np.testing.assert_allclose(gx, ce_grad_ref(g, x, t, **kw), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", (0.0, 0.2))
def test_cross_entropy_gradient_by_central_differences(rng, reduction, smoothing):
    x = rng.standard_normal((3, 4, 2, 2))
    t = make_target(rng, (3, 2, 2), 4, ignore=1)
    w = rng.uniform(0.5, 2.0, 4)
    kw = dict(weight=w, ignore_index=1, reduction=reduction, label_smoothing=smoothing)
    g = rng.standard_normal((3, 2, 2)) if reduction == "none" else np.array(0.8)
    fd = central_difference(lambda v: float((F.cross_entropy(v, t, **kw) * g).sum()), x)
    np.testing.assert_allclose(F.cross_entropy_backward(g, x, t, **kw), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("tdtype", (np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64))
def test_cross_entropy_any_integer_target(rng, tdtype):
    x = rng.standard_normal((5, 4))
    t = rng.integers(0, 4, 5)
    np.testing.assert_allclose(F.cross_entropy(x, t.astype(tdtype)), ref.cross_entropy(x, t), rtol=1e-12)


def test_cross_entropy_is_stable_for_huge_logits():
    x = np.array([[1e4, 1e4 - 1, -1e4]], np.float32)
    np.testing.assert_allclose(F.cross_entropy(x, np.array([1])), 1 + np.log1p(np.exp(-1)), rtol=1e-6)
    gx = F.cross_entropy_backward(np.array(1.0, np.float32), x, np.array([1]))
    p = 1 / (1 + np.exp(-1))
    np.testing.assert_allclose(gx, [[p, (1 - p) - 1, 0]], rtol=1e-6, atol=1e-7)


def test_cross_entropy_all_ignored_mean_is_nan_and_gradient_zero():
    x = np.ones((2, 3))
    t = np.array([-100, -100])
    assert np.isnan(F.cross_entropy(x, t))
    np.testing.assert_array_equal(F.cross_entropy_backward(np.array(1.0), x, t), 0.0)
    assert F.cross_entropy(x, t, reduction="sum") == 0


def test_cross_entropy_errors():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"target value 3 .*out of range for 3 classes"):
        F.cross_entropy(x, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"target value -1 "):
        F.cross_entropy_backward(np.array(1.0), x, np.array([-1, 0]))
    with pytest.raises(TypeError, match="target has dtype float64; expected an integer dtype"):
        F.cross_entropy(x, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"target has shape \(3,\), expected \(2,\) for input of shape \(2, 3\)"):
        F.cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"weight has shape \(2,\), expected \(3,\)"):
        F.cross_entropy(x, np.array([0, 1]), weight=np.ones(2))
    with pytest.raises(ValueError, match="reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        F.cross_entropy(x, np.array([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        F.cross_entropy(x, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(TypeError, match="weight has dtype float32 but input has dtype float64|"
                                        "input has dtype float64 but weight has dtype float32"):
        F.cross_entropy(x, np.array([0, 1]), weight=np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"grad_output has shape \(3,\), expected the loss's shape \(2,\)"):
        F.cross_entropy_backward(np.ones(3), x, np.array([0, 1]), reduction="none")
    with pytest.raises(ValueError, match=r"0-d target"):
        F.cross_entropy(np.ones(3), np.array([1]))


def test_cross_entropy_empty_batch():
    x = np.zeros((0, 4))
    t = np.zeros(0, np.int64)
    assert F.cross_entropy(x, t, reduction="none").shape == (0,)
    assert F.cross_entropy(x, t, reduction="sum") == 0
    assert F.cross_entropy_backward(np.array(1.0), x, t, reduction="sum").shape == (0, 4)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 9), rest=st.lists(st.integers(1, 5), max_size=2),
       reduction=st.sampled_from(REDUCTIONS), smoothing=st.sampled_from((0.0, 0.1, 1.0)),
       ignore=st.sampled_from((-100, 0)), weighted=st.booleans())
def test_cross_entropy_random(n, c, rest, reduction, smoothing, ignore, weighted):
    rng = np.random.default_rng(n * 131 + c * 17 + len(rest))
    x = rng.standard_normal((n, c, *rest))
    t = rng.integers(0, c, (n, *rest))
    w = rng.uniform(0.1, 3, c) if weighted else None
    kw = dict(weight=w, ignore_index=ignore, reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(F.cross_entropy(x, t, **kw), ref.cross_entropy(x, t, **kw), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", (0.0, 0.25))
def test_cross_entropy_torch_parity(rng, torch, reduction, smoothing):
    x = rng.standard_normal((4, 21, 6, 5)).astype(np.float32) * 3
    t = make_target(rng, (4, 6, 5), 21, ignore=-100)
    w = rng.uniform(0.5, 2, 21).astype(np.float32)
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    tl = torch.nn.functional.cross_entropy(tx, torch.from_numpy(t), torch.from_numpy(w), reduction=reduction,
                                           label_smoothing=smoothing)
    g = rng.standard_normal(tl.shape).astype(np.float32)
    tl.backward(torch.from_numpy(g))
    kw = dict(weight=w, reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(F.cross_entropy(x, t, **kw), tl.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(F.cross_entropy_backward(g, x, t, **kw), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


# --- mse_loss ---

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", ((), (7,), (3, 5, 2, 3, 2), (40000,)))
def test_mse_matches_reference(isa, rng, dtype, reduction, shape):
    x, t = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    loss = F.mse_loss(x, t, reduction)
    expect = ref.mse(x, t, reduction)
    assert loss.shape == expect.shape and loss.dtype == dtype
    np.testing.assert_allclose(loss, expect, **TOL[dtype])
    g = rng.standard_normal(shape).astype(dtype) if reduction == "none" else np.array(0.7, dtype)
    gx = F.mse_loss_backward(g, x, t, reduction)
    scale = {"none": 1.0, "sum": 1.0, "mean": 1.0 / max(x.size, 1)}[reduction]
    np.testing.assert_allclose(gx, 2 * scale * (x.astype(np.float64) - t) * g, **TOL[dtype])


def test_mse_gradient_by_central_differences(rng):
    x, t = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for reduction in REDUCTIONS:
        g = rng.standard_normal((3, 4)) if reduction == "none" else np.array(1.3)
        fd = central_difference(lambda v, g=g, r=reduction: float((F.mse_loss(v, t, r) * g).sum()), x)
        np.testing.assert_allclose(F.mse_loss_backward(g, x, t, reduction), fd, rtol=1e-6, atol=1e-8)


def test_mse_torch_parity(rng, torch):
    x, t = rng.standard_normal((8, 100)).astype(np.float32), rng.standard_normal((8, 100)).astype(np.float32)
    np.testing.assert_allclose(F.mse_loss(x, t), torch.nn.functional.mse_loss(torch.from_numpy(x), torch.from_numpy(t)).numpy(),
                               rtol=1e-5)


def test_mse_errors():
    with pytest.raises(ValueError, match=r"input has shape \(2, 3\) but target has shape \(3, 2\)"):
        F.mse_loss(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(TypeError, match="target has dtype float32 but input has dtype float64|"
                                        "input has dtype float64 but target has dtype float32"):
        F.mse_loss(np.ones(3), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="reduction must be 'none', 'mean' or 'sum', got 'max'"):
        F.mse_loss(np.ones(3), np.ones(3), "max")
    with pytest.raises(ValueError, match=r"grad_output has shape \(2,\) but input has shape \(3,\)"):
        F.mse_loss_backward(np.ones(2), np.ones(3), np.ones(3), "none")
    with pytest.raises(ValueError, match=r"grad_output has 3 elements, expected 1"):
        F.mse_loss_backward(np.ones(3), np.ones(3), np.ones(3), "mean")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("fmt,perm", (("NHWC", (0, 2, 3, 1)), ("NLC", (0, 2, 1))))
def test_cross_entropy_channels_last(rng, reduction, fmt, perm):
    shape = (2, 5, 3, 4) if fmt == "NHWC" else (2, 5, 7)
    x = rng.standard_normal(shape)
    t = make_target(rng, (shape[0],) + shape[2:], 5, ignore=-100)
    w = rng.uniform(0.5, 2, 5)
    kw = dict(weight=w, reduction=reduction, label_smoothing=0.1)
    xl = np.ascontiguousarray(x.transpose(perm))
    np.testing.assert_allclose(F.cross_entropy(xl, t, **kw, data_format=fmt), F.cross_entropy(x, t, **kw),
                               rtol=1e-12)
    g = rng.standard_normal(t.shape) if reduction == "none" else np.array(1.1)
    np.testing.assert_allclose(F.cross_entropy_backward(g, xl, t, **kw, data_format=fmt),
                               F.cross_entropy_backward(g, x, t, **kw).transpose(perm), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match=r"expected \(2, 5, 3\) for channels-last input|"
                                         r"expected \(2, 5\) for channels-last input"):
        F.cross_entropy(x, t, data_format=fmt)
    with pytest.raises(ValueError, match="data_format must be one of"):
        F.cross_entropy(x, t, data_format="NWC")
