"""convcore.optim: every optimizer against torch.optim and a hand-written NumPy
rule over several steps, parameter groups, Caffe multipliers, state_dict,
schedulers (against torch.optim.lr_scheduler) and hyper-parameter errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from convcore import optim
from convcore.nn import Layer, Parameter

STEPS = 6


def _grad(p: np.ndarray, t: int) -> np.ndarray:
    """A deterministic gradient that depends on the parameter and the step
    (the gradient of a quartic bowl plus a step-dependent tilt)."""
    return p**3 - 0.5 * p + 0.3 * np.sin(np.arange(p.size).reshape(p.shape) + t)


def _run_convcore(cls, kwargs, start, steps=STEPS):
    params = [Parameter(a.copy()) for a in start]
    opt = cls(params, **kwargs)
    for t in range(steps):
        for p in params:
            p.grad[...] = _grad(p.data, t)
        opt.step()
    return [p.data for p in params], opt


def _run_torch(torch, name, kwargs, start, steps=STEPS):
    params = [torch.tensor(a.copy(), requires_grad=True) for a in start]
    opt = getattr(torch.optim, name)(params, **kwargs)
    for t in range(steps):
        for p in params:
            p.grad = torch.from_numpy(_grad(p.detach().numpy().copy(), t))
        opt.step()
    return [p.detach().numpy() for p in params]


# --------------------------------------------------------------- NumPy rules
def _np_sgd(p, g, s, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    g = g + weight_decay * p
    if momentum:
        s["b"] = g.copy() if "b" not in s else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return p - lr * g


def _np_adagrad(p, g, s, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10):
    s["t"] = s.get("t", 0) + 1
    g = g + weight_decay * p
    s["sum"] = s.get("sum", np.full_like(p, initial_accumulator_value)) + g * g
    return p - lr / (1 + (s["t"] - 1) * lr_decay) * g / (np.sqrt(s["sum"]) + eps)


def _np_rmsprop(p, g, s, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False):
    g = g + weight_decay * p
    s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g * g
    v = s["v"]
    if centered:
        s["m"] = alpha * s.get("m", 0.0) + (1 - alpha) * g
        v = v - s["m"] ** 2
    step = g / (np.sqrt(v) + eps)
    if momentum:
        s["b"] = momentum * s.get("b", 0.0) + step
        step = s["b"]
    return p - lr * step


def _np_adam(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
    s["t"] = t = s.get("t", 0) + 1
    g = g + weight_decay * p
    s["m"] = betas[0] * s.get("m", 0.0) + (1 - betas[0]) * g
    s["v"] = betas[1] * s.get("v", 0.0) + (1 - betas[1]) * g * g
    v = s["v"]
    if amsgrad:
        s["vmax"] = v = np.maximum(s.get("vmax", 0.0), v)
    m_hat, v_hat = s["m"] / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def _np_adadelta(p, g, s, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    g = g + weight_decay * p
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
    d = np.sqrt(s.get("u", 0.0) + eps) / np.sqrt(s["v"] + eps) * g
    s["u"] = rho * s.get("u", 0.0) + (1 - rho) * d * d
    return p - lr * d


CASES = [
    ("SGD", optim.SGD, _np_sgd, dict(lr=0.1)),
    ("SGD", optim.SGD, _np_sgd, dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("SGD", optim.SGD, _np_sgd, dict(lr=0.05, momentum=0.8, dampening=0.3)),
    ("SGD", optim.SGD, _np_sgd, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adagrad", optim.Adagrad, _np_adagrad, dict(lr=0.1)),
    ("Adagrad", optim.Adagrad, _np_adagrad,
     dict(lr=0.1, lr_decay=0.2, weight_decay=0.05, initial_accumulator_value=0.3, eps=1e-6)),
    ("RMSprop", optim.RMSprop, _np_rmsprop, dict(lr=0.01)),
    ("RMSprop", optim.RMSprop, _np_rmsprop, dict(lr=0.01, alpha=0.9, momentum=0.7, weight_decay=0.1)),
    ("RMSprop", optim.RMSprop, _np_rmsprop, dict(lr=0.01, centered=True, momentum=0.5, eps=1e-4)),
    ("Adam", optim.Adam, _np_adam, dict(lr=0.05)),
    ("Adam", optim.Adam, _np_adam, dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.1, eps=1e-3)),
    ("Adam", optim.Adam, _np_adam, dict(lr=0.05, amsgrad=True)),
    ("Adadelta", optim.Adadelta, _np_adadelta, dict()),
    ("Adadelta", optim.Adadelta, _np_adadelta, dict(lr=0.5, rho=0.7, eps=1e-4, weight_decay=0.2)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}" for name, _, _, kw in CASES]


def _start(rng):
    return [rng.standard_normal((3, 4)), rng.standard_normal(5)]


@pytest.mark.parametrize("name, cls, rule, kwargs", CASES, ids=IDS)
def test_matches_torch(torch, rng, name, cls, rule, kwargs):
    start = _start(rng)
    ours, _ = _run_convcore(cls, kwargs, start)
    for got, want in zip(ours, _run_torch(torch, name, kwargs, start)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert not np.allclose(ours[0], start[0])  # the parameters moved


@pytest.mark.parametrize("name, cls, rule, kwargs", CASES, ids=IDS)
def test_matches_numpy_rule(rng, name, cls, rule, kwargs):
    start = _start(rng)
    ours, _ = _run_convcore(cls, kwargs, start)
    for a, got in zip(start, ours):
        p, s = a.copy(), {}
        for t in range(STEPS):
            p = rule(p, _grad(p, t), s, **kwargs)
        np.testing.assert_allclose(got, p, rtol=1e-9, atol=1e-12)


def test_float32_parameters_stay_float32(rng):
    p = Parameter(rng.standard_normal((4, 3)).astype(np.float32))
    data = p.data
    opt = optim.Adam([p], lr=0.1)
    p.grad[...] = 1.0
    opt.step()
    assert p.data is data and p.data.dtype == np.float32  # in place
    np.testing.assert_allclose(p.data, data, atol=0)
    assert opt.state[id(p)]["exp_avg"].dtype == np.float32


def test_param_groups_override_defaults(torch, rng):
    a, b = rng.standard_normal(4), rng.standard_normal(3)
    pa, pb = Parameter(a.copy()), Parameter(b.copy())
    opt = optim.SGD([{"params": [pa]}, {"params": [pb], "lr": 0.5, "momentum": 0.0}],
                    lr=0.1, momentum=0.9)
    ta, tb = (torch.tensor(v.copy(), requires_grad=True) for v in (a, b))
    topt = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.5, "momentum": 0.0}],
                           lr=0.1, momentum=0.9)
    for t in range(3):
        for p, q in ((pa, ta), (pb, tb)):
            p.grad[...] = _grad(p.data, t)
            q.grad = torch.from_numpy(_grad(q.detach().numpy().copy(), t))
        opt.step()
        topt.step()
    np.testing.assert_allclose(pa.data, ta.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(pb.data, tb.detach().numpy(), rtol=1e-12)
    assert opt.param_groups[1]["momentum"] == 0.0 and opt.param_groups[0]["momentum"] == 0.9


def test_lr_mult_and_decay_mult_scale_the_group():
    p = Parameter(np.array([1.0, -2.0]), lr_mult=2.0, decay_mult=0.5)
    opt = optim.SGD([p], lr=0.1, weight_decay=0.2)
    p.grad[...] = [0.5, 0.5]
    opt.step()
    # g + 0.2 * 0.5 * p, step 0.1 * 2
    np.testing.assert_allclose(p.data, [1.0 - 0.2 * (0.5 + 0.1), -2.0 - 0.2 * (0.5 - 0.2)])


class _TwoParams(Layer):
    def __init__(self):
        super().__init__()
        self.weight = Parameter(np.ones((2, 2)))
        self.bias = Parameter(np.ones(2))


def test_caffe_groups_double_bias_lr_without_decay():
    model = _TwoParams()
    groups = optim.caffe_groups(model, lr=0.01, weight_decay=5e-4)
    opt = optim.SGD(groups, lr=1.0)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.02]
    assert [g["weight_decay"] for g in opt.param_groups] == [5e-4, 0.0]
    assert opt.param_groups[0]["params"] == [model.weight]
    assert opt.param_groups[1]["params"] == [model.bias]
    model.weight.grad[...] = 1.0
    model.bias.grad[...] = 1.0
    opt.step()
    np.testing.assert_allclose(model.weight.data, 1 - 0.01 * (1 + 5e-4))
    np.testing.assert_allclose(model.bias.data, 1 - 0.02)


def test_zero_grad_clears_every_group():
    ps = [Parameter(np.ones(3)), Parameter(np.ones(2))]
    opt = optim.SGD([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.1)
    for p in ps:
        p.grad[...] = 7.0
    opt.zero_grad()
    assert all(not p.grad.any() for p in ps)


@pytest.mark.parametrize("cls, kwargs", [(optim.SGD, dict(lr=0.1, momentum=0.9)),
                                         (optim.Adam, dict(lr=0.1, amsgrad=True)),
                                         (optim.RMSprop, dict(centered=True, momentum=0.5))])
def test_state_dict_round_trip_continues_identically(rng, cls, kwargs):
    start = _start(rng)
    _, opt = _run_convcore(cls, kwargs, start, steps=3)
    saved = opt.state_dict()
    snapshot = copy.deepcopy(saved)
    assert sorted(saved["state"]) == [0, 1]
    assert saved["param_groups"][0]["params"] == [0, 1]
    # a fresh optimizer over copies of the same parameter values, loaded from the state
    params_a = [Parameter(p.data.copy()) for p in opt.param_groups[0]["params"]]
    fresh = cls(params_a, lr=123.0)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == kwargs.get("lr", opt.defaults["lr"])
    for t in range(3, 6):
        for p_old, p_new in zip(opt.param_groups[0]["params"], params_a):
            p_old.grad[...] = _grad(p_old.data, t)
            p_new.grad[...] = _grad(p_new.data, t)
        opt.step()
        fresh.step()
    for p_old, p_new in zip(opt.param_groups[0]["params"], params_a):
        np.testing.assert_array_equal(p_old.data, p_new.data)
    # the saved dict is a copy: stepping did not change it
    for i, entry in snapshot["state"].items():
        for name, value in entry.items():
            np.testing.assert_array_equal(saved["state"][i][name], value)
    assert snapshot["state"][0].keys() == opt.state[id(opt.param_groups[0]["params"][0])].keys()


def test_load_state_dict_rejects_mismatch_and_changes_nothing(rng):
    _, opt = _run_convcore(optim.SGD, dict(lr=0.1, momentum=0.9), _start(rng), steps=1)
    other = optim.SGD([Parameter(np.zeros((3, 4))), Parameter(np.zeros(6))], lr=0.5, momentum=0.9)
    with pytest.raises(ValueError, match="shape"):
        other.load_state_dict(opt.state_dict())
    assert other.state == {} and other.param_groups[0]["lr"] == 0.5
    single = optim.SGD([Parameter(np.zeros((3, 4)))], lr=0.5)
    with pytest.raises(ValueError, match="groups"):
        single.load_state_dict(opt.state_dict())


@pytest.mark.parametrize("make, match", [
    (lambda p: optim.SGD(p, lr=-0.1), "lr"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-1), "momentum"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "nesterov"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "lr_decay"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda p: optim.RMSprop(p, alpha=1.5), "alpha"),
    (lambda p: optim.RMSprop(p, eps=-1e-8), "eps"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"betas\[0\]"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), r"betas\[1\]"),
    (lambda p: optim.Adam(p, betas=0.9), "betas"),
    (lambda p: optim.Adadelta(p, rho=1.1), "rho"),
    (lambda p: optim.SGD(p, lr=float("nan")), "lr"),
    (lambda p: optim.SGD([], lr=0.1), "empty"),
    (lambda p: optim.SGD([{"params": p}, {"params": p}], lr=0.1), "more than one"),
    (lambda p: optim.SGD([{"params": p, "betas": (0.9, 0.9)}], lr=0.1), "betas"),
])
def test_bad_hyper_parameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make([Parameter(np.zeros(2))])


def test_params_type_errors():
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(Parameter(np.zeros(2)), lr=0.1)
    with pytest.raises(TypeError, match="Parameters"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="lr must be a number"):
        optim.SGD([Parameter(np.zeros(2))], lr="0.1")


# --------------------------------------------------------------- schedulers
def _torch_and_ours(torch, lr=1.0, groups=2):
    ours = optim.SGD([{"params": [Parameter(np.zeros(1))], "lr": lr * (i + 1)} for i in range(groups)])
    theirs = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr * (i + 1)}
                              for i in range(groups)])
    return ours, theirs


def test_step_lr_matches_torch(torch):
    ours, theirs = _torch_and_ours(torch)
    s_ours = optim.StepLR(ours, step_size=3, gamma=0.5)
    s_theirs = torch.optim.lr_scheduler.StepLR(theirs, step_size=3, gamma=0.5)
    seen = []
    for _ in range(10):
        ours.step()
        theirs.step()
        s_ours.step()
        s_theirs.step()
        np.testing.assert_allclose(s_ours.get_last_lr(), s_theirs.get_last_lr(), rtol=1e-12)
        seen.append(ours.param_groups[0]["lr"])
    assert seen[:4] == [1.0, 1.0, 0.5, 0.5] and seen[-1] == 0.125


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(mode="max", factor=0.5, patience=1, threshold=0.05, cooldown=1),
    dict(factor=0.3, patience=0, threshold=0.2, threshold_mode="abs", min_lr=[0.05, 0.5]),
    dict(mode="max", patience=2, threshold_mode="abs", min_lr=0.01),
])
def test_reduce_lr_on_plateau_matches_torch(torch, kwargs):
    metrics = [1.0, 0.9, 0.95, 0.91, 0.89, 0.9, 0.9, 0.92, 0.5, 0.5, 0.5, 0.6, 0.49, 0.49, 0.7,
               0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    ours, theirs = _torch_and_ours(torch)
    s_ours = optim.ReduceLROnPlateau(ours, **kwargs)
    s_theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kwargs)
    history = []
    for m in metrics:
        s_ours.step(m)
        s_theirs.step(m)
        history.append([g["lr"] for g in ours.param_groups])
        np.testing.assert_allclose(history[-1], [g["lr"] for g in theirs.param_groups], rtol=1e-12)
    assert history[-1] != history[0]  # it did reduce somewhere


def test_reduce_lr_on_plateau_hand_checked():
    opt = optim.SGD([Parameter(np.zeros(1))], lr=1.0)
    sched = optim.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    lrs = []
    for m in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        sched.step(m)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


@pytest.mark.parametrize("make, match", [
    (lambda o: optim.StepLR(o, step_size=0), "step_size"),
    (lambda o: optim.StepLR(o, step_size=2, gamma=-1), "gamma"),
    (lambda o: optim.ReduceLROnPlateau(o, mode="low"), "mode"),
    (lambda o: optim.ReduceLROnPlateau(o, factor=1.0), "factor"),
    (lambda o: optim.ReduceLROnPlateau(o, threshold_mode="x"), "threshold_mode"),
    (lambda o: optim.ReduceLROnPlateau(o, patience=-1), "patience"),
    (lambda o: optim.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), "min_lr"),
])
def test_scheduler_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make(optim.SGD([Parameter(np.zeros(1))], lr=0.1))
    with pytest.raises(TypeError, match="Optimizer"):
        optim.StepLR(object(), 1)
