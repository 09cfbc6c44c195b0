"""Activation layers: ReLU, LeakyReLU, ELU, Sigmoid, Tanh, Softmax."""

from __future__ import annotations

__all__: list[str] = []
