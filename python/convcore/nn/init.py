"""Initializers (He/Kaiming, Xavier/Glorot, Gaussian, constant) and PyTorch's default initialization."""

from __future__ import annotations

__all__: list[str] = []
