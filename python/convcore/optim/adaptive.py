"""Optimizers with per-element adaptive step sizes: Adagrad, RMSprop, Adam,
Adadelta, each exactly ``torch.optim``'s update rule. Running statistics live
in the optimizer's state per parameter (arrays of the parameter's shape and
dtype, created on the first step) and are updated in place."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _ops
from ..nn.layer import Parameter
from .optimizer import Optimizer, ParamsArg, _check_range

__all__ = ["Adadelta", "Adagrad", "Adam", "RMSprop"]


def _buffer(state: dict[str, Any], name: str, p: Parameter, fill: float = 0.0) -> np.ndarray:
    """The state array ``name`` of p, created full of ``fill`` on first use."""
    if name not in state:
        state[name] = _ops.full_like(p.data, fill)
    return state[name]


def _ema_(avg: np.ndarray, value: np.ndarray, decay: float) -> None:
    """avg = decay * avg + (1 - decay) * value, in place."""
    avg *= decay
    avg += (1 - decay) * value


def _apply(p: Parameter, step: np.ndarray, lr: float) -> None:
    p.data -= (lr * step).astype(p.data.dtype, copy=False)


class Adagrad(Optimizer):
    """``sum += g^2``; ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)``."""

    def __init__(self, params: ParamsArg, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_range("lr_decay", group["lr_decay"], 0.0)
        _check_range("initial_accumulator_value", group["initial_accumulator_value"], 0.0)
        _check_range("eps", group["eps"], 0.0)

    def _update(self, p: Parameter, grad: np.ndarray, lr: float, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        state["step"] = step = state.get("step", 0) + 1
        total = _buffer(state, "sum", p, group["initial_accumulator_value"])
        total += grad * grad
        clr = lr / (1 + (step - 1) * group["lr_decay"])
        _apply(p, grad / (np.sqrt(total) + group["eps"]), clr)

    _fused_kind = "adagrad"

    def _fused_hyper(self, group: dict[str, Any]) -> dict[str, float]:
        return {"eps": float(group["eps"])}

    def _fused_prepare(self, p: Parameter, lr: float, group: dict[str, Any],
                       state: dict[str, Any]) -> tuple[list[Any], float, float]:
        state["step"] = step = state.get("step", 0) + 1
        total = _buffer(state, "sum", p, group["initial_accumulator_value"])
        return [total], lr / (1 + (step - 1) * group["lr_decay"]), 0.0


class RMSprop(Optimizer):
    """``v = alpha v + (1 - alpha) g^2``; centered also tracks ``m`` (mean of g)
    and divides by ``sqrt(v - m^2) + eps`` instead of ``sqrt(v) + eps``; with
    momentum ``buf = momentum buf + g / denom`` and ``p -= lr buf``."""

    def __init__(self, params: ParamsArg, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_range("alpha", group["alpha"], 0.0, 1.0, high_open=False)
        _check_range("eps", group["eps"], 0.0)
        _check_range("momentum", group["momentum"], 0.0)

    def _update(self, p: Parameter, grad: np.ndarray, lr: float, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        state["step"] = state.get("step", 0) + 1
        square_avg = _buffer(state, "square_avg", p)
        _ema_(square_avg, grad * grad, group["alpha"])
        if group["centered"]:
            grad_avg = _buffer(state, "grad_avg", p)
            _ema_(grad_avg, grad, group["alpha"])
            denom = np.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            denom = np.sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buf = _buffer(state, "momentum_buffer", p)
            buf *= group["momentum"]
            buf += grad / denom
            _apply(p, buf, lr)
        else:
            _apply(p, grad / denom, lr)

    _fused_kind = "rmsprop"

    def _fused_hyper(self, group: dict[str, Any]) -> dict[str, float]:
        return {"alpha": float(group["alpha"]), "eps": float(group["eps"]),
                "momentum": float(group["momentum"]), "centered": float(bool(group["centered"]))}

    def _fused_prepare(self, p: Parameter, lr: float, group: dict[str, Any],
                       state: dict[str, Any]) -> tuple[list[Any], float, float]:
        state["step"] = state.get("step", 0) + 1
        arrays = [_buffer(state, "square_avg", p),
                  _buffer(state, "grad_avg", p) if group["centered"] else None,
                  _buffer(state, "momentum_buffer", p) if group["momentum"] > 0 else None]
        return arrays, lr, 0.0


class Adam(Optimizer):
    """``m, v`` exponential averages of g and g^2 (``betas``); ``p -= lr / (1 - b1^t)
    * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``; amsgrad uses the running maximum of v."""

    def __init__(self, params: ParamsArg, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair, got {betas!r}")
        _check_range("betas[0]", betas[0], 0.0, 1.0)
        _check_range("betas[1]", betas[1], 0.0, 1.0)
        _check_range("eps", group["eps"], 0.0)

    def _update(self, p: Parameter, grad: np.ndarray, lr: float, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        state["step"] = step = state.get("step", 0) + 1
        beta1, beta2 = group["betas"]
        exp_avg, exp_avg_sq = _buffer(state, "exp_avg", p), _buffer(state, "exp_avg_sq", p)
        _ema_(exp_avg, grad, beta1)
        _ema_(exp_avg_sq, grad * grad, beta2)
        second = exp_avg_sq
        if group["amsgrad"]:
            second = _buffer(state, "max_exp_avg_sq", p)
            np.maximum(second, exp_avg_sq, out=second)
        denom = np.sqrt(second) / np.sqrt(1 - beta2**step) + group["eps"]
        _apply(p, exp_avg / denom, lr / (1 - beta1**step))

    _fused_kind = "adam"

    def _fused_hyper(self, group: dict[str, Any]) -> dict[str, float]:
        beta1, beta2 = group["betas"]
        return {"beta1": float(beta1), "beta2": float(beta2), "eps": float(group["eps"]),
                "amsgrad": float(bool(group["amsgrad"]))}

    def _fused_prepare(self, p: Parameter, lr: float, group: dict[str, Any],
                       state: dict[str, Any]) -> tuple[list[Any], float, float]:
        state["step"] = step = state.get("step", 0) + 1
        beta1, beta2 = group["betas"]
        arrays = [_buffer(state, "exp_avg", p), _buffer(state, "exp_avg_sq", p),
                  _buffer(state, "max_exp_avg_sq", p) if group["amsgrad"] else None]
        return arrays, lr / (1 - beta1**step), float(np.sqrt(1 - beta2**step))


class Adadelta(Optimizer):
    """``v = rho v + (1 - rho) g^2``; ``d = sqrt(u + eps) / sqrt(v + eps) * g``;
    ``u = rho u + (1 - rho) d^2``; ``p -= lr d``."""

    def __init__(self, params: ParamsArg, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_range("rho", group["rho"], 0.0, 1.0, high_open=False)
        _check_range("eps", group["eps"], 0.0)

    def _update(self, p: Parameter, grad: np.ndarray, lr: float, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        state["step"] = state.get("step", 0) + 1
        square_avg, acc_delta = _buffer(state, "square_avg", p), _buffer(state, "acc_delta", p)
        _ema_(square_avg, grad * grad, group["rho"])
        delta = np.sqrt(acc_delta + group["eps"]) / np.sqrt(square_avg + group["eps"]) * grad
        _ema_(acc_delta, delta * delta, group["rho"])
        _apply(p, delta, lr)

    _fused_kind = "adadelta"

    def _fused_hyper(self, group: dict[str, Any]) -> dict[str, float]:
        return {"rho": float(group["rho"]), "eps": float(group["eps"])}

    def _fused_prepare(self, p: Parameter, lr: float, group: dict[str, Any],
                       state: dict[str, Any]) -> tuple[list[Any], float, float]:
        state["step"] = state.get("step", 0) + 1
        return [_buffer(state, "square_avg", p), _buffer(state, "acc_delta", p)], lr, 0.0
