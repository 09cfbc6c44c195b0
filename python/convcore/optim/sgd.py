"""Stochastic gradient descent with (Nesterov) momentum, as ``torch.optim.SGD``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _ops
from ..nn.layer import Parameter
from .optimizer import Optimizer, ParamsArg, _check_range

__all__ = ["SGD"]


class SGD(Optimizer):
    """``buf = momentum * buf + (1 - dampening) * g`` (``buf = g`` on the first
    step); the step is ``g + momentum * buf`` with ``nesterov`` else ``buf``;
    ``p -= lr * step``. ``g`` includes the L2 term ``weight_decay * p``."""

    def __init__(self, params: ParamsArg, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        _check_range("momentum", group["momentum"], 0.0)
        _check_range("dampening", group["dampening"], 0.0)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("nesterov momentum requires momentum > 0 and dampening == 0, got "
                             f"momentum={group['momentum']!r}, dampening={group['dampening']!r}")

    def _update(self, p: Parameter, grad: np.ndarray, lr: float, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(grad, dtype=p.data.dtype)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        p.data -= (lr * grad).astype(p.data.dtype, copy=False)

    _fused_kind = "sgd"

    def _fused_hyper(self, group: dict[str, Any]) -> dict[str, float]:
        return {"momentum": float(group["momentum"]), "dampening": float(group["dampening"]),
                "nesterov": float(bool(group["nesterov"]))}

    def _fused_prepare(self, p: Parameter, lr: float, group: dict[str, Any],
                       state: dict[str, Any]) -> tuple[list[Any], float, float]:
        if group["momentum"] == 0:
            return [], lr, 0.0
        first = state.get("momentum_buffer") is None
        if first:  # the kernel sets buf = g on this step
            state["momentum_buffer"] = _ops.zeros_like(p.data)
        return [state["momentum_buffer"]], lr, 1.0 if first else 0.0
