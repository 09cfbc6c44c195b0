"""The ``Optimizer`` base class: parameter groups, per-parameter Caffe
multipliers, ``step`` / ``zero_grad`` and a ``state_dict`` as PyTorch's.

A group is a dict with ``params`` (a list of :class:`~convcore.nn.Parameter`)
and the optimizer's hyper-parameters (``lr``, ``weight_decay``, ...); values
missing from a group come from the constructor's defaults. Each parameter's
``lr_mult`` and ``decay_mult`` (Caffe's per-blob multipliers, 1 by default)
scale its group's ``lr`` and ``weight_decay`` at every step, so schedulers,
which change the group's ``lr``, keep the ratios.

On a GPU: the parameters of a group that live on a CUDA device are updated
by one fused kernel launch per group (per device and dtype, when a group
mixes them), with the same update rules as the CPU path (csrc/cuda/optim.cu).
The state (momentum buffers, running averages) follows the parameters
lazily: each step first moves a parameter's state arrays to the parameter's
device when they are elsewhere (after ``model.to(...)`` or
``load_state_dict``), so no explicit ``optimizer.to`` is needed.
``state_dict()`` returns host (NumPy) copies of the state.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable, Union

import numpy as np

from .. import _C, _ops
from ..nn.layer import Layer, Parameter

__all__ = ["Optimizer", "caffe_groups"]

ParamsArg = Union[Iterable[Parameter], Iterable[dict]]


def _check_range(name: str, value: Any, low: float, high: float = float("inf"),
                 *, low_open: bool = False, high_open: bool = True) -> None:
    """ValueError naming the hyper-parameter unless low <= value < high (bounds per flags)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    below = value <= low if low_open else value < low
    above = value >= high if high_open else value > high
    if below or above or np.isnan(value):
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"invalid {name}: {value!r} (must be in {lo}{low}, {high}{hi})")


def _state_to(state: dict[str, Any], device: str) -> None:
    """Moves a parameter's state arrays to its device (in place in the dict)."""
    for name, value in state.items():
        if _ops.is_array(value) and _ops.device_of(value) != device:
            state[name] = _ops.to_device(value, device)


class Optimizer:
    """Base class: subclasses validate a group's hyper-parameters in
    ``_check_group`` (ValueError naming the value) and update one parameter in
    ``_update(p, grad, lr, group, state)``, where ``grad`` already includes the
    L2 term and ``lr`` the parameter's ``lr_mult``.

    ``params``: an iterable of Parameters, or of dicts (parameter groups with
    per-group overrides, as ``torch.optim``)."""

    def __init__(self, params: ParamsArg, defaults: dict[str, Any]) -> None:
        if isinstance(params, (Parameter, np.ndarray)):
            raise TypeError("params must be an iterable of Parameters or of dicts, "
                            f"got a single {type(params).__name__}")
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}  # by id(parameter)
        groups: list[Any] = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------ groups
    def add_param_group(self, group: dict[str, Any]) -> None:
        """Adds a group (dict with 'params'); missing hyper-parameters take the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"a parameter group must be a dict with 'params', got {group!r}")
        params = group["params"]
        params = [params] if isinstance(params, Parameter) else list(params)
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError(f"optimizer can only optimize Parameters, got {type(p).__name__}")
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise ValueError(f"unknown hyper-parameter(s) {sorted(unknown)} for {type(self).__name__}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        full = {**self.defaults, **group, "params": params}
        self._check_group(full)
        self.param_groups.append(full)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_range("lr", group["lr"], 0.0)
        _check_range("weight_decay", group["weight_decay"], 0.0)

    # ------------------------------------------------------------ stepping
    def zero_grad(self) -> None:
        """Clears every parameter's gradient (in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.zero_grad()

    def step(self) -> None:
        """One update of every parameter from its ``.grad`` (in place on ``.data``):
        host parameters one by one, GPU parameters in one fused launch per group."""
        for group in self.param_groups:
            fused: dict[tuple[str, str], list[Parameter]] = {}
            for p in group["params"]:
                state = self.state.setdefault(id(p), {})
                _state_to(state, p.device)
                if _ops.is_device(p.data):
                    fused.setdefault((p.device, str(p.data.dtype)), []).append(p)
                    continue
                grad = p.grad
                decay = group["weight_decay"] * p.decay_mult
                if decay != 0:
                    grad = grad + decay * p.data  # L2 penalty added to the gradient, as PyTorch
                self._update(p, grad, group["lr"] * p.lr_mult, group, state)
            for params in fused.values():
                self._fused_step(group, params)

    # ------------------------------------------------------------ the fused GPU step
    #: the kernel's name for this rule (csrc/cuda/optim.h); "": no fused GPU step
    _fused_kind: str = ""

    def _fused_hyper(self, group: dict[str, Any]) -> dict[str, float]:
        """The group's hyper-parameters as the kernel takes them."""
        raise NotImplementedError(f"{type(self).__name__} has no GPU step")

    def _fused_prepare(self, p: Parameter, lr: float, group: dict[str, Any],
                       state: dict[str, Any]) -> tuple[list[Any], float, float]:
        """Advances p's step count, creates its state arrays on first use and
        returns (state arrays in the kernel's order, effective lr, aux) as
        csrc/cuda/optim.h describes them."""
        raise NotImplementedError(f"{type(self).__name__} has no GPU step")

    def _fused_step(self, group: dict[str, Any], params: list[Parameter]) -> None:
        if not self._fused_kind:
            raise NotImplementedError(f"{type(self).__name__} has no GPU step")
        states, lrs, decays, aux = [], [], [], []
        for p in params:
            arrays, lr, extra = self._fused_prepare(p, group["lr"] * p.lr_mult, group,
                                                    self.state[id(p)])
            states.append(arrays)
            lrs.append(float(lr))
            decays.append(float(group["weight_decay"] * p.decay_mult))
            aux.append(float(extra))
        _C.optim_step(self._fused_kind, [p.data for p in params], [p.grad for p in params],
                      states, lrs, decays, aux, self._fused_hyper(group))

    def _update(self, p: Parameter, grad: np.ndarray, lr: float, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # ------------------------------------------------------------ state
    def _ordered(self) -> list[Parameter]:
        return [p for g in self.param_groups for p in g["params"]]

    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {name: copy}}, 'param_groups': [hyper-parameters + 'params': indices]}
        with parameters numbered across groups in order, as PyTorch."""
        index = {id(p): i for i, p in enumerate(self._ordered())}
        state = {index[k]: {name: (_ops.to_host(x).copy() if _ops.is_array(x) else copy.deepcopy(x))
                            for name, x in v.items()}
                 for k, v in self.state.items() if k in index}
        groups, start = [], 0
        for g in self.param_groups:
            n = len(g["params"])
            groups.append({**{k: v for k, v in g.items() if k != "params"},
                           "params": list(range(start, start + n))})
            start += n
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restores hyper-parameters and state (momentum buffers, ...; host or
        device arrays, kept on the host until the next step moves them to the
        parameters' device); checks the group sizes and buffer shapes first, so
        a failed load changes nothing."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(g["params"]) != len(mine["params"]) for g, mine in zip(groups, self.param_groups)):
            raise ValueError("load_state_dict: the parameter groups do not match this optimizer's "
                             f"(sizes {[len(g['params']) for g in groups]} vs "
                             f"{[len(g['params']) for g in self.param_groups]})")
        params = self._ordered()
        for i, entry in state_dict["state"].items():
            if not 0 <= int(i) < len(params):
                raise ValueError(f"load_state_dict: state for parameter {i} of {len(params)}")
            for name, value in entry.items():
                if _ops.is_array(value) and tuple(value.shape) != params[int(i)].shape:
                    raise ValueError(f"load_state_dict: {name!r} of parameter {i} has shape "
                                     f"{value.shape}, the parameter {params[int(i)].shape}")
        for g, mine in zip(groups, self.param_groups):
            mine.update({k: v for k, v in g.items() if k != "params"})
        self.state = {id(params[int(i)]): {k: (np.array(_ops.to_host(v), dtype=params[int(i)].data.dtype)
                                               if _ops.is_array(v) else copy.deepcopy(v))
                                           for k, v in entry.items()}
                      for i, entry in state_dict["state"].items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])


def caffe_groups(model: Layer, lr: float, weight_decay: float = 0.0) -> list[dict[str, Any]]:
    """Caffe's usual convention as two parameter groups: weights at ``lr`` with
    ``weight_decay``, biases (parameters named ``bias``) at ``2 * lr`` without
    decay. Pass the result as an optimizer's ``params``."""
    weights: list[Parameter] = []
    biases: list[Parameter] = []
    for name, p in model.named_parameters():
        (biases if name.rsplit(".", 1)[-1] == "bias" else weights).append(p)
    groups = [{"params": weights, "lr": lr, "weight_decay": weight_decay}]
    if biases:
        groups.append({"params": biases, "lr": 2 * lr, "weight_decay": 0.0})
    return [g for g in groups if g["params"]]
