"""convcore's own GEMM (``_C.gemm``: C = alpha op(A) op(B) + beta C, in place) against
NumPy float64, for every ISA, over register-tile and cache-block edge sizes, every
transposition, alpha/beta combinations (beta = 0 must not read C), both dtypes and
1 and 2 threads."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import convcore
from convcore import _C
from conftest import run_isolated

SIZES = [1, 13, 14, 15, 31, 33, 100, 257]

# (m, n, k): every edge size along each dimension with the others fixed at awkward
# values, k = 0 and 1, and shapes that cross the cache blocks (kc = 1 KiB of K,
# mc ~ 192 KiB of A, nc ~ 3 MiB of B).
SHAPES = sorted(set(
    [(m, 33, 31) for m in SIZES]
    + [(15, n, 14) for n in SIZES]
    + [(14, 31, k) for k in [0, 1] + SIZES]
    + [(1, 1, 1), (1, 1, 0), (0, 5, 3), (5, 0, 3), (2, 3, 1), (7, 7, 7),
       (257, 257, 257), (33, 100, 300), (300, 65, 129), (3, 3100, 5), (20, 35, 520)]
))
TRANS = list(itertools.product([False, True], repeat=2))
ALPHA_BETA = [(1.0, 0.0), (2.5, 0.0), (1.0, 1.0), (-0.5, 2.0), (0.0, 1.5), (0.75, -1.0)]
DTYPES = [np.float32, np.float64]
U = {np.float32: 2.0**-24, np.float64: 2.0**-53}


def operands(rng, m, n, k, ta, tb, dtype, integers=False):
    draw = (lambda s: rng.integers(-32, 33, size=s).astype(dtype)) if integers else \
        (lambda s: rng.standard_normal(s).astype(dtype))
    a = draw((k, m) if ta else (m, k))
    b = draw((n, k) if tb else (k, n))
    c = draw((m, n))
    return a, b, c


def reference(a, b, c0, ta, tb, alpha, beta):
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    opa = a64.T if ta else a64
    opb = b64.T if tb else b64
    ref = alpha * (opa @ opb) + (beta * c0.astype(np.float64) if beta != 0 else 0.0)
    bound = abs(alpha) * (np.abs(opa) @ np.abs(opb)) + abs(beta) * np.abs(c0.astype(np.float64))
    return ref, bound


def check_gemm(rng, m, n, k, ta, tb, alpha, beta, dtype, nan_c=False):
    a, b, c = operands(rng, m, n, k, ta, tb, dtype)
    if nan_c:
        c[...] = np.nan
    a0, b0, c0 = a.copy(), b.copy(), c.copy()
    ref, bound = reference(a, b, c0 if not nan_c else np.zeros_like(c0), ta, tb, alpha, beta)
    ret = _C.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=alpha, beta=beta)
    assert ret is None
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    assert c.dtype == dtype and c.shape == (m, n)
    assert np.all(np.isfinite(c)), f"non-finite output (m={m} n={n} k={k} nan_c={nan_c})"
    tol = 8 * np.sqrt(max(k, 1) + 2) * U[dtype] * bound + 1e-300
    err = np.abs(c.astype(np.float64) - ref)
    assert np.all(err <= tol), (
        f"m={m} n={n} k={k} ta={ta} tb={tb} alpha={alpha} beta={beta} {np.dtype(dtype).name}: "
        f"max err/tol {np.max(err / np.maximum(tol, 1e-300)):.3g}")


def run_all_shapes(rng, dtype):
    for (m, n, k), (ta, tb) in itertools.product(SHAPES, TRANS):
        alpha, beta = ALPHA_BETA[(m + 3 * n + 7 * k + 2 * ta + tb) % len(ALPHA_BETA)]
        check_gemm(rng, m, n, k, ta, tb, alpha, beta, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_gemm_shapes_every_isa(isa, dtype, rng):
    """Every edge shape x every transposition, alpha/beta cycling through the list."""
    run_all_shapes(rng, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("alpha,beta", ALPHA_BETA)
def test_gemm_alpha_beta(isa, alpha, beta, dtype, rng):
    for (m, n, k) in [(13, 33, 31), (14, 31, 1), (100, 15, 257), (31, 14, 0), (257, 33, 13)]:
        for ta, tb in TRANS:
            check_gemm(rng, m, n, k, ta, tb, alpha, beta, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_gemm_beta_zero_ignores_nan(isa, dtype, rng):
    """beta = 0 means C is write-only: NaN (or anything) in C must not propagate,
    including k = 0 where the result is exactly 0 and on edge tiles."""
    for (m, n, k) in [(1, 1, 1), (13, 33, 31), (14, 32, 16), (15, 31, 0), (257, 100, 33), (33, 257, 300)]:
        for ta, tb in TRANS:
            for alpha in (1.0, -2.0):
                check_gemm(rng, m, n, k, ta, tb, alpha, 0.0, dtype, nan_c=True)
    c = np.full((3, 4), np.nan, dtype)
    _C.gemm(np.ones((3, 0), dtype), np.ones((0, 4), dtype), c, beta=0.0)
    np.testing.assert_array_equal(c, np.zeros((3, 4)))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_gemm_exact_integers(isa, dtype, rng):
    """Small integers: every partial sum exact in float32, so the result must be bitwise
    equal to the float64 product."""
    for (m, n, k) in [(13, 33, 31), (14, 31, 257), (257, 15, 100), (33, 100, 520), (1, 1, 1), (3, 3100, 5)]:
        for ta, tb in TRANS:
            a, b, c = operands(rng, m, n, k, ta, tb, dtype, integers=True)
            ref, _ = reference(a, b, c, ta, tb, 2.0, -1.0)
            _C.gemm(a, b, c, trans_a=ta, trans_b=tb, alpha=2.0, beta=-1.0)
            np.testing.assert_array_equal(c, ref, err_msg=f"m={m} n={n} k={k} ta={ta} tb={tb}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_gemm_deterministic(dtype, rng):
    a, b, c = operands(rng, 100, 257, 300, False, True, dtype)
    c1, c2 = c.copy(), c.copy()
    _C.gemm(a, b, c1, trans_b=True, beta=0.5)
    _C.gemm(a, b, c2, trans_b=True, beta=0.5)
    np.testing.assert_array_equal(c1, c2)


def test_gemm_one_thread(request):
    """The whole shape table again with 1 thread, and 1 vs 2 threads agree (exactly on
    integer data). Runs in a child process (see conftest.run_isolated); the child sets
    the thread count once, 2 then 1, and never back."""
    if run_isolated(request):
        return
    rng = np.random.default_rng(11)
    data = {}
    convcore.set_num_threads(2)
    for dtype in DTYPES:
        for (m, n, k) in [(257, 257, 257), (3, 3100, 5), (300, 65, 129), (14, 31, 1)]:
            a, b, c = operands(rng, m, n, k, False, False, dtype, integers=True)
            c2 = c.copy()
            _C.gemm(a, b, c2, alpha=1.0, beta=1.0)
            data[(dtype, m, n, k)] = (a, b, c, c2)
    convcore.set_num_threads(1)
    assert convcore.get_num_threads() == 1
    for dtype in DTYPES:
        run_all_shapes(rng, dtype)
    for (dtype, m, n, k), (a, b, c, c2) in data.items():
        _C.gemm(a, b, c, alpha=1.0, beta=1.0)
        np.testing.assert_array_equal(c, c2)


def test_gemm_argument_errors():
    a, b = np.ones((3, 4)), np.ones((4, 5))
    with pytest.raises(ValueError, match=r"op\(a\) is 3 x 4, op\(b\) is 4 x 5, c is 3 x 4"):
        _C.gemm(a, b, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"op\(a\) is 4 x 3"):
        _C.gemm(a, b, np.ones((3, 5)), trans_a=True)
    with pytest.raises(TypeError, match="same dtype"):
        _C.gemm(a.astype(np.float32), b, np.ones((3, 5)))
    with pytest.raises(TypeError, match="int64"):
        _C.gemm(a.astype(np.int64), b, np.ones((3, 5)))
    with pytest.raises(ValueError, match="2-D"):
        _C.gemm(np.ones(3), b, np.ones((3, 5)))
    with pytest.raises(ValueError, match="C-contiguous"):
        _C.gemm(a, np.ones((5, 4)).T, np.ones((3, 5)))
    c = np.ones((3, 5))
    c.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _C.gemm(a, b, c)


def test_isa_control():
    detected = _C.detected_isa()
    assert detected in ("generic", "avx2", "avx512")
    assert _C.active_isa() in ("generic", "avx2", "avx512")
    with pytest.raises(ValueError, match="'sse'"):
        _C.set_isa("sse")
    order = ["generic", "avx2", "avx512"]
    for name in order[order.index(detected) + 1:]:
        with pytest.raises(ValueError, match=f"'{name}' is not supported by this CPU"):
            _C.set_isa(name)
    before = _C.active_isa()
    try:
        _C.set_isa("generic")
        assert _C.active_isa() == "generic"
        assert convcore.explain("conv2d", (1, 2, 5, 5), (2, 2, 3, 3)).isa == "generic"
    finally:
        _C.set_isa(before)
    assert _C.active_isa() == before


def test_concurrent_callers_and_shared_blocks(request):
    """Several Python threads multiplying at once (the GIL is released) while the
    thread count changes: tall products take the shared-B path, whose threads meet
    at barriers; a second caller must run inline rather than deadlock. Runs in a
    child process with a time limit, so a hang fails this test only."""
    from concurrent.futures import ThreadPoolExecutor

    from conftest import run_isolated

    if run_isolated(request):
        return
    rng = np.random.default_rng(3)
    a = rng.standard_normal((300, 200)).astype(np.float32)
    b = rng.standard_normal((200, 70)).astype(np.float32)
    want = a.astype(np.float64) @ b

    def work(i):
        for _ in range(60):
            c = np.empty((300, 70), np.float32)
            convcore._C.gemm(a, b, c)
            assert np.abs(c - want).max() < 1e-3
        return i

    convcore.set_num_threads(2)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(work, i) for i in range(3)]
        for _ in range(20):
            convcore.set_num_threads(1)
            convcore.set_num_threads(2)
        assert sorted(f.result() for f in futures) == [0, 1, 2]
