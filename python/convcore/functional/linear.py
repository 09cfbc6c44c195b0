"""linear (fully connected) on convcore's GEMM, and its backward pass."""

from __future__ import annotations

__all__: list[str] = []
