"""Constructor-argument checks and per-sample shape helpers shared by the
convolution and pooling layers. Errors name the layer, the argument and the
value (TypeError for a wrong kind, ValueError for a wrong value)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .._args import is_int

LAYOUTS = {1: ("NCL", "NLC"), 2: ("NCHW", "NHWC")}


def ints(layer: str, name: str, value: Any, n: int, minimum: int) -> tuple[int, ...]:
    """An int or a sequence of n ints, each >= minimum, as an n-tuple."""
    if is_int(value):
        vals: tuple[int, ...] = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n and all(is_int(v) for v in value):
        vals = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{layer}: {name} must be an int or a sequence of {n} ints, got {value!r}")
    if any(v < minimum for v in vals):
        raise ValueError(f"{layer}: {name} must be >= {minimum}, got {value!r}")
    return vals


def positive(layer: str, name: str, value: Any) -> int:
    """A single int >= 1."""
    if not is_int(value):
        raise TypeError(f"{layer}: {name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{layer}: {name} must be >= 1, got {value!r}")
    return int(value)


def flag(layer: str, name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{layer}: {name} must be a bool, got {value!r}")
    return bool(value)


def layout(layer: str, fmt: Any, nd: int) -> bool:
    """True for channels-last."""
    allowed = LAYOUTS[nd]
    if fmt not in allowed:
        raise ValueError(f"{layer}: data_format must be {allowed[0]!r} or {allowed[1]!r}, "
                         f"got {fmt!r}")
    return bool(fmt == allowed[1])


def float_dtype(layer: str, dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{layer}: dtype must be float32 or float64, got {dtype!r}")
    return dt


def split(layer: str, shape: Sequence[int], nd: int, channels_last: bool,
          channels: Optional[int] = None) -> tuple[int, tuple[int, ...]]:
    """A per-sample shape ``(C, *spatial)`` (channels-last ``(*spatial, C)``) as
    ``(C, spatial)``, checking its rank and, when given, the channel count."""
    shape = tuple(int(v) for v in shape)
    if len(shape) != nd + 1:
        raise ValueError(f"{layer}: expected a per-sample input shape of {nd + 1} dimensions "
                         f"(no batch axis), got {shape}")
    c, spatial = (shape[-1], shape[:-1]) if channels_last else (shape[0], shape[1:])
    if channels is not None and c != channels:
        raise ValueError(f"{layer}: input shape {shape} has {c} channels, expected {channels}")
    return c, spatial


def join(c: int, spatial: Sequence[int], channels_last: bool) -> tuple[int, ...]:
    return tuple(spatial) + (c,) if channels_last else (c,) + tuple(spatial)


def saved(layer: Any, *names: str) -> None:
    """RuntimeError when backward runs before a forward saved what it needs."""
    for name in names:
        if getattr(layer, name, None) is None:
            raise RuntimeError(f"{type(layer).__name__}.backward called before forward")
