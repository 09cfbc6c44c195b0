"""dropout: statistics of the mask, inverted scaling, reproducibility (seeds,
the global generator, thread counts), the backward pass and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

import convcore
import convcore.functional as F
from conftest import run_isolated

DTYPES = (np.float32, np.float64)


def binomial_bound(n: int, q: float) -> float:
    return 6 * np.sqrt(n * q * (1 - q)) + 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", (0.1, 0.5, 0.9))
def test_keep_rate_and_scaling(isa, rng, dtype, p):
    x = rng.uniform(0.5, 1.5, 200_001).astype(dtype)
    y, mask = F.dropout(x, p, seed=1234, return_mask=True)
    assert y.dtype == dtype and mask.dtype == np.bool_ and mask.shape == x.shape
    kept = int(mask.sum())
    assert abs(kept - x.size * (1 - p)) <= binomial_bound(x.size, 1 - p)
    scale = dtype(1.0 / (1.0 - p))
    np.testing.assert_array_equal(y, np.where(mask, x * scale, 0))
    # E[output] = input: the mean of y / x over the elements is 1 within the sampling error
    ratio = (y / x).astype(np.float64)
    assert abs(ratio.mean() - 1) <= 6 * ratio.std() / np.sqrt(x.size)


def test_adjacent_elements_are_independent():
    mask = F.dropout(np.ones(400_000, np.float32), 0.5, seed=7, return_mask=True)[1]
    pairs = mask[0::2] & mask[1::2]
    assert abs(pairs.sum() - pairs.size * 0.25) <= binomial_bound(pairs.size, 0.25)
    lag = mask[:-3] & mask[3:]
    assert abs(lag.sum() - lag.size * 0.25) <= binomial_bound(lag.size, 0.25)


def test_seeds_reproduce_and_differ():
    x = np.ones((64, 65), np.float32)
    a = F.dropout(x, 0.5, seed=1)
    np.testing.assert_array_equal(a, F.dropout(x, 0.5, seed=1))
    assert not np.array_equal(a, F.dropout(x, 0.5, seed=2))


def test_manual_seed_gives_reproducible_sequences():
    x = np.ones(1000)
    F.manual_seed(3)
    a, b = F.dropout(x), F.dropout(x)
    assert not np.array_equal(a, b)
    F.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x), a)
    np.testing.assert_array_equal(F.dropout(x), b)


def test_mask_is_independent_of_thread_count(request):
    if run_isolated(request):
        return
    x = np.ones(300_001, np.float32)
    masks = []
    for threads in (1, 2, 3):
        convcore.set_num_threads(threads)
        masks.append(F.dropout(x, 0.3, seed=99, return_mask=True)[1])
    np.testing.assert_array_equal(masks[0], masks[1])
    np.testing.assert_array_equal(masks[0], masks[2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_from_mask_or_seed(isa, rng, dtype):
    x = rng.standard_normal((3, 50, 7)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    _, mask = F.dropout(x, 0.4, seed=5, return_mask=True)
    expect = np.where(mask, g * dtype(1 / 0.6), 0)
    np.testing.assert_array_equal(F.dropout_backward(g, x, 0.4, mask=mask), expect)
    np.testing.assert_array_equal(F.dropout_backward(g, x, 0.4, seed=5), expect)


def test_gradient_is_the_forwards_linear_map(rng):
    # dropout with a fixed mask is linear: <dropout(x), g> = <x, dropout_backward(g)>
    x, g = rng.standard_normal(999), rng.standard_normal(999)
    y = F.dropout(x, 0.25, seed=11)
    gx = F.dropout_backward(g, x, 0.25, seed=11)
    assert abs(np.dot(y, g) - np.dot(x, gx)) <= 1e-12 * np.abs(y * g).sum()


def test_identity_and_extremes(rng):
    x = rng.standard_normal((4, 5))
    for y in (F.dropout(x, 0.5, training=False), F.dropout(x, 0.0, seed=1)):
        assert y is not x
        np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(F.dropout(x, 1.0, seed=1), 0.0)
    y, mask = F.dropout(x, 0.5, training=False, return_mask=True)
    assert mask.all()
    np.testing.assert_array_equal(F.dropout_backward(x, x, 0.5, training=False), x)
    np.testing.assert_array_equal(F.dropout_backward(x, x, 1.0, seed=3), 0.0)


def test_inplace_and_out(rng):
    x = rng.standard_normal(100)
    expect = F.dropout(x, 0.5, seed=8)
    z = x.copy()
    assert F.dropout(z, 0.5, seed=8, inplace=True) is z
    np.testing.assert_array_equal(z, expect)
    out = np.empty(100)
    assert F.dropout(x, 0.5, seed=8, out=out) is out
    np.testing.assert_array_equal(out, expect)
    x0 = x.copy()
    F.dropout(x, 0.5)
    np.testing.assert_array_equal(x, x0)


def test_empty_and_any_rank():
    assert F.dropout(np.zeros((0, 3)), 0.5).shape == (0, 3)
    assert F.dropout(np.ones((2, 3, 4, 5, 6)), 0.5, seed=1).shape == (2, 3, 4, 5, 6)


def test_dropout_errors():
    x = np.ones(4)
    for p in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got"):
            F.dropout(x, p)
        with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got"):
            F.dropout_backward(x, x, p, seed=1)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 2"):
        F.dropout(x, 2.0, training=False)
    with pytest.raises(ValueError, match="needs the forward's mask="):
        F.dropout_backward(x, x, 0.5)
    with pytest.raises(TypeError, match="mask has dtype float64; expected bool"):
        F.dropout_backward(x, x, 0.5, mask=np.ones(4))
    with pytest.raises(ValueError, match=r"mask has shape \(3,\) but grad_output has shape \(4,\)"):
        F.dropout_backward(x, x, 0.5, mask=np.ones(3, bool))
    with pytest.raises(TypeError, match="input has dtype int64"):
        F.dropout(np.ones(3, np.int64))
    with pytest.raises(ValueError, match="writeable C-contiguous"):
        F.dropout(np.ones((4, 4))[:, ::2], inplace=True)
    with pytest.raises(TypeError, match="seed must be an int"):
        F.dropout(x, seed=1.5)


def test_torch_parity_of_the_statistics(torch):
    # torch's masks differ (another generator); the distribution and scaling agree
    x = np.ones(100_000, np.float32)
    y = F.dropout(x, 0.2, seed=0)
    ty = torch.nn.functional.dropout(torch.from_numpy(x), 0.2).numpy()
    assert set(np.unique(y)) == set(np.unique(ty))
    assert abs((y > 0).mean() - (ty > 0).mean()) < 0.01


def test_backward_mask_any_layout_or_list(rng):
    x = rng.standard_normal((6, 7))
    _, mask = F.dropout(x, 0.5, seed=3, return_mask=True)
    g = rng.standard_normal((6, 7))
    want = F.dropout_backward(g, x, 0.5, seed=3)
    strided = np.ascontiguousarray(mask.T).T  # same values, Fortran order
    np.testing.assert_array_equal(F.dropout_backward(g, x, 0.5, mask=strided), want)
    np.testing.assert_array_equal(F.dropout_backward(g, x, 0.5, mask=mask.tolist()), want)
