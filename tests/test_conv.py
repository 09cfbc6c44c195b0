"""conv2d / conv1d forward and backward against the float64 NumPy reference
(TESTING.md 6.2-6.5): every option, every algorithm, every ISA, exact-integer
mode, finite differences, hypothesis configurations, adjoint identities and the
metamorphic / API properties (layouts, views, out=, determinism, threads,
batch split, empty batch)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convcore
import convcore.functional as F
import reference as R
from cases import Case
from conftest import run_isolated

# ============================================================================ plumbing


def abs_mode(mode):
    return ("constant", abs(float(mode[1]))) if isinstance(mode, tuple) else mode


def ref_forward(case: Case, x, w, b, mode=None):
    mode = case.mode if mode is None else mode
    if case.nd == 2:
        return R.conv2d_ref(x, w, b, case.s, case.pads, case.d, case.groups, mode)
    return R.conv1d_ref(x, w, b, case.s[0], case.pads, case.d[0], case.groups, mode)


def ref_backward(case: Case, gy, x, w, mode=None):
    mode = case.mode if mode is None else mode
    if case.nd == 2:
        return R.conv2d_backward_ref(gy, x, w, case.s, case.pads, case.d, case.groups, mode)
    return R.conv1d_backward_ref(gy, x, w, case.s[0], case.pads, case.d[0], case.groups, mode)


def layout_name(case: Case, last: bool) -> str:
    if case.nd == 2:
        return "NHWC" if last else "NCHW"
    return "NLC" if last else "NCL"


def to_last(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


def from_last(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, -1, 1)


def api_forward(case: Case, x, w, b=None, last=False, unbatched=False, **extra):
    """Runs convcore's forward on channel-first x; returns a channel-first batched result."""
    fn = F.conv2d if case.nd == 2 else F.conv1d
    xa = to_last(x) if last else x
    if unbatched:
        xa = xa[0]
    y = fn(xa, w, b, data_format=layout_name(case, last), **case.kwargs(), **extra)
    if unbatched:
        y = y[None]
    return from_last(y) if last else y


def api_backward(case: Case, gy, x, w, last=False, unbatched=False, **extra):
    fn = F.conv2d_backward if case.nd == 2 else F.conv1d_backward
    ga, xa = (to_last(gy), to_last(x)) if last else (gy, x)
    if unbatched:
        ga, xa = ga[0], xa[0]
    gx, gw, gb = fn(ga, xa, w, data_format=layout_name(case, last), **case.kwargs(), **extra)
    if gx is not None:
        if unbatched:
            gx = gx[None]
        gx = from_last(gx) if last else gx
    return gx, gw, gb


def make_data(case: Case, dtype, rng):
    x = rng.standard_normal(case.x_shape).astype(dtype)
    w = rng.standard_normal(case.w_shape).astype(dtype)
    b = rng.standard_normal(case.cout).astype(dtype) if case.bias else None
    gy = rng.standard_normal(case.y_shape).astype(dtype)
    return x, w, b, gy


def check_against_reference(case: Case, dtype, rng, algorithm=None, last=False, unbatched=False,
                            backward=True):
    """Forward and the three gradients vs the float64 reference, with the bound of
    TESTING.md 6.5 for float32 and 1e-10 (relative to the abs-value bound) for float64."""
    x, w, b, gy = make_data(case, dtype, rng)
    extra = {} if algorithm is None else {"algorithm": algorithm}
    y = api_forward(case, x, w, b, last=last, unbatched=unbatched, **extra)
    assert y.dtype == dtype
    y64 = ref_forward(case, x, w, b)
    bf = ref_forward(case, np.abs(x), np.abs(w), None if b is None else np.abs(b), abs_mode(case.mode))
    R.bound_check(y, y64, bf, case.k_fwd, dtype, what=f"{case} forward")
    if not backward:
        return
    gx, gw, gb = api_backward(case, gy, x, w, last=last, unbatched=unbatched, **extra)
    assert gx.dtype == gw.dtype == gb.dtype == dtype
    assert gw.shape == w.shape and gb.shape == (case.cout,)
    rx, rw, rb = ref_backward(case, gy, x, w)
    bx, bw, bb = ref_backward(case, np.abs(gy), np.abs(x), np.abs(w), abs_mode(case.mode))
    # Terms summed into each input pixel (padding modes that read a pixel twice add more).
    kx = ref_backward(case, np.ones_like(gy), np.ones_like(x), np.ones_like(w))[0]
    R.bound_check(gx, rx, bx, kx, dtype, what=f"{case} grad_input")
    R.bound_check(gw, rw, bw, case.k_wgt, dtype, what=f"{case} grad_weight")
    R.bound_check(gb, rb, bb, case.k_wgt, dtype, what=f"{case} grad_bias")


# ============================================================================ cases

C2 = [
    Case("basic_3x3_p1", 2, 3, 4, (7, 6), (3, 3), padding=1),
    Case("nobias", 2, 3, 4, (6, 6), (3, 3), padding=1, bias=False),
    Case("stride2_p1", 2, 3, 5, (9, 8), (3, 3), stride=2, padding=1),
    Case("aniso_stride_pad", 1, 2, 3, (8, 11), (3, 2), stride=(1, 3), padding=(2, 1)),
    Case("valid", 2, 3, 4, (7, 8), (3, 4), padding="valid"),
    Case("same_odd", 2, 3, 4, (7, 6), (3, 5), padding="same"),
    Case("same_even_k", 2, 3, 4, (7, 6), (4, 2), padding="same"),
    Case("same_even_k_stride2", 2, 2, 3, (9, 8), (2, 4), stride=2, padding="same"),
    Case("same_stride3_dil2", 1, 2, 3, (10, 7), (3, 2), stride=(3, 2), dilation=2, padding="same"),
    Case("full", 1, 2, 3, (5, 6), (3, 2), dilation=(2, 1), padding="full"),
    Case("asym4", 2, 3, 4, (6, 7), (3, 3), padding=(0, 2, 1, 3)),
    Case("pad_gt_kernel", 1, 2, 3, (4, 4), (3, 3), padding=4),
    Case("window_in_padding_stride", 1, 2, 2, (3, 3), (2, 2), stride=3, padding=3),
    Case("dilation", 2, 3, 4, (9, 10), (3, 3), dilation=(2, 3), padding=1),
    Case("stride_gt_kernel", 1, 2, 3, (11, 10), (2, 2), stride=(4, 3)),
    Case("kernel_eq_input", 2, 3, 5, (4, 5), (4, 5)),
    Case("groups2", 2, 4, 6, (6, 7), (3, 3), padding=1, groups=2),
    Case("groups3_stride", 1, 6, 9, (7, 7), (3, 2), stride=2, padding=(1, 0), groups=3),
    Case("depthwise_m1", 2, 4, 4, (7, 9), (3, 3), padding=1, groups=4),
    Case("depthwise_m2", 2, 3, 6, (8, 7), (3, 3), padding=1, groups=3),
    Case("depthwise_m2_s2_dil", 1, 3, 6, (11, 12), (3, 3), stride=2, dilation=2, padding=2, groups=3),
    Case("depthwise_wide", 1, 2, 4, (5, 41), (3, 5), padding=(1, 2), groups=2),
    Case("depthwise_5x5_reflect", 2, 4, 4, (8, 8), (5, 5), padding=2, groups=4, mode="reflect"),
    Case("pointwise", 2, 5, 7, (5, 6), (1, 1)),
    Case("pointwise_wide", 1, 19, 37, (3, 23), (1, 1), bias=False),
    Case("1x1_stride2", 2, 3, 4, (7, 6), (1, 1), stride=2),
    Case("1x1_pad1", 1, 3, 4, (5, 5), (1, 1), padding=1),
    Case("gemm_blocking", 1, 40, 33, (9, 9), (3, 3), padding=1),
    Case("channels_1", 3, 1, 1, (6, 5), (2, 3)),
]

MODES = ["reflect", "replicate", "edge", "circular", "wrap", "symmetric", ("constant", 2.5), "zeros"]
C2_MODES = [
    Case(f"mode_{m if isinstance(m, str) else 'const2.5'}", 2, 3, 4, (6, 7), (3, 3), padding=(1, 2, 2, 0), mode=m)
    for m in MODES
] + [
    Case(f"mode_{m if isinstance(m, str) else 'const2.5'}_s2_d2", 1, 2, 3, (7, 8), (3, 2), stride=2,
         dilation=2, padding=(2, 1, 1, 2), mode=m)
    for m in MODES
] + [
    # Widest paddings each mode allows: reflect < n, circular/symmetric <= n.
    Case("reflect_max", 1, 2, 2, (4, 5), (3, 3), padding=(3, 3, 4, 4), mode="reflect"),
    Case("circular_max", 1, 2, 2, (4, 5), (3, 3), padding=(4, 4, 5, 5), mode="circular"),
    Case("symmetric_max", 1, 2, 2, (4, 5), (3, 3), padding=(4, 4, 5, 5), mode="symmetric"),
    Case("replicate_big", 1, 2, 2, (3, 3), (2, 2), padding=(5, 4, 3, 6), mode="replicate"),
    Case("same_reflect_even", 2, 2, 3, (6, 7), (4, 4), padding="same", mode="reflect"),
    Case("full_circular", 1, 2, 2, (5, 5), (3, 3), padding="full", mode="circular"),
]

C1 = [
    Case("1d_basic", 2, 3, 4, (11,), (3,), padding=1),
    Case("1d_stride_dil", 2, 3, 4, (17,), (3,), stride=2, dilation=3, padding=(2, 1)),
    Case("1d_same_even", 2, 2, 3, (9,), (4,), padding="same"),
    Case("1d_same_stride", 1, 2, 3, (10,), (3,), stride=3, padding="same"),
    Case("1d_full", 1, 2, 3, (6,), (3,), padding="full"),
    Case("1d_reflect", 2, 3, 2, (8,), (5,), padding=3, mode="reflect"),
    Case("1d_circular", 1, 2, 2, (6,), (3,), padding=(6, 2), mode="wrap"),
    Case("1d_symmetric", 1, 2, 2, (6,), (3,), padding=(2, 5), mode="symmetric"),
    Case("1d_replicate", 1, 2, 2, (6,), (3,), padding=(4, 1), mode="edge"),
    Case("1d_const", 1, 2, 2, (6,), (3,), padding=(2, 3), mode=("constant", -1.5)),
    Case("1d_groups", 2, 4, 6, (9,), (3,), groups=2, padding=1),
    Case("1d_depthwise_m2", 2, 3, 6, (19,), (3,), groups=3, padding=1),
    Case("1d_pointwise", 2, 5, 3, (7,), (1,)),
]

ALL_CASES = C2 + C2_MODES + C1
BY_NAME = {c.name: c for c in ALL_CASES}
DTYPES = [np.float32, np.float64]


def ids(cases):
    return [c.name for c in cases]


# ============================================================================ reference accuracy


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", ALL_CASES, ids=ids(ALL_CASES))
def test_matches_reference(case, dtype, rng):
    """Default dispatch, channel-first layout, forward + all gradients."""
    check_against_reference(case, dtype, rng)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", ALL_CASES, ids=ids(ALL_CASES))
def test_channels_last_every_algorithm(case, dtype, rng):
    """NHWC / NLC layout, each algorithm that applies forced in turn."""
    for algo in case.algorithms():
        check_against_reference(case, dtype, rng, algorithm=algo, last=True)


@pytest.mark.parametrize("case", ALL_CASES, ids=ids(ALL_CASES))
def test_every_algorithm_channels_first(case, rng):
    for algo in case.algorithms():
        check_against_reference(case, np.float32, rng, algorithm=algo)


ISA_CASES = [c for c in ALL_CASES if c.name in {
    "basic_3x3_p1", "stride2_p1", "same_even_k_stride2", "groups3_stride", "depthwise_m1",
    "depthwise_m2_s2_dil", "depthwise_wide", "pointwise", "pointwise_wide", "gemm_blocking",
    "mode_reflect", "mode_circular_s2_d2", "mode_const2.5", "1d_depthwise_m2", "1d_stride_dil",
}]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", ISA_CASES, ids=ids(ISA_CASES))
def test_every_isa(case, dtype, isa, rng):
    for algo in case.algorithms():
        for last in (False, True):
            check_against_reference(case, dtype, rng, algorithm=algo, last=last)


UNBATCHED = [
    Case("ub_2d", 1, 3, 4, (6, 5), (3, 3), padding=1),
    Case("ub_2d_dw", 1, 3, 6, (6, 5), (3, 3), padding=1, groups=3, mode="reflect"),
    Case("ub_2d_1x1", 1, 3, 4, (6, 5), (1, 1)),
    Case("ub_1d", 1, 3, 4, (9,), (3,), stride=2, padding="same"),
    Case("ub_1d_dw", 1, 2, 2, (9,), (3,), groups=2, padding=1, mode="circular"),
]


@pytest.mark.parametrize("last", [False, True], ids=["first", "last"])
@pytest.mark.parametrize("case", UNBATCHED, ids=ids(UNBATCHED))
def test_unbatched(case, last, rng):
    for algo in case.algorithms():
        check_against_reference(case, np.float64, rng, algorithm=algo, last=last, unbatched=True)
        check_against_reference(case, np.float32, rng, algorithm=algo, last=last, unbatched=True)


def test_unbatched_shapes_and_equivalence(rng):
    x = rng.standard_normal((3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (4, 6, 5)
    np.testing.assert_array_equal(y, F.conv2d(x[None], w, padding=1)[0])
    gy = rng.standard_normal(y.shape)
    gx, gw, gb = F.conv2d_backward(gy, x, w, padding=1)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == (4,)
    x1 = rng.standard_normal((3, 9))
    w1 = rng.standard_normal((2, 3, 4))
    y1 = F.conv1d(x1, w1, padding="same")
    assert y1.shape == (2, 9)
    y1l = F.conv1d(x1.T.copy(), w1, padding="same", data_format="NLC")
    assert y1l.shape == (9, 2)
    np.testing.assert_allclose(y1l.T, y1, rtol=0, atol=1e-12)


def test_padding_forms_are_equivalent(rng):
    """int, pair, 4-tuple, list, and the strings all name the same explicit paddings."""
    x = rng.standard_normal((1, 2, 7, 8))
    w = rng.standard_normal((3, 2, 3, 3))

    def same(pair):
        return np.array_equal(F.conv2d(x, w, **pair[0]), F.conv2d(x, w, **pair[1]))

    assert same(({"padding": 1}, {"padding": (1, 1, 1, 1)}))
    assert same(({"padding": (1, 2)}, {"padding": (1, 1, 2, 2)}))
    assert same(({"padding": [1, 2]}, {"padding": (1, 1, 2, 2)}))
    assert same(({"padding": "valid"}, {"padding": 0}))
    assert same(({"padding": "same"}, {"padding": 1}))
    assert same(({"padding": "full"}, {"padding": 2}))
    assert same(({"padding": "full", "dilation": 2}, {"padding": 4, "dilation": 2}))
    # SAME for an even kernel and a stride puts the extra unit after
    w4 = rng.standard_normal((3, 2, 4, 4))
    t, b = convcore.same_padding(7, 4, 2)
    l, r = convcore.same_padding(8, 4, 2)
    assert (t, b, l, r) == (1, 2, 1, 1)
    y = F.conv2d(x, w4, padding="same", stride=2)
    assert y.shape == (1, 3, 4, 4)
    np.testing.assert_array_equal(y, F.conv2d(x, w4, padding=(t, b, l, r), stride=2))
    # numpy integer scalars are ints
    np.testing.assert_array_equal(
        F.conv2d(x, w, padding=np.int64(1), stride=np.int32(2)), F.conv2d(x, w, padding=1, stride=2))


def test_padding_mode_aliases(rng):
    x = rng.standard_normal((1, 2, 6, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    for a, b in [("edge", "replicate"), ("wrap", "circular"), ("zeros", ("constant", 0.0))]:
        ya = F.conv2d(x, w, padding=2, padding_mode=a)
        yb = F.conv2d(x, w, padding=2, padding_mode=b)
        np.testing.assert_array_equal(ya, yb)
    for a, b in [("edge", "replicate"), ("wrap", "circular")]:
        ga = F.conv2d_backward(np.ones((1, 3, 8, 7)), x, w, padding=2, padding_mode=a)
        gb = F.conv2d_backward(np.ones((1, 3, 8, 7)), x, w, padding=2, padding_mode=b)
        for u, v in zip(ga, gb):
            np.testing.assert_array_equal(u, v)


def test_constant_padding_gets_no_gradient_and_value_enters_forward(rng):
    """('constant', v): y = conv(pad(x, v)); the gradient wrt x does not depend on v and
    equals the zero-padding one; an all-padding window sees only v."""
    x = rng.standard_normal((1, 1, 3, 3))
    w = np.ones((1, 1, 2, 2))
    y = F.conv2d(x, w, padding=2, padding_mode=("constant", 2.5))
    assert y[0, 0, 0, 0] == pytest.approx(4 * 2.5)  # window fully in padding
    gy = rng.standard_normal(y.shape)
    g1 = F.conv2d_backward(gy, x, w, padding=2, padding_mode=("constant", 2.5))
    g0 = F.conv2d_backward(gy, x, w, padding=2)
    np.testing.assert_allclose(g1[0], g0[0], rtol=0, atol=1e-12)
    assert not np.allclose(g1[1], g0[1])  # weight gradient does see the constant


# ============================================================================ exact integers

EXACT = [c for c in ALL_CASES if c.name in {
    "basic_3x3_p1", "stride2_p1", "aniso_stride_pad", "same_even_k_stride2", "full", "asym4",
    "dilation", "groups2", "groups3_stride", "depthwise_m1", "depthwise_m2", "depthwise_m2_s2_dil",
    "depthwise_wide", "depthwise_5x5_reflect", "pointwise", "pointwise_wide", "1x1_stride2",
    "gemm_blocking", "mode_reflect", "mode_replicate", "mode_circular", "mode_symmetric",
    "mode_const2.5", "mode_reflect_s2_d2", "mode_symmetric_s2_d2", "circular_max", "reflect_max",
    "1d_basic", "1d_stride_dil", "1d_reflect", "1d_depthwise_m2", "1d_pointwise", "1d_circular",
}]


def exact_run(case: Case, rng, algorithm, last: bool):
    k_bwd = case.cout // case.groups * int(np.prod(case.k)) * 9  # generous for mirrored pixels
    x = R.int_data(rng, case.x_shape, -32, 32, case.k_fwd, thin=True)
    w = R.int_data(rng, case.w_shape, -32, 32)
    b = R.int_data(rng, (case.cout,), -8, 8) if case.bias else None
    gy = R.int_data(rng, case.y_shape, -8, 8, max(k_bwd, case.k_wgt), thin=True)
    y = api_forward(case, x, w, b, last=last, algorithm=algorithm)
    gx, gw, gb = api_backward(case, gy, x, w, last=last, algorithm=algorithm)
    y64 = ref_forward(case, x, w, b)
    rx, rw, rb = ref_backward(case, gy, x, w)
    # pixels no window reads (stride > kernel) have no gradient by construction
    reached = ref_backward(case, np.ones_like(gy), x, np.ones_like(w))[0] != 0
    for name, got, want in [("forward", y, y64), ("grad_input", gx, rx), ("grad_weight", gw, rw),
                            ("grad_bias", gb, rb)]:
        assert got.dtype == np.float32
        diff = np.abs(got.astype(np.float64) - want)
        assert np.array_equal(got, want), (
            f"{case} {algorithm} {name}: not exact, {np.count_nonzero(diff)} elements differ, "
            f"max abs diff {diff.max()}")
        # trust check (benchdnn MISTRUSTED): a mostly-zero result proves little
        if name != "grad_bias":
            considered = want[reached] if name == "grad_input" else want
            assert np.count_nonzero(considered) >= 0.3 * considered.size, f"{case} {name}: too many zeros"


@pytest.mark.parametrize("case", EXACT, ids=ids(EXACT))
def test_exact_integers(case, rng):
    for algo in case.algorithms():
        exact_run(case, rng, algo, last=False)
        exact_run(case, rng, algo, last=True)


EXACT_ISA = [c for c in EXACT if c.name in {
    "basic_3x3_p1", "same_even_k_stride2", "groups3_stride", "depthwise_m2_s2_dil", "depthwise_wide",
    "pointwise_wide", "gemm_blocking", "mode_symmetric_s2_d2", "1d_depthwise_m2"}]


@pytest.mark.parametrize("case", EXACT_ISA, ids=ids(EXACT_ISA))
def test_exact_integers_every_isa(case, isa, rng):
    for algo in case.algorithms():
        exact_run(case, rng, algo, last=False)


def test_exact_integers_threads(rng, request):
    """Exactness does not depend on how work is split (images in parallel for N=4,
    a split GEMM for N=1, depthwise planes over threads). Runs in a child process (see
    conftest.run_isolated) that goes from 2 threads to 1 once and never back (growing
    the pool is test_thread_count_changes_are_safe's subject)."""
    if run_isolated(request):
        return
    for nthreads in (2, 1):
        convcore.set_num_threads(nthreads)
        assert convcore.get_num_threads() == nthreads
        for case in [Case("t4", 4, 6, 8, (9, 9), (3, 3), padding=1),
                     Case("t9", 9, 3, 5, (7, 6), (3, 3), stride=2, padding=1, mode="circular"),
                     Case("t1", 1, 6, 40, (12, 13), (3, 3), padding=1, mode="reflect"),
                     Case("tdw", 3, 4, 8, (9, 10), (3, 3), padding=1, groups=4),
                     Case("t1x1", 5, 8, 12, (6, 7), (1, 1))]:
            for algo in case.algorithms():
                exact_run(case, rng, algo, last=False)
                exact_run(case, rng, algo, last=True)


# ============================================================================ finite differences

FD_CASES = [
    Case("fd_zeros_s2", 1, 2, 3, (5, 6), (3, 2), stride=2, padding=1),
    Case("fd_reflect", 1, 2, 2, (5, 4), (3, 3), padding=(2, 1, 1, 3), mode="reflect"),
    Case("fd_circular", 1, 2, 2, (4, 5), (3, 3), stride=(1, 2), padding=(4, 2, 3, 5), mode="circular"),
    Case("fd_symmetric", 1, 2, 2, (4, 4), (3, 2), dilation=(1, 2), padding=(3, 4, 2, 1), mode="symmetric"),
    Case("fd_replicate", 1, 2, 2, (3, 4), (2, 3), padding=(3, 1, 2, 2), mode="replicate"),
    Case("fd_const", 1, 2, 2, (4, 4), (3, 3), padding=2, mode=("constant", 2.5)),
    Case("fd_groups_dil", 2, 4, 4, (5, 5), (2, 2), dilation=2, padding=1, groups=2, mode="reflect"),
    Case("fd_depthwise", 1, 2, 4, (5, 6), (3, 3), stride=2, padding=(1, 2, 2, 1), groups=2, mode="circular"),
    Case("fd_same_even", 1, 2, 2, (5, 5), (4, 2), stride=2, padding="same", mode="symmetric"),
    Case("fd_1d_reflect", 2, 2, 3, (7,), (3,), stride=2, padding=2, mode="reflect"),
    Case("fd_1d_dw_wrap", 1, 3, 3, (6,), (3,), padding=(3, 6), groups=3, mode="wrap"),
]


@pytest.mark.parametrize("case", FD_CASES, ids=ids(FD_CASES))
def test_finite_differences(case, rng):
    """Central differences of a random linear functional L(y) = <g, y> of convcore's own
    float64 forward vs its backward (and the reference backward vs the reference forward)."""
    x, w, b, g = make_data(case, np.float64, rng)
    eps = 1e-4

    def loss_x(xx):
        return float(np.vdot(g, api_forward(case, xx, w, b)))

    def loss_w(ww):
        return float(np.vdot(g, api_forward(case, x, ww, b)))

    def loss_b(bb):
        return float(np.vdot(g, api_forward(case, x, w, bb)))

    gx, gw, gb = api_backward(case, g, x, w)
    for name, got, fd in [("input", gx, R.central_difference(loss_x, x, eps)),
                          ("weight", gw, R.central_difference(loss_w, w, eps)),
                          ("bias", gb, R.central_difference(loss_b, b, eps))]:
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-7, err_msg=f"{case} grad_{name}")

    # The reference's backward passes the same test against the reference forward.
    rx = ref_backward(case, g, x, w)[0]
    fdr = R.central_difference(lambda xx: float(np.vdot(g, ref_forward(case, xx, w, b))), x, eps)
    np.testing.assert_allclose(rx, fdr, rtol=1e-6, atol=1e-7, err_msg=f"{case} reference grad_input")


def test_reference_padding_index_map_matches_np_pad(rng):
    """Reference self-test: the index map that routes gradients is the padding itself."""
    x = rng.standard_normal((2, 3, 4, 5))
    for mode in ["reflect", "replicate", "circular", "symmetric", ("constant", 2.5), "zeros"]:
        pads = (3, 1, 4, 2) if mode != "reflect" else (3, 1, 4, 2)
        padded = R.pad(x, pads, mode)
        src = R.source_map(4, 5, pads, mode)
        flat = x.reshape(2, 3, 20)
        gathered = np.where(src >= 0, flat[..., np.maximum(src, 0)], R.split_mode(mode)[1]
                            if isinstance(mode, tuple) else 0.0)
        np.testing.assert_array_equal(padded, gathered)


def test_reference_hand_values():
    """Tiny hand-computed cases for the reference itself."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    np.testing.assert_array_equal(R.conv2d_ref(x, w), [[[[-4.0, -4.0], [-4.0, -4.0]]]])
    # reflect pad of [0 1 2] by 1 is [1 0 1 2 1]; symmetric [0 0 1 2 2]; wrap [2 0 1 2 0]
    row = np.arange(3.0).reshape(1, 3)
    np.testing.assert_array_equal(R.pad(row, (0, 0, 1, 1), "reflect"), [[1, 0, 1, 2, 1]])
    np.testing.assert_array_equal(R.pad(row, (0, 0, 1, 1), "symmetric"), [[0, 0, 1, 2, 2]])
    np.testing.assert_array_equal(R.pad(row, (0, 0, 1, 1), "circular"), [[2, 0, 1, 2, 0]])
    np.testing.assert_array_equal(R.pad(row, (0, 0, 1, 1), "replicate"), [[0, 0, 1, 2, 2]])
    np.testing.assert_array_equal(R.pad(row, (0, 0, 1, 1), ("constant", 7)), [[7, 0, 1, 2, 7]])
    # backward of reflect padding: pixel 1 is read three times by a 1-tap kernel
    gx = R.conv2d_backward_ref(np.ones((1, 1, 1, 5)), row[None, None], np.ones((1, 1, 1, 1)),
                               pads=(0, 0, 1, 1), mode="reflect")[0]
    np.testing.assert_array_equal(gx, [[[[1, 3, 1]]]])


def test_reflect_gradient_hand_value():
    """convcore itself: a 1-tap kernel over reflect padding sums the mirrored shares."""
    row = np.arange(3.0).reshape(1, 1, 1, 3)
    for algo in [None, "im2col_gemm"]:
        gx = F.conv2d_backward(np.ones((1, 1, 1, 5)), row, np.ones((1, 1, 1, 1)), padding=(0, 0, 1, 1),
                               padding_mode="reflect", needs=("input",), algorithm=algo)[0]
        np.testing.assert_array_equal(gx, [[[[1, 3, 1]]]])
    # depthwise path: two channels, groups = 2
    gx = F.conv2d_backward(np.ones((1, 2, 1, 5)), np.zeros((1, 2, 1, 3)), np.ones((2, 1, 1, 1)),
                           padding=(0, 0, 1, 1), groups=2, padding_mode="reflect", needs=("input",),
                           algorithm="depthwise_direct")[0]
    np.testing.assert_array_equal(gx, [[[[1, 3, 1]], [[1, 3, 1]]]])
    gx = F.conv1d_backward(np.ones((1, 1, 7)), np.arange(3.0).reshape(1, 1, 3), np.ones((1, 1, 1)),
                           padding=(2, 2), padding_mode="circular", needs=("input",))[0]
    np.testing.assert_array_equal(gx, [[[2, 3, 2]]])
    gx = F.conv1d_backward(np.ones((1, 1, 9)), np.arange(3.0).reshape(1, 1, 3), np.ones((1, 1, 1)),
                           padding=(3, 3), padding_mode="symmetric", needs=("input",))[0]
    np.testing.assert_array_equal(gx, [[[3, 3, 3]]])
    gx = F.conv1d_backward(np.ones((1, 1, 7)), np.arange(3.0).reshape(1, 1, 3), np.ones((1, 1, 1)),
                           padding=(2, 2), padding_mode="replicate", needs=("input",))[0]
    np.testing.assert_array_equal(gx, [[[3, 1, 3]]])


# ============================================================================ hypothesis


@st.composite
def conv_configs(draw, allow_1d=True):
    """TESTING.md 6.4: valid by construction, hitting kernel == padded input, stride >
    kernel, windows fully in padding, 1x1 spatial, anisotropic and non-square cases."""
    nd = draw(st.sampled_from([2, 2, 1])) if allow_1d else 2
    depthwise = draw(st.booleans()) and draw(st.booleans())
    if depthwise:
        cin = draw(st.integers(2, 5))
        groups, cout = cin, cin * draw(st.integers(1, 2))
    else:
        groups = draw(st.integers(1, 4))
        cin = groups * draw(st.integers(1, 5))
        cout = groups * draw(st.integers(1, 5))
    k, s, d, p, size = [], [], [], [], []
    for _ in range(nd):
        kk = draw(st.integers(1, 5))
        ss = draw(st.integers(1, 4))
        dd = draw(st.integers(1, 3))
        pp = draw(st.integers(0, 4))
        out = draw(st.integers(1, 6))
        r = draw(st.integers(0, ss - 1))
        n = (out - 1) * ss + dd * (kk - 1) + 1 - 2 * pp + r
        assume(n >= 1)
        k.append(kk), s.append(ss), d.append(dd), p.append(pp), size.append(n)
    pads = tuple(v for pp in p for v in (pp, pp))
    # the padding modes that can pad this much
    modes = ["zeros", ("constant", -0.75), "replicate"]
    if all(pp <= n for pp, n in zip(p, size)):
        modes += ["circular", "symmetric"]
    if all(pp < n for pp, n in zip(p, size)):
        modes += ["reflect"]
    mode = draw(st.sampled_from(modes))
    if draw(st.booleans()):
        padding = pads  # (top, bottom, left, right) / (left, right)
    else:
        padding = tuple(p) if nd == 2 else p[0]  # (ph, pw) / int
    n_batch = draw(st.integers(1, 3))
    return Case(f"hyp{nd}d", n_batch, cin, cout, tuple(size), tuple(k), stride=tuple(s) if nd == 2 else s[0],
                padding=padding, dilation=tuple(d) if nd == 2 else d[0], groups=groups, mode=mode,
                bias=draw(st.booleans()))


@st.composite
def string_padding_configs(draw):
    """'same' (any stride and dilation, TensorFlow rule), 'full' and 'valid' on free sizes."""
    nd = draw(st.sampled_from([2, 1]))
    groups = draw(st.integers(1, 3))
    cin, cout = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    size = tuple(draw(st.integers(1, 12)) for _ in range(nd))
    padding = draw(st.sampled_from(["same", "full", "valid"]))
    pads = R.resolve_padding(padding, size, k, s, d)
    for i in range(nd):
        assume(size[i] + pads[2 * i] + pads[2 * i + 1] >= d[i] * (k[i] - 1) + 1)
    modes = ["zeros", ("constant", 1.25), "replicate"]
    if all(pads[j] <= size[j // 2] for j in range(2 * nd)):
        modes += ["circular", "symmetric"]
    if all(pads[j] < size[j // 2] for j in range(2 * nd)):
        modes += ["reflect"]
    return Case(f"hyp{nd}d_{padding}", draw(st.integers(1, 3)), cin, cout, size, k,
                stride=s if nd == 2 else s[0], padding=padding, dilation=d if nd == 2 else d[0],
                groups=groups, mode=draw(st.sampled_from(modes)), bias=draw(st.booleans()))


HYP = settings(derandomize=True, deadline=None, max_examples=300,
               suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


@HYP
@given(case=st.one_of(conv_configs(), string_padding_configs()), data=st.data())
def test_hypothesis_float64(case, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    algo = data.draw(st.sampled_from([None] + case.algorithms()))
    last = data.draw(st.booleans())
    check_against_reference(case, np.float64, rng, algorithm=algo, last=last)


@settings(derandomize=True, deadline=None, max_examples=200,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(case=conv_configs(), data=st.data())
def test_hypothesis_float32(case, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    algo = data.draw(st.sampled_from([None] + case.algorithms()))
    last = data.draw(st.booleans())
    check_against_reference(case, np.float32, rng, algorithm=algo, last=last)


@settings(derandomize=True, deadline=None, max_examples=200,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(case=st.one_of(conv_configs(), string_padding_configs()), data=st.data())
def test_hypothesis_exact_integers(case, data):
    """Exact-integer mode (6.3) on random configurations: float32 results bitwise equal
    to the float64 reference in every direction."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    algo = data.draw(st.sampled_from(case.algorithms()))
    last = data.draw(st.booleans())
    if isinstance(case.mode, tuple):
        case = case.replace(mode=("constant", 2.0))
    x = R.int_data(rng, case.x_shape, -32, 32, case.k_fwd, thin=True)
    w = R.int_data(rng, case.w_shape, -32, 32)
    b = R.int_data(rng, (case.cout,), -8, 8) if case.bias else None
    gy = R.int_data(rng, case.y_shape, -8, 8)
    y = api_forward(case, x, w, b, last=last, algorithm=algo)
    gx, gw, gb = api_backward(case, gy, x, w, last=last, algorithm=algo)
    rx, rw, rb = ref_backward(case, gy, x, w)
    for name, got, want in [("forward", y, ref_forward(case, x, w, b)), ("grad_input", gx, rx),
                            ("grad_weight", gw, rw), ("grad_bias", gb, rb)]:
        assert np.array_equal(got, want), f"{case} {algo} {name}: max diff {np.max(np.abs(got - want))}"


@settings(derandomize=True, deadline=None, max_examples=200,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(case=conv_configs(allow_1d=False), data=st.data())
def test_hypothesis_metamorphic(case, data):
    """Properties that need no reference (float64; 6.4 items 1-5):
    padding == explicit np.pad then padding 0; stride s == stride-1 output sliced;
    dilation d == dense conv with the zero-inserted kernel; groups == concatenation of
    per-group convs; linearity in x (modes without a constant) and in w."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x, w, b, _ = make_data(case, np.float64, rng)
    kw = case.kwargs()
    y = F.conv2d(x, w, b, **kw)
    tol = dict(rtol=1e-11, atol=1e-11)
    # padding
    xp = R.pad(x, case.pads, case.mode)
    y_explicit = F.conv2d(xp, w, b, stride=case.stride, dilation=case.dilation, groups=case.groups)
    np.testing.assert_allclose(y, y_explicit, **tol, err_msg="explicit padding")
    # stride
    y1 = F.conv2d(xp, w, b, dilation=case.dilation, groups=case.groups)
    np.testing.assert_allclose(y, y1[:, :, :: case.s[0], :: case.s[1]], **tol, err_msg="stride")
    # dilation
    kh, kw_ = case.k
    wd = np.zeros(w.shape[:2] + ((kh - 1) * case.d[0] + 1, (kw_ - 1) * case.d[1] + 1))
    wd[:, :, :: case.d[0], :: case.d[1]] = w
    np.testing.assert_allclose(y, F.conv2d(xp, wd, b, stride=case.stride, groups=case.groups), **tol,
                               err_msg="dilation")
    # groups
    g = case.groups
    cig, cog = case.cin // g, case.cout // g
    parts = [F.conv2d(x[:, i * cig:(i + 1) * cig], w[i * cog:(i + 1) * cog],
                      None if b is None else b[i * cog:(i + 1) * cog],
                      **{**kw, "groups": 1}) for i in range(g)]
    np.testing.assert_allclose(y, np.concatenate(parts, axis=1), **tol, err_msg="groups")
    # linearity
    x2 = rng.standard_normal(x.shape)
    w2 = rng.standard_normal(w.shape)
    nb = {**kw}
    lin_w = F.conv2d(x, 2 * w - 3 * w2, **nb)
    np.testing.assert_allclose(lin_w, 2 * F.conv2d(x, w, **nb) - 3 * F.conv2d(x, w2, **nb), **tol)
    if not isinstance(case.mode, tuple):
        lin_x = F.conv2d(2 * x - 3 * x2, w, **nb)
        np.testing.assert_allclose(lin_x, 2 * F.conv2d(x, w, **nb) - 3 * F.conv2d(x2, w, **nb), **tol)
    if b is not None:
        np.testing.assert_allclose(y - F.conv2d(x, w, **nb), np.broadcast_to(b[None, :, None, None], y.shape),
                                   **tol, err_msg="bias")


# ============================================================================ adjoint identities

ADJ = [c for c in ALL_CASES if not isinstance(c.mode, tuple)][::2] + [
    Case("adj_dw_wide", 2, 3, 6, (7, 33), (3, 3), stride=(1, 2), padding=1, groups=3, mode="symmetric"),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", ADJ, ids=ids(ADJ))
def test_adjoint_identities(case, dtype, rng):
    """<conv(x, w), g> == <x, grad_input(g)> == <w, grad_weight(x, g)> (dots in float64)."""
    x, w, _, g = make_data(case, dtype, rng)
    for algo in case.algorithms():
        y = api_forward(case, x, w, algorithm=algo)
        gx, gw, _ = api_backward(case, g, x, w, algorithm=algo)
        lhs = np.vdot(y.astype(np.float64), g.astype(np.float64))
        via_x = np.vdot(x.astype(np.float64), gx.astype(np.float64))
        via_w = np.vdot(w.astype(np.float64), gw.astype(np.float64))
        scale = np.vdot(ref_forward(case, np.abs(x), np.abs(w), None), np.abs(g).astype(np.float64))
        tol = (1e-6 if dtype == np.float32 else 1e-12) * scale
        assert abs(lhs - via_x) <= tol, (case, algo, lhs, via_x)
        assert abs(lhs - via_w) <= tol, (case, algo, lhs, via_w)


# ============================================================================ API properties


def _views(a: np.ndarray):
    """Non-contiguous views equal to a: transposed storage, sliced, negative-stride,
    Fortran order, read-only."""
    out = []
    t = np.ascontiguousarray(np.moveaxis(a, 1, -1))
    out.append(("transposed", np.moveaxis(t, -1, 1)))
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    big[..., ::2] = a
    out.append(("sliced", big[..., ::2]))
    rev = np.ascontiguousarray(a[..., ::-1])
    out.append(("negative_stride", rev[..., ::-1]))
    out.append(("fortran", np.asfortranarray(a)))
    ro = a.copy()
    ro.flags.writeable = False
    out.append(("readonly", ro))
    for name, v in out:
        assert np.array_equal(v, a)
    return out


VIEW_CASES = [BY_NAME[n] for n in ("basic_3x3_p1", "depthwise_m1", "pointwise", "1d_stride_dil", "mode_reflect")]


@pytest.mark.parametrize("case", VIEW_CASES, ids=ids(VIEW_CASES))
def test_non_contiguous_inputs(case, rng):
    x, w, b, gy = make_data(case, np.float32, rng)
    y0 = api_forward(case, x, w, b)
    g0 = api_backward(case, gy, x, w)
    for (nx, xv), (nw, wv), (ng, gv) in zip(_views(x), _views(w), _views(gy)):
        assert nx == "readonly" or not xv.flags.c_contiguous
        bv = None if b is None else np.repeat(b, 2)[::2]
        np.testing.assert_array_equal(api_forward(case, xv, wv, bv), y0, err_msg=nx)
        for u, v in zip(api_backward(case, gv, xv, wv), g0):
            np.testing.assert_array_equal(u, v, err_msg=nx)
    # channels-last input given as a transposed view of channel-first storage
    if case.nd == 2:
        x_last_view = np.moveaxis(x, 1, -1)
        assert not x_last_view.flags.c_contiguous
        y_last = F.conv2d(x_last_view, w, b, data_format="NHWC", **case.kwargs())
        np.testing.assert_array_equal(from_last(y_last), api_forward(case, x, w, b, last=True))


def _guarded(a: np.ndarray, fill) -> tuple:
    """A C-contiguous copy of a that lives between two guard slabs of ``fill`` (a slice
    along axis 0, so it reaches the core without a copy); returns (view, buffer)."""
    buf = np.full((a.shape[0] + 2,) + a.shape[1:], fill, a.dtype)
    buf[1:-1] = a
    view = buf[1:-1]
    assert view.flags.c_contiguous and np.shares_memory(view, buf)
    return view, buf


GUARD_CASES = [BY_NAME[n] for n in ("basic_3x3_p1", "stride2_p1", "groups3_stride", "depthwise_m2_s2_dil",
                                    "depthwise_wide", "pointwise_wide", "gemm_blocking", "mode_symmetric_s2_d2",
                                    "circular_max", "1d_depthwise_m2", "1d_reflect")]


@pytest.mark.parametrize("case", GUARD_CASES, ids=ids(GUARD_CASES))
def test_guard_bands(case, rng):
    """NaN-poisoned memory around every input (an out-of-bounds read shows up as NaN) and
    sentinel-filled memory around every out= array (an out-of-bounds write changes it)."""
    sentinel = 12345.0
    for dtype in DTYPES:
        x, w, b, gy = make_data(case, dtype, rng)
        for algo in case.algorithms():
            for last in (False, True):
                fmt = layout_name(case, last)
                xa, ga = (to_last(x), to_last(gy)) if last else (x, gy)
                fwd = F.conv2d if case.nd == 2 else F.conv1d
                bwd = F.conv2d_backward if case.nd == 2 else F.conv1d_backward
                want = fwd(xa, w, b, data_format=fmt, algorithm=algo, **case.kwargs())
                wx, ww, wb = bwd(ga, xa, w, data_format=fmt, algorithm=algo, **case.kwargs())
                xg, _ = _guarded(xa, np.nan)
                wg, _ = _guarded(w, np.nan)
                gg, _ = _guarded(ga, np.nan)
                bg = None if b is None else _guarded(b, np.nan)[0]
                out, obuf = _guarded(np.zeros_like(want), sentinel)
                fwd(xg, wg, bg, data_format=fmt, algorithm=algo, out=out, **case.kwargs())
                np.testing.assert_array_equal(out, want, err_msg=f"{algo} {fmt} forward")
                intact = np.all(obuf[0] == sentinel) and np.all(obuf[-1] == sentinel)
                assert intact, f"{algo} {fmt}: write past out"
                outs = [_guarded(np.zeros_like(a), sentinel) for a in (wx, ww, wb)]
                bwd(gg, xg, wg, data_format=fmt, algorithm=algo, out=tuple(o for o, _ in outs), **case.kwargs())
                for (o, buf), ref_, name in zip(outs, (wx, ww, wb), ("grad_input", "grad_weight", "grad_bias")):
                    np.testing.assert_array_equal(o, ref_, err_msg=f"{algo} {fmt} {name}")
                    assert np.all(buf[0] == sentinel) and np.all(buf[-1] == sentinel), f"{algo} {fmt} {name}"


def test_zero_stride_broadcast_input(rng):
    """A broadcast (zero-stride) view computes like the materialised array."""
    w = rng.standard_normal((3, 2, 3, 3))
    xb = np.broadcast_to(rng.standard_normal((1, 2, 1, 6)), (2, 2, 5, 6))
    np.testing.assert_array_equal(F.conv2d(xb, w, padding=1), F.conv2d(np.array(xb), w, padding=1))


UNMODIFIED_CASES = [BY_NAME[n] for n in ("basic_3x3_p1", "depthwise_m1", "pointwise", "1d_reflect", "mode_const2.5")]


@pytest.mark.parametrize("case", UNMODIFIED_CASES, ids=ids(UNMODIFIED_CASES))
def test_inputs_not_modified(case, rng):
    for dtype in DTYPES:
        x, w, b, gy = make_data(case, dtype, rng)
        copies = [a.copy() for a in (x, w, b, gy)]
        for algo in case.algorithms():
            for last in (False, True):
                xa, ga = (to_last(x), to_last(gy)) if last else (x, gy)
                ca = (xa.copy(), ga.copy())
                fmt = layout_name(case, last)
                fwd = F.conv2d if case.nd == 2 else F.conv1d
                bwd = F.conv2d_backward if case.nd == 2 else F.conv1d_backward
                fwd(xa, w, b, data_format=fmt, algorithm=algo, **case.kwargs())
                bwd(ga, xa, w, data_format=fmt, algorithm=algo, **case.kwargs())
                np.testing.assert_array_equal(xa, ca[0])
                np.testing.assert_array_equal(ga, ca[1])
        for a, c in zip((x, w, b, gy), copies):
            np.testing.assert_array_equal(a, c)


OUT_CASES = [BY_NAME[n] for n in ("basic_3x3_p1", "depthwise_m2", "pointwise", "1d_basic")] + [UNBATCHED[0]]


@pytest.mark.parametrize("case", OUT_CASES, ids=ids(OUT_CASES))
def test_out_argument(case, rng):
    for dtype in DTYPES:
        x, w, b, gy = make_data(case, dtype, rng)
        unb = case.name.startswith("ub_")
        for last in (False, True):
            fmt = layout_name(case, last)
            xa, ga = (to_last(x), to_last(gy)) if last else (x, gy)
            if unb:
                xa, ga = xa[0], ga[0]
            fwd = F.conv2d if case.nd == 2 else F.conv1d
            bwd = F.conv2d_backward if case.nd == 2 else F.conv1d_backward
            want = fwd(xa, w, b, data_format=fmt, **case.kwargs())
            out = np.full(want.shape, np.nan, dtype)
            got = fwd(xa, w, b, data_format=fmt, out=out, **case.kwargs())
            assert got is out
            np.testing.assert_array_equal(out, want)
            wx, ww, wb = bwd(ga, xa, w, data_format=fmt, **case.kwargs())
            outs = (np.full(wx.shape, np.nan, dtype), np.full(ww.shape, np.nan, dtype),
                    np.full(wb.shape, np.nan, dtype))
            got = bwd(ga, xa, w, data_format=fmt, out=outs, **case.kwargs())
            for g_, o_, w_ in zip(got, outs, (wx, ww, wb)):
                assert g_ is o_
                np.testing.assert_array_equal(o_, w_)
            # partial out tuple: None entries are allocated
            outs2 = (None, np.full(ww.shape, np.nan, dtype), None)
            gx2, gw2, gb2 = bwd(ga, xa, w, data_format=fmt, out=outs2, **case.kwargs())
            assert gw2 is outs2[1]
            np.testing.assert_array_equal(gx2, wx)
            np.testing.assert_array_equal(gw2, ww)
            np.testing.assert_array_equal(gb2, wb)


def test_needs_subsets(rng):
    case = BY_NAME["stride2_p1"]
    x, w, _, gy = make_data(case, np.float64, rng)
    full = F.conv2d_backward(gy, x, w, **case.kwargs())
    for needs in [(), ("input",), ("weight",), ("bias",), ("input", "bias"), ["weight", "input"]]:
        got = F.conv2d_backward(gy, x, w, needs=needs, **case.kwargs())
        for name, g_, f_ in zip(("input", "weight", "bias"), got, full):
            if name in needs:
                np.testing.assert_array_equal(g_, f_)
            else:
                assert g_ is None


DET_CASES = [BY_NAME[n] for n in ("basic_3x3_p1", "groups3_stride", "depthwise_m2", "pointwise",
                                  "gemm_blocking", "mode_circular", "1d_depthwise_m2")]


@pytest.mark.parametrize("case", DET_CASES, ids=ids(DET_CASES))
def test_deterministic(case, rng):
    x, w, b, gy = make_data(case, np.float32, rng)
    for algo in case.algorithms():
        for last in (False, True):
            y1 = api_forward(case, x, w, b, last=last, algorithm=algo)
            y2 = api_forward(case, x, w, b, last=last, algorithm=algo)
            np.testing.assert_array_equal(y1, y2)
            g1 = api_backward(case, gy, x, w, last=last, algorithm=algo)
            g2 = api_backward(case, gy, x, w, last=last, algorithm=algo)
            for u, v in zip(g1, g2):
                np.testing.assert_array_equal(u, v)


THREAD_CASES = [
    Case("thr_n4", 4, 6, 8, (9, 9), (3, 3), padding=1),
    Case("thr_n5", 5, 3, 4, (7, 7), (3, 3), stride=2, padding=1, mode="reflect"),
    Case("thr_n1_wide", 1, 16, 40, (12, 13), (3, 3), padding=1),
    Case("thr_dw", 3, 4, 8, (9, 10), (3, 3), padding=1, groups=4),
    Case("thr_1x1", 4, 8, 12, (6, 6), (1, 1)),
]


def test_one_vs_two_threads(rng, request):
    """1 and 2 threads agree within the float32 bound (each is within it of the exact
    value). Runs in a child process (see conftest.run_isolated) that computes everything
    with 2 threads, then with 1, and never grows the pool again."""
    if run_isolated(request):
        return
    data = [(case, make_data(case, np.float32, rng)) for case in THREAD_CASES]
    results = {}
    for nthreads in (2, 1):
        convcore.set_num_threads(nthreads)
        assert convcore.get_num_threads() == nthreads
        results[nthreads] = [
            [(api_forward(case, x, w, b, algorithm=algo, last=last),
              api_backward(case, gy, x, w, algorithm=algo, last=last))
             for algo in case.algorithms() for last in (False, True)]
            for case, (x, w, b, gy) in data]
    for (case, (x, w, b, gy)), r1, r2 in zip(data, results[1], results[2]):
        bf = ref_forward(case, np.abs(x), np.abs(w), np.abs(b))
        bx, bw, bb = ref_backward(case, np.abs(gy), np.abs(x), np.abs(w))
        kx = ref_backward(case, np.ones_like(gy), np.ones_like(x), np.ones_like(w))[0]
        for (y1, g1), (y2, g2) in zip(r1, r2):
            # two float32 results each within the bound of the exact value: within twice it of each other
            R.bound_check(y2, y1, bf, case.k_fwd, np.float32, factor=16, rel_l2=2e-5, what=f"{case} forward")
            R.bound_check(g2[0], g1[0], bx, kx, np.float32, factor=16, rel_l2=2e-5, what=f"{case} gx")
            R.bound_check(g2[1], g1[1], bw, case.k_wgt, np.float32, factor=16, rel_l2=2e-5, what=f"{case} gw")
            R.bound_check(g2[2], g1[2], bb, case.k_wgt, np.float32, factor=16, rel_l2=2e-5, what=f"{case} gb")


def test_thread_count_changes_are_safe(request):
    """set_num_threads between calls must be safe: alternating 1 and 2 threads with a
    parallel convolution in between, many times, gives correct results and no crash.
    Runs in a child process so that a crash fails only this test."""
    if run_isolated(request):
        return
    rng = np.random.default_rng(7)
    w = rng.standard_normal((8, 6, 3, 3)).astype(np.float32)
    x = rng.standard_normal((4, 6, 9, 9)).astype(np.float32)
    convcore.set_num_threads(2)
    want = F.conv2d(x, w, padding=1)
    for _ in range(1500):
        convcore.set_num_threads(1)
        F.conv2d(rng.standard_normal((4, 6, 9, 9)).astype(np.float32), w, padding=1)
        convcore.set_num_threads(2)
        got = F.conv2d(x, w, padding=1)
        assert convcore.get_num_threads() == 2
    R.bound_check(got, want, R.conv2d_ref(np.abs(x), np.abs(w), pads=(1, 1, 1, 1)), 54, np.float32, factor=16)


BATCH_CASES = [BY_NAME[n] for n in ("basic_3x3_p1", "stride2_p1", "depthwise_m2", "pointwise", "mode_wrap",
                                    "gemm_blocking", "1d_stride_dil")]
BATCH_CASES.append(Case("bs_big", 7, 6, 8, (8, 9), (3, 3), padding=1))


@pytest.mark.parametrize("case", BATCH_CASES, ids=ids(BATCH_CASES))
def test_batch_split_bitwise(case, rng):
    """conv(x[:a]) ++ conv(x[a:]) == conv(x) bitwise, forward and grad_input, every
    split point and algorithm (images are independent)."""
    case = case.replace(n=max(case.n, 4))
    for dtype in DTYPES:
        x, w, b, gy = make_data(case, dtype, rng)
        for algo in case.algorithms():
            for last in (False, True):
                y = api_forward(case, x, w, b, last=last, algorithm=algo)
                gx, gw, gb = api_backward(case, gy, x, w, last=last, algorithm=algo)
                for a in range(1, case.n):
                    parts = [api_forward(case, x[:a], w, b, last=last, algorithm=algo),
                             api_forward(case, x[a:], w, b, last=last, algorithm=algo)]
                    np.testing.assert_array_equal(np.concatenate(parts), y, err_msg=f"{algo} split {a}")
                    gparts = [api_backward(case, gy[:a], x[:a], w, last=last, algorithm=algo),
                              api_backward(case, gy[a:], x[a:], w, last=last, algorithm=algo)]
                    np.testing.assert_array_equal(np.concatenate([gparts[0][0], gparts[1][0]]), gx,
                                                  err_msg=f"grad_input {algo} last={last} split {a}")
                    # weight / bias gradients sum over the batch: equal up to rounding
                    np.testing.assert_allclose(gparts[0][1] + gparts[1][1], gw,
                                               rtol=1e-4 if dtype == np.float32 else 1e-12,
                                               atol=1e-4 if dtype == np.float32 else 1e-12)
                    np.testing.assert_allclose(gparts[0][2] + gparts[1][2], gb,
                                               rtol=1e-4 if dtype == np.float32 else 1e-12,
                                               atol=1e-4 if dtype == np.float32 else 1e-12)


# ============================================================================ empty batch / channels


@pytest.mark.parametrize("algo", ["im2col_gemm", "gemm_1x1", "depthwise_direct"])
@pytest.mark.parametrize("last", [False, True], ids=["first", "last"])
def test_empty_batch(algo, last, rng):
    """Observed and documented behaviour: N = 0 is allowed (as in PyTorch); the forward
    returns an empty (0, Cout, OH, OW) array, grad_input an empty array shaped like the
    input, and grad_weight / grad_bias are zeros (an empty sum)."""
    if algo == "gemm_1x1":
        case = Case("n0_1x1", 0, 3, 4, (5, 5), (1, 1))
    elif algo == "depthwise_direct":
        case = Case("n0_dw", 0, 3, 6, (5, 5), (3, 3), padding=1, groups=3)
    else:
        case = Case("n0", 0, 3, 4, (5, 5), (3, 3), stride=2, padding=1, mode="reflect")
    for dtype in DTYPES:
        x, w, b, gy = make_data(case, dtype, rng)
        y = api_forward(case, x, w, b, last=last, algorithm=algo)
        assert y.shape == case.y_shape and y.dtype == dtype
        gx, gw, gb = api_backward(case, gy, x, w, last=last, algorithm=algo)
        assert gx.shape == x.shape and gx.dtype == dtype
        np.testing.assert_array_equal(gw, np.zeros_like(w))
        np.testing.assert_array_equal(gb, np.zeros(case.cout, dtype))
    # 1-D too
    y1 = F.conv1d(np.zeros((0, 2, 7), np.float32), np.ones((3, 2, 3), np.float32))
    assert y1.shape == (0, 3, 5)


def test_zero_input_channels(rng):
    """Cin = 0 (with a matching (Cout, 0, kh, kw) weight) is an empty sum: the output is
    the bias, the weight gradient is empty and the bias gradient is sum(g)."""
    x = np.zeros((2, 0, 5, 5))
    w = np.zeros((4, 0, 3, 3))
    b = rng.standard_normal(4)
    y = F.conv2d(x, w, b, padding=1)
    assert y.shape == (2, 4, 5, 5)
    np.testing.assert_array_equal(y, np.broadcast_to(b[None, :, None, None], y.shape))
    gy = rng.standard_normal(y.shape)
    gx, gw, gb = F.conv2d_backward(gy, x, w, padding=1)
    assert gx.shape == x.shape and gw.shape == w.shape
    np.testing.assert_allclose(gb, gy.sum(axis=(0, 2, 3)), rtol=1e-12)


# ============================================================================ larger images

# Images large enough that GEMM blocks, patch runs and the grad_input tiles
# span several rows and channels.
LARGE = [
    Case("large_3x3_p1", 2, 5, 6, (18, 20), (3, 3), padding=1),
    Case("large_groups_dil", 2, 4, 6, (20, 22), (3, 3), dilation=2, padding=2, groups=2),
    Case("large_5x5_same_aniso", 1, 3, 4, (16, 24), (5, 3), padding="same"),
    Case("large_asym_pad", 2, 3, 5, (17, 19), (3, 3), padding=(0, 2, 1, 2)),
    Case("large_1d", 2, 3, 4, (300,), (5,), padding=2),
    Case("large_many_channels", 1, 40, 50, (16, 17), (3, 3), padding=1, bias=False),
] + [
    Case(f"large_mode_{m if isinstance(m, str) else 'const'}", 1, 3, 4, (17, 18), (3, 3),
         padding=(1, 2, 2, 1), mode=m)
    for m in ["reflect", "replicate", "circular", "symmetric", ("constant", -0.75)]
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", LARGE, ids=ids(LARGE))
def test_large_images(case, dtype, rng):
    check_against_reference(case, dtype, rng)
    check_against_reference(case, dtype, rng, last=True)


@pytest.mark.parametrize("case", LARGE[:3], ids=ids(LARGE[:3]))
def test_large_images_every_isa(case, isa, rng):
    check_against_reference(case, np.float32, rng)


@pytest.mark.parametrize("case", LARGE, ids=ids(LARGE))
def test_large_images_exact_integers(case, rng):
    exact_run(case, rng, "im2col_gemm", last=False)
    exact_run(case, rng, "im2col_gemm", last=True)


def test_large_images_batch_split_bitwise(rng):
    case = LARGE[1]
    x, w, b, gy = make_data(case, np.float32, rng)
    whole = api_forward(case, x, w, b)
    parts = np.concatenate([api_forward(case, x[:1], w, b), api_forward(case, x[1:], w, b)])
    assert np.array_equal(whole, parts)
