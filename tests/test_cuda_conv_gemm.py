"""The CUDA GEMM engine (cuda::gemm through linear) and the implicit-GEMM / 1x1
convolution passes against the CPU backend and the float64 NumPy reference: every
padding mode, asymmetric and negative trailing padding (transposed convolutions),
stride, dilation, groups, both layouts, bias, partial tiles, the math modes, and
run-to-run determinism of the split-K weight gradient. Skipped without a device."""

from __future__ import annotations

import numpy as np
import pytest

import convcore
import convcore.functional as F
import reference as R

cuda = getattr(convcore, "cuda", None)
pytestmark = pytest.mark.skipif(
    cuda is None or not cuda.is_available(), reason="needs a CUDA device"
)

# (n, cin, cout, (H, W), (kH, kW), stride, padding, dilation, groups, mode)
CONFIGS = [
    (2, 3, 5, (9, 11), (3, 3), 1, 1, 1, 1, "zeros"),
    (1, 4, 6, (8, 8), (3, 2), (2, 1), (1, 0, 2, 1), 1, 2, "zeros"),
    (3, 6, 4, (10, 7), (3, 3), 2, (2, 1, 0, 2), (2, 1), 2, ("constant", 1.5)),
    (2, 5, 7, (12, 9), (3, 3), 1, 2, 1, 1, "reflect"),
    (2, 4, 4, (7, 10), (2, 3), (1, 2), (1, 1, 2, 0), 1, 1, "replicate"),
    (1, 6, 9, (9, 9), (3, 3), 2, 3, 1, 3, "circular"),
    (2, 3, 3, (6, 8), (5, 3), 1, (2, 2, 1, 1), (1, 2), 1, "symmetric"),
    (1, 130, 140, (5, 6), (1, 1), 1, 0, 1, 1, "zeros"),      # 1x1 across tile edges
    (5, 33, 129, (13, 17), (3, 3), 1, 1, 1, 1, "zeros"),     # partial tiles
    (2, 8, 8, (11, 11), (1, 1), 2, 0, 1, 2, "zeros"),        # 1x1 strided: implicit GEMM
]


def _case_arrays(cfg, dtype, rng):
    n, cin, cout, size, k, *_ = cfg
    groups = cfg[8]
    x = rng.standard_normal((n, cin) + size).astype(dtype)
    w = rng.standard_normal((cout, cin // groups) + k).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    return x, w, b


def _kw(cfg, layout):
    _, _, _, _, _, stride, padding, dilation, groups, mode = cfg
    return dict(stride=stride, padding=padding, dilation=dilation, groups=groups,
                padding_mode=mode, data_format=layout)


def _dev(a):
    return cuda.asarray(np.ascontiguousarray(a))


def _host(a):
    return a.numpy()


def _to_layout(a, layout):
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)) if layout == "NHWC" else a


def _rel_err(got, want):
    scale = max(float(np.max(np.abs(want))), 1e-30)
    return float(np.max(np.abs(got.astype(np.float64) - want))) / scale


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_gemm_forward_backward(cfg, layout, dtype):
    rng = np.random.default_rng(7)
    x, w, b = _case_arrays(cfg, dtype, rng)
    kw = _kw(cfg, layout)
    xl = _to_layout(x, layout)
    pointwise = cfg[4] == (1, 1) and cfg[5] == 1 and cfg[6] == 0
    algos = ["im2col_gemm"] + (["gemm_1x1"] if pointwise else [])
    cuda.set_math_mode("fp32")
    y_cpu = F.conv2d(xl, w, b, **kw)
    gy = rng.standard_normal(y_cpu.shape).astype(dtype)
    cpu_grads = F.conv2d_backward(gy, xl, w, **kw)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for algo in algos:
        y = _host(F.conv2d(_dev(xl), _dev(w), _dev(b), algorithm=algo, **kw))
        assert _rel_err(y, y_cpu.astype(np.float64)) <= tol
        grads = F.conv2d_backward(_dev(gy), _dev(xl), _dev(w), algorithm=algo, **kw)
        for got, want in zip(grads, cpu_grads):
            assert _rel_err(_host(got), want.astype(np.float64)) <= tol


@pytest.mark.parametrize("cfg", CONFIGS[:7], ids=[str(i) for i in range(7)])
def test_conv2d_gemm_matches_reference_float64(cfg):
    rng = np.random.default_rng(11)
    x, w, b = _case_arrays(cfg, np.float64, rng)
    _, _, _, size, k, stride, padding, dilation, groups, mode = cfg
    s = stride if isinstance(stride, tuple) else (stride, stride)
    d = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    pads = R.resolve_padding(padding, size, k, s, d)
    want = R.conv2d_ref(x, w, b, s, pads, d, groups, mode)
    got = _host(F.conv2d(_dev(x), _dev(w), _dev(b), algorithm="im2col_gemm", **_kw(cfg, "NCHW")))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    gy = rng.standard_normal(want.shape)
    ref = R.conv2d_backward_ref(gy, x, w, s, pads, d, groups, mode)
    grads = F.conv2d_backward(_dev(gy), _dev(x), _dev(w), algorithm="im2col_gemm",
                              **_kw(cfg, "NCHW"))
    for got_g, want_g in zip(grads, ref):
        np.testing.assert_allclose(_host(got_g), want_g, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("output_padding", [0, 1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_transpose2d_gemm(output_padding, dtype):
    # output_padding makes the underlying convolution's trailing padding negative
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 5, 7)).astype(dtype)
    w = rng.standard_normal((6, 2, 3, 3)).astype(dtype)
    kw = dict(stride=2, padding=1, output_padding=output_padding, groups=3)
    y_cpu = F.conv_transpose2d(x, w, None, **kw)
    y = _host(F.conv_transpose2d(_dev(x), _dev(w), None, algorithm="im2col_gemm", **kw))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert _rel_err(y, y_cpu.astype(np.float64)) <= tol
    gy = rng.standard_normal(y_cpu.shape).astype(dtype)
    cpu = F.conv_transpose2d_backward(gy, x, w, **kw)
    got = F.conv_transpose2d_backward(_dev(gy), _dev(x), _dev(w), algorithm="im2col_gemm", **kw)
    for g, c in zip(got, cpu):
        assert _rel_err(_host(g), c.astype(np.float64)) <= tol


@pytest.mark.parametrize("math_mode,tol", [("tf32", 5e-3), ("fp16", 5e-3), ("bf16", 3e-2)])
def test_conv2d_gemm_math_modes(math_mode, tol):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 32, 12, 12)).astype(np.float32)
    w = rng.standard_normal((48, 32, 3, 3)).astype(np.float32)
    want = F.conv2d(x, w, None, padding=1)
    cuda.set_math_mode(math_mode)
    try:
        got = _host(F.conv2d(_dev(x), _dev(w), None, padding=1, algorithm="im2col_gemm"))
        gy = rng.standard_normal(want.shape).astype(np.float32)
        grads = F.conv2d_backward(_dev(gy), _dev(x), _dev(w), padding=1,
                                  algorithm="im2col_gemm")
    finally:
        cuda.set_math_mode("fp32")
    assert _rel_err(got, want.astype(np.float64)) <= tol
    cpu = F.conv2d_backward(gy, x, w, padding=1)
    for g, c in zip(grads, cpu):
        assert _rel_err(_host(g), c.astype(np.float64)) <= tol


def test_conv2d_gemm_weight_gradient_is_deterministic():
    # a long reduction (batch * pixels) takes the split-K path
    rng = np.random.default_rng(9)
    x = _dev(rng.standard_normal((16, 8, 32, 32)).astype(np.float32))
    w = _dev(rng.standard_normal((16, 8, 3, 3)).astype(np.float32))
    gy = _dev(rng.standard_normal((16, 16, 32, 32)).astype(np.float32))
    first = _host(F.conv2d_backward(gy, x, w, padding=1, needs=("weight",),
                                    algorithm="im2col_gemm")[1])
    for _ in range(3):
        again = _host(F.conv2d_backward(gy, x, w, padding=1, needs=("weight",),
                                        algorithm="im2col_gemm")[1])
        assert np.array_equal(first, again)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (7, 300, 5), (129, 33, 257), (300, 65, 129),
                                   (64, 0, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_uses_cuda_gemm(m, k, n, dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((m, k)).astype(dtype)
    w = rng.standard_normal((n, k)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    want = x.astype(np.float64) @ w.astype(np.float64).T + b
    got = _host(F.linear(_dev(x), _dev(w), _dev(b)))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert _rel_err(got, want) <= tol
