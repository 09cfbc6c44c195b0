"""Constructor-argument checks shared by the layers: each raises TypeError or
ValueError naming the layer, the argument and the value."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._args import is_int


def positive_int(value: Any, name: str, owner: str) -> int:
    if not is_int(value):
        raise TypeError(f"{owner}: {name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be positive, got {value!r}")
    return int(value)


def real_in(value: Any, name: str, owner: str, lo: float, hi: float) -> float:
    """A real number in [lo, hi]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r}")
    if not lo <= float(value) <= hi:
        raise ValueError(f"{owner}: {name} must be in [{lo}, {hi}], got {value!r}")
    return float(value)


def float_dtype(dtype: Any, owner: str) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{owner}: dtype must be float32 or float64, got {dt}")
    return dt


def reduction(value: Any, owner: str) -> str:
    if value not in ("none", "mean", "sum"):
        raise ValueError(f"{owner}: reduction must be 'none', 'mean' or 'sum', got {value!r}")
    return str(value)
