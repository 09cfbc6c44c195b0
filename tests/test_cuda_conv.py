"""conv1d / conv2d / conv_transpose1d / conv_transpose2d on CUDA DeviceArrays:
forward and backward against the CPU backend (the same call on ndarrays) and
the float64 NumPy references, over the configurations of test_conv.py and
test_conv_transpose.py (fixed and hypothesis-drawn), every GPU algorithm
forced in turn, both layouts, unbatched inputs; the math modes with looser
bounds; finite differences in float64 on the GPU; device placement of the
results, mixed host/device calls, and zero-copy interchange with PyTorch
and CuPy.

Every test skips without a CUDA device. Setting CONVCORE_CUDA_TESTS_ON_CPU=1
runs the comparisons that need no device-only feature on the CPU backend
instead (the "device" arrays are then ndarrays): a check of this file's own
references and tolerances on a machine without a GPU.

Accuracy: max |gpu - ref| <= tol * max |ref| per result, tol 1e-4 for
float32 (math mode fp32) and 1e-10 for float64; tf32 2e-3, fp16 5e-3,
bf16 3e-2 (float32 inputs rounded for the tensor cores)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convcore
import convcore.functional as F
import reference as R
from convcore import cuda as _cuda
from cases import Case
from test_conv import (
    ALL_CASES,
    FD_CASES,
    UNBATCHED,
    conv_configs,
    from_last,
    layout_name,
    make_data,
    ref_backward,
    ref_forward,
    string_padding_configs,
    to_last,
)
from test_conv_transpose import CASES as T_CASES
from test_conv_transpose import TCase, transpose_ref

HAVE_GPU = _cuda.is_available()
ON_CPU = os.environ.get("CONVCORE_CUDA_TESTS_ON_CPU") == "1" and not HAVE_GPU

# The computations need a device (or the CPU stand-in above); explain and the
# math-mode setting do not, and run everywhere.
on_device = pytest.mark.skipif(not (HAVE_GPU or ON_CPU), reason="needs a CUDA device")
needs_gpu = pytest.mark.skipif(not HAVE_GPU, reason="needs a CUDA device")

TOL = {np.float32: 1e-4, np.float64: 1e-10}
MODE_TOL = {"tf32": 2e-3, "fp16": 5e-3, "bf16": 3e-2}
DTYPES = [np.float32, np.float64]


@pytest.fixture(autouse=True)
def fp32_math_mode():
    """Every test starts and ends in math mode fp32, whatever it changed."""
    _cuda.set_math_mode("fp32")
    yield
    _cuda.set_math_mode("fp32")


# ============================================================================ plumbing


def to_dev(a, device=None):
    """A host array as a DeviceArray (None stays None)."""
    if a is None or ON_CPU:
        return a
    return _cuda.asarray(a, device=device)


def to_host(a, device: int = 0) -> np.ndarray:
    """A result that must be a DeviceArray on `device`, copied to the host."""
    if ON_CPU:
        assert isinstance(a, np.ndarray)
        return a
    assert isinstance(a, _cuda.DeviceArray), f"expected a DeviceArray, got {type(a).__name__}"
    assert a.device == f"cuda:{device}", a.device
    return a.numpy()


def gpu_name(algo: str) -> str:
    """The GPU's name of a CPU algorithm (the GPU runs an implicit GEMM, no im2col)."""
    if ON_CPU:
        return algo
    return "implicit_gemm" if algo == "im2col_gemm" else algo


def gpu_algorithms(case: Case) -> list:
    return [gpu_name(a) for a in case.algorithms()]


def close(got, ref, tol: float, what: str) -> None:
    got = np.asarray(got, np.float64)
    ref = np.asarray(ref, np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    if ref.size == 0:
        return
    assert np.all(np.isfinite(got)), f"{what}: non-finite values"
    scale = float(np.max(np.abs(ref)))
    err = float(np.max(np.abs(got - ref)))
    assert err <= tol * scale + 1e-300, (
        f"{what}: max abs error {err:.3g} > {tol:g} * max |ref| {scale:.3g} "
        f"(relative {err / max(scale, 1e-300):.3g})")


def run_conv(case: Case, x, w, b, gy, *, gpu: bool, algorithm=None, last=False, unbatched=False,
             device=None):
    """Forward and backward of conv1d/conv2d on channel-first host data, run on the
    GPU (DeviceArrays in) or the CPU; host results, channel-first and batched."""
    fwd = F.conv2d if case.nd == 2 else F.conv1d
    bwd = F.conv2d_backward if case.nd == 2 else F.conv1d_backward
    xa, ga = (to_last(x), to_last(gy)) if last else (x, gy)
    if unbatched:
        xa, ga = xa[0], ga[0]
    put = (lambda a: to_dev(a, device)) if gpu else (lambda a: a)
    get = (lambda a: to_host(a, device or 0)) if gpu else (lambda a: a)
    extra = {"algorithm": algorithm} if algorithm else {}
    fmt = layout_name(case, last)
    y = get(fwd(put(xa), put(w), put(b), data_format=fmt, **case.kwargs(), **extra))
    gx, gw, gb = bwd(put(ga), put(xa), put(w), data_format=fmt, **case.kwargs(), **extra)
    gx, gw, gb = get(gx), get(gw), get(gb)
    if unbatched:
        y, gx = y[None], gx[None]
    if last:
        y, gx = from_last(y), from_last(gx)
    return y, gx, gw, gb


def check_conv(case: Case, dtype, rng, algorithm, last=False, unbatched=False, tol=None,
               against_cpu=True):
    """GPU forward + the three gradients vs the float64 reference and the CPU backend."""
    tol = TOL[dtype] if tol is None else tol
    x, w, b, gy = make_data(case, dtype, rng)
    got = run_conv(case, x, w, b, gy, gpu=True, algorithm=algorithm, last=last, unbatched=unbatched)
    refs = (ref_forward(case, x, w, b),) + tuple(ref_backward(case, gy, x, w))
    cpu = run_conv(case, x, w, b, gy, gpu=False, last=last, unbatched=unbatched) if against_cpu else None
    for i, name in enumerate(("forward", "grad_input", "grad_weight", "grad_bias")):
        what = f"{case} {algorithm} {layout_name(case, last)}{' unbatched' if unbatched else ''} {name}"
        assert got[i].dtype == dtype, f"{what}: dtype {got[i].dtype}"
        close(got[i], refs[i], tol, what + " vs reference")
        if cpu is not None:
            close(got[i], cpu[i], tol, what + " vs CPU")


# ============================================================================ conv: fixed cases


@on_device
@pytest.mark.parametrize("last", [False, True], ids=["first", "last"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", ALL_CASES, ids=str)
def test_conv_every_algorithm(case, dtype, last, rng):
    """Every case of test_conv.py, each GPU algorithm that applies, both layouts."""
    for algo in gpu_algorithms(case):
        check_conv(case, dtype, rng, algo, last=last)


@on_device
@pytest.mark.parametrize("case", ALL_CASES[::3], ids=str)
def test_conv_default_dispatch(case, rng):
    """No algorithm forced: the GPU's own choice."""
    check_conv(case, np.float32, rng, None)


@on_device
@pytest.mark.parametrize("last", [False, True], ids=["first", "last"])
@pytest.mark.parametrize("case", UNBATCHED, ids=str)
def test_conv_unbatched(case, last, rng):
    for algo in gpu_algorithms(case):
        for dtype in DTYPES:
            check_conv(case, dtype, rng, algo, last=last, unbatched=True)


LARGE = [
    # depthwise reductions long enough to be split into chunks (N * OH * OW > 16K),
    # channel counts that are not a multiple of the NHWC channel tile (32)
    Case("dw_large", 4, 40, 40, (72, 70), (3, 3), padding=1, groups=40),
    Case("dw_large_m2_reflect", 3, 35, 70, (60, 64), (5, 5), stride=(1, 2), padding=2, groups=35,
         mode="reflect"),
    Case("dw_large_const", 2, 33, 33, (100, 90), (3, 3), padding=(2, 0, 1, 3), groups=33,
         mode=("constant", 0.5)),
    Case("gemm_large", 2, 48, 72, (40, 36), (3, 3), stride=2, padding=1),
    Case("pointwise_large", 4, 96, 80, (30, 30), (1, 1)),
]


@on_device
@pytest.mark.parametrize("last", [False, True], ids=["first", "last"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("case", LARGE, ids=str)
def test_conv_larger_problems(case, dtype, last, rng):
    """Sizes past one block or tile of every kernel (float32 bound as elsewhere)."""
    for algo in gpu_algorithms(case):
        check_conv(case, dtype, rng, algo, last=last)


# ============================================================================ conv: hypothesis

HYP = settings(derandomize=True, deadline=None, max_examples=150,
               suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


@on_device
@HYP
@given(case=st.one_of(conv_configs(), string_padding_configs()), data=st.data())
def test_hypothesis_float64(case, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    algo = data.draw(st.sampled_from([None] + gpu_algorithms(case)))
    last = data.draw(st.booleans())
    check_conv(case, np.float64, rng, algo, last=last)


@on_device
@HYP
@given(case=st.one_of(conv_configs(), string_padding_configs()), data=st.data())
def test_hypothesis_float32(case, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    algo = data.draw(st.sampled_from([None] + gpu_algorithms(case)))
    last = data.draw(st.booleans())
    unbatched = case.n == 1 and data.draw(st.booleans())
    check_conv(case, np.float32, rng, algo, last=last, unbatched=unbatched)


# ============================================================================ transposed


def transpose_backward_ref(c: TCase, gy, x, w):
    """(grad_input, grad_weight, grad_bias) of the transposed convolution in float64:
    the conv2d it is the adjoint of, run on grad_output, whose trailing padding
    pad - output_padding, when negative, crops grad_output instead."""
    hout, wout = c.out_hw()
    crop_h = max(0, c.op[0] - c.p[1])
    crop_w = max(0, c.op[1] - c.p[3])
    gyc = np.asarray(gy, np.float64)[:, :, :hout - crop_h, :wout - crop_w]
    pads = (c.p[0], max(c.p[1] - c.op[0], 0), c.p[2], max(c.p[3] - c.op[1], 0))
    gx = R.conv2d_ref(gyc, w, None, c.s, pads, c.d, c.groups)
    assert gx.shape == x.shape, (gx.shape, x.shape)
    gw = R.conv2d_backward_ref(x, gyc, w, c.s, pads, c.d, c.groups)[1]
    return gx, gw, np.asarray(gy, np.float64).sum(axis=(0, 2, 3))


def t_algorithms(c: TCase) -> list:
    """The algorithms of the convolution a transposed one runs (ops/conv_params.h):
    conv input channels = transposed output channels, conv groups the same."""
    algos = ["im2col_gemm"]
    conv_pads = (c.p[0], c.p[1] - c.op[0], c.p[2], c.p[3] - c.op[1])
    if c.k == (1, 1) and c.s == (1, 1) and not any(conv_pads):
        algos.append("gemm_1x1")
    if c.groups == c.cout and c.groups > 1:
        algos.append("depthwise_direct")
    return [gpu_name(a) for a in algos]


def run_transposed(c: TCase, x, w, b, gy, *, gpu: bool, nd=2, algorithm=None, last=False,
                   unbatched=False):
    """conv_transpose{1,2}d forward + backward on channel-first 4-D host data (1-D: H == 1)."""
    put = to_dev if gpu else (lambda a: a)
    get = to_host if gpu else (lambda a: a)
    if nd == 1:
        assert c.hw[0] == 1 and c.k[0] == 1 and c.s[0] == 1 and c.d[0] == 1
        assert c.p[:2] == (0, 0) and c.op[0] == 0
        fwd, bwd = F.conv_transpose1d, F.conv_transpose1d_backward
        kwargs = dict(stride=c.s[1], padding=c.p[2:], output_padding=c.op[1], groups=c.groups,
                      dilation=c.d[1])
        x, gy, w = x[:, :, 0], gy[:, :, 0], w[:, :, 0]
        fmt = "NLC" if last else "NCL"
    else:
        fwd, bwd = F.conv_transpose2d, F.conv_transpose2d_backward
        kwargs = c.kwargs()
        fmt = "NHWC" if last else "NCHW"
    xa, ga = (to_last(x), to_last(gy)) if last else (x, gy)
    if unbatched:
        xa, ga = xa[0], ga[0]
    extra = {"algorithm": algorithm} if algorithm else {}
    y = get(fwd(put(xa), put(w), put(b), data_format=fmt, **kwargs, **extra))
    gx, gw, gb = bwd(put(ga), put(xa), put(w), put(b), data_format=fmt, **kwargs, **extra)
    gx, gw = get(gx), get(gw)
    gb = None if gb is None else get(gb)
    if unbatched:
        y, gx = y[None], gx[None]
    if last:
        y, gx = from_last(y), from_last(gx)
    if nd == 1:
        y, gx, gw = y[:, :, None], gx[:, :, None], gw[:, :, None]
    return y, gx, gw, gb


def check_transposed(c: TCase, dtype, rng, algorithm, nd=2, last=False, unbatched=False, bias=True,
                     tol=None):
    tol = TOL[dtype] if tol is None else tol
    x = rng.standard_normal((c.n, c.cin) + c.hw).astype(dtype)
    w = rng.standard_normal(c.weight_shape()).astype(dtype)
    b = rng.standard_normal(c.cout).astype(dtype) if bias else None
    gy = rng.standard_normal((c.n, c.cout) + c.out_hw()).astype(dtype)
    got = run_transposed(c, x, w, b, gy, gpu=True, nd=nd, algorithm=algorithm, last=last,
                         unbatched=unbatched)
    cpu = run_transposed(c, x, w, b, gy, gpu=False, nd=nd, last=last, unbatched=unbatched)
    gx, gw, gb = transpose_backward_ref(c, gy, x, w)
    refs = (transpose_ref(x, w, b, c), gx, gw, gb if bias else None)
    for i, name in enumerate(("forward", "grad_input", "grad_weight", "grad_bias")):
        what = f"conv_transpose{nd}d {c} {algorithm} {'last' if last else 'first'} {name}"
        if refs[i] is None:
            assert got[i] is None, what
            continue
        assert got[i].dtype == dtype, f"{what}: dtype {got[i].dtype}"
        close(got[i], refs[i], tol, what + " vs reference")
        close(got[i], cpu[i], tol, what + " vs CPU")


T_1D = [
    TCase(2, 3, 4, (1, 9), (1, 3), s=(1, 2), p=(0, 0, 1, 1), op=(0, 1)),
    TCase(1, 4, 4, (1, 7), (1, 3), s=(1, 3), p=(0, 0, 0, 2), op=(0, 2), groups=4),
    TCase(2, 2, 6, (1, 5), (1, 2), d=(1, 3), op=(0, 2), groups=2),
    TCase(1, 3, 3, (1, 6), (1, 1)),
]


@on_device
@pytest.mark.parametrize("last", [False, True], ids=["first", "last"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("c", T_CASES, ids=str)
def test_transposed_2d(c, dtype, last, rng):
    for algo in t_algorithms(c):
        check_transposed(c, dtype, rng, algo, last=last)
    check_transposed(c, dtype, rng, None, last=last, bias=False)


@on_device
@pytest.mark.parametrize("last", [False, True], ids=["first", "last"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("c", T_1D, ids=str)
def test_transposed_1d(c, dtype, last, rng):
    for algo in t_algorithms(c):
        check_transposed(c, dtype, rng, algo, nd=1, last=last)


@on_device
def test_transposed_unbatched(rng):
    c = TCase(1, 4, 4, (5, 6), (3, 3), s=(2, 2), p=(1, 1, 1, 1), op=(1, 0), groups=4)
    for algo in t_algorithms(c):
        for last in (False, True):
            check_transposed(c, np.float64, rng, algo, last=last, unbatched=True)
            check_transposed(c, np.float32, rng, algo, last=last, unbatched=True)


@st.composite
def transposed_configs(draw):
    """As test_conv_transpose.test_adjoint_of_conv2d, plus depthwise (Cout == groups)
    and output_padding past the padding (negative trailing padding of the conv)."""
    groups = draw(st.integers(1, 4))
    cig = draw(st.integers(1, 3))
    cog = 1 if draw(st.booleans()) else draw(st.integers(1, 3))
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = tuple(draw(st.integers(0, 2)) for _ in range(4))
    op = tuple(draw(st.integers(0, max(s[i], d[i]) - 1)) for i in range(2))
    hw = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    c = TCase(draw(st.integers(1, 2)), groups * cig, groups * cog, hw, k, s, p, op, d, groups)
    assume(min(c.out_hw()) >= 1)
    return c


@on_device
@HYP
@given(c=transposed_configs(), data=st.data())
def test_hypothesis_transposed(c, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    algo = data.draw(st.sampled_from([None] + t_algorithms(c)))
    dtype = data.draw(st.sampled_from(DTYPES))
    check_transposed(c, dtype, rng, algo, last=data.draw(st.booleans()), bias=data.draw(st.booleans()))


# ============================================================================ finite differences


FD_T = [
    TCase(1, 2, 2, (3, 4), (3, 3), s=(2, 2), p=(1, 1, 1, 1), op=(1, 1), groups=2),
    TCase(1, 2, 3, (3, 3), (2, 3), s=(2, 1), p=(0, 1, 1, 0), d=(1, 2), op=(1, 1)),
]


@on_device
@pytest.mark.parametrize("case", FD_CASES, ids=str)
def test_finite_differences_on_gpu(case, rng):
    """Central differences of <g, conv(x, w, b)> computed with the GPU's float64
    forward vs the GPU's backward, every algorithm."""
    x, w, b, g = make_data(case, np.float64, rng)
    fwd = F.conv2d if case.nd == 2 else F.conv1d
    bwd = F.conv2d_backward if case.nd == 2 else F.conv1d_backward
    for algo in gpu_algorithms(case):
        def loss(xx=x, ww=w, bb=b):
            y = to_host(fwd(to_dev(xx), to_dev(ww), to_dev(bb), **case.kwargs(), algorithm=algo))
            return float(np.vdot(g, y))

        gx, gw, gb = (to_host(a) for a in bwd(to_dev(g), to_dev(x), to_dev(w), **case.kwargs(),
                                                algorithm=algo))
        for name, got, fd in [("input", gx, R.central_difference(lambda v: loss(xx=v), x, 1e-4)),
                              ("weight", gw, R.central_difference(lambda v: loss(ww=v), w, 1e-4)),
                              ("bias", gb, R.central_difference(lambda v: loss(bb=v), b, 1e-4))]:
            np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-7, err_msg=f"{case} {algo} grad_{name}")


@on_device
@pytest.mark.parametrize("c", FD_T, ids=str)
def test_transposed_finite_differences_on_gpu(c, rng):
    x = rng.standard_normal((c.n, c.cin) + c.hw)
    w = rng.standard_normal(c.weight_shape())
    b = rng.standard_normal(c.cout)
    g = rng.standard_normal((c.n, c.cout) + c.out_hw())
    for algo in t_algorithms(c):
        def loss(xx=x, ww=w, bb=b):
            y = to_host(F.conv_transpose2d(to_dev(xx), to_dev(ww), to_dev(bb), **c.kwargs(),
                                           algorithm=algo))
            return float(np.vdot(g, y))

        gx, gw, gb = (to_host(a) for a in F.conv_transpose2d_backward(
            to_dev(g), to_dev(x), to_dev(w), to_dev(b), **c.kwargs(), algorithm=algo))
        for name, got, fd in [("input", gx, R.central_difference(lambda v: loss(xx=v), x, 1e-4)),
                              ("weight", gw, R.central_difference(lambda v: loss(ww=v), w, 1e-4)),
                              ("bias", gb, R.central_difference(lambda v: loss(bb=v), b, 1e-4))]:
            np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-7, err_msg=f"{c} {algo} grad_{name}")


# ============================================================================ determinism


@on_device
@pytest.mark.parametrize("last", [False, True], ids=["first", "last"])
def test_depthwise_and_bias_gradients_are_deterministic(last, rng):
    """The depthwise weight gradient and the bias gradient reduce in a fixed order
    (no atomics): bitwise equal across runs."""
    case = LARGE[0]
    x, w, b, gy = make_data(case, np.float32, rng)
    first = run_conv(case, x, w, b, gy, gpu=True, algorithm="depthwise_direct", last=last)
    for _ in range(2):
        again = run_conv(case, x, w, b, gy, gpu=True, algorithm="depthwise_direct", last=last)
        for u, v in zip(first, again):
            assert np.array_equal(u, v)


# ============================================================================ math modes

MODE_CASES = [c for c in ALL_CASES if c.name in {
    "basic_3x3_p1", "stride2_p1", "depthwise_m2_s2_dil", "pointwise_wide", "gemm_blocking",
    "mode_reflect", "1d_stride_dil"}] + [LARGE[3], LARGE[4]]


@needs_gpu
@pytest.mark.parametrize("mode", ["tf32", "fp16", "bf16"])
@pytest.mark.parametrize("case", MODE_CASES, ids=str)
def test_math_modes(case, mode, rng):
    """float32 under tensor-core modes within the stated looser bounds (relative to the
    max-abs of the reference); float64 is unaffected by the mode."""
    _cuda.set_math_mode(mode)
    assert _cuda.get_math_mode() == mode
    for algo in gpu_algorithms(case):
        check_conv(case, np.float32, rng, algo, tol=MODE_TOL[mode], against_cpu=False)
        check_conv(case, np.float64, rng, algo)
    c = T_CASES[1]
    for algo in t_algorithms(c):
        check_transposed(c, np.float32, rng, algo, tol=MODE_TOL[mode])


def test_math_mode_names_and_reset():
    for mode in ("tf32", "fp16", "bf16", "fp32"):
        _cuda.set_math_mode(mode)
        assert _cuda.get_math_mode() == mode
    with pytest.raises(ValueError):
        _cuda.set_math_mode("fp8")
    assert _cuda.get_math_mode() == "fp32"


# ============================================================================ device placement


@needs_gpu
def test_results_are_device_arrays_on_the_input_device(rng):
    case = ALL_CASES[0]
    for device in range(min(_cuda.device_count(), 2)):
        x, w, b, gy = make_data(case, np.float32, rng)
        got = run_conv(case, x, w, b, gy, gpu=True, device=device)
        cpu = run_conv(case, x, w, b, gy, gpu=False)
        for u, v in zip(got, cpu):
            close(u, v, 1e-4, f"cuda:{device}")
        y = F.conv2d(to_dev(x, device), to_dev(w, device), padding=1)
        assert isinstance(y, _cuda.DeviceArray) and y.device_index == device
        assert y.dtype == np.float32 and y.shape == (2, 4, 7, 6) and y.flags.c_contiguous


@needs_gpu
def test_mixing_host_and_device_arrays_raises(rng):
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    gy = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    xd, wd, bd, gyd = to_dev(x), to_dev(w), to_dev(b), to_dev(gy)
    # (call, the host array, the device arrays): the message names the host array
    # and one on the device (which one depends on the order the arrays are checked in)
    calls = [
        (lambda: F.conv2d(xd, w, padding=1), "weight", ("input",)),
        (lambda: F.conv2d(x, wd, padding=1), "input", ("weight",)),
        (lambda: F.conv2d(xd, wd, b, padding=1), "bias", ("input", "weight")),
        (lambda: F.conv2d(x, w, bd, padding=1), "input", ("bias",)),
        (lambda: F.conv2d_backward(gy, xd, wd, padding=1), "grad_output", ("input", "weight")),
        (lambda: F.conv2d_backward(gyd, xd, w, padding=1), "weight", ("grad_output", "input")),
        (lambda: F.conv_transpose2d(gyd, w, padding=1), "weight", ("input",)),
        (lambda: F.conv1d(to_dev(x[:, :, 0].copy()), w[:, :, 0].copy()), "weight", ("input",)),
    ]
    for call, host_name, device_names in calls:
        with pytest.raises(ValueError) as info:
            call()
        msg = str(info.value)
        assert host_name in msg and any(n in msg for n in device_names), msg
        assert "cpu" in msg and "cuda:0" in msg, msg
    if _cuda.device_count() >= 2:
        with pytest.raises(ValueError, match="cuda:1"):
            F.conv2d(xd, to_dev(w, 1), padding=1)


@needs_gpu
def test_dlpack_round_trip_with_torch(rng):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA")
    xt = torch.randn(2, 3, 9, 8, device="cuda", dtype=torch.float32)
    wt = torch.randn(6, 1, 3, 3, device="cuda", dtype=torch.float32)
    wt3 = torch.randn(4, 3, 3, 3, device="cuda", dtype=torch.float32)
    x, w, w3 = _cuda.asarray(xt), _cuda.asarray(wt), convcore.from_dlpack(wt3)
    assert x.data_ptr == xt.data_ptr() and w.data_ptr == wt.data_ptr()
    assert w3.data_ptr == wt3.data_ptr()  # zero-copy in
    for weight, tw, kw in [(w, wt, dict(padding=1, groups=3)), (w3, wt3, dict(padding=1))]:
        y = F.conv2d(x, weight, **kw)
        yt = torch.from_dlpack(y)
        assert yt.is_cuda and yt.data_ptr() == y.data_ptr  # zero-copy out
        assert tuple(yt.shape) == y.shape
        ref = torch.nn.functional.conv2d(xt.double(), tw.double(), **kw)
        close(yt.double().cpu().numpy(), ref.cpu().numpy(), 1e-4, "torch")
        gy = torch.randn_like(yt)
        gx, gw, gb = F.conv2d_backward(_cuda.asarray(gy), x, weight, **kw)
        xr = xt.double().requires_grad_()
        wr = tw.double().requires_grad_()
        torch.nn.functional.conv2d(xr, wr, **kw).backward(gy.double())
        close(torch.from_dlpack(gx).double().cpu().numpy(), xr.grad.cpu().numpy(), 1e-4, "torch gx")
        close(torch.from_dlpack(gw).double().cpu().numpy(), wr.grad.cpu().numpy(), 1e-4, "torch gw")
        close(torch.from_dlpack(gb).double().cpu().numpy(), gy.double().sum((0, 2, 3)).cpu().numpy(),
              1e-4, "torch gb")
    # a channels-last torch tensor is an NHWC array once permuted to (N, H, W, C)
    xcl = xt.permute(0, 2, 3, 1).contiguous()
    y = F.conv2d(_cuda.asarray(xcl), w3, padding=1, data_format="NHWC")
    ref = torch.nn.functional.conv2d(xt.double(), wt3.double(), padding=1).permute(0, 2, 3, 1)
    close(torch.from_dlpack(y).double().cpu().numpy(), ref.cpu().numpy(), 1e-4, "torch NHWC")


@needs_gpu
def test_cuda_array_interface_round_trip_with_cupy(rng):
    cupy = pytest.importorskip("cupy")
    x = rng.standard_normal((2, 4, 8, 7)).astype(np.float32)
    w = rng.standard_normal((8, 1, 3, 3)).astype(np.float32)
    xc, wc = cupy.asarray(x), cupy.asarray(w)
    xd, wd = _cuda.asarray(xc), _cuda.asarray(wc)
    assert xd.data_ptr == xc.data.ptr and wd.data_ptr == wc.data.ptr
    y = F.conv2d(xd, wd, padding=1, groups=4, algorithm="depthwise_direct")
    yc = cupy.asarray(y)
    assert yc.data.ptr == y.data_ptr
    close(cupy.asnumpy(yc), R.conv2d_ref(x, w, None, 1, (1, 1, 1, 1), 1, 4), 1e-4, "cupy")


# ============================================================================ explain


def test_explain_on_cuda():
    """explain(device='cuda') names the GPU algorithm and the arithmetic it runs in
    (the math mode for float32 GEMMs); it needs no device."""
    e = convcore.explain("conv2d", (8, 16, 14, 14), (32, 1, 3, 3), padding=1, groups=16,
                         device="cuda")
    assert e.algorithm == "depthwise_direct" and e.device == "cuda:0"
    assert "depthwise_direct" in str(e) and "cuda:0" in str(e) and e.math in str(e)
    for mode in ("tf32", "fp16", "bf16"):
        _cuda.set_math_mode(mode)
        for pass_ in ("forward", "backward_input", "backward_weight"):
            e = convcore.explain("conv2d", (8, 64, 14, 14), (64, 64, 3, 3), padding=1,
                                 pass_=pass_, device="cuda")
            assert e.algorithm == "implicit_gemm", e
            assert mode in e.math and e.math in str(e), e
            e = convcore.explain("conv2d", (8, 64, 14, 14), (32, 64, 1, 1), pass_=pass_, device="cuda")
            assert e.algorithm == "gemm_1x1" and mode in e.math, e
        # float64 and the depthwise kernel never use the tensor cores
        e = convcore.explain("conv2d", (8, 64, 14, 14), (64, 64, 3, 3), padding=1, dtype=np.float64,
                             device="cuda")
        assert mode not in e.math and "float64" in e.math, e
        e = convcore.explain("conv2d", (8, 16, 14, 14), (16, 1, 3, 3), padding=1, groups=16,
                             device="cuda")
        assert e.algorithm == "depthwise_direct" and mode not in e.math, e
    _cuda.set_math_mode("fp32")
    e = convcore.explain("conv_transpose2d", (8, 16, 7, 7), (16, 1, 4, 4), stride=2, padding=1,
                         groups=16, device="cuda")
    assert e.algorithm == "depthwise_direct", e
    with pytest.raises(ValueError):
        convcore.explain("conv2d", (8, 64, 14, 14), (64, 64, 3, 3), algorithm="im2col_gemm",
                         device="cuda")
