"""Checks of real-valued and reduction constructor arguments (the integer,
flag and dtype ones are in ``_checks``): each raises TypeError (wrong kind)
or ValueError (wrong value) naming the layer, the argument and the value."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


def real(layer: str, name: str, value: Any, lo: float = -math.inf, hi: float = math.inf) -> float:
    """A real number in [lo, hi]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: {name} must be a real number, got {value!r}")
    if not lo <= float(value) <= hi:
        raise ValueError(f"{layer}: {name} must be in [{lo}, {hi}], got {value!r}")
    return float(value)


def reduction(layer: str, value: Any) -> str:
    if value not in ("none", "mean", "sum"):
        raise ValueError(f"{layer}: reduction must be 'none', 'mean' or 'sum', got {value!r}")
    return str(value)
