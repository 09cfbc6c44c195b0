"""conv_transpose2d / conv_transpose1d forward and backward: against a float64
scatter reference, the adjoint identity with conv2d, finite differences, every
algorithm and ISA, layouts, hypothesis configurations, PyTorch parity and the
bad-input catalogue."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convcore
import convcore.functional as F
import reference as R


@dataclass(frozen=True)
class TCase:
    n: int
    cin: int
    cout: int
    hw: tuple
    k: tuple
    s: tuple = (1, 1)
    p: tuple = (0, 0, 0, 0)  # top, bottom, left, right
    op: tuple = (0, 0)
    d: tuple = (1, 1)
    groups: int = 1

    def kwargs(self) -> dict:
        return dict(stride=self.s, padding=self.p, output_padding=self.op, groups=self.groups,
                    dilation=self.d)

    def weight_shape(self) -> tuple:
        return (self.cin, self.cout // self.groups) + self.k

    def out_hw(self) -> tuple:
        return tuple((n - 1) * s - lo - hi + d * (k - 1) + o + 1 for n, s, lo, hi, d, k, o in zip(
            self.hw, self.s, self.p[::2], self.p[1::2], self.d, self.k, self.op))


def transpose_ref(x, w, b, c: TCase):
    """y[n, g*cog + co, i*s - top + a*d, j*s - left + b*d] += x[n, ci, i, j] * w[ci, co, a, b]
    in float64, on the uncropped output, then cropped by the padding."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    n, cin, h, wd = x.shape
    cig, cog = cin // c.groups, c.cout // c.groups
    (sh, sw), (dh, dw), (kh, kw) = c.s, c.d, c.k
    full = np.zeros((n, c.cout, (h - 1) * sh + dh * (kh - 1) + 1 + c.op[0],
                     (wd - 1) * sw + dw * (kw - 1) + 1 + c.op[1]))
    for g in range(c.groups):
        xg, wg = x[:, g * cig:(g + 1) * cig], w[g * cig:(g + 1) * cig]
        for a in range(kh):
            for bb in range(kw):
                contrib = np.einsum("nihw,io->nohw", xg, wg[:, :, a, bb])
                full[:, g * cog:(g + 1) * cog, a * dh:a * dh + (h - 1) * sh + 1:sh,
                     bb * dw:bb * dw + (wd - 1) * sw + 1:sw] += contrib
    top, bottom, left, right = c.p
    y = full[:, :, top:full.shape[2] - bottom, left:full.shape[3] - right]
    return y if b is None else y + b.astype(np.float64)[None, :, None, None]


def make(c: TCase, dtype, rng, bias=True):
    x = rng.standard_normal((c.n, c.cin) + c.hw).astype(dtype)
    w = rng.standard_normal(c.weight_shape()).astype(dtype)
    b = rng.standard_normal(c.cout).astype(dtype) if bias else None
    return x, w, b


def abs_bound(x, w, c: TCase):
    return transpose_ref(np.abs(x), np.abs(w), None, c)


CASES = [
    TCase(2, 3, 4, (5, 6), (3, 3)),
    TCase(2, 4, 6, (4, 5), (3, 3), s=(2, 2), p=(1, 1, 1, 1), op=(1, 1)),
    TCase(1, 4, 4, (5, 5), (2, 2), s=(2, 2)),  # U-Net up-convolution
    TCase(2, 4, 8, (4, 4), (4, 4), s=(2, 2), p=(1, 1, 1, 1), groups=2),  # DCGAN / FCN
    TCase(1, 6, 6, (5, 4), (3, 3), s=(2, 1), p=(1, 1, 0, 0), groups=6),  # depthwise
    TCase(1, 6, 12, (5, 4), (3, 3), p=(1, 1, 1, 1), groups=6),  # depthwise, multiplier 2
    TCase(2, 3, 5, (4, 4), (1, 1)),  # 1x1
    TCase(1, 3, 2, (4, 5), (3, 2), s=(1, 1), op=(1, 1), d=(2, 2)),  # output_padding > padding
    TCase(1, 2, 3, (3, 6), (3, 3), s=(3, 2), p=(2, 0, 1, 3), op=(2, 1), d=(1, 2)),
    TCase(2, 2, 2, (6, 6), (3, 3), p=(2, 2, 2, 2)),  # padding crops more than the kernel adds
    # depthwise, stride 1, output_padding past the padding by more than a row's slack
    TCase(1, 3, 3, (4, 5), (2, 2), op=(1, 19), d=(2, 20), groups=3),
]


@pytest.mark.parametrize("c", CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_reference(c, dtype, rng):
    x, w, b = make(c, dtype, rng)
    y = F.conv_transpose2d(x, w, b, **c.kwargs())
    assert y.dtype == dtype and y.shape == (c.n, c.cout) + c.out_hw()
    K = c.cin // c.groups * c.k[0] * c.k[1]
    R.bound_check(y, transpose_ref(x, w, b, c), abs_bound(x, w, c) + np.abs(b)[:, None, None], K,
                  dtype, what="conv_transpose2d")


@pytest.mark.parametrize("c", CASES, ids=str)
def test_backward_matches_finite_differences(c, rng):
    c = TCase(1, c.cin, c.cout, tuple(min(v, 4) for v in c.hw), c.k, c.s, c.p, c.op, c.d, c.groups)
    x, w, b = make(c, np.float64, rng)
    gy = rng.standard_normal((c.n, c.cout) + c.out_hw())
    gx, gw, gb = F.conv_transpose2d_backward(gy, x, w, b, **c.kwargs())

    def loss(xx=x, ww=w, bb=b):
        return float(np.sum(transpose_ref(xx, ww, bb, c) * gy))

    np.testing.assert_allclose(gx, R.central_difference(lambda v: loss(xx=v), x), atol=1e-6)
    np.testing.assert_allclose(gw, R.central_difference(lambda v: loss(ww=v), w), atol=1e-6)
    np.testing.assert_allclose(gb, R.central_difference(lambda v: loss(bb=v), b), atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
    st.tuples(st.integers(1, 6), st.integers(1, 6)), st.tuples(st.integers(1, 3), st.integers(1, 3)),
    st.tuples(st.integers(1, 3), st.integers(1, 3)), st.tuples(st.integers(1, 2), st.integers(1, 2)),
    st.tuples(*[st.integers(0, 2)] * 4), st.tuples(st.integers(0, 2), st.integers(0, 2)),
    st.integers(0, 2**31),
)
def test_adjoint_of_conv2d(n, groups, cig, cog, hw, k, s, d, pads, op, seed):
    """<conv2d(z, w), y> == <y... x, conv_transpose2d(y, w)>: the defining identity, over
    strides, dilations, groups and output_padding (rows conv2d gains when
    output_padding >= stride are cut off, as they meet zeros of y)."""
    op = tuple(min(o, max(st_, dd) - 1) for o, st_, dd in zip(op, s, d))
    c = TCase(n, groups * cig, groups * cog, hw, k, s, pads, op, d, groups)
    if min(c.out_hw()) < 1:
        return
    rng = np.random.default_rng(seed)
    y, w, _ = make(c, np.float64, rng, bias=False)
    t = F.conv_transpose2d(y, w, **c.kwargs())
    z = rng.standard_normal(t.shape)
    cz = F.conv2d(z, w, None, stride=s, padding=pads, dilation=d, groups=groups)
    lhs = float(np.sum(cz[:, :, :hw[0], :hw[1]] * y))
    np.testing.assert_allclose(lhs, float(np.sum(z * t)), rtol=1e-10, atol=1e-10)


ALGOS = {
    "im2col_gemm": CASES[1],
    "depthwise_direct": CASES[4],
    "gemm_1x1": CASES[6],
}


@pytest.mark.parametrize("algorithm", sorted(ALGOS))
def test_every_algorithm_and_isa(algorithm, isa, rng):
    c = ALGOS[algorithm]
    x, w, b = make(c, np.float32, rng)
    gy = rng.standard_normal((c.n, c.cout) + c.out_hw()).astype(np.float32)
    y = F.conv_transpose2d(x, w, b, **c.kwargs(), algorithm=algorithm)
    K = c.cin // c.groups * c.k[0] * c.k[1]
    R.bound_check(y, transpose_ref(x, w, b, c), abs_bound(x, w, c) + np.abs(b)[:, None, None], K,
                  np.float32, what=f"{algorithm}/{isa}")
    gx, gw, gb = F.conv_transpose2d_backward(gy, x, w, b, **c.kwargs(), algorithm=algorithm)
    x64, w64, gy64 = x.astype(np.float64), w.astype(np.float64), gy.astype(np.float64)
    ref = F.conv_transpose2d_backward(gy64, x64, w64, b.astype(np.float64), **c.kwargs())
    for got, want in zip((gx, gw, gb), ref):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4 * np.abs(want).max())


def test_explain_maps_the_passes(rng):
    e = convcore.explain("conv_transpose2d", (2, 8, 5, 5), (8, 4, 3, 3), stride=2, padding=1,
                         output_padding=1, bias=True)
    assert e.output_shape == (2, 4, 10, 10) and e.pass_ == "forward"
    assert e.algorithm == "im2col_gemm"
    assert convcore.explain("conv_transpose2d", (2, 8, 5, 5), (8, 1, 3, 3), groups=8,
                            padding=1).algorithm == "depthwise_direct"
    assert convcore.explain("conv_transpose1d", (5, 8), (8, 2, 3), stride=2,
                            data_format="NLC").output_shape == (11, 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layouts_unbatched_and_1d(dtype, rng):
    c = CASES[3]
    x, w, b = make(c, dtype, rng)
    y = F.conv_transpose2d(x, w, b, **c.kwargs())
    ylast = F.conv_transpose2d(np.moveaxis(x, 1, -1), w, b, **c.kwargs(), data_format="NHWC")
    np.testing.assert_allclose(np.moveaxis(ylast, -1, 1), y, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(F.conv_transpose2d(x[0], w, b, **c.kwargs()), y[0],
                               rtol=1e-6, atol=1e-6)
    gy = rng.standard_normal(y.shape).astype(dtype)
    g = F.conv_transpose2d_backward(gy, x, w, b, **c.kwargs())
    glast = F.conv_transpose2d_backward(np.moveaxis(gy, 1, -1), np.moveaxis(x, 1, -1), w, b,
                                        **c.kwargs(), data_format="NHWC")
    np.testing.assert_allclose(np.moveaxis(glast[0], -1, 1), g[0], rtol=1e-5, atol=1e-5)
    for got, want in zip(glast[1:], g[1:]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

    x1, w1 = x[:, :, 0, :], w[:, :, 0, :]
    c1 = TCase(c.n, c.cin, c.cout, (1, c.hw[1]), (1, c.k[1]), (1, 2), (0, 0, 1, 1), (0, 1),
               groups=c.groups)
    y1 = F.conv_transpose1d(x1, w1, b, stride=2, padding=1, output_padding=1, groups=c.groups)
    np.testing.assert_allclose(y1, transpose_ref(x1[:, :, None], w1[:, :, None], b, c1)[:, :, 0],
                               rtol=1e-5, atol=1e-5)
    g1 = F.conv_transpose1d_backward(rng.standard_normal(y1.shape).astype(dtype), x1, w1, None,
                                     stride=2, padding=1, output_padding=1, groups=c.groups)
    assert g1[0].shape == x1.shape and g1[1].shape == w1.shape and g1[2] is None


def test_out_needs_and_inputs_untouched(rng):
    c = CASES[1]
    x, w, b = make(c, np.float64, rng)
    saved = [a.copy() for a in (x, w, b)]
    out = np.empty((c.n, c.cout) + c.out_hw())
    assert F.conv_transpose2d(x, w, b, **c.kwargs(), out=out) is out
    np.testing.assert_allclose(out, transpose_ref(x, w, b, c), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(out.shape)
    gx, gw, gb = F.conv_transpose2d_backward(gy, x, w, b, **c.kwargs(), needs=("weight",))
    assert gx is None and gb is None and gw.shape == w.shape
    _, _, gb = F.conv_transpose2d_backward(gy, x, w, None, **c.kwargs())
    assert gb is None  # no bias, no bias gradient
    for a, s in zip((x, w, b), saved):
        np.testing.assert_array_equal(a, s)


def test_empty_batch(rng):
    c = CASES[1]
    x = np.zeros((0, c.cin) + c.hw, np.float32)
    w = rng.standard_normal(c.weight_shape()).astype(np.float32)
    assert F.conv_transpose2d(x, w, **c.kwargs()).shape == (0, c.cout) + c.out_hw()


@pytest.mark.parametrize("c", [c for c in CASES if c.p[::2] == c.p[1::2]], ids=str)
def test_matches_torch(c, torch, rng):  # torch takes symmetric padding only
    x, w, b = make(c, np.float64, rng)
    pads = c.p
    kw = dict(stride=c.s, padding=(pads[0], pads[2]), output_padding=c.op, groups=c.groups,
              dilation=c.d)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yt = torch.nn.functional.conv_transpose2d(xt, wt, bt, **kw)
    y = F.conv_transpose2d(x, w, b, **kw)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    gy = rng.standard_normal(y.shape)
    yt.backward(torch.tensor(gy))
    for got, want in zip(F.conv_transpose2d_backward(gy, x, w, b, **kw), (xt, wt, bt)):
        np.testing.assert_allclose(got, want.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "kwargs, exc, fragment",
    [
        (dict(stride=2, output_padding=2), ValueError, "output_padding must be non-negative and "
         "smaller than either stride or dilation, got output_padding 2, stride 2"),
        (dict(output_padding=-1, stride=2), ValueError, "output_padding"),
        (dict(padding="same"), TypeError, "padding must be an int or a tuple"),
        (dict(padding=5), ValueError, "input size per channel (3 x 3), the calculated output size per channel (-5 x -5) "
         "is too small"),
        (dict(groups=3), ValueError, "expected weight to be divisible by 3"),
        (dict(stride=0), ValueError, "stride must be positive, got 0"),
        (dict(output_padding=(1, 2, 3)), TypeError, "output_padding must be an int or a sequence"),
    ],
)
def test_bad_options(kwargs, exc, fragment, rng):
    x = rng.standard_normal((1, 4, 3, 3)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    with pytest.raises(exc, match=None) as info:
        F.conv_transpose2d(x, w, **kwargs)
    assert fragment in str(info.value) and "conv_transpose2d" in str(info.value)


def test_bad_arrays(rng):
    x = rng.standard_normal((1, 4, 3, 3)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"weight of size \[3, 2, 3, 3\].*expects input "
                       r"\[1, 4, 3, 3\] to have 3 channels, but got 4"):
        F.conv_transpose2d(x, w[:3])
    with pytest.raises(ValueError, match="expected bias to be 1-dimensional with 2 elements"):
        F.conv_transpose2d(x, w, np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="weight has dtype float64 but input has dtype float32"):
        F.conv_transpose2d(x, w.astype(np.float64))
    with pytest.raises(ValueError, match=r"in_channels, out_channels/groups"):
        F.conv_transpose2d(x, w[0])
    with pytest.raises(ValueError, match=r"grad_output has shape \[1, 2, 4, 4\], expected "
                       r"\[1, 2, 5, 5\]"):
        F.conv_transpose2d_backward(np.zeros((1, 2, 4, 4), np.float32), x, w)
    with pytest.raises(ValueError, match=r"out \(output\) has shape \(1, 2, 4, 4\), expected "
                       r"\(1, 2, 5, 5\)"):
        F.conv_transpose2d(x, w, out=np.zeros((1, 2, 4, 4), np.float32))
