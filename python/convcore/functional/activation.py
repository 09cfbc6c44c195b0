"""Activations and softmax: relu, leaky_relu, elu, sigmoid, tanh, softmax,
log_softmax, with their backward passes."""

from __future__ import annotations

__all__: list[str] = []
