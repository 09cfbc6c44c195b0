"""convcore.models: parameter counts against the papers / torchvision, forward
shapes of the cheap models, and summary rows of zoo models."""

from __future__ import annotations

import numpy as np
import pytest
from reference import central_difference

from convcore import models, nn, summary
from convcore.nn import Concat, Residual


def n_params(model) -> int:
    return sum(p.data.size for p in model.parameters())


def conv(cin, cout, k, groups=1):
    return cout * (cin // groups) * k * k + cout


def fc(n_in, n_out):
    return n_in * n_out + n_out


@pytest.fixture(scope="module")
def vgg16():
    return models.vgg16()


@pytest.fixture(scope="module")
def alexnet():
    return models.alexnet()


# torchvision's counts (alexnet aside: torchvision's is a different network,
# 61,100,840; ours is the paper's).
RESNETS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
           "resnet101": 44_549_160, "resnet152": 60_192_808}


@pytest.mark.parametrize("name", sorted(RESNETS))
def test_resnet_parameter_counts(name):
    assert n_params(getattr(models, name)()) == RESNETS[name]


@pytest.mark.parametrize("name, count", [("vgg11", 132_863_336), ("vgg13", 133_047_848),
                                         ("vgg19", 143_667_240), ("A-LRN", 132_863_336)])
def test_vgg_parameter_counts(name, count):
    # Built at 32x32 (fc6 sees 512x1x1 instead of 512x7x7) to keep the test
    # fast: 48 * 512 * 4096 fewer fc6 weights than at 224.
    model = models.vgg(name, input_size=32) if "-" in name else getattr(models, name)(input_size=32)
    assert n_params(model) == count - 48 * 512 * 4096


def test_vgg16_count_at_224(vgg16):
    assert n_params(vgg16) == 138_357_544
    # VGG-C: D with the third conv of stages 3-5 as 1x1 (8 fewer taps each).
    assert n_params(models.vgg("C", input_size=32)) + 48 * 512 * 4096 \
        == 138_357_544 - 8 * (256 * 256 + 2 * 512 * 512) == 133_638_952


def test_googlenet_counts():
    # torchvision's googlenet (aux_logits=False) uses 3x3 in the '5x5' branch.
    assert n_params(models.googlenet(branch5_kernel=3)) == 6_624_904
    # The paper's 5x5: 16 more weights per (5x5 reduce, 5x5) pair, sum of
    # r5 * c5 over the nine modules = 23,808.
    assert n_params(models.googlenet()) == 6_624_904 + 16 * 23_808 == 7_005_832


def test_paper_counts_by_hand(alexnet):
    head = fc(256 * 6 * 6, 4096) + fc(4096, 4096) + fc(4096, 1000)
    small = 35 * 256 * 4096  # fc6 fan-in 256x1x1 instead of 256x6x6
    for grouped, total in ((False, 62_378_344), (True, 60_965_224)):
        g = 2 if grouped else 1
        by_hand = (conv(3, 96, 11) + conv(96, 256, 5, g) + conv(256, 384, 3)
                   + conv(384, 384, 3, g) + conv(384, 256, 3, g) + head)
        assert by_hand == total
        assert n_params(models.alexnet(grouped=grouped, input_size=67)) == total - small
    assert n_params(alexnet) == 62_378_344
    zf = conv(3, 96, 7) + conv(96, 256, 5) + conv(256, 384, 3) + conv(384, 384, 3) + conv(384, 256, 3)
    assert zf + head == 62_357_608
    assert n_params(models.zfnet(input_size=64)) == zf + head - small
    assert n_params(models.lenet5()) == conv(1, 6, 5) + conv(6, 16, 5) + conv(16, 120, 5) \
        + fc(120, 84) + fc(84, 10) == 61_706
    assert n_params(models.lenet5(input_size=28)) == 61_706
    k = 192
    assert n_params(models.alphago_policy()) == conv(48, k, 5) + 11 * conv(k, k, 3) + k + 361 == 3_882_793


def test_bad_arguments():
    with pytest.raises(ValueError, match="config.*'F'"):
        models.vgg("F")
    with pytest.raises(ValueError, match="input_size.*multiple of 8.*20"):
        models.deconvnet(input_size=20)
    with pytest.raises(ValueError, match="k must be positive, got 0"):
        models.alphago_policy(0)
    with pytest.raises(ValueError, match="input shape \\(3, 32, 32\\) is too small"):
        models.alexnet(input_size=32)


def test_lenet_forward(rng):
    model = models.lenet5()
    x = rng.standard_normal((2, 1, 32, 32)).astype(np.float32)
    y = model(x)
    assert y.shape == (2, 10) and y.dtype == np.float32 and np.isfinite(y).all()
    assert models.lenet5(num_classes=3, input_size=28)(x[:, :, :28, :28]).shape == (2, 3)


def test_alphago_forward_is_a_distribution(rng):
    model = models.alphago_policy(k=4)
    x = rng.standard_normal((3, 48, 19, 19)).astype(np.float32)
    p = model(x)
    assert p.shape == (3, 361)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert (p > 0).all()
    assert len([m for m in model if type(m).__name__ == "Conv2d"]) == 13


def test_position_bias_gradients(rng):
    layer = models.PositionBias((1, 3, 3), dtype=np.float64)
    layer.bias.data[...] = rng.standard_normal((1, 3, 3))
    x = rng.standard_normal((2, 1, 3, 3))
    w = rng.standard_normal((2, 1, 3, 3))
    np.testing.assert_array_equal(layer(x), x + layer.bias.data)
    gx = layer.backward(w)

    def loss_b(b):
        return float((w * (x + b)).sum())

    np.testing.assert_allclose(gx, central_difference(lambda v: float((w * layer(v)).sum()), x),
                               rtol=1e-6)
    np.testing.assert_allclose(layer.bias.grad, central_difference(loss_b, layer.bias.data),
                               rtol=1e-6)


def test_deconvnet_dense_prediction(rng):
    model = models.deconvnet(num_classes=5, input_size=16, widths=(4, 8), fc_width=8)
    x = rng.standard_normal((2, 3, 16, 16)).astype(np.float32)
    y = model(x)
    assert y.shape == (2, 5, 16, 16) and np.isfinite(y).all()
    assert model.output_shape((3, 16, 16)) == (5, 16, 16)
    gx = model.backward(np.ones_like(y))
    assert gx.shape == x.shape and np.abs(gx).sum() > 0
    assert all(np.isfinite(p.grad).all() for p in model.parameters())


def test_resnet18_forward_small(rng):
    model = models.resnet18(num_classes=7).eval()
    x = rng.standard_normal((1, 3, 64, 64)).astype(np.float32)
    assert model(x).shape == (1, 7)
    assert model.output_shape((3, 64, 64)) == (7,)


def test_googlenet_shape():
    assert models.googlenet().output_shape((3, 224, 224)) == (1000,)


def test_vgg16_summary_totals(vgg16):
    s = summary(vgg16, (3, 224, 224))
    assert s.total_params == 138_357_544
    assert s.total_macs == 15_470_264_320  # ~15.47 G: 15,346,630,656 conv + 123,633,664 fc
    conv5_3 = [r for r in s.rows if r["type"] == "Conv2d"][-1]
    assert conv5_3["output_shape"] == (512, 14, 14)
    # Thirteen 3x3 convs and four 2x2 pools before conv5_3: r = 1 + 2 * (2*1 + 2*2
    # + 3*4 + 3*8 + 3*16) + (1*1 + 1*2 + 1*4 + 1*8) = 196, jump 16.
    assert (conv5_3["rf"], conv5_3["jump"]) == (196, 16)
    last = s.rows[-1]
    assert (last["output_shape"], last["rf"], last["jump"]) == ((1000,), 212, 32)


def test_alexnet_summary_rows(alexnet):
    s = summary(alexnet, (3, 227, 227))
    conv1, _, lrn1, pool1 = s.rows[:4]
    assert conv1["output_shape"] == (96, 55, 55)
    assert (conv1["rf"], conv1["jump"], conv1["start"]) == (11, 4, 5.5)
    assert (lrn1["rf"], lrn1["type"]) == (11, "LocalResponseNorm")
    assert (pool1["rf"], pool1["jump"], pool1["start"]) == (19, 8, 9.5)
    assert pool1["output_shape"] == (96, 27, 27)
    assert s.total_params == 62_378_344


def test_resnet_and_googlenet_blocks_are_rows():
    s = summary(models.resnet18(), (3, 224, 224))
    names = [r["name"] for r in s.rows]
    assert names[4:8] == ["4.0", "4.1", "5.0", "5.1"]
    blocks = [r for r in s.rows if r["type"] == "Residual"]
    assert len(blocks) == 8
    # stem 7x7/2 p3 then 3x3/2 p1 pool: r 11, j 4, start 0.5; the first block's
    # body is two 3x3 convs at jump 4: r 11 + 2 * 2 * 4 = 27.
    assert (s.rows[3]["rf"], s.rows[3]["jump"], s.rows[3]["start"]) == (11, 4, 0.5)
    assert (s.rows[4]["rf"], s.rows[4]["jump"]) == (27, 4)
    assert s.rows[6]["output_shape"] == (128, 28, 28) and s.rows[6]["jump"] == 8
    assert s.rows[6]["params"] == conv(64, 128, 3) + conv(128, 128, 3) + conv(64, 128, 1) \
        - 3 * 128 + 3 * 2 * 128  # bias-free convs, three BatchNorms
    assert s.total_params == 11_689_512
    g = summary(models.googlenet(), (3, 224, 224))
    incep = [r for r in g.rows if r["type"] == "Concat"]
    assert len(incep) == 9
    assert incep[0]["output_shape"] == (256, 28, 28)
    assert incep[-1]["output_shape"] == (1024, 7, 7)
    assert g.total_params == 7_005_832
    assert isinstance(models.resnet18()[4][0], Residual)
    assert isinstance(models.googlenet()[5], Concat)


def torch_twin(torch, model):
    """The same network in torch with the same weights (for eval-mode parity):
    the model walked layer by layer, blocks and DeconvNet switches included."""
    tnn, tF = torch.nn, torch.nn.functional
    t = lambda a: torch.from_numpy(np.array(a))  # noqa: E731
    twins: dict[int, tnn.Module] = {}

    class Lambda(tnn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def forward(self, x):
            return self.fn(x)

    class Pool(tnn.Module):  # a max pool keeping its switches, as MaxPool2d does
        def __init__(self, layer):
            super().__init__()
            self.args = (layer.kernel_size, layer.stride, layer.padding, layer.dilation, layer.ceil_mode)

        def forward(self, x):
            self.size = x.shape[-2:]
            y, self.indices = tF.max_pool2d(x, *self.args, return_indices=True)
            return y

    class Bias(tnn.Module):
        def __init__(self, bias):
            super().__init__()
            self.bias = tnn.Parameter(bias)

        def forward(self, x):
            return x + self.bias

    class Blocks(tnn.Module):
        def __init__(self, parts, combine):
            super().__init__()
            self.parts, self.combine = tnn.ModuleList(parts), combine

        def forward(self, x):
            return self.combine(x, [p(x) for p in self.parts])

    def convert(layer):
        name = type(layer).__name__
        if isinstance(layer, nn.Sequential):
            return tnn.Sequential(*map(convert, layer))
        if isinstance(layer, Residual):
            parts = [convert(layer.body)] + ([convert(layer.shortcut)] if layer.shortcut else [])
            return Blocks(parts, lambda x, o: torch.relu(o[0] + (o[1] if len(o) > 1 else x)))
        if isinstance(layer, Concat):
            return Blocks(list(map(convert, layer.branches())), lambda x, o: torch.cat(o, 1))
        if name in ("Conv2d", "ConvTranspose2d", "Linear", "BatchNorm2d"):
            kw = {} if name == "Linear" else dict(eps=layer.eps) if name == "BatchNorm2d" else dict(
                stride=layer.stride, padding=layer.padding, groups=layer.groups, bias=layer.bias is not None)
            args = ((layer.in_features, layer.out_features) if name == "Linear"
                    else (layer.num_features,) if name == "BatchNorm2d"
                    else (layer.in_channels, layer.out_channels, layer.kernel_size))
            m = getattr(tnn, name)(*args, **kw).double()
            m.load_state_dict({k: t(v) for k, v in layer.state_dict().items()}, strict=False)
            return m
        if name == "MaxPool2d":
            twins[id(layer)] = Pool(layer)
            return twins[id(layer)]
        if name == "MaxUnpool2d":
            p = twins[id(layer.pool)]
            # max_unpool2d by scatter (torch's unpool refuses deterministic mode).
            return Lambda(lambda x: x.new_zeros(*x.shape[:2], p.size.numel()).scatter(
                2, p.indices.flatten(2), x.flatten(2)).reshape(*x.shape[:2], *p.size))
        if name == "PositionBias":
            return Bias(t(layer.bias.data))
        simple = {
            "ReLU": tnn.ReLU(), "Tanh": tnn.Tanh(), "Dropout": tnn.Identity(), "Flatten": tnn.Flatten(),
            "Softmax": tnn.Softmax(dim=1), "GlobalAvgPool2d": Lambda(lambda x: x.mean((2, 3))),
        }
        if name in simple:
            return simple[name]
        if name == "AvgPool2d":
            return tnn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding)
        if name == "LocalResponseNorm":
            return tnn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k)
        raise NotImplementedError(name)

    return convert(model).double().eval()


def to_float64(model):
    """Every parameter and buffer of the model cast to float64, in place."""
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
        p.grad = np.zeros_like(p.data)
    layers = [model]
    while layers:
        layer = layers.pop()
        layers += [child for _, child in layer.children()]
        for name, buf in list(layer.named_buffers()):
            if "." not in name:
                layer.register_buffer(name, buf.astype(np.float64))
    return model


PARITY = {
    "lenet5": (lambda: models.lenet5(), (2, 1, 32, 32)),
    "alexnet_grouped": (lambda: models.alexnet(10, grouped=True, input_size=67), (2, 3, 67, 67)),
    "zfnet": (lambda: models.zfnet(10, input_size=64), (1, 3, 64, 64)),
    "vgg_a_lrn": (lambda: models.vgg("A-LRN", 10, input_size=32), (1, 3, 32, 32)),
    "alphago": (lambda: models.alphago_policy(k=6), (2, 48, 19, 19)),
    # 64x64 leaves 2x2 maps in the last stage: batch statistics of more than
    # two values per channel (two are ill-conditioned in train mode).
    "resnet18": (lambda: models.resnet18(10), (2, 3, 64, 64)),
    "resnet50": (lambda: models.resnet50(10), (1, 3, 32, 32)),
    "googlenet": (lambda: models.googlenet(10), (1, 3, 64, 64)),
    "deconvnet": (lambda: models.deconvnet(4, input_size=16, widths=(4, 8), fc_width=8), (2, 3, 16, 16)),
}


#: No dropout, and more than one value per channel at every BatchNorm.
TRAIN_PARITY = ["deconvnet", "lenet5", "alphago", "resnet18"]


@pytest.mark.parametrize("name, training", [(n, False) for n in sorted(PARITY)]
                         + [(n, True) for n in TRAIN_PARITY])
def test_torch_parity(torch, rng, name, training):
    """Forward, input gradient and every parameter gradient of the whole
    network against torch, in float64 (float32 input gradients of the deep
    ones lose digits to cancellation). Eval mode with randomized running
    statistics (BatchNorm not the identity), or train mode (batch statistics)."""
    build, shape = PARITY[name]
    model = to_float64(build().train(training))
    for key, buf in model.named_buffers():
        buf[...] = rng.uniform(0.5, 1.5, buf.shape) if key.endswith("var") else rng.normal(0, 0.1, buf.shape)
    twin = torch_twin(torch, model).train(training)
    x = rng.standard_normal(shape)
    y = model(x)
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    ty = twin(tx)
    assert y.dtype == np.float64

    def close(a, b, scale=None):
        scale = float(np.abs(b).max()) if scale is None else scale
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * scale)

    close(y, ty.detach().numpy())
    g = rng.standard_normal(y.shape)
    ty.backward(torch.from_numpy(g))
    close(model.backward(g), tx.grad.numpy())
    ours, theirs = list(model.parameters()), [q.grad.numpy() for q in twin.parameters()]
    assert len(ours) == len(theirs)
    # Against the largest gradient: some are exactly 0 in exact arithmetic
    # (a bias under the softmax's shift invariance) and only rounding remains.
    scale = max(float(np.abs(q).max()) for q in theirs)
    for p, q in zip(ours, theirs):
        assert p.shape == q.shape
        close(p.grad, q, scale)
