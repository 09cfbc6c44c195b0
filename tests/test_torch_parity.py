"""Differential tests against PyTorch CPU (TESTING.md layer L6): forward and all three
gradients (via autograd) on the configurations PyTorch supports, including real
network layer shapes at a small batch. Skipped cleanly when torch is missing.

float32: relative L2 error <= 1e-5 and element-wise |y - yt| <= 16 sqrt(K) 2^-24 B,
B the float64 reference on absolute values (both sides round, hence 16 not 8);
float64: <= 1e-10 B."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
TF = torch.nn.functional

import convcore  # noqa: E402
import convcore.functional as F  # noqa: E402
import reference as R  # noqa: E402
from cases import Case  # noqa: E402

torch.use_deterministic_algorithms(True)

TORCH_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate", "circular": "circular"}


def torch_run(p: Case, x, w, b, g, native_padding=False):
    """Forward and autograd backward in torch, float64 or float32 as given."""
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True) if b is not None else None
    conv = TF.conv2d if p.nd == 2 else TF.conv1d
    if native_padding:
        # torch's own padding argument (int, symmetric tuple or a string), zeros only
        pad_arg = p.padding
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about 'same' with even kernels
            yt = conv(xt, wt, bt, stride=p.stride, padding=pad_arg, dilation=p.dilation, groups=p.groups)
    else:
        pads = p.pads
        # F.pad takes the last axis first: (left, right, top, bottom)
        tpad = (pads[2], pads[3], pads[0], pads[1]) if p.nd == 2 else tuple(pads)
        xp = TF.pad(xt, tpad, mode=TORCH_MODES[p.mode]) if any(pads) else xt
        yt = conv(xp, wt, bt, stride=p.stride, padding=0, dilation=p.dilation, groups=p.groups)
    yt.backward(torch.tensor(g))
    return (yt.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(),
            None if bt is None else bt.grad.numpy())


def ref(p: Case, *arrays, backward=False):
    """The float64 reference with p's options (forward on (x, w, b), backward on (g, x, w))."""
    s, d = p.s, p.d
    if p.nd == 2:
        fn = R.conv2d_backward_ref if backward else R.conv2d_ref
        return fn(*arrays, s, p.pads, d, p.groups, p.mode)
    fn = R.conv1d_backward_ref if backward else R.conv1d_ref
    return fn(*arrays, s[0], p.pads, d[0], p.groups, p.mode)


def compare(p: Case, dtype, rng, native_padding=False, channels_last=False, algorithm=None):
    x = rng.standard_normal((p.n, p.cin) + p.size).astype(dtype)
    w = rng.standard_normal((p.cout, p.cin // p.groups) + p.k).astype(dtype)
    b = rng.standard_normal(p.cout).astype(dtype) if p.bias else None
    api = dict(stride=p.stride, padding=p.padding if native_padding else p.pads, dilation=p.dilation,
               groups=p.groups, padding_mode=p.mode, algorithm=algorithm)
    conv, conv_bwd = (F.conv2d, F.conv2d_backward) if p.nd == 2 else (F.conv1d, F.conv1d_backward)
    if channels_last:
        fmt = "NHWC" if p.nd == 2 else "NLC"
        last = lambda a: np.ascontiguousarray(np.moveaxis(a, 1, -1))  # noqa: E731
        y = np.moveaxis(conv(last(x), w, b, data_format=fmt, **api), -1, 1)
    else:
        y = conv(x, w, b, **api)
    g = rng.standard_normal(y.shape).astype(dtype)
    if channels_last:
        gx, gw, gb = conv_bwd(last(g), last(x), w, data_format=fmt, **api)
        gx = np.moveaxis(gx, -1, 1)
    else:
        gx, gw, gb = conv_bwd(g, x, w, **api)
    yt, gxt, gwt, gbt = torch_run(p, x, w, b, g, native_padding)
    assert y.shape == yt.shape, (y.shape, yt.shape)

    ab = None if b is None else np.abs(b)
    bf = ref(p, np.abs(x), np.abs(w), ab)
    bx, bw, bb = ref(p, np.abs(g), np.abs(x), np.abs(w), backward=True)
    kx = ref(p, np.ones_like(g), np.ones_like(x), np.ones_like(w), backward=True)[0]
    k_fwd = p.cin // p.groups * int(np.prod(p.k))
    k_wgt = p.n * int(np.prod(y.shape[2:]))
    kw = dict(factor=16.0, rel_l2=1e-5, f64_tol=1e-10)
    R.bound_check(y, yt, bf, k_fwd, dtype, what=f"{p.name} forward", **kw)
    R.bound_check(gx, gxt, bx, kx, dtype, what=f"{p.name} grad_input", **kw)
    R.bound_check(gw, gwt, bw, k_wgt, dtype, what=f"{p.name} grad_weight", **kw)
    if b is not None:
        R.bound_check(gb, gbt, bb, k_wgt, dtype, what=f"{p.name} grad_bias", **kw)


# ============================================================================ configurations

CONFIGS = [
    Case("basic", 2, 3, 4, (8, 7), (3, 3), padding=1),
    Case("stride_aniso", 2, 3, 5, (9, 11), (3, 2), stride=(2, 3), padding=(1, 1, 0, 0)),
    Case("asym_pad", 1, 3, 4, (7, 7), (3, 3), padding=(0, 2, 1, 3)),
    Case("dilated", 2, 4, 4, (10, 9), (3, 3), dilation=(2, 3), padding=(2, 2, 3, 3)),
    Case("groups", 2, 6, 9, (7, 8), (3, 3), groups=3, padding=1),
    Case("depthwise_m1", 2, 5, 5, (9, 8), (3, 3), groups=5, padding=1),
    Case("depthwise_m2", 1, 4, 8, (9, 8), (5, 3), groups=4, padding=(2, 2, 1, 1), stride=2),
    Case("pointwise", 2, 8, 12, (6, 5), (1, 1)),
    Case("same_even", 2, 3, 4, (8, 7), (4, 2), padding="same"),
    Case("same_strided", 2, 3, 4, (9, 8), (3, 4), stride=2, padding="same"),
    Case("full", 1, 2, 3, (5, 6), (3, 3), padding="full"),
    Case("nobias", 1, 3, 4, (6, 6), (3, 3), bias=False),
] + [
    Case(f"{mode}", 2, 3, 4, (7, 8), (3, 3), padding=(1, 2, 2, 1), mode=mode)
    for mode in ("reflect", "replicate", "circular")
] + [
    Case(f"{mode}_s2_d2_dw", 1, 4, 8, (9, 8), (3, 3), stride=2, dilation=2, groups=4, padding=(2, 3, 1, 2), mode=mode)
    for mode in ("reflect", "replicate", "circular")
] + [
    Case("circular_full_width", 1, 2, 2, (4, 5), (3, 3), padding=(4, 4, 5, 5), mode="circular"),
    Case("1d_basic", 2, 3, 4, (15,), (3,), padding=1),
    Case("1d_stride_dil", 2, 3, 4, (17,), (3,), stride=2, dilation=3, padding=(2, 1)),
    Case("1d_reflect_dw", 2, 3, 6, (12,), (5,), groups=3, padding=(3, 2), mode="reflect"),
    Case("1d_circular", 1, 2, 3, (8,), (3,), padding=(4, 1), mode="circular"),
    Case("1d_same", 2, 2, 3, (9,), (4,), padding="same", mode="replicate"),
]

NETWORK_LAYERS = [
    # AlexNet conv1 (11x11 s4 p2) at a reduced 63x63 input
    Case("alexnet_conv1", 2, 3, 64, (63, 63), (11, 11), stride=4, padding=2),
    # AlexNet conv2 (5x5 p2, 64 -> 192) at 7x7
    Case("alexnet_conv2", 2, 64, 192, (7, 7), (5, 5), padding=2),
    # ResNet stem 7x7 s2 p3 at 56x56
    Case("resnet_conv1", 2, 3, 64, (56, 56), (7, 7), stride=2, padding=3),
    # ResNet body 3x3 and bottleneck 1x1
    Case("resnet_3x3", 2, 64, 64, (14, 14), (3, 3), padding=1),
    Case("resnet_1x1_expand", 2, 64, 256, (14, 14), (1, 1), bias=False),
    Case("resnet_1x1_s2_down", 2, 64, 128, (14, 14), (1, 1), stride=2, bias=False),
    # MobileNet depthwise 3x3, stride 1 and 2
    Case("mobilenet_dw3x3", 2, 32, 32, (28, 28), (3, 3), groups=32, padding=1),
    Case("mobilenet_dw3x3_s2", 2, 64, 64, (28, 28), (3, 3), stride=2, groups=64, padding=1),
    # DeepLab-style dilated 3x3
    Case("dilated_3x3_d2", 2, 32, 32, (20, 20), (3, 3), dilation=2, padding=2),
    Case("dilated_3x3_d4", 1, 16, 24, (24, 24), (3, 3), dilation=4, padding=4, mode="reflect"),
]


def ids(ps):
    return [p.name for p in ps]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("p", CONFIGS, ids=ids(CONFIGS))
def test_matches_torch(p, dtype, rng):
    compare(p, dtype, rng)


@pytest.mark.parametrize("p", CONFIGS + NETWORK_LAYERS[:3], ids=ids(CONFIGS + NETWORK_LAYERS[:3]))
def test_reference_matches_torch(p, rng):
    """Layer L0: the float64 NumPy reference itself (forward and all gradients) agrees
    with torch float64."""
    x = rng.standard_normal((p.n, p.cin) + p.size)
    w = rng.standard_normal((p.cout, p.cin // p.groups) + p.k)
    b = rng.standard_normal(p.cout) if p.bias else None
    y = ref(p, x, w, b)
    g = rng.standard_normal(y.shape)
    gx, gw, gb = ref(p, g, x, w, backward=True)
    yt, gxt, gwt, gbt = torch_run(p, x, w, b, g)
    for name, u, v in [("y", y, yt), ("gx", gx, gxt), ("gw", gw, gwt)] + ([("gb", gb, gbt)] if p.bias else []):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-10 * max(1.0, np.abs(v).max()), err_msg=name)


@pytest.mark.parametrize("p", [c for c in CONFIGS if c.mode != "circular" or c.nd == 2][::3],
                         ids=lambda p: p.name)
def test_matches_torch_channels_last(p, rng):
    compare(p, np.float32, rng, channels_last=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("p", NETWORK_LAYERS, ids=ids(NETWORK_LAYERS))
def test_network_layers(p, dtype, rng):
    compare(p, dtype, rng)


@pytest.mark.parametrize("p", [NETWORK_LAYERS[i] for i in (0, 2, 6, 8)], ids=lambda p: p.name)
def test_network_layers_every_isa(p, isa, rng):
    compare(p, np.float32, rng)


NATIVE = [
    Case("native_int", 2, 3, 4, (8, 7), (3, 3), padding=1),
    Case("native_pair", 2, 3, 4, (8, 7), (3, 5), padding=(2, 1), stride=(2, 1)),
    Case("native_same_odd", 2, 3, 4, (8, 7), (3, 5), padding="same", dilation=(1, 2)),
    Case("native_same_even", 2, 3, 4, (8, 7), (4, 2), padding="same"),
    Case("native_same_even_dil", 1, 2, 3, (9, 8), (2, 4), padding="same", dilation=(3, 1)),
    Case("native_valid", 2, 3, 4, (8, 7), (3, 3), padding="valid"),
    Case("native_1d_same_even", 2, 3, 4, (9,), (4,), padding="same"),
]


@pytest.mark.parametrize("p", NATIVE, ids=ids(NATIVE))
def test_padding_semantics_match_torch(p, rng):
    """convcore's int / pair / 'same' / 'valid' paddings mean what torch's do (stride 1
    for 'same', where torch supports it; even kernels put the extra unit after)."""
    compare(p, np.float64, rng, native_padding=True)


def test_same_padding_function_matches_torch_for_stride_1():
    for n in range(1, 9):
        for k in range(1, 6):
            for d in range(1, 3):
                x = torch.zeros(1, 1, n)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    y = TF.conv1d(x, torch.zeros(1, 1, k), padding="same", dilation=d)
                assert y.shape[-1] == n
                before, after = convcore.same_padding(n, k, 1, d)
                assert before + after == d * (k - 1)
                assert convcore.conv_output_size(n, k, 1, (before, after), d) == n


@pytest.mark.parametrize("algo", ["im2col_gemm", "depthwise_direct"])
def test_depthwise_algorithms_match_torch(algo, rng):
    compare(Case("dw_algo", 2, 6, 12, (11, 10), (3, 3), groups=6, padding=(1, 1, 2, 0), stride=(1, 2), mode="reflect"),
            np.float32, rng, algorithm=algo)


@pytest.mark.parametrize("algo", ["im2col_gemm", "gemm_1x1"])
def test_pointwise_algorithms_match_torch(algo, rng):
    compare(Case("pw_algo", 3, 16, 24, (7, 9), (1, 1)), np.float32, rng, algorithm=algo)
