"""The dispatcher: what ``convcore.explain`` reports (algorithm, reason, rejected
candidates, workspace, output shape) and that every algorithm that can run a
problem computes the same result."""

from __future__ import annotations

import numpy as np
import pytest

import convcore
import convcore.functional as F
import reference as R

PASSES = ["forward", "backward_input", "backward_weight"]
ALGOS = ["depthwise_direct", "gemm_1x1", "im2col_gemm"]


# ============================================================================ choices and reasons


def test_strided_backward_input_uses_col2im():
    e = convcore.explain("conv2d", (2, 16, 28, 28), (32, 16, 3, 3), stride=2, padding=1,
                         pass_="backward_input")
    assert e.algorithm == "im2col_gemm" and "col2im" in e.reason and "144 x 32" in e.reason
    e = convcore.explain("conv2d", (2, 16, 28, 28), (32, 16, 3, 3), padding=1,
                         padding_mode="reflect", pass_="backward_input")
    assert "col2im" in e.reason


@pytest.mark.parametrize("pass_", PASSES)
def test_general_case_is_im2col(pass_):
    e = convcore.explain("conv2d", (2, 16, 28, 28), (32, 16, 3, 3), padding=1, pass_=pass_)
    assert e.algorithm == "im2col_gemm"
    assert e.pass_ == pass_ and e.op == "conv2d"
    if pass_ == "backward_input":
        # stride 1, zero padding: the forward conv of grad_output with the flipped kernel
        assert "forward convolution" in e.reason and "flipped" in e.reason
    else:
        assert "general case" in e.reason
        # GEMM of Cout/g x pixels x Cin/g*kh*kw
        assert "32 x 784 x 144" in e.reason
    assert [name for name, _ in e.rejected] == ["depthwise_direct", "gemm_1x1"]
    why = dict(e.rejected)
    assert "not depthwise" in why["depthwise_direct"] and "groups=1" in why["depthwise_direct"]
    assert "in_channels=16" in why["depthwise_direct"]
    assert "1x1" in why["gemm_1x1"]


@pytest.mark.parametrize("pass_", PASSES)
@pytest.mark.parametrize("mult", [1, 2])
def test_depthwise_is_depthwise_direct(pass_, mult):
    e = convcore.explain("conv2d", (2, 8, 14, 14), (8 * mult, 1, 3, 3), padding=1, groups=8, pass_=pass_)
    assert e.algorithm == "depthwise_direct"
    assert "depthwise" in e.reason and "in_channels == 8" in e.reason
    assert f"channel multiplier {mult}" in e.reason
    assert e.rejected == []


@pytest.mark.parametrize("pass_", PASSES)
def test_pointwise_is_gemm_1x1(pass_):
    e = convcore.explain("conv2d", (2, 16, 7, 9), (24, 16, 1, 1), pass_=pass_)
    assert e.algorithm == "gemm_1x1"
    assert "1x1" in e.reason
    assert [name for name, _ in e.rejected] == ["depthwise_direct"]


@pytest.mark.parametrize("kwargs,why", [
    (dict(stride=2), "stride"), (dict(padding=1), "padding"), (dict(padding=(0, 0, 0, 1)), "padding"),
    (dict(padding="full"), None), (dict(padding="same", stride=2), "stride"),
])
def test_1x1_with_stride_or_padding_is_im2col(kwargs, why):
    e = convcore.explain("conv2d", (2, 16, 7, 9), (24, 16, 1, 1), **kwargs)
    # 'full' padding of a 1x1 kernel is zero padding, so it stays pointwise
    if why is None:
        assert e.algorithm == "gemm_1x1"
        return
    assert e.algorithm == "im2col_gemm"
    assert "gemm_1x1" in dict(e.rejected)


def test_dilated_1x1_and_padding_mode_stay_pointwise():
    # dilation does not change a 1x1 kernel; a padding mode without padding pads nothing
    assert convcore.explain("conv2d", (1, 4, 5, 5), (3, 4, 1, 1), dilation=3).algorithm == "gemm_1x1"
    assert convcore.explain("conv2d", (1, 4, 5, 5), (3, 4, 1, 1), padding_mode="reflect").algorithm == "gemm_1x1"


def test_depthwise_1x1_prefers_depthwise_direct():
    e = convcore.explain("conv2d", (1, 4, 5, 5), (4, 1, 1, 1), groups=4)
    assert e.algorithm == "depthwise_direct"
    for algo in ALGOS:  # but every one of them can run it
        assert convcore.explain("conv2d", (1, 4, 5, 5), (4, 1, 1, 1), groups=4, algorithm=algo).algorithm == algo


def test_grouped_but_not_depthwise():
    e = convcore.explain("conv2d", (1, 8, 6, 6), (8, 2, 3, 3), groups=4, padding=1)
    assert e.algorithm == "im2col_gemm"
    assert "groups=4" in dict(e.rejected)["depthwise_direct"]
    assert "in_channels=8" in dict(e.rejected)["depthwise_direct"]
    # one input channel, groups = 1: depthwise needs groups > 1
    e = convcore.explain("conv2d", (1, 1, 6, 6), (3, 1, 3, 3))
    assert e.algorithm == "im2col_gemm"


def test_conv1d_choices():
    assert convcore.explain("conv1d", (2, 4, 9), (4, 1, 3), groups=4).algorithm == "depthwise_direct"
    assert convcore.explain("conv1d", (2, 4, 9), (6, 4, 1)).algorithm == "gemm_1x1"
    e = convcore.explain("conv1d", (2, 4, 9), (6, 4, 3), padding=1)
    assert e.algorithm == "im2col_gemm" and e.op == "conv1d"


@pytest.mark.parametrize("pass_", PASSES)
def test_forced_algorithm(pass_):
    e = convcore.explain("conv2d", (2, 8, 9, 9), (8, 1, 3, 3), groups=8, padding=1, pass_=pass_,
                         algorithm="im2col_gemm")
    assert e.algorithm == "im2col_gemm"
    assert e.reason.startswith("forced by algorithm='im2col_gemm'")
    assert e.rejected == []


@pytest.mark.parametrize("pass_", PASSES)
def test_forced_algorithm_that_cannot_apply(pass_):
    with pytest.raises(ValueError, match=r"algorithm='gemm_1x1' cannot run this problem: needs a 1x1 kernel"):
        convcore.explain("conv2d", (2, 8, 9, 9), (8, 8, 3, 3), padding=1, algorithm="gemm_1x1", pass_=pass_)
    with pytest.raises(ValueError, match=r"algorithm='gemm_1x1' cannot run this problem"):
        convcore.explain("conv2d", (2, 8, 9, 9), (8, 8, 1, 1), stride=2, algorithm="gemm_1x1", pass_=pass_)
    with pytest.raises(ValueError, match=r"algorithm='depthwise_direct' cannot run this problem: "
                                         r"not depthwise \(groups=2, in_channels=8\)"):
        convcore.explain("conv2d", (2, 8, 9, 9), (8, 4, 3, 3), groups=2, algorithm="depthwise_direct",
                         pass_=pass_)


def test_forced_algorithm_that_cannot_apply_in_calls():
    x = np.zeros((1, 4, 6, 6), np.float32)
    w = np.zeros((4, 4, 3, 3), np.float32)
    g = np.zeros((1, 4, 4, 4), np.float32)
    for algo, why in [("gemm_1x1", "needs a 1x1 kernel"), ("depthwise_direct", "not depthwise")]:
        with pytest.raises(ValueError, match=f"conv2d: algorithm='{algo}' cannot run this problem: {why}"):
            F.conv2d(x, w, algorithm=algo)
        for needs in [("input",), ("weight",), ("bias",), ("input", "weight", "bias")]:
            with pytest.raises(ValueError, match=f"algorithm='{algo}' cannot run this problem"):
                F.conv2d_backward(g, x, w, needs=needs, algorithm=algo)
        with pytest.raises(ValueError, match=f"conv1d: algorithm='{algo}' cannot run this problem"):
            F.conv1d(x[:, :, 0], w[:, :, 0], algorithm=algo)


def test_unknown_algorithm():
    for call in [lambda: convcore.explain("conv2d", (1, 2, 5, 5), (2, 2, 3, 3), algorithm="winograd"),
                 lambda: F.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((2, 2, 3, 3)), algorithm="winograd")]:
        with pytest.raises(ValueError, match=r"algorithm must be one of 'depthwise_direct', 'gemm_1x1', "
                                              r"'im2col_gemm' \(CPU\), 'implicit_gemm' \(GPU\) or None, "
                                              r"got 'winograd'"):
            call()


def test_device_only_algorithms_are_refused_on_the_other_device():
    with pytest.raises(ValueError, match="implicit_gemm' cannot run this problem: runs on the GPU only"):
        F.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((2, 2, 3, 3)), algorithm="implicit_gemm")
    with pytest.raises(ValueError, match="im2col_gemm' cannot run this problem: runs on the CPU only"):
        convcore.explain("conv2d", (1, 2, 5, 5), (2, 2, 3, 3), algorithm="im2col_gemm", device="cuda")


def test_explain_gpu_choice_follows_the_math_mode():
    shape = dict(input_shape=(32, 64, 56, 56), weight_shape=(64, 64, 3, 3), padding=1)
    e = convcore.explain("conv2d", device="cuda", **shape)
    assert (e.algorithm, e.device, e.math, e.threads) == ("implicit_gemm", "cuda:0", "float32 (SIMT FMA)", 0)
    assert "shared-memory tiles" in e.reason and "cuda:0, float32" in str(e)
    with convcore.cuda.math_mode("tf32"):
        e = convcore.explain("conv2d", device="cuda", pass_="backward_weight", **shape)
        assert e.math == "tf32 tensor cores (WMMA), float32 accumulation"
        assert convcore.explain("conv2d", device="cuda", dtype=np.float64, **shape).math == "float64 (SIMT FMA)"
    assert convcore.cuda.get_math_mode() == "fp32"
    dw = convcore.explain("conv2d", (8, 32, 14, 14), (32, 1, 3, 3), groups=32, padding=1, device="cuda:0")
    assert dw.algorithm == "depthwise_direct" and dw.device == "cuda:0"
    pw = convcore.explain("conv2d", (8, 32, 14, 14), (64, 32, 1, 1), device="cuda")
    assert pw.algorithm == "gemm_1x1" and [r[0] for r in pw.rejected] == ["depthwise_direct"]
    cpu = convcore.explain("conv2d", **shape)
    assert (cpu.device, cpu.math, cpu.algorithm) == ("cpu", "float32", "im2col_gemm")
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'cuda:N', got 'gpu'"):
        convcore.explain("conv2d", device="gpu", **shape)


# ============================================================================ workspace


@pytest.mark.parametrize("pass_", PASSES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [
    dict(w=(32, 16, 3, 3), padding=1), dict(w=(32, 1, 3, 3), padding=1, groups=16),
    dict(w=(24, 16, 1, 1)), dict(w=(8, 16, 5, 5), stride=2, dilation=2, padding_mode="reflect", padding=2),
], ids=["im2col", "depthwise", "1x1", "strided"])
def test_workspace_positive_and_independent_of_batch(shape, dtype, pass_):
    shape = dict(shape)
    w = shape.pop("w")
    sizes = [convcore.explain("conv2d", (n, 16, 28, 28), w, dtype=dtype, pass_=pass_, **shape).workspace_bytes
             for n in (1, 2, 7, 64, 4096, 2**20)]
    assert all(isinstance(s, int) and s > 0 for s in sizes)
    assert len(set(sizes)) == 1, f"workspace depends on the batch size: {sizes}"
    assert sizes[0] <= 64 * 2**20


def test_workspace_is_sized_in_bytes():
    """Cache blocks are sized in bytes, so float64 holds about as many bytes as float32
    (half the elements), not twice as many."""
    f32 = convcore.explain("conv2d", (1, 16, 28, 28), (32, 16, 3, 3), dtype=np.float32).workspace_bytes
    f64 = convcore.explain("conv2d", (1, 16, 28, 28), (32, 16, 3, 3), dtype=np.float64).workspace_bytes
    assert f32 > 0 and 0.8 < f64 / f32 < 1.25


# ============================================================================ explanation fields


@pytest.mark.parametrize("case", [
    dict(op="conv2d", x=(2, 3, 9, 8), w=(4, 3, 3, 2), kw=dict(stride=2, padding=(1, 0, 2, 1))),
    dict(op="conv2d", x=(2, 9, 8, 3), w=(4, 3, 3, 2), kw=dict(padding="same", stride=(2, 3), data_format="NHWC")),
    dict(op="conv2d", x=(3, 9, 8), w=(6, 1, 3, 3), kw=dict(groups=3, padding="full", dilation=2)),
    dict(op="conv2d", x=(9, 8, 3), w=(6, 3, 1, 1), kw=dict(data_format="NHWC")),
    dict(op="conv1d", x=(2, 3, 11), w=(4, 3, 3), kw=dict(stride=2, padding="same")),
    dict(op="conv1d", x=(2, 11, 3), w=(4, 3, 3), kw=dict(padding=(2, 0), data_format="NLC")),
    dict(op="conv1d", x=(3, 11), w=(3, 1, 4), kw=dict(groups=3, padding="full", padding_mode="reflect")),
], ids=["nchw", "nhwc_same", "unbatched_dw", "unbatched_nhwc_1x1", "1d", "1d_nlc", "1d_unbatched"])
def test_output_shape_matches_call(case):
    e = convcore.explain(case["op"], case["x"], case["w"], **case["kw"])
    fn = F.conv2d if case["op"] == "conv2d" else F.conv1d
    y = fn(np.zeros(case["x"], np.float32), np.zeros(case["w"], np.float32), **case["kw"])
    assert e.output_shape == y.shape
    assert e.threads == convcore.get_num_threads()
    assert e.isa == convcore._C.active_isa()
    x4 = case["x"] if len(case["x"]) == (4 if case["op"] == "conv2d" else 3) else (1,) + case["x"]
    n = x4[0]
    w = case["w"]
    cout = w[0]
    k = int(np.prod(w[1:]))
    fmt = case["kw"].get("data_format", "NCHW" if case["op"] == "conv2d" else "NCL")
    spatial = (y.shape[-(len(w) - 1):-1] if fmt[-1] == "C" else y.shape[-(len(w) - 2):])
    assert e.flops == pytest.approx(2.0 * n * cout * int(np.prod(spatial)) * k)


def test_explanation_str():
    e = convcore.explain("conv2d", (2, 16, 28, 28), (32, 16, 3, 3), padding=1)
    s = str(e)
    assert "conv2d forward: im2col_gemm" in s
    assert "why: general case" in s
    assert "not depthwise_direct:" in s and "not gemm_1x1:" in s
    assert "output: (2, 32, 28, 28)" in s


def test_explain_allocates_nothing():
    """Shapes far too big to allocate are explained instantly."""
    e = convcore.explain("conv2d", (2**16, 256, 1024, 1024), (256, 256, 3, 3), padding=1)
    assert e.output_shape == (2**16, 256, 1024, 1024)
    assert e.flops == pytest.approx(2.0 * 2**16 * 256 * 2**20 * 256 * 9)


# ============================================================================ same results


def all_algorithms_problem(rng, dtype, integers=False):
    """Depthwise 1x1, stride 1, no padding: all three algorithms apply."""
    if integers:
        x = R.int_data(rng, (3, 4, 7, 9), -32, 32, dtype=dtype)
        w = R.int_data(rng, (8, 1, 1, 1), -32, 32, dtype=dtype)
        b = R.int_data(rng, (8,), -8, 8, dtype=dtype)
        g = R.int_data(rng, (3, 8, 7, 9), -8, 8, dtype=dtype)
    else:
        x = rng.standard_normal((3, 4, 7, 9)).astype(dtype)
        w = rng.standard_normal((8, 1, 1, 1)).astype(dtype)
        b = rng.standard_normal(8).astype(dtype)
        g = rng.standard_normal((3, 8, 7, 9)).astype(dtype)
    return x, w, b, g


@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_all_algorithms_agree_exactly_on_integers(fmt, rng, isa):
    x, w, b, g = all_algorithms_problem(rng, np.float32, integers=True)
    if fmt == "NHWC":
        x, g = np.ascontiguousarray(x.transpose(0, 2, 3, 1)), np.ascontiguousarray(g.transpose(0, 2, 3, 1))
    results = {}
    for algo in ALGOS:
        y = F.conv2d(x, w, b, groups=4, data_format=fmt, algorithm=algo)
        grads = F.conv2d_backward(g, x, w, groups=4, data_format=fmt, algorithm=algo)
        results[algo] = (y,) + grads
    for algo in ALGOS[1:]:
        for name, u, v in zip(("y", "gx", "gw", "gb"), results[ALGOS[0]], results[algo]):
            np.testing.assert_array_equal(u, v, err_msg=f"{algo} vs {ALGOS[0]}: {name}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_all_algorithms_agree_on_random_data(dtype, rng):
    x, w, b, g = all_algorithms_problem(rng, dtype)
    y64 = R.conv2d_ref(x, w, b, groups=4)
    gx64, gw64, gb64 = R.conv2d_backward_ref(g, x, w, groups=4)
    bx, bw, bb = R.conv2d_backward_ref(np.abs(g), np.abs(x), np.abs(w), groups=4)
    for algo in ALGOS:
        y = F.conv2d(x, w, b, groups=4, algorithm=algo)
        gx, gw, gb = F.conv2d_backward(g, x, w, groups=4, algorithm=algo)
        R.bound_check(y, y64, R.conv2d_ref(np.abs(x), np.abs(w), np.abs(b), groups=4), 1, dtype, what=algo)
        R.bound_check(gx, gx64, bx, 2, dtype, what=algo)
        R.bound_check(gw, gw64, bw, 3 * 63, dtype, what=algo)
        R.bound_check(gb, gb64, bb, 3 * 63, dtype, what=algo)


@pytest.mark.parametrize("case", [
    dict(x=(2, 6, 9, 10), w=(6, 1, 3, 3), kw=dict(groups=6, padding=1)),
    dict(x=(2, 3, 9, 10), w=(6, 1, 3, 2), kw=dict(groups=3, stride=2, dilation=(2, 1), padding=(2, 1, 0, 3),
                                                  padding_mode="symmetric")),
    dict(x=(2, 5, 8, 8), w=(7, 5, 1, 1), kw={}),
    dict(x=(1, 4, 9, 21), w=(8, 1, 5, 5), kw=dict(groups=4, padding="same", padding_mode="reflect")),
], ids=["dw", "dw_m2_sym", "1x1", "dw_same_reflect"])
def test_applicable_algorithms_agree_exactly(case, rng):
    """On exact-integer data the specialised path and the general one are bitwise equal."""
    x = R.int_data(rng, case["x"], -32, 32)
    w = R.int_data(rng, case["w"], -32, 32)
    b = R.int_data(rng, (case["w"][0],), -8, 8)
    y0 = F.conv2d(x, w, b, algorithm="im2col_gemm", **case["kw"])
    g = R.int_data(rng, y0.shape, -8, 8)
    g0 = F.conv2d_backward(g, x, w, algorithm="im2col_gemm", **case["kw"])
    special = "gemm_1x1" if case["w"][2:] == (1, 1) and not case["kw"] else "depthwise_direct"
    y1 = F.conv2d(x, w, b, algorithm=special, **case["kw"])
    g1 = F.conv2d_backward(g, x, w, algorithm=special, **case["kw"])
    np.testing.assert_array_equal(y0, y1)
    for u, v in zip(g0, g1):
        np.testing.assert_array_equal(u, v)
    # and the default choice is the specialised one
    e = convcore.explain("conv2d", case["x"], case["w"], **case["kw"])
    assert e.algorithm == special
