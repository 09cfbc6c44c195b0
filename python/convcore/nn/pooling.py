"""Pooling layers: max (with indices for MaxUnpool2d), average, power-average, adaptive, global and spatial-pyramid pooling, and MaxUnpool2d."""

from __future__ import annotations

__all__: list[str] = []
