"""convcore.nn convolution and pooling layers and convcore.nn.init.

Every layer: forward equals its functional op, backward equals central
differences in float64 (input and parameters), parameters/state_dict names,
conv arithmetic (output_shape / macs / receptive_field) against hand-computed
values and against the real forward, constructor errors. Initializers:
statistics within sampling bounds, PyTorch's fans and gains, reproducibility.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from convcore import functional as F
from convcore import nn
from convcore.nn import init

from reference import central_difference

# ----------------------------------------------------------------------------- helpers


def check_gradients(layer, x, rng, atol=1e-6):
    """layer.backward against central differences of sum(forward(x) * R), for the
    input and every parameter; also checks the parameter grads accumulate."""
    layer.zero_grad()
    y = layer.forward(x)
    r = rng.standard_normal(y.shape)
    gx = layer.backward(r)
    assert gx.shape == x.shape

    def loss_of_input(xv):
        return float(np.sum(layer.forward(xv) * r))

    np.testing.assert_allclose(gx, central_difference(loss_of_input, x), atol=atol, rtol=1e-5)
    for name, p in layer.named_parameters():
        saved = p.data.copy()

        def loss_of_param(pv, p=p):
            p.data[...] = pv
            return float(np.sum(layer.forward(x) * r))

        numeric = central_difference(loss_of_param, saved)
        p.data[...] = saved
        np.testing.assert_allclose(p.grad, numeric, atol=atol, rtol=1e-5, err_msg=name)
    grads = [p.grad.copy() for p in layer.parameters()]
    layer.forward(x)
    layer.backward(r)
    for g, p in zip(grads, layer.parameters()):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-12, atol=1e-12)


def distinct(rng, shape):
    """float64 values with gaps far above the finite-difference step (max pooling)."""
    return rng.permutation(np.arange(math.prod(shape), dtype=np.float64)).reshape(shape) * 0.1


# ----------------------------------------------------------------------------- convolutions

CONV2D_CASES = [
    dict(),
    dict(stride=2, padding=1),
    dict(padding="same", dilation=2),
    dict(padding="same", stride=2),
    dict(padding="full"),
    dict(padding=(1, 0, 2, 1), groups=2),
    dict(padding=1, padding_mode="reflect", bias=False),
    dict(padding=1, data_format="NHWC", stride=(1, 2)),
]


@pytest.mark.parametrize("opts", CONV2D_CASES)
def test_conv2d_forward_backward(opts, rng):
    layer = nn.Conv2d(4, 6, 3, dtype=np.float64, **opts)
    nhwc = opts.get("data_format") == "NHWC"
    x = rng.standard_normal((2, 6, 7, 4) if nhwc else (2, 4, 6, 7))
    y = layer(x)
    bias = None if layer.bias is None else layer.bias.data
    f_opts = {k: v for k, v in opts.items() if k != "bias"}
    np.testing.assert_array_equal(y, F.conv2d(x, layer.weight.data, bias, **f_opts))
    assert y.shape[1:] == layer.output_shape(x.shape[1:])
    check_gradients(layer, x, rng)


@pytest.mark.parametrize("opts", [dict(), dict(stride=2, padding="same"), dict(groups=2, dilation=2),
                                  dict(data_format="NLC", padding=(2, 1), bias=False)])
def test_conv1d_forward_backward(opts, rng):
    layer = nn.Conv1d(4, 2, 3, dtype=np.float64, **opts)
    x = rng.standard_normal((2, 9, 4) if opts.get("data_format") == "NLC" else (2, 4, 9))
    bias = None if layer.bias is None else layer.bias.data
    f_opts = {k: v for k, v in opts.items() if k != "bias"}
    y = layer(x)
    np.testing.assert_array_equal(y, F.conv1d(x, layer.weight.data, bias, **f_opts))
    assert y.shape[1:] == layer.output_shape(x.shape[1:])
    check_gradients(layer, x, rng)


@pytest.mark.parametrize("opts", [dict(), dict(stride=2, padding=1, output_padding=1),
                                  dict(groups=2, dilation=2, bias=False),
                                  dict(stride=2, data_format="NHWC")])
def test_conv_transpose2d_forward_backward(opts, rng):
    layer = nn.ConvTranspose2d(4, 6, 3, dtype=np.float64, **opts)
    assert layer.weight.shape == (4, 6 // opts.get("groups", 1), 3, 3)
    x = rng.standard_normal((2, 4, 5, 4) if opts.get("data_format") == "NHWC" else (2, 4, 4, 5))
    bias = None if layer.bias is None else layer.bias.data
    f_opts = {k: v for k, v in opts.items() if k != "bias"}
    y = layer(x)
    np.testing.assert_array_equal(y, F.conv_transpose2d(x, layer.weight.data, bias, **f_opts))
    assert y.shape[1:] == layer.output_shape(x.shape[1:])
    check_gradients(layer, x, rng)


def test_conv_transpose1d_forward_backward(rng):
    layer = nn.ConvTranspose1d(3, 2, 4, stride=3, padding=1, output_padding=2, dtype=np.float64)
    x = rng.standard_normal((2, 3, 5))
    y = layer(x)
    np.testing.assert_array_equal(
        y, F.conv_transpose1d(x, layer.weight.data, layer.bias.data, 3, 1, 2))
    assert y.shape == (2, 2, (5 - 1) * 3 - 2 + 3 + 2 + 1)
    assert y.shape[1:] == layer.output_shape((3, 5))
    check_gradients(layer, x, rng)


def test_conv_float32_default_and_unbatched(rng):
    layer = nn.Conv2d(3, 5, 3, padding=1)
    assert layer.weight.data.dtype == np.float32 and layer.bias.data.dtype == np.float32
    x = rng.standard_normal((3, 6, 6)).astype(np.float32)
    y = layer(x)
    assert y.shape == (5, 6, 6) and y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).shape == x.shape


def test_conv_parameters_and_state_dict():
    conv = nn.Conv2d(3, 8, (3, 5))
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    assert conv.weight.shape == (8, 3, 3, 5) and conv.bias.shape == (8,)
    assert [n for n, _ in nn.Conv2d(3, 8, 3, bias=False).named_parameters()] == ["weight"]
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2), nn.ConvTranspose2d(4, 2, 2, bias=False))
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight"]
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2), nn.ConvTranspose2d(4, 2, 2, bias=False))
    other.load_state_dict(state)
    for (_, a), (_, b) in zip(model.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_conv_torch_parity(torch, rng):
    """Same state_dict names as torch; identical weights give the same output."""
    ours = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, dtype=np.float64)
    theirs = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((2, 4, 9, 9))
    np.testing.assert_allclose(ours(x), theirs(torch.from_numpy(x)).detach().numpy(), atol=1e-12)
    assert repr(ours) == repr(theirs)
    for args, kw in (((3, 96, 11), dict(stride=4)), ((8, 4, 3), dict(padding=1, bias=False)),
                     ((8, 4, 3), dict(dilation=2, padding_mode="reflect", padding=2))):
        assert repr(nn.Conv2d(*args, **kw)) == repr(torch.nn.Conv2d(*args, **kw))
    assert repr(nn.ConvTranspose2d(8, 4, 4, 2, 1, 1)) == repr(torch.nn.ConvTranspose2d(8, 4, 4, 2, 1, 1))


@pytest.mark.parametrize("make, make_torch", [
    (lambda: nn.Conv2d(16, 32, 3), lambda t: t.nn.Conv2d(16, 32, 3)),
    (lambda: nn.Conv2d(16, 32, 5, groups=4), lambda t: t.nn.Conv2d(16, 32, 5, groups=4)),
    (lambda: nn.Conv1d(16, 32, 7), lambda t: t.nn.Conv1d(16, 32, 7)),
    (lambda: nn.ConvTranspose2d(16, 32, 4, groups=2), lambda t: t.nn.ConvTranspose2d(16, 32, 4, groups=2)),
])
def test_default_init_bounds_match_torch(make, make_torch, torch):
    """PyTorch's default: weight and bias U(+-1/sqrt(fan_in)), torch's fan_in."""
    ours, theirs = make(), make_torch(torch)
    fan_in = theirs.weight.shape[1] * math.prod(theirs.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)
    for name in ("weight", "bias"):
        a = getattr(ours, name).data
        b = getattr(theirs, name).detach().numpy()
        assert a.shape == b.shape
        for arr in (a, b):
            assert np.abs(arr).max() <= bound * (1 + 1e-6)
        # both fill the range: max |w| close to the bound (n >= 32 samples each)
        assert np.abs(a).max() > bound * (1 - 8 / a.size)
        assert abs(a.mean()) < 5 * bound / math.sqrt(3 * a.size)


def test_init_reproducible_through_manual_seed():
    init.manual_seed(123)
    a = nn.Conv2d(3, 4, 3)
    init.manual_seed(123)
    b = nn.Conv2d(3, 4, 3)
    c = nn.Conv2d(3, 4, 3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(b.weight.data, c.weight.data)


def test_conv_arithmetic_alexnet_conv1():
    conv1 = nn.Conv2d(3, 96, 11, stride=4)
    assert conv1.output_shape((3, 227, 227)) == (96, 55, 55)
    assert conv1.macs((3, 227, 227)) == 105_415_200
    assert conv1.receptive_field((3, 227, 227)) == [(11, 4, 0), (11, 4, 0)]
    features = nn.Sequential(conv1, nn.MaxPool2d(3, 2))
    assert features.output_shape((3, 227, 227)) == (96, 27, 27)
    # 11 + (3 - 1) * 4 = 19 pixels, jump 8
    assert features.receptive_field((3, 227, 227)) == [(19, 8, 0), (19, 8, 0)]


def test_conv_arithmetic_hand_values():
    # grouped: 16 * 8 * 8 outputs, each 8/4 channels * 9 taps
    grouped = nn.Conv2d(8, 16, 3, groups=4)
    assert grouped.macs((8, 10, 10)) == 16 * 64 * 2 * 9 == 18432
    # 'same' with stride 2 on 6: out 3, total pad (3-1)*2+3-6 = 1 -> before 0, after 1
    same = nn.Conv2d(1, 1, 3, stride=2, padding="same")
    assert same.output_shape((1, 6, 7)) == (1, 3, 4)
    # on 7: total pad (4-1)*2+3-7 = 2 -> before 1
    assert same.receptive_field((1, 6, 7)) == [(3, 2, 0), (3, 2, 1)]
    full = nn.Conv2d(2, 3, 3, dilation=2, padding="full")
    assert full.receptive_field((2, 5, 5)) == [(5, 1, 4), (5, 1, 4)]
    assert full.output_shape((2, 5, 5)) == (3, 9, 9)
    explicit = nn.Conv2d(2, 3, (3, 1), padding=(2, 0, 1, 1))
    assert explicit.receptive_field((2, 5, 5)) == [(3, 1, 2), (1, 1, 1)]
    assert explicit.output_shape((2, 5, 5)) == (3, 5, 7)
    nhwc = nn.Conv2d(3, 8, 3, padding=1, data_format="NHWC")
    assert nhwc.output_shape((10, 12, 3)) == (10, 12, 8)
    assert nn.Conv1d(4, 8, 5, stride=2).output_shape((4, 31)) == (8, 14)
    assert nn.Conv1d(4, 8, 5, stride=2).macs((4, 31)) == 8 * 14 * 4 * 5
    deconv = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
    assert deconv.output_shape((16, 7, 7)) == (8, 14, 14)
    assert deconv.macs((16, 7, 7)) == 16 * 49 * 8 * 16 == 100_352
    assert deconv.receptive_field((16, 7, 7)) is None
    with pytest.raises(ValueError, match="channels"):
        nn.Conv2d(3, 8, 3).output_shape((4, 10, 10))
    with pytest.raises(ValueError, match="kernel"):
        nn.Conv2d(3, 8, 5).output_shape((3, 4, 4))
    with pytest.raises(ValueError, match="ConvTranspose2d: input size .* empty output"):
        nn.ConvTranspose2d(1, 1, 1, padding=1).output_shape((1, 1, 1))


@pytest.mark.parametrize("call, exc, text", [
    (lambda: nn.Conv2d(3, 4, 0), ValueError, "kernel_size"),
    (lambda: nn.Conv2d(3.0, 4, 3), TypeError, "in_channels"),
    (lambda: nn.Conv2d(3, 0, 3), ValueError, "out_channels"),
    (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, "in_channels=3 must be divisible by groups=2"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError, "out_channels=6"),
    (lambda: nn.Conv2d(3, 4, (3, 3, 3)), TypeError, "kernel_size"),
    (lambda: nn.Conv2d(3, 4, 3, stride=0), ValueError, "stride"),
    (lambda: nn.Conv2d(3, 4, 3, padding=-1), ValueError, "padding"),
    (lambda: nn.Conv2d(3, 4, 3, padding="half"), ValueError, "'half'"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError, "padding_mode"),
    (lambda: nn.Conv2d(3, 4, 3, data_format="NWHC"), ValueError, "data_format"),
    (lambda: nn.Conv2d(3, 4, 3, dtype=np.int32), TypeError, "dtype"),
    (lambda: nn.Conv2d(3, 4, 3, bias=1), TypeError, "bias"),
    (lambda: nn.Conv1d(3, 4, (3, 3)), TypeError, "kernel_size"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, padding="same"), TypeError, "padding must be an int"),
    (lambda: nn.Conv2d(3, 4, 3, padding=(1, 1, 1)), TypeError, "sequence of 2 or 4 ints"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2), ValueError, "output_padding"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect"), ValueError, "padding_mode"),
])
def test_conv_constructor_errors(call, exc, text):
    with pytest.raises(exc, match=text):
        call()


def test_backward_before_forward_raises():
    for layer in (nn.Conv2d(1, 1, 1), nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveMaxPool2d(1),
                  nn.MaxUnpool2d(2)):
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(np.zeros((1, 1, 1, 1)))


def test_train_eval_do_not_change_conv_or_pool(rng):
    model = nn.Sequential(nn.Conv2d(2, 3, 3, dtype=np.float64), nn.MaxPool2d(2),
                          nn.AvgPool2d(2, 1, padding=1))
    x = rng.standard_normal((2, 2, 8, 8))
    y_train = model(x)
    assert model.eval() is model and not model[0].training and not model[1].training
    np.testing.assert_array_equal(model(x), y_train)
    model.train()
    assert all(layer.training for layer in model)


# ----------------------------------------------------------------------------- fixed-window pooling

POOLS = [
    (lambda: nn.MaxPool2d(2), F.max_pool2d, dict(kernel_size=2)),
    (lambda: nn.MaxPool2d(3, 2, padding=1, dilation=1, ceil_mode=True), F.max_pool2d,
     dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    (lambda: nn.MaxPool2d((2, 3), (1, 2), dilation=(2, 1), data_format="NHWC"), F.max_pool2d,
     dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1), data_format="NHWC")),
    (lambda: nn.AvgPool2d(3, 2, padding=1, count_include_pad=False), F.avg_pool2d,
     dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    (lambda: nn.AvgPool2d(2, ceil_mode=True, divisor_override=3), F.avg_pool2d,
     dict(kernel_size=2, ceil_mode=True, divisor_override=3)),
    (lambda: nn.LPPool2d(2, 2), F.lp_pool2d, dict(norm_type=2, kernel_size=2)),
    (lambda: nn.LPPool2d(3.0, (2, 3), stride=1, ceil_mode=True), F.lp_pool2d,
     dict(norm_type=3.0, kernel_size=(2, 3), stride=1, ceil_mode=True)),
]


@pytest.mark.parametrize("make, fn, kwargs", POOLS)
def test_pool2d_forward_backward(make, fn, kwargs, rng):
    layer = make()
    shape = (2, 7, 6, 3) if kwargs.get("data_format") == "NHWC" else (2, 3, 7, 6)
    x = distinct(rng, shape) + 0.5  # positive: the Lp power is defined everywhere
    y = layer(x)
    np.testing.assert_array_equal(y, fn(x, **kwargs))
    assert y.shape[1:] == layer.output_shape(x.shape[1:])
    check_gradients(layer, x, rng)


@pytest.mark.parametrize("make, fn, kwargs", [
    (lambda: nn.MaxPool1d(3, 2, padding=1), F.max_pool1d, dict(kernel_size=3, stride=2, padding=1)),
    (lambda: nn.AvgPool1d(2, ceil_mode=True), F.avg_pool1d, dict(kernel_size=2, ceil_mode=True)),
    (lambda: nn.LPPool1d(2, 3, 1), F.lp_pool1d, dict(norm_type=2, kernel_size=3, stride=1)),
])
def test_pool1d_forward_backward(make, fn, kwargs, rng):
    layer = make()
    x = distinct(rng, (2, 3, 9)) + 0.5
    y = layer(x)
    np.testing.assert_array_equal(y, fn(x, **kwargs))
    assert y.shape[1:] == layer.output_shape(x.shape[1:])
    check_gradients(layer, x, rng)


def test_maxpool_keeps_indices_and_return_indices(rng):
    pool = nn.MaxPool2d(2, return_indices=True)
    x = distinct(rng, (1, 2, 4, 6))
    y, idx = pool(x)
    ref_y, ref_idx = F.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(idx, ref_idx)
    assert pool.indices is idx and pool.input_shape == (1, 2, 4, 6)
    # the plane value at each index is the max
    np.testing.assert_array_equal(np.take_along_axis(x.reshape(1, 2, -1), idx.reshape(1, 2, -1), 2),
                                  y.reshape(1, 2, -1))
    plain = nn.MaxPool2d(2)
    assert isinstance(plain(x), np.ndarray) and plain.indices.shape == y.shape
    # a second forward replaces the indices its backward uses
    x2 = -x
    plain(x2)
    g = plain.backward(np.ones((1, 2, 2, 3)))
    np.testing.assert_array_equal(g, F.max_pool2d_backward(np.ones((1, 2, 2, 3)), x2, None, 2))


def test_pool_arithmetic_hand_values():
    assert nn.MaxPool2d(3, 2).output_shape((96, 55, 55)) == (96, 27, 27)
    assert nn.MaxPool2d(3, 2).receptive_field((96, 55, 55)) == [(3, 2, 0), (3, 2, 0)]
    assert nn.MaxPool2d(3, 2).macs((96, 55, 55)) == 0
    # ceil_mode: 5 -> ceil((5 - 2) / 2) + 1 = 3; but 6 with pad 1, k 3, s 2: ceil(5/2)+1 = 4,
    # last window starts at 6 >= 6 + 1? no -> 4
    assert nn.MaxPool2d(2, ceil_mode=True).output_shape((1, 5, 4)) == (1, 3, 2)
    assert nn.MaxPool2d(3, 2, 1, ceil_mode=True).output_shape((1, 6, 6)) == (1, 4, 4)
    # a window that would start in the right padding is dropped: 4, k 2, s 2, pad 1 -> 3
    assert nn.MaxPool2d(2, 2, 1, ceil_mode=True).output_shape((1, 4, 4)) == (1, 3, 3)
    assert nn.MaxPool2d(3, 1, dilation=2, padding=2).receptive_field((1, 9, 9)) == [(5, 1, 2)] * 2
    assert nn.AvgPool2d(2, data_format="NHWC").output_shape((8, 6, 5)) == (4, 3, 5)
    assert nn.LPPool2d(2, 3, 2).receptive_field((1, 9, 9)) == [(3, 2, 0)] * 2
    assert nn.MaxPool1d(4).output_shape((3, 17)) == (3, 4)
    with pytest.raises(ValueError, match="3 dimensions"):
        nn.MaxPool2d(2).output_shape((1, 4, 4, 4))
    with pytest.raises(ValueError, match="MaxPool2d: padded input size 3 is smaller"):
        nn.MaxPool2d(5, padding=0).output_shape((1, 3, 8))


@pytest.mark.parametrize("call, exc, text", [
    (lambda: nn.MaxPool2d(0), ValueError, "kernel_size"),
    (lambda: nn.MaxPool2d(2, stride=0), ValueError, "stride"),
    (lambda: nn.MaxPool2d(2, padding=2), ValueError, "at most half"),
    (lambda: nn.MaxPool2d(2.5), TypeError, "kernel_size"),
    (lambda: nn.MaxPool2d(2, ceil_mode=1), TypeError, "ceil_mode"),
    (lambda: nn.AvgPool2d(2, divisor_override=0), ValueError, "divisor_override"),
    (lambda: nn.AvgPool2d(2, count_include_pad="yes"), TypeError, "count_include_pad"),
    (lambda: nn.LPPool2d(0, 2), ValueError, "norm_type"),
    (lambda: nn.LPPool2d("2", 2), TypeError, "norm_type"),
    (lambda: nn.MaxPool1d((2, 2)), TypeError, "kernel_size"),
    (lambda: nn.AdaptiveAvgPool2d(0), ValueError, "output_size"),
    (lambda: nn.AdaptiveAvgPool2d((2, 2, 2)), TypeError, "output_size"),
    (lambda: nn.GlobalAvgPool2d(keepdim=None), TypeError, "keepdim"),
    (lambda: nn.SpatialPyramidPool2d(levels=()), TypeError, "levels"),
    (lambda: nn.SpatialPyramidPool2d(levels=(1, 0)), ValueError, "levels"),
    (lambda: nn.SpatialPyramidPool2d(mode="sum"), ValueError, "mode"),
    (lambda: nn.MaxUnpool2d(2, pool=nn.AvgPool2d(2)), TypeError, "pool"),
    (lambda: nn.AvgPool2d(2, data_format="NCL"), ValueError, "data_format"),
])
def test_pool_constructor_errors(call, exc, text):
    with pytest.raises(exc, match=text):
        call()


# ----------------------------------------------------------------------------- unpooling


def test_maxpool_maxunpool_pairing(rng):
    """DeconvNet switches: the unpooled map has the pool's input shape (odd sizes
    included) and each pooled value back at its argmax."""
    pool = nn.MaxPool2d(2)
    unpool = nn.MaxUnpool2d(2, pool=pool)
    x = distinct(rng, (2, 3, 5, 7))
    y = pool(x)
    assert unpool.output_shape(y.shape[1:]) == (3, 5, 7)  # the pool's input size
    z = unpool(y)
    assert z.shape == x.shape
    np.testing.assert_array_equal(z, F.max_unpool2d(y, pool.indices, 2, output_size=(5, 7)))
    kept = z != 0
    np.testing.assert_array_equal(z[kept], x[kept])
    assert kept.sum() == y.size
    assert list(unpool.children()) == [] and list(unpool.named_parameters()) == []
    # backward: the gradient gathered at the switches
    g = rng.standard_normal(z.shape)
    gy = unpool.backward(g)
    np.testing.assert_array_equal(
        gy, np.take_along_axis(g.reshape(2, 3, -1), pool.indices.reshape(2, 3, -1), 2).reshape(y.shape))
    check_gradients(unpool, y, rng)


def test_maxunpool_without_pool(rng):
    unpool = nn.MaxUnpool2d(2, 2)
    x = distinct(rng, (1, 2, 4, 4))
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert unpool.output_shape((2, 2, 2)) == (2, 4, 4)
    with pytest.raises(RuntimeError, match="forward_with"):
        unpool(y)
    np.testing.assert_array_equal(unpool.forward_with(y, idx), F.max_unpool2d(y, idx, 2))
    z = unpool.forward_with(y, idx, output_size=(5, 5))
    assert z.shape == (1, 2, 5, 5)
    assert unpool.backward(np.ones_like(z)).shape == y.shape
    assert unpool.receptive_field((2, 2, 2)) is None
    with pytest.raises(RuntimeError, match="not run"):
        nn.MaxUnpool2d(2, pool=nn.MaxPool2d(2))(y)


def test_encoder_decoder_sequential_backward(rng):
    """pool -> conv -> unpool inside one Sequential, gradient checked end to end."""
    pool = nn.MaxPool2d(2)
    model = nn.Sequential(pool, nn.Conv2d(2, 2, 3, padding=1, dtype=np.float64),
                          nn.MaxUnpool2d(2, pool=pool))
    x = distinct(rng, (1, 2, 4, 6))
    assert model(x).shape == x.shape
    check_gradients(model, x, rng)


# ----------------------------------------------------------------------------- adaptive, global, SPP


@pytest.mark.parametrize("make, fn, size", [
    (lambda: nn.AdaptiveAvgPool2d(3), F.adaptive_avg_pool2d, 3),
    (lambda: nn.AdaptiveAvgPool2d((2, None)), F.adaptive_avg_pool2d, (2, None)),
    (lambda: nn.AdaptiveMaxPool2d((3, 2)), F.adaptive_max_pool2d, (3, 2)),
])
def test_adaptive_pool2d(make, fn, size, rng):
    layer = make()
    x = distinct(rng, (2, 3, 7, 5))
    y = layer(x)
    np.testing.assert_array_equal(y, fn(x, size))
    assert y.shape[1:] == layer.output_shape((3, 7, 5))
    check_gradients(layer, x, rng)


@pytest.mark.parametrize("make, fn", [(lambda: nn.AdaptiveAvgPool1d(4), F.adaptive_avg_pool1d),
                                      (lambda: nn.AdaptiveMaxPool1d(4), F.adaptive_max_pool1d)])
def test_adaptive_pool1d(make, fn, rng):
    layer = make()
    x = distinct(rng, (2, 3, 10))
    np.testing.assert_array_equal(layer(x), fn(x, 4))
    assert layer.output_shape((3, 10)) == (3, 4)
    check_gradients(layer, x, rng)


def test_adaptive_max_return_indices(rng):
    layer = nn.AdaptiveMaxPool2d(2, return_indices=True)
    x = distinct(rng, (1, 2, 4, 4))
    y, idx = layer(x)
    ref_y, ref_idx = F.adaptive_max_pool2d(x, 2, True)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(idx, ref_idx)
    assert layer.indices is idx


def test_adaptive_receptive_field():
    assert nn.AdaptiveAvgPool2d(7).receptive_field((512, 14, 14)) == [(2, 2, 0), (2, 2, 0)]
    assert nn.AdaptiveAvgPool2d(7).receptive_field((512, 13, 14)) is None
    assert nn.AdaptiveAvgPool2d((None, 1)).receptive_field((8, 6, 6)) == [(1, 1, 0), (6, 6, 0)]
    assert nn.AdaptiveAvgPool2d((None, 1)).output_shape((8, 6, 6)) == (8, 6, 1)
    assert nn.AdaptiveMaxPool2d(6, data_format="NHWC").output_shape((13, 13, 256)) == (6, 6, 256)
    assert nn.AdaptiveMaxPool2d(6).macs((256, 13, 13)) == 0


@pytest.mark.parametrize("make, fn", [(nn.GlobalAvgPool2d, F.global_avg_pool2d),
                                      (nn.GlobalMaxPool2d, F.global_max_pool2d)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_global_pool(make, fn, keepdim, rng):
    layer = make(keepdim=keepdim)
    x = distinct(rng, (2, 3, 4, 5))
    y = layer(x)
    np.testing.assert_array_equal(y, fn(x, keepdim))
    assert y.shape == ((2, 3, 1, 1) if keepdim else (2, 3))
    assert layer.output_shape((3, 4, 5)) == y.shape[1:]
    assert layer.receptive_field((3, 4, 5)) == [(4, 4, 0), (5, 5, 0)]
    check_gradients(layer, x, rng)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_spatial_pyramid_pool(mode, rng):
    layer = nn.SpatialPyramidPool2d((1, 2, 3), mode)
    x = distinct(rng, (2, 3, 6, 7))
    y = layer(x)
    np.testing.assert_array_equal(y, F.spatial_pyramid_pool2d(x, (1, 2, 3), mode))
    assert y.shape == (2, 3 * 14) and layer.output_shape((3, 6, 7)) == (42,)
    assert layer.receptive_field((3, 6, 7)) == [(6, 6, 0), (7, 7, 0)]
    assert nn.SpatialPyramidPool2d((2, 4)).receptive_field((3, 6, 7)) is None
    check_gradients(layer, x, rng)


def test_pool_layers_torch_parity(torch, rng):
    """Same configuration, same numbers as torch.nn (forward and input gradient)."""
    x = rng.standard_normal((2, 3, 9, 8)) + 3.0  # positive for LPPool
    pairs = [
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.AvgPool2d(3, 2, 1, count_include_pad=False),
         torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
        (nn.LPPool2d(2, 2), torch.nn.LPPool2d(2, 2)),
        (nn.AdaptiveAvgPool2d((4, 3)), torch.nn.AdaptiveAvgPool2d((4, 3))),
        (nn.AdaptiveMaxPool2d(3), torch.nn.AdaptiveMaxPool2d(3)),
        (nn.ConvTranspose2d(3, 2, 3, 2, 1, 1, dtype=np.float64),
         torch.nn.ConvTranspose2d(3, 2, 3, 2, 1, 1).double()),
    ]
    for ours, theirs in pairs:
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        t = torch.from_numpy(x).requires_grad_()
        ty = theirs(t)
        g = rng.standard_normal(tuple(ty.shape))
        ty.backward(torch.from_numpy(g))
        np.testing.assert_allclose(ours(x), ty.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=repr(ours))
        np.testing.assert_allclose(ours.backward(g), t.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=repr(ours))
    # DeconvNet switches: torch's MaxUnpool2d with the pool's indices and input size
    pool = nn.MaxPool2d(2)
    unpool = nn.MaxUnpool2d(2, pool=pool)
    y = pool(x)
    ty, tidx = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, return_indices=True)
    # torch flags CPU max_unpool2d non-deterministic (duplicate indices); none here
    torch.use_deterministic_algorithms(False)
    try:
        expected = torch.nn.MaxUnpool2d(2)(ty, tidx, output_size=x.shape[2:]).numpy()
    finally:
        torch.use_deterministic_algorithms(True)
    np.testing.assert_array_equal(unpool(y), expected)


def test_pool_repr():
    assert repr(nn.MaxPool2d(3, 2)) == ("MaxPool2d(kernel_size=(3, 3), stride=(2, 2), "
                                        "padding=(0, 0), dilation=(1, 1), ceil_mode=False)")
    assert repr(nn.AdaptiveAvgPool2d((6, 6))) == "AdaptiveAvgPool2d(output_size=(6, 6))"
    assert repr(nn.GlobalAvgPool2d(data_format="NHWC")) == \
        "GlobalAvgPool2d(keepdim=False, data_format='NHWC')"


# ----------------------------------------------------------------------------- initializers


def test_calculate_gain_matches_torch(torch):
    for name in ("linear", "conv1d", "conv2d", "conv_transpose2d", "sigmoid", "tanh", "relu",
                 "leaky_relu", "selu"):
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", 0.2))
    with pytest.raises(ValueError, match="'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "x")


def test_fans_match_torch(torch):
    for shape in ((8, 3), (16, 4, 3, 5), (4, 6, 7)):
        arr = np.empty(shape)
        t = torch.empty(shape)
        assert init.fan_in_and_fan_out(arr) == torch.nn.init._calculate_fan_in_and_fan_out(t)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.fan_in_and_fan_out(np.empty(5))


def _sampled_std_ok(arr, std):
    """|sample std / std - 1| within 6 standard errors (SE of a std: 1/sqrt(2n))."""
    n = arr.size
    assert abs(arr.std() / std - 1) < 6 / math.sqrt(2 * n)
    assert abs(arr.mean()) < 6 * std / math.sqrt(n)


def test_kaiming_normal_statistics():
    w = np.empty((256, 128, 3, 3), dtype=np.float32)
    out = init.kaiming_normal_(w, nonlinearity="relu", rng=np.random.default_rng(0))
    assert out is w and w.dtype == np.float32
    _sampled_std_ok(w, math.sqrt(2 / (128 * 9)))
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", rng=np.random.default_rng(1))
    _sampled_std_ok(w, math.sqrt(2 / (256 * 9)))
    init.kaiming_normal_(w, a=0.2, rng=np.random.default_rng(2))  # leaky_relu default
    _sampled_std_ok(w, math.sqrt(2 / 1.04) / math.sqrt(128 * 9))


def test_uniform_initializer_bounds():
    w = np.empty((64, 32, 5, 5))
    bound = math.sqrt(2) * math.sqrt(3 / (32 * 25))
    init.kaiming_uniform_(w, nonlinearity="relu", rng=np.random.default_rng(0))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    # a uniform's std is bound / sqrt(3)
    _sampled_std_ok(w, bound / math.sqrt(3))
    bound = math.sqrt(6 / (32 * 25 + 64 * 25))
    init.xavier_uniform_(w, rng=np.random.default_rng(1))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    init.xavier_uniform_(w, gain=2.0, rng=np.random.default_rng(1))
    assert np.abs(w).max() <= 2 * bound and np.abs(w).max() > 1.998 * bound
    init.xavier_normal_(w, rng=np.random.default_rng(2))
    _sampled_std_ok(w, math.sqrt(2 / (32 * 25 + 64 * 25)))


def test_simple_initializers_and_parameters():
    p = nn.Parameter(np.empty((100, 100), dtype=np.float32))
    assert init.normal_(p, mean=3.0, std=0.5, rng=np.random.default_rng(0)) is p
    _sampled_std_ok(p.data - 3.0, 0.5)
    init.constant_(p, 0.25)
    assert np.all(p.data == 0.25)
    assert np.all(init.zeros_(np.ones(4)) == 0) and np.all(init.ones_(np.zeros(4)) == 1)
    u = init.uniform_(np.empty(10000), -2, 3, rng=np.random.default_rng(0))
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.1


def test_initializer_rng_and_module_generator():
    a = init.kaiming_uniform_(np.empty((4, 4)), rng=np.random.default_rng(7))
    b = init.kaiming_uniform_(np.empty((4, 4)), rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    init.manual_seed(5)
    c = init.xavier_normal_(np.empty((4, 4)))
    init.manual_seed(5)
    np.testing.assert_array_equal(init.xavier_normal_(np.empty((4, 4))), c)
    generator = init.manual_seed(5)
    assert init.get_generator() is generator


def test_initializer_errors():
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(np.empty((3, 3)), mode="fan_avg")
    with pytest.raises(ValueError, match="nonlinearity"):
        init.kaiming_uniform_(np.empty((3, 3)), nonlinearity="gelu")
    with pytest.raises(ValueError, match="fewer than 2"):
        init.xavier_uniform_(np.empty(3))
    with pytest.raises(TypeError, match="list"):
        init.normal_([1.0, 2.0])
    with pytest.raises(ValueError, match="std"):
        init.normal_(np.empty(3), std=-1)
