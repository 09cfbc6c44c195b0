"""Normalization layers: BatchNorm1d, BatchNorm2d, LocalResponseNorm."""

from __future__ import annotations

__all__: list[str] = []
