"""Linear (fully connected) and Flatten."""

from __future__ import annotations

__all__: list[str] = []
