"""Losses as objects: CrossEntropyLoss (logits, integer labels) and MSELoss."""

from __future__ import annotations

__all__: list[str] = []
