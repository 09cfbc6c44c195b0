"""convcore.nn normalization, activation, linear, dropout layers, the Residual
and Concat containers and the losses: each against its functional op, float64
finite differences and (where natural) torch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from convcore import functional as F
from convcore import nn
from convcore.nn.layer import Layer
from reference import central_difference

F64 = np.float64


# ----------------------------------------------------------------------------- helpers


def grad_check(layer: Layer, x: np.ndarray, rng: np.random.Generator, tol: float = 1e-6) -> None:
    """layer.backward against central differences of sum(layer(x) * w) for the
    input and every parameter (float64); also checks that backward accumulates."""
    w = rng.standard_normal(layer.forward(x).shape)

    def loss(inp: np.ndarray) -> float:
        return float(np.sum(layer.forward(inp) * w))

    layer.zero_grad()
    layer.forward(x)
    gx = layer.backward(w)
    np.testing.assert_allclose(gx, central_difference(loss, x), rtol=tol, atol=tol)
    analytic = {name: p.grad.copy() for name, p in layer.named_parameters()}
    for name, p in layer.named_parameters():
        original = p.data.copy()

        def loss_p(v: np.ndarray, p=p) -> float:
            p.data[...] = v
            return loss(x)

        numeric = central_difference(loss_p, original)
        p.data[...] = original
        np.testing.assert_allclose(analytic[name], numeric, rtol=tol, atol=tol, err_msg=name)
    layer.forward(x)
    layer.backward(w)  # a second backward adds the same gradients again
    for name, p in layer.named_parameters():
        assert np.abs(analytic[name]).max() > 0, name
        np.testing.assert_allclose(p.grad, 2 * analytic[name], rtol=1e-12, err_msg=name)


class Window(Layer):
    """A test-only layer with a k x k / stride s / padding p window and 10 * k
    MACs, to probe the containers' arithmetic."""

    def __init__(self, k: int, s: int = 1, p: int = 0, channels: int = 2) -> None:
        super().__init__()
        self.k, self.s, self.p, self.channels = k, s, p, channels

    def output_shape(self, input_shape):
        c, h, w = input_shape
        return (self.channels, *((n + 2 * self.p - self.k) // self.s + 1 for n in (h, w)))

    def macs(self, input_shape):
        return 10 * self.k

    def receptive_field(self, input_shape):
        return [(self.k, self.s, self.p)] * 2


class Scale(Layer):
    """A test-only parametric elementwise layer y = a * x (a per-feature vector)."""

    def __init__(self, a: np.ndarray) -> None:
        super().__init__()
        self.a = nn.Parameter(a)

    def forward(self, x):
        self._x = x
        return x * self.a.data

    def backward(self, g):
        self.a.grad += (g * self._x).reshape(-1, self.a.data.size).sum(axis=0)
        return g * self.a.data


# ----------------------------------------------------------------------------- activations

ACTIVATIONS = [
    (nn.ReLU(), lambda x: F.relu(x)),
    (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)),
    (nn.ELU(0.7), lambda x: F.elu(x, 0.7)),
    (nn.Sigmoid(), F.sigmoid),
    (nn.Tanh(), F.tanh),
    (nn.Softmax(dim=1), lambda x: F.softmax(x, 1)),
    (nn.Softmax(dim=-1), lambda x: F.softmax(x, -1)),
]


@pytest.mark.parametrize("layer,fn", ACTIVATIONS, ids=lambda v: repr(v) if isinstance(v, Layer) else "")
def test_activation_matches_functional_and_finite_differences(layer, fn, rng):
    x = rng.standard_normal((3, 4, 2, 3))
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences off the kinks
    np.testing.assert_array_equal(layer(x), fn(x))
    grad_check(layer, x, rng)
    assert layer.output_shape((4, 2, 3)) == (4, 2, 3) and layer.macs((4, 2, 3)) == 0
    assert layer.receptive_field((4, 2, 3)) is None


def test_activation_repr_and_arguments():
    assert repr(nn.LeakyReLU(0.1)) == "LeakyReLU(negative_slope=0.1)"
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.Softmax()) == "Softmax(dim=1)"
    with pytest.raises(TypeError, match="dim"):
        nn.Softmax(1.5)
    with pytest.raises(TypeError, match="alpha"):
        nn.ELU("1")
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Tanh().backward(np.ones(3))


# ----------------------------------------------------------------------------- normalization


def test_batchnorm2d_matches_torch_train_and_eval(rng, torch):
    bn = nn.BatchNorm2d(3, momentum=0.3, dtype=F64)
    bn.weight.data[...] = rng.uniform(0.5, 1.5, 3)
    bn.bias.data[...] = rng.standard_normal(3)
    ref = torch.nn.BatchNorm2d(3, momentum=0.3).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(bn.weight.data))
        ref.bias.copy_(torch.from_numpy(bn.bias.data))
    for step in range(2):
        x = rng.standard_normal((4, 3, 5, 5)) * 2 + step
        g = rng.standard_normal(x.shape)
        xt = torch.from_numpy(x).requires_grad_(True)
        yt = ref(xt)
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(bn(x), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(bn.backward(g), xt.grad.numpy(), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(bn.running_mean, ref.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(bn.running_var, ref.running_var.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.weight.grad, ref.weight.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(bn.bias.grad, ref.bias.grad.numpy(), rtol=1e-9, atol=1e-9)
    assert not np.allclose(bn.running_mean, 0)  # the running statistics moved
    bn.eval(), ref.eval()
    x = rng.standard_normal((2, 3, 4, 4))
    np.testing.assert_allclose(bn(x), ref(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-10)
    before = bn.running_mean.copy()
    bn(x)
    np.testing.assert_array_equal(bn.running_mean, before)  # eval does not update
    assert dict(bn.named_buffers()).keys() == {"running_mean", "running_var"}


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_finite_differences(training, rng):
    bn = nn.BatchNorm2d(2, dtype=F64)
    bn.weight.data[...] = [0.7, 1.3]
    bn.bias.data[...] = [0.1, -0.2]
    bn.running_mean[...] = [0.3, -0.1]
    bn.running_var[...] = [1.5, 0.6]
    bn.train(training)
    grad_check(bn, rng.standard_normal((3, 2, 2, 3)), rng)


def test_batchnorm1d_both_ranks_vs_torch(rng, torch):
    for shape in [(6, 4), (3, 4, 5)]:
        bn = nn.BatchNorm1d(4, dtype=F64)
        ref = torch.nn.BatchNorm1d(4).double()
        x = rng.standard_normal(shape)
        np.testing.assert_allclose(bn(x), ref(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(bn.running_var, ref.running_var.numpy(), rtol=1e-12)
        grad_check(bn, x, rng)


def test_batchnorm_channels_last_and_no_running_stats(rng):
    x = rng.standard_normal((3, 4, 5))
    cl = nn.BatchNorm1d(4, data_format="NLC", dtype=F64)
    y = cl(np.ascontiguousarray(x.transpose(0, 2, 1)))
    np.testing.assert_allclose(y.transpose(0, 2, 1), nn.BatchNorm1d(4, dtype=F64)(x), rtol=1e-12, atol=1e-12)
    plain = nn.BatchNorm2d(2, affine=False, track_running_stats=False, dtype=F64).eval()
    assert list(plain.named_parameters()) == [] and list(plain.named_buffers()) == []
    x4 = rng.standard_normal((3, 2, 2, 2))
    y4 = plain(x4)  # batch statistics even in eval mode
    np.testing.assert_allclose(y4.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y4.var(axis=(0, 2, 3)), 1, rtol=1e-4)
    grad_check(plain, x4, rng)


def test_batchnorm_arguments_and_arithmetic():
    bn = nn.BatchNorm2d(8)
    assert bn.weight.data.dtype == np.float32 and bn.macs((8, 4, 4)) == 128
    assert bn.output_shape((8, 4, 4)) == (8, 4, 4)
    assert nn.BatchNorm1d(8, data_format="NLC").output_shape((5, 8)) == (5, 8)
    with pytest.raises(ValueError, match="7 channels"):
        bn.output_shape((7, 4, 4))
    assert repr(bn) == "BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    with pytest.raises(ValueError, match="num_features"):
        nn.BatchNorm2d(0)
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm2d(3, momentum=1.5)
    with pytest.raises(ValueError, match="data_format"):
        nn.BatchNorm2d(3, data_format="NCL")
    with pytest.raises(ValueError, match="3 channels"):
        bn(np.zeros((2, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="4-D"):
        bn(np.zeros((2, 8), np.float32))


def test_local_response_norm(rng, torch):
    lrn = nn.LocalResponseNorm(3, alpha=0.5, beta=0.75, k=2.0)
    x = rng.standard_normal((2, 5, 3, 3))
    np.testing.assert_array_equal(lrn(x), F.local_response_norm(x, 3, 0.5, 0.75, 2.0))
    expected = torch.nn.LocalResponseNorm(3, alpha=0.5, beta=0.75, k=2.0)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(lrn(x), expected, rtol=1e-10)
    grad_check(lrn, x, rng)
    assert repr(lrn) == "LocalResponseNorm(3, alpha=0.5, beta=0.75, k=2.0)"
    cl = nn.LocalResponseNorm(3, alpha=0.5, beta=0.75, k=2.0, data_format="NHWC")
    np.testing.assert_allclose(cl(np.ascontiguousarray(x.transpose(0, 2, 3, 1))).transpose(0, 3, 1, 2), lrn(x),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="data_format"):
        nn.LocalResponseNorm(3, data_format="NC")
    with pytest.raises(ValueError, match="size"):
        nn.LocalResponseNorm(0)


# ----------------------------------------------------------------------------- linear, flatten


def test_linear_matches_functional_and_finite_differences(rng):
    lin = nn.Linear(5, 3, dtype=F64)
    x = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(lin(x), F.linear(x, lin.weight.data, lin.bias.data))
    np.testing.assert_allclose(lin(x), x @ lin.weight.data.T + lin.bias.data, rtol=1e-12)
    grad_check(lin, x, rng)
    nobias = nn.Linear(5, 3, bias=False, dtype=F64)
    assert nobias.bias is None and [n for n, _ in nobias.named_parameters()] == ["weight"]
    grad_check(nobias, rng.standard_normal((2, 3, 5)), rng)


def test_linear_init_shapes_and_arithmetic():
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    assert lin.weight.shape == (300, 400) and lin.bias.shape == (300,)
    assert lin.weight.data.dtype == np.float32
    for p in (lin.weight.data, lin.bias.data):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.9 * bound
    assert abs(lin.weight.data.std() - bound / math.sqrt(3)) < 0.01 * bound  # uniform's std
    assert lin.output_shape((400,)) == (300,) and lin.macs((400,)) == 120000
    assert lin.macs((7, 400)) == 7 * 120000
    assert repr(lin) == "Linear(in_features=400, out_features=300, bias=True)"
    with pytest.raises(ValueError, match="in_features=400"):
        lin.output_shape((399,))
    with pytest.raises(ValueError, match="out_features"):
        nn.Linear(3, 0)
    nn.init.manual_seed(11)
    first = nn.Linear(4, 3)
    nn.init.manual_seed(11)
    np.testing.assert_array_equal(nn.Linear(4, 3).weight.data, first.weight.data)  # reproducible
    with pytest.raises(TypeError, match="in_features"):
        nn.Linear(2.5, 3)


def test_flatten(rng):
    fl = nn.Flatten()
    x = rng.standard_normal((2, 3, 4, 5))
    y = fl(x)
    np.testing.assert_array_equal(y, x.reshape(2, 60))
    g = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(fl.backward(g), g.reshape(x.shape))
    assert fl.output_shape((3, 4, 5)) == (60,)
    mid = nn.Flatten(2, 3)
    assert mid(x).shape == (2, 3, 20) and mid.output_shape((3, 4, 5)) == (3, 20)
    with pytest.raises(ValueError, match="start_dim"):
        nn.Flatten(0)
    with pytest.raises(ValueError, match="do not fit"):
        nn.Flatten(3, 1).output_shape((3, 4, 5))


# ----------------------------------------------------------------------------- dropout


def test_dropout_train_eval_and_mask_reuse(rng):
    drop = nn.Dropout(0.25, seed=7)
    x = rng.standard_normal((50, 40)) + 3
    y = drop(x)
    kept = y != 0
    assert 0.68 < kept.mean() < 0.82
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-15)
    g = rng.standard_normal(x.shape)
    np.testing.assert_allclose(drop.backward(g), np.where(kept, g / 0.75, 0), rtol=1e-15)
    y2 = drop(x)
    assert not np.array_equal(y2 != 0, kept)  # a fresh mask per forward
    np.testing.assert_array_equal(drop.backward(g) != 0, y2 != 0)  # backward uses the newest mask
    again = nn.Dropout(0.25, seed=7)
    np.testing.assert_array_equal(again(x), y)  # reproducible when seeded
    np.testing.assert_array_equal(again(x), y2)
    drop.eval()
    assert drop(x) is x and drop.backward(g) is g


def test_dropout_arguments():
    assert repr(nn.Dropout()) == "Dropout(p=0.5)"
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)
    with pytest.raises(TypeError, match="seed"):
        nn.Dropout(0.1, seed="x")
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Dropout().backward(np.ones(2))


# ----------------------------------------------------------------------------- containers


def test_residual_identity_and_projection_gradients(rng):
    body = nn.Sequential(nn.Linear(4, 5, dtype=F64), nn.Tanh(), nn.Linear(5, 4, dtype=F64))
    block = nn.Residual(body)
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(block(x), np.maximum(body(x) + x, 0), rtol=1e-15)
    grad_check(block, x, rng)
    proj = nn.Residual(nn.Sequential(nn.Linear(4, 6, dtype=F64), nn.ELU()), nn.Linear(4, 6, dtype=F64))
    assert [n for n, _ in proj.children()] == ["body", "shortcut"]
    assert [n for n, _ in proj.named_parameters()] == ["body.0.weight", "body.0.bias", "shortcut.weight",
                                                       "shortcut.bias"]
    np.testing.assert_allclose(proj(x), np.maximum(proj.body(x) + proj.shortcut(x), 0), rtol=1e-15)
    grad_check(proj, x, rng)


def test_concat_gradients_and_channel_axis(rng):
    branches = [nn.Linear(4, 2, dtype=F64), nn.Sequential(nn.Linear(4, 3, dtype=F64), nn.Sigmoid()),
                Scale(rng.standard_normal(4))]
    cat = nn.Concat(*branches)
    x = rng.standard_normal((3, 4))
    y = cat(x)
    np.testing.assert_allclose(y, np.concatenate([b(x) for b in branches], axis=1), rtol=1e-15)
    assert [n for n, _ in cat.children()] == ["0", "1", "2"]
    grad_check(cat, x, rng)
    last = nn.Concat(nn.Tanh(), nn.Sigmoid(), axis=-1)
    x4 = rng.standard_normal((2, 3, 2, 2))
    assert last(x4).shape == (2, 3, 2, 4)
    grad_check(last, x4, rng)


def test_container_arithmetic():
    res = nn.Residual(nn.Sequential(Window(3), Window(3)), Window(5))
    assert res.output_shape((2, 9, 9)) == (2, 5, 5)
    assert res.macs((2, 9, 9)) == 30 + 30 + 50
    assert res.receptive_field((2, 9, 9)) == [(5, 1, 0)] * 2
    assert nn.Residual(nn.Sequential(Window(3), Window(3)), Window(1)).receptive_field((2, 9, 9)) == \
        [(5, 1, 0)] * 2  # the body's window
    assert nn.Residual(Window(1), nn.Sequential(Window(3), Window(3))).receptive_field((2, 9, 9)) == \
        [(5, 1, 0)] * 2  # the shortcut's wider window wins
    assert nn.Residual(nn.ReLU()).receptive_field((2, 4, 4)) is None
    assert nn.Residual(nn.ReLU()).output_shape((2, 4, 4)) == (2, 4, 4)
    with pytest.raises(ValueError, match="differ"):
        nn.Residual(Window(1, channels=3), Window(3, channels=3)).output_shape((3, 9, 9))
    with pytest.raises(ValueError, match="differ"):
        nn.Residual(Window(3, p=1, channels=3)).output_shape((2, 9, 9))  # identity keeps 2 channels
    inception = nn.Concat(Window(1, channels=4), Window(3, p=1, channels=2), Window(5, p=2, channels=1))
    assert inception.output_shape((2, 9, 9)) == (7, 9, 9)
    assert inception.macs((2, 9, 9)) == 10 + 30 + 50
    assert inception.receptive_field((2, 9, 9)) == [(5, 1, 2)] * 2
    model = nn.Sequential(Window(3, 2), inception)
    assert model.receptive_field((2, 19, 19)) == [(3 + 4 * 2, 2, 2 * 2)] * 2
    with pytest.raises(ValueError, match="cannot be concatenated"):
        nn.Concat(Window(1), Window(3)).output_shape((2, 9, 9))  # 9x9 and 7x7 outputs
    same = nn.Concat(nn.ReLU(), nn.Sigmoid(), nn.Tanh())
    assert same.output_shape((2, 9, 9)) == (6, 9, 9) and same.macs((2, 9, 9)) == 0
    assert same.receptive_field((2, 9, 9)) is None
    assert nn.Concat(nn.ReLU(), nn.Tanh(), axis=-1).output_shape((2, 9, 9)) == (2, 9, 18)


def test_conv_residual_and_inception_blocks(rng):
    nn.init.manual_seed(5)
    basic = nn.Residual(
        nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1, dtype=F64), nn.BatchNorm2d(3, dtype=F64), nn.ReLU(),
                      nn.Conv2d(3, 3, 3, padding=1, bias=False, dtype=F64)),
        nn.Sequential(nn.Conv2d(2, 3, 1, stride=2, bias=False, dtype=F64), nn.BatchNorm2d(3, dtype=F64)))
    x = rng.standard_normal((2, 2, 5, 5))
    assert basic(x).shape == (2, 3, 3, 3) and basic.output_shape((2, 5, 5)) == (3, 3, 3)
    assert basic.macs((2, 5, 5)) == (9 * 2 * 3 * 9 + 3 * 9) + 9 * 3 * 3 * 9 + (2 * 3 * 9 + 3 * 9)
    assert basic.receptive_field((2, 5, 5)) == [(3 + 2 * 2, 2, 1 + 1 * 2)] * 2
    grad_check(basic, x, rng)
    inception = nn.Concat(
        nn.Conv2d(3, 2, 1, dtype=F64),
        nn.Sequential(nn.Conv2d(3, 2, 1, dtype=F64), nn.ReLU(), nn.Conv2d(2, 2, 3, padding=1, dtype=F64)),
        nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(3, 1, 1, dtype=F64)))
    x = rng.standard_normal((2, 3, 4, 4))
    assert inception(x).shape == (2, 5, 4, 4) and inception.output_shape((3, 4, 4)) == (5, 4, 4)
    assert inception.macs((3, 4, 4)) == 16 * (3 * 2 + 3 * 2 + 9 * 2 * 2 + 3 * 1)
    assert inception.receptive_field((3, 4, 4)) == [(3, 1, 1)] * 2
    grad_check(inception, x, rng)


def test_container_arguments():
    with pytest.raises(TypeError, match="body"):
        nn.Residual("conv")
    with pytest.raises(TypeError, match="shortcut"):
        nn.Residual(nn.ReLU(), 3)
    with pytest.raises(ValueError, match="axis"):
        nn.Concat(nn.ReLU(), axis=0)
    with pytest.raises(ValueError, match="at least one"):
        nn.Concat()
    with pytest.raises(TypeError, match="branch 1"):
        nn.Concat(nn.ReLU(), None)
    with pytest.raises(ValueError, match="differ"):
        nn.Residual(nn.Linear(3, 2))(np.zeros((1, 3), np.float32))


def test_whole_model_gradient_with_cross_entropy(rng):
    model = nn.Sequential(
        nn.Linear(6, 5, dtype=F64),
        nn.BatchNorm1d(5, dtype=F64),
        nn.Residual(nn.Sequential(nn.Linear(5, 5, dtype=F64), nn.Tanh(), nn.Linear(5, 5, dtype=F64))),
        nn.Concat(nn.Linear(5, 3, dtype=F64), nn.Sequential(nn.Linear(5, 2, dtype=F64), nn.LeakyReLU(0.1))),
        nn.Softmax(dim=1),
        nn.Linear(5, 4, dtype=F64),
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    x = rng.standard_normal((6, 6))
    target = rng.integers(0, 4, 6)

    def loss(inp: np.ndarray) -> float:
        return criterion(model(inp), target)

    model.zero_grad()
    loss(x)
    gx = model.backward(criterion.backward())
    np.testing.assert_allclose(gx, central_difference(loss, x), rtol=1e-6, atol=1e-8)
    params = list(model.named_parameters())
    assert len(params) == 14
    for name, p in params:
        original = p.data.copy()

        def loss_p(v: np.ndarray, p=p) -> float:
            p.data[...] = v
            return loss(x)

        numeric = central_difference(loss_p, original)
        p.data[...] = original
        np.testing.assert_allclose(p.grad, numeric, rtol=1e-6, atol=1e-8, err_msg=name)


# ----------------------------------------------------------------------------- losses


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_loss_vs_torch(reduction, smoothing, rng, torch):
    logits = rng.standard_normal((5, 4, 3))
    target = rng.integers(0, 4, (5, 3))
    crit = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
    value = crit(logits, target)
    lt = torch.from_numpy(logits).requires_grad_(True)
    ref = torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)(lt, torch.from_numpy(target))
    ref.sum().backward()
    if reduction == "none":
        np.testing.assert_allclose(value, ref.detach().numpy(), rtol=1e-12)
    else:
        assert isinstance(value, float) and value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(crit.backward(), lt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_cross_entropy_weight_and_ignore_index(rng, torch):
    logits = rng.standard_normal((6, 3))
    target = np.array([0, 1, 2, -100, 1, 0])
    weight = np.array([0.5, 2.0, 1.0])
    crit = nn.CrossEntropyLoss(weight)
    lt = torch.from_numpy(logits).requires_grad_(True)
    ref = torch.nn.CrossEntropyLoss(torch.from_numpy(weight))(lt, torch.from_numpy(target))
    ref.backward()
    assert crit(logits, target) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(crit.backward(), lt.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_vs_torch(reduction, rng, torch):
    pred, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    crit = nn.MSELoss(reduction)
    value = crit(pred, target.tolist())
    pt = torch.from_numpy(pred).requires_grad_(True)
    ref = torch.nn.MSELoss(reduction=reduction)(pt, torch.from_numpy(target))
    ref.sum().backward()
    np.testing.assert_allclose(value, ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(crit.backward(), pt.grad.numpy(), rtol=1e-12)
    assert crit.backward().dtype == np.float64


def test_loss_float32_and_arguments(rng):
    pred = rng.standard_normal((4, 3)).astype(np.float32)
    crit = nn.MSELoss()
    assert crit(pred, np.zeros((4, 3))) == pytest.approx(float(np.mean(pred.astype(F64) ** 2)), rel=1e-6)
    assert crit.backward().dtype == np.float32
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss(reduction='mean', label_smoothing=0.0)"
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss("avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(TypeError, match="weight"):
        nn.CrossEntropyLoss("sum")
    with pytest.raises(RuntimeError, match="before forward"):
        nn.CrossEntropyLoss().backward()
