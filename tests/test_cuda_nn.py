"""Models on the GPU: Layer.to / .device, the device helpers of convcore._ops,
the fused optimizer steps, fit / evaluate / predict and save / load across
devices. The GPU tests compare with the CPU path (float64 where a deep
network's gradients are compared: 1e-9 relative; the float32 optimizer
steps: 1e-5 relative to the largest value). The argument checks and the
no-GPU errors run everywhere."""

from __future__ import annotations

import copy
import importlib

import numpy as np
import pytest

import convcore
from convcore import _ops, models, nn, optim
from convcore.training import evaluate, fit, predict

try:
    _cuda = importlib.import_module("convcore.cuda")
    HAS_GPU = bool(_cuda.is_available())
except ImportError:  # a convcore without the device-array API
    _cuda, HAS_GPU = None, False

needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="needs a CUDA device")
no_gpu = pytest.mark.skipif(HAS_GPU, reason="checks the error without a CUDA device")


def small_cnn(dtype=np.float32) -> nn.Sequential:
    """Conv, batch norm, pooling, a residual and a concat block, flatten, linear:
    every container and array operation of the layer code."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, dtype=dtype), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Residual(nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, dtype=dtype), nn.BatchNorm2d(8))),
        nn.Concat(nn.Conv2d(8, 4, 1, dtype=dtype), nn.Sequential(nn.Conv2d(8, 4, 3, padding=1, dtype=dtype),
                                                                 nn.ReLU())),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 5, dtype=dtype),
    )


def float64(model):
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
        p.grad = np.zeros_like(p.data)
    for layer in model._layers():
        for name in list(layer._buffers):
            layer.register_buffer(name, getattr(layer, name).astype(np.float64))
    return model


# ---------------------------------------------------------------- everywhere
def test_to_cpu_on_a_cpu_model_is_a_no_op_returning_self():
    model = small_cnn()
    arrays = [p.data for p in model.parameters()] + [p.grad for p in model.parameters()]
    buffers = [b for _, b in model.named_buffers()]
    assert model.to("cpu") is model
    assert model.device == "cpu"
    assert all(a is b for a, b in zip(arrays, [p.data for p in model.parameters()]
                                      + [p.grad for p in model.parameters()]))
    assert all(a is b for a, (_, b) in zip(buffers, model.named_buffers()))
    assert nn.ReLU().device == "cpu"


@pytest.mark.parametrize("device", ["gpu", "CUDA", "cuda:", "cuda:x", "cuda:-1", "cuda0", "cpu:0", ""])
def test_bad_device_strings_raise_value_error(device):
    with pytest.raises(ValueError, match="device"):
        small_cnn().to(device)


@pytest.mark.parametrize("device", [0, None, ("cuda", 0)])
def test_non_string_devices_raise_type_error(device):
    with pytest.raises(TypeError, match="device"):
        small_cnn().to(device)


def test_parse_device_names():
    assert _ops.parse_device("cpu") == "cpu"
    assert _ops.parse_device("cuda") == "cuda:0"
    assert _ops.parse_device("cuda:3") == "cuda:3"


@no_gpu
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:1"])
def test_to_cuda_without_a_gpu_raises_runtime_error(device):
    model = small_cnn()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(RuntimeError, match="cannot use device"):
        model.to(device)
    assert model.device == "cpu"
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@no_gpu
def test_demo_device_cuda_without_a_gpu_is_a_clear_cli_error(capsys):
    from convcore.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["demo", "--device", "cuda", "--epochs", "1", "--save", ""])
    assert exc.value.code == 2
    assert "--device cuda" in capsys.readouterr().err


def test_demo_rejects_a_malformed_device(capsys):
    from convcore.__main__ import main

    with pytest.raises(SystemExit):
        main(["demo", "--device", "tpu", "--save", ""])
    assert "invalid device 'tpu'" in capsys.readouterr().err


def test_host_ops_match_numpy(rng):
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4))
    joined = _ops.concat([a, b], 1)
    np.testing.assert_array_equal(joined, np.concatenate([a, b], 1))
    left, right = _ops.split(joined, [3, 5], 1)
    np.testing.assert_array_equal(left, a)
    np.testing.assert_array_equal(right, b)
    assert right.flags.c_contiguous
    y = a.copy()
    _ops.axpy_(y, a, 2.0)
    np.testing.assert_allclose(y, 3 * a)
    _ops.add_(y, a)
    np.testing.assert_allclose(y, 4 * a)
    np.testing.assert_array_equal(_ops.add(a, a), 2 * a)
    _ops.assign_(y, np.ones((2, 3, 4), np.float32))
    assert y.dtype == np.float64 and (y == 1).all()
    _ops.zero_(y)
    assert not y.any()
    assert _ops.astype(a, np.float32).dtype == np.float32
    assert _ops.item(np.array(2.5)) == 2.5
    with pytest.raises(ValueError, match="do not add up"):
        _ops.split(joined, [3, 4], 1)


def test_state_dict_is_host_copies_and_load_state_dict_converts():
    model = small_cnn()
    state = model.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    first = next(iter(state))
    state[first][...] = 7
    assert not (model.state_dict()[first] == 7).all()
    model.load_state_dict({k: v.astype(np.float64) for k, v in state.items()})
    assert (model.state_dict()[first] == 7).all()
    assert next(model.parameters()).data.dtype == np.float32


# ---------------------------------------------------------------- on a GPU
def host(x):
    return _ops.to_host(x)


def is_on(x, device="cuda:0"):
    return _ops.is_device(x) and x.device == device


@needs_gpu
def test_to_cuda_moves_every_array_and_back(rng):
    model = small_cnn()
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    model(x)  # leaves saved inputs and indices on the host
    before = model.state_dict()
    assert model.to("cuda") is model
    assert model.device == "cuda:0"
    for p in model.parameters():
        assert is_on(p.data) and is_on(p.grad) and p.device == "cuda:0"
    buffers = dict(model.named_buffers())
    assert buffers and all(is_on(b) for b in buffers.values())
    for layer in model._layers():  # every array attribute, also in tuples
        for value in vars(layer).values():
            for v in value if isinstance(value, tuple) else (value,):
                assert not isinstance(v, np.ndarray)
    after = model.state_dict()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])
    assert model.to("cuda:0") is model  # already there: nothing moves
    model.to("cpu")
    assert model.device == "cpu"
    assert all(isinstance(p.data, np.ndarray) for p in model.parameters())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@needs_gpu
def test_device_ops_match_numpy(rng):
    a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    b = rng.standard_normal((2, 6, 4, 5)).astype(np.float32)
    da, db = _cuda.asarray(a), _cuda.asarray(b)
    for axis in (1, -1, 2, 3):
        parts = [a, rng.standard_normal(a.shape).astype(np.float32)]
        joined = _ops.concat([_cuda.asarray(p) for p in parts], axis)
        np.testing.assert_array_equal(host(joined), np.concatenate(parts, axis))
        sizes = [p.shape[axis] for p in parts]
        for got, want in zip(_ops.split(joined, sizes, axis), parts):
            np.testing.assert_array_equal(host(got), want)
    joined = _ops.concat([da, db], 1)
    np.testing.assert_array_equal(host(joined), np.concatenate([a, b], 1))
    np.testing.assert_array_equal(host(_ops.add(da, da)), a + a)
    y = _cuda.asarray(a)
    _ops.axpy_(y, da, -0.5)
    np.testing.assert_allclose(host(y), a - 0.5 * a, rtol=1e-6)
    np.testing.assert_array_equal(host(_ops.astype(da, np.float64)), a.astype(np.float64))
    _ops.assign_(y, b[:, :3].astype(np.float64))
    np.testing.assert_array_equal(host(y), b[:, :3])
    _ops.zero_(y)
    assert not host(y).any()
    with pytest.raises(ValueError):
        _ops.add(da, a)  # host and device mixed


@needs_gpu
def test_metrics_accumulate_on_the_device(rng):
    pred = rng.standard_normal((7, 4, 3)).astype(np.float32)
    pred[0, :, 0] = [1, 5, 5, 0]  # ties: the first index, as numpy.argmax
    labels = rng.integers(0, 4, (7, 3))
    acc = _ops.full((2,), 0.0, np.float64, "cuda:0")
    convcore._C.accumulate_metrics(acc, _cuda.asarray(np.array(1.5, np.float32)), 7.0,
                                   _cuda.asarray(pred), _cuda.asarray(labels))
    got = host(acc)
    assert got[0] == pytest.approx(10.5)
    assert got[1] == (pred.argmax(1) == labels).sum()


def train_step(model, opt, x, y):
    loss = nn.CrossEntropyLoss()
    opt.zero_grad()
    value = loss(model(x), y)
    model.backward(loss.backward())
    opt.step()
    return value


@needs_gpu
def test_resnet18_training_step_on_the_gpu_matches_the_cpu(rng):
    """One SGD step (momentum, weight decay, Caffe groups) of ResNet-18 in
    float64: every parameter and running statistic agrees to 1e-9."""
    cpu = float64(models.resnet18(10))
    gpu = copy.deepcopy(cpu).to("cuda")
    x = rng.standard_normal((2, 3, 64, 64))  # 2x2 maps at the last stage, as test_models' parity
    y = rng.integers(0, 10, 2)
    opts = [optim.SGD(optim.caffe_groups(m, lr=0.05, weight_decay=1e-3), momentum=0.9) for m in (cpu, gpu)]
    for _ in range(2):
        lc = train_step(cpu, opts[0], x, y)
        lg = train_step(gpu, opts[1], _cuda.asarray(x), y)
        assert lg == pytest.approx(lc, rel=1e-9)
    want, got = cpu.state_dict(), gpu.state_dict()
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-9, atol=1e-9 * np.abs(want[k]).max())


OPTIMIZERS = [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01)),
    (optim.RMSprop, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.01)),
    (optim.Adam, dict(lr=0.01, weight_decay=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True, betas=(0.8, 0.9))),
    (optim.Adadelta, dict(lr=1.0, rho=0.8, weight_decay=0.01)),
]


@needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS)
def test_fused_optimizer_steps_match_the_cpu(rng, cls, kwargs, dtype):
    """Five steps with fixed gradients on parameters of several sizes (one past
    a kernel chunk), lr_mult / decay_mult included: the fused kernel's
    parameters and state equal the CPU path's (float32: 1e-5 of the largest
    value; float64: 1e-12)."""
    shapes = [(3,), (40, 50), (20000,), (2, 3, 4, 5)]
    cpu = [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in shapes]
    cpu[1].lr_mult, cpu[1].decay_mult = 2.0, 0.0
    cpu[3].lr_mult = 0.5
    gpu = [copy.deepcopy(p).to("cuda") for p in cpu]
    opt_c, opt_g = cls(cpu, **kwargs), cls(gpu, **kwargs)
    for _ in range(5):
        for pc, pg in zip(cpu, gpu):
            g = rng.standard_normal(pc.shape).astype(dtype)
            pc.grad[...] = g
            _ops.assign_(pg.grad, g)
        opt_c.step()
        opt_g.step()
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for pc, pg in zip(cpu, gpu):
        want = pc.data
        np.testing.assert_allclose(host(pg.data), want, rtol=tol, atol=tol * np.abs(want).max())
    sc, sg = opt_c.state_dict()["state"], opt_g.state_dict()["state"]
    assert sc.keys() == sg.keys()
    for i in sc:
        assert sc[i].keys() == sg[i].keys()
        for name, value in sc[i].items():
            if isinstance(value, np.ndarray):
                np.testing.assert_allclose(sg[i][name], value, rtol=tol, atol=tol * np.abs(value).max())
            else:
                assert sg[i][name] == value


@needs_gpu
def test_optimizer_state_follows_the_parameters(rng):
    model = small_cnn()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 5, 4)
    train_step(model, opt, x, y)
    model.to("cuda")
    train_step(model, opt, _cuda.asarray(x), y)
    for state in opt.state.values():
        assert is_on(state["exp_avg"]) and is_on(state["exp_avg_sq"])
    saved = opt.state_dict()
    assert all(isinstance(v, np.ndarray) for s in saved["state"].values() for v in s.values()
               if not isinstance(v, int))
    model.to("cpu")
    train_step(model, opt, x, y)
    assert all(isinstance(s["exp_avg"], np.ndarray) for s in opt.state.values())
    opt.load_state_dict(saved)


@needs_gpu
def test_fit_evaluate_predict_on_the_gpu_match_the_cpu(rng):
    x = rng.standard_normal((40, 3, 8, 8))
    y = rng.integers(0, 5, 40)
    cpu = float64(small_cnn())
    gpu = copy.deepcopy(cpu).to("cuda")
    kw = dict(epochs=2, batch_size=16, shuffle=False, verbose=False, validation_data=(x, y))
    hc = fit(cpu, x, y, optimizer=optim.SGD(cpu.parameters(), lr=0.05, momentum=0.9), **kw)
    hg = fit(gpu, x, y, optimizer=optim.SGD(gpu.parameters(), lr=0.05, momentum=0.9), **kw)
    assert hc.keys() == hg.keys()
    for key in hc:
        np.testing.assert_allclose(hg[key], hc[key], rtol=1e-9)
    ec, eg = evaluate(cpu, x, y, batch_size=7), evaluate(gpu, x, y, batch_size=7)
    assert eg["accuracy"] == ec["accuracy"]
    assert eg["loss"] == pytest.approx(ec["loss"], rel=1e-9)
    pc, pg = predict(cpu, x, batch_size=7), predict(gpu, x, batch_size=7)
    assert isinstance(pg, np.ndarray)
    np.testing.assert_allclose(pg, pc, rtol=1e-9, atol=1e-12)
    on_device = predict(gpu, x, batch_size=7, to_numpy=False)
    assert is_on(on_device)
    np.testing.assert_array_equal(host(on_device), pg)
    reg = fit(gpu, x, rng.standard_normal((40, 5)), loss="mse", epochs=1, verbose=False)
    assert "accuracy" not in reg and np.isfinite(reg["loss"][0])


@needs_gpu
def test_save_on_the_gpu_load_on_the_cpu_and_back(rng, tmp_path):
    model = small_cnn().to("cuda")
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    train_step(model, optim.SGD(model.parameters(), lr=0.1), _cuda.asarray(x), rng.integers(0, 5, 4))
    path = tmp_path / "m.npz"
    model.save(str(path))
    on_cpu = small_cnn().load(str(path))
    assert on_cpu.device == "cpu"
    for (k, v), (k2, v2) in zip(model.state_dict().items(), on_cpu.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(v, v2)
    model.eval()
    on_cpu.eval()
    np.testing.assert_allclose(host(model(_cuda.asarray(x))), on_cpu(x), rtol=1e-4, atol=1e-5)
    on_cpu.save(str(path))
    back = small_cnn().to("cuda").load(str(path))
    assert back.device == "cuda:0"
    for k, v in on_cpu.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v)
    fresh = small_cnn().to("cuda")
    fresh.load_state_dict(on_cpu.state_dict())
    assert all(is_on(p.data) for p in fresh.parameters())


@needs_gpu
def test_demo_on_the_gpu_reaches_the_cpu_accuracy():
    pytest.importorskip("sklearn")
    from convcore.__main__ import demo

    cpu = demo(epochs=3, save="", device="cpu")
    gpu = demo(epochs=3, save="", device="cuda")
    assert gpu == pytest.approx(cpu, abs=0.02)
    assert gpu > 0.85
