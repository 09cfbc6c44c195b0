"""Dropout with inverted scaling and a seeded generator, and its backward pass."""

from __future__ import annotations

__all__: list[str] = []
