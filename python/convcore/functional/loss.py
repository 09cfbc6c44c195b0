"""Losses: cross_entropy (fused with log-softmax) and mse_loss, with their backward passes."""

from __future__ import annotations

__all__: list[str] = []
