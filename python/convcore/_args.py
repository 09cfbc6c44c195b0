"""Normalisation of the Python conveniences (ints, pairs, padding strings,
padding modes, layouts) into the plain values the native core validates."""

from __future__ import annotations

import numbers
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _C

IntOrPair = Union[int, Sequence[int]]
# What an operator takes and returns: a NumPy array on the host or a
# DeviceArray on a GPU (results live where the inputs do).
Array = Union[np.ndarray, _C.DeviceArray]
Padding = Union[str, int, Sequence[int]]
PaddingMode = Union[str, tuple]

_MODES = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "replicate",
    "edge": "replicate",
    "circular": "circular",
    "wrap": "circular",
    "symmetric": "symmetric",
}


def is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


_INT64_MAX = 2**63 - 1


def in_int64(values: Sequence[int], name: str, op: str) -> tuple[int, ...]:
    """The values as ints, ValueError naming `name` if one does not fit int64."""
    out = tuple(int(v) for v in values)
    for v in out:
        if not -_INT64_MAX - 1 <= v <= _INT64_MAX:
            raise ValueError(f"{op}: {name} value {v} does not fit in a 64-bit integer")
    return out


def int_tuple(value: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    """An int, or a sequence of n ints, as an n-tuple (TypeError otherwise)."""
    if is_int(value):
        return in_int64((value,) * n, name, op)
    if isinstance(value, (tuple, list)) and len(value) == n and all(is_int(v) for v in value):
        return in_int64(value, name, op)
    raise TypeError(f"{op}: {name} must be an int or a sequence of {n} ints, got {value!r}")


def is_device_array(x: Any) -> bool:
    """Whether x is a convcore DeviceArray (GPU memory)."""
    return isinstance(x, _C.DeviceArray)


def array_operand(x: Any, name: str, op: str) -> Any:
    """x as an ndarray or, for GPU memory (a DeviceArray, CuPy array, PyTorch
    CUDA tensor...), a DeviceArray, without copying."""
    if x is None:
        raise TypeError(f"{op}: {name} must be an array, got None")
    if isinstance(x, (np.ndarray, _C.DeviceArray)):
        return x
    from . import cuda  # cuda.py imports this module's users

    if cuda.is_foreign_gpu_array(x):
        return cuda.asarray(x)
    return np.asarray(x)


def contiguous(arr: Any) -> Any:
    """arr itself when C-contiguous, else a C-contiguous copy on its device."""
    if arr.flags.c_contiguous:
        return arr
    return arr.copy() if is_device_array(arr) else np.ascontiguousarray(arr)


def operand(x: Any, name: str, op: str) -> Any:
    """A C-contiguous float array for the core, an ndarray on the host or a
    DeviceArray on a GPU; copies only when it must, never modifies the
    caller's array."""
    arr = array_operand(x, name, op)
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: {name} has dtype {arr.dtype}; expected float32 or float64")
    return contiguous(arr)


def may_share_memory(a: Any, b: Any) -> bool:
    """Whether two host arrays, or two device arrays, may overlap in memory."""
    if is_device_array(a) and is_device_array(b):
        if a.device_index != b.device_index or a.nbytes == 0 or b.nbytes == 0:
            return False
        return a.data_ptr < b.data_ptr + b.nbytes and b.data_ptr < a.data_ptr + a.nbytes
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return bool(np.may_share_memory(a, b))
    return False


def check_out(out: Any, op: str, name: str, *inputs: Any) -> None:
    if out is None:
        return
    if not isinstance(out, (np.ndarray, _C.DeviceArray)):
        raise TypeError(f"{op}: {name} must be a numpy.ndarray or a convcore DeviceArray, "
                        f"got {type(out).__name__}")
    for arr in inputs:
        if arr is not None and may_share_memory(out, arr):
            raise ValueError(f"{op}: {name} must not overlap an input array")


def padding_mode(mode: PaddingMode, op: str) -> tuple[str, float]:
    """('zeros' | 'reflect' | 'replicate' | 'edge' | 'circular' | 'wrap' |
    'symmetric' | ('constant', value)) -> (core mode, constant value)."""
    if isinstance(mode, str) and mode in _MODES:
        return _MODES[mode], 0.0
    if (
        isinstance(mode, tuple)
        and len(mode) == 2
        and mode[0] == "constant"
        and isinstance(mode[1], numbers.Real)
    ):
        return "constant", float(mode[1])
    raise ValueError(
        f"{op}: padding_mode must be one of 'zeros', 'reflect', 'replicate' ('edge'), "
        f"'circular' ('wrap'), 'symmetric' or ('constant', value), got {mode!r}"
    )


def spatial_padding(
    padding: Padding,
    sizes: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    op: str,
) -> tuple[int, ...]:
    """Padding of each spatial axis as (before, after) pairs, flattened:
    (top, bottom, left, right) for 2-D, (left, right) for 1-D."""
    nd = len(sizes)
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * (2 * nd)
        if padding == "same":
            from .shape import same_padding  # shape.py imports this module

            pads: list[int] = []
            for n, k, s, d in zip(sizes, kernel, stride, dilation):
                if n >= 0 and k >= 1 and s >= 1 and d >= 1:
                    pads.extend(same_padding(int(n), int(k), int(s), int(d)))
                else:  # the core names the bad value
                    pads.extend((0, 0))
            return tuple(pads)
        if padding == "full":
            return tuple(p for k, d in zip(kernel, dilation) for p in (d * (k - 1),) * 2)
        raise ValueError(
            f"{op}: padding must be 'valid', 'same', 'full', an int or a tuple, got {padding!r}"
        )
    if is_int(padding):
        return in_int64((int(padding),) * (2 * nd), "padding", op)  # type: ignore[arg-type]
    if isinstance(padding, (tuple, list)) and all(is_int(p) for p in padding):
        p = in_int64(padding, "padding", op)
        if len(p) == nd:
            return tuple(v for v in p for _ in range(2))
        if len(p) == 2 * nd:
            return p
    forms = "(ph, pw) or (top, bottom, left, right)" if nd == 2 else "(p,) or (left, right)"
    raise TypeError(f"{op}: padding must be 'valid', 'same', 'full', an int, {forms}; got {padding!r}")


def data_format(fmt: str, allowed: tuple[str, str], op: str) -> bool:
    """True for the channels-last layout."""
    if fmt not in allowed:
        raise ValueError(f"{op}: data_format must be {allowed[0]!r} or {allowed[1]!r}, got {fmt!r}")
    return fmt == allowed[1]
