"""Dropout with inverted scaling, identity in eval mode."""

from __future__ import annotations

__all__: list[str] = []
