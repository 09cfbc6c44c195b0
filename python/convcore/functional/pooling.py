"""Pooling: max, average, power-average, global, adaptive, unpooling,
spatial pyramid and ROI pooling, 1-D and 2-D, with their backward passes."""

from __future__ import annotations

__all__: list[str] = []
