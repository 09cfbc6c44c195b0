"""Normalization: batch_norm and local_response_norm with their backward passes."""

from __future__ import annotations

__all__: list[str] = []
