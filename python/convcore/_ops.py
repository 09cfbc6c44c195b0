"""Device-agnostic array helpers for the model code (``convcore.nn``,
``convcore.optim``, ``convcore.training``): each takes NumPy arrays or convcore
``DeviceArray``s and does the same thing on either, with NumPy on the host
and the kernels of ``csrc/cuda/tensor_ops.cu`` on a GPU. Deliberately small:
only what the layers, optimizers and training loop need (gradient
accumulation, sums, concatenation and splitting along an axis, fills, dtype
conversion, moves between devices).

Devices are named as PyTorch names them: ``'cpu'``, ``'cuda'`` (device 0) or
``'cuda:N'``. Outputs are C-contiguous and on the device of the inputs.
"""

from __future__ import annotations

import importlib
import math
import re
from typing import Any, Optional, Sequence

import numpy as np

from . import _C

__all__ = [
    "add", "add_", "assign_", "astype", "axpy_", "concat", "copy", "device_of", "full",
    "full_like", "is_array", "is_device", "item", "parse_device", "require_device", "split",
    "to_device", "to_host", "zero_", "zeros_like",
]

_DeviceArray: Any = getattr(_C, "DeviceArray", None)
_DEVICE_RE = re.compile(r"cuda(?::(\d+))?")


def is_device(x: Any) -> bool:
    """True for a convcore DeviceArray (an array in GPU memory)."""
    return _DeviceArray is not None and isinstance(x, _DeviceArray)


def is_array(x: Any) -> bool:
    """A NumPy ndarray or a DeviceArray."""
    return isinstance(x, np.ndarray) or is_device(x)


def device_of(x: Any) -> str:
    """``'cpu'`` for a host array, ``'cuda:N'`` for a DeviceArray."""
    return str(x.device) if is_device(x) else "cpu"


def parse_device(device: Any) -> str:
    """The canonical name (``'cpu'`` or ``'cuda:N'``) of a device string;
    TypeError for a non-string, ValueError for a malformed one. It does not
    check that the device exists (:func:`require_device` does)."""
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'cpu', 'cuda' or 'cuda:0', got {device!r}")
    if device == "cpu":
        return "cpu"
    match = _DEVICE_RE.fullmatch(device)
    if match is None:
        raise ValueError(f"invalid device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")
    return f"cuda:{int(match.group(1) or 0)}"


def _index(device: str) -> int:
    return int(device.split(":")[1])


def _cuda() -> Any:
    """The convcore.cuda module (RuntimeError when this convcore has none)."""
    try:
        return importlib.import_module(".cuda", __package__)
    except ImportError as exc:  # pragma: no cover - depends on the build
        raise RuntimeError("this convcore has no CUDA support (convcore.cuda is missing)") from exc


def require_device(device: Any) -> str:
    """``parse_device``, then for a CUDA device: RuntimeError when no GPU can
    be used (a build without CUDA, no driver or no device), ValueError for an
    ordinal past the last device."""
    name = parse_device(device)
    if name == "cpu":
        return name
    try:
        cuda = _cuda()
    except RuntimeError as exc:
        raise RuntimeError(f"cannot use device {device!r}: {exc}") from None
    if not cuda.is_available():
        why = ("this convcore was built without CUDA" if not cuda.built_with_cuda()
               else "no CUDA device is available (no driver or no GPU)")
        raise RuntimeError(f"cannot use device {device!r}: {why}")
    count = cuda.device_count()
    if _index(name) >= count:
        raise ValueError(f"invalid device {device!r}: there {'is' if count == 1 else 'are'} "
                         f"only {count} CUDA device{'s' if count != 1 else ''}")
    return name


def to_device(x: Any, device: str) -> Any:
    """x on ``device`` (a name from :func:`parse_device`): x itself when it is
    there already, otherwise a copy (host -> GPU, GPU -> host, GPU -> GPU)."""
    if device == device_of(x):
        return x
    if device == "cpu":
        return x.numpy()
    host = x.numpy() if is_device(x) else np.ascontiguousarray(x)
    return _cuda().asarray(host, device=_index(device))


def to_host(x: Any) -> np.ndarray:
    """A NumPy array: x itself on the host, a copy of a DeviceArray."""
    return x.numpy() if is_device(x) else np.asarray(x)


def item(x: Any) -> float:
    """The value of a one-element array as a float (a copy to the host for a DeviceArray)."""
    return float(to_host(x).reshape(-1)[0]) if is_array(x) else float(x)


def _empty(shape: Sequence[int], dtype: Any, device: str) -> Any:
    return _cuda().empty(tuple(int(s) for s in shape), np.dtype(dtype), device=_index(device))


def full(shape: Sequence[int], value: float, dtype: Any, device: str = "cpu") -> Any:
    """An array of ``shape`` filled with ``value`` on ``device``."""
    if device == "cpu":
        return np.full(tuple(shape), value, dtype=dtype)
    out = _empty(shape, dtype, device)
    out.fill_(value)
    return out


def full_like(x: Any, value: float) -> Any:
    return full(x.shape, value, x.dtype, device_of(x))


def zeros_like(x: Any) -> Any:
    return full_like(x, 0.0)


def zero_(x: Any) -> None:
    """x[...] = 0, in place."""
    if is_device(x):
        x.fill_(0)
    else:
        x[...] = 0


def copy(x: Any) -> Any:
    """A contiguous copy on the same device."""
    return x.copy()


def astype(x: Any, dtype: Any) -> Any:
    """x converted to dtype (x itself when it already has it)."""
    dt = np.dtype(dtype)
    if not is_device(x):
        return np.asarray(x).astype(dt, copy=False)
    if x.dtype == dt:
        return x
    out = _empty(x.shape, dt, device_of(x))
    _C.device_cast(out, x)
    return out


def add(a: Any, b: Any, out: Optional[Any] = None) -> Any:
    """a + b (same shape, dtype and device), into ``out`` when given."""
    if not is_device(a) and not is_device(b):
        return np.add(a, b, out=out)
    if out is None:
        out = _empty(a.shape, a.dtype, device_of(a))
    _C.device_add(a, b, out)
    return out


def axpy_(y: Any, x: Any, alpha: float = 1.0) -> None:
    """y += alpha * x, in place (gradient accumulation)."""
    if is_device(y) or is_device(x):
        _C.device_axpy_(y, x, float(alpha))
    elif alpha == 1.0:
        y += x
    else:
        y += alpha * x


def add_(y: Any, x: Any) -> None:
    """y += x, in place."""
    axpy_(y, x, 1.0)


def assign_(dst: Any, src: Any) -> None:
    """dst[...] = src in place, converting src to dst's dtype and copying it
    to dst's device (a host or device array of dst's shape)."""
    if not is_device(dst):
        dst[...] = np.asarray(to_host(src), dtype=dst.dtype)
        return
    if is_device(src):
        value = astype(to_device(src, device_of(dst)), dst.dtype)
    else:  # converted on the host, then one upload
        value = to_device(np.ascontiguousarray(src, dtype=dst.dtype), device_of(dst))
    if value is dst:
        return
    n = int(dst.size)
    _C.device_copy_2d(dst, 0, n, value, 0, n, 1, n)


def _axis(axis: int, ndim: int) -> int:
    a = axis + ndim if axis < 0 else axis
    if not 0 <= a < ndim:
        raise ValueError(f"axis {axis} is out of range for {ndim}-D arrays")
    return a


def concat(arrays: Sequence[Any], axis: int) -> Any:
    """The arrays joined along ``axis`` (numpy.concatenate)."""
    if not any(is_device(a) for a in arrays):
        return np.concatenate(list(arrays), axis=axis)
    first = arrays[0]
    ax = _axis(axis, first.ndim)
    for a in arrays:
        if a.ndim != first.ndim or a.shape[:ax] != first.shape[:ax] or \
                a.shape[ax + 1:] != first.shape[ax + 1:]:
            raise ValueError(f"concat: shapes {[tuple(a.shape) for a in arrays]} cannot be joined "
                             f"on axis {axis}")
    shape = (*first.shape[:ax], sum(a.shape[ax] for a in arrays), *first.shape[ax + 1:])
    out = _empty(shape, first.dtype, device_of(first))
    rows = math.prod(first.shape[:ax])
    total = math.prod(shape[ax:])
    offset = 0
    for a in arrays:
        cols = math.prod(a.shape[ax:])
        _C.device_copy_2d(out, offset, total, a, 0, cols, rows, cols)
        offset += cols
    return out


def split(x: Any, sizes: Sequence[int], axis: int) -> list[Any]:
    """x cut along ``axis`` into contiguous pieces of ``sizes`` (which sum to
    the axis' length)."""
    ax = _axis(axis, x.ndim)
    if sum(sizes) != x.shape[ax]:
        raise ValueError(f"split: sizes {list(sizes)} do not add up to {x.shape[ax]}")
    if not is_device(x):
        cuts = np.cumsum(sizes)[:-1]
        return [np.ascontiguousarray(p) for p in np.split(x, cuts, axis=ax)]
    rows = math.prod(x.shape[:ax])
    inner = math.prod(x.shape[ax + 1:])
    total = math.prod(x.shape[ax:])
    parts, offset = [], 0
    for size in sizes:
        cols = int(size) * inner
        part = _empty((*x.shape[:ax], int(size), *x.shape[ax + 1:]), x.dtype, device_of(x))
        _C.device_copy_2d(part, 0, cols, x, offset, total, rows, cols)
        parts.append(part)
        offset += cols
    return parts
