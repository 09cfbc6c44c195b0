"""GPU arrays and the CUDA runtime.

A :class:`DeviceArray` holds data in GPU memory (from a caching allocator, so
repeated calls reuse memory without ``cudaMalloc``). Every functional op
accepts DeviceArrays and returns DeviceArrays on the same device; a call that
mixes host and device arrays raises ``ValueError``. DeviceArrays speak the
CUDA array interface and DLPack, so CuPy arrays and PyTorch CUDA tensors pass
in and out without copies (``convcore.cuda.asarray(t)``,
``torch.from_dlpack(a)``).

All convcore GPU work is ordered on the legacy default stream, which orders
itself against the default streams of PyTorch and CuPy; results are ready for
them without explicit synchronization, and :meth:`DeviceArray.numpy` waits
for the data.

On a machine without a GPU or driver (or with a CPU-only build),
:func:`is_available` is False and creating a DeviceArray raises RuntimeError.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence, Union

import numpy as np

from . import _C

__all__ = [
    "DeviceArray",
    "asarray",
    "built_with_cuda",
    "device_count",
    "empty",
    "empty_cache",
    "get_device_name",
    "get_math_mode",
    "is_available",
    "math_mode",
    "memory_stats",
    "set_math_mode",
    "synchronize",
    "zeros",
]

DeviceArray = _C.DeviceArray

DeviceLike = Union[int, str, None]

MATH_MODES = ("fp32", "tf32", "fp16", "bf16")


def built_with_cuda() -> bool:
    """Whether this build of convcore contains the CUDA backend."""
    return bool(_C.cuda.built_with_cuda())


def is_available() -> bool:
    """True when a CUDA device and driver are present (and the build has CUDA)."""
    return bool(_C.cuda.is_available())


def device_count() -> int:
    """The number of CUDA devices (0 without a driver)."""
    return int(_C.cuda.device_count())


def device_index(device: DeviceLike) -> int:
    """The CUDA ordinal of ``0``, ``'cuda'``, ``'cuda:1'`` or None (device 0)."""
    if device is None or device == "cuda":
        return 0
    if isinstance(device, bool):
        raise TypeError(f"device must be an int or 'cuda[:N]', got {device!r}")
    if isinstance(device, int):
        index = device
    elif isinstance(device, str) and device.startswith("cuda:") and device[5:].isdigit():
        index = int(device[5:])
    else:
        raise ValueError(f"device must be an int, 'cuda' or 'cuda:N', got {device!r}")
    if index < 0:
        raise ValueError(f"device must be a non-negative CUDA ordinal, got {index}")
    return index


def is_device_array(x: Any) -> bool:
    return isinstance(x, DeviceArray)


def is_foreign_gpu_array(x: Any) -> bool:
    """A CuPy array, PyTorch CUDA tensor or any other object that exposes CUDA
    memory through the CUDA array interface or DLPack."""
    if isinstance(x, (np.ndarray, DeviceArray)):
        return False
    if hasattr(x, "__cuda_array_interface__"):
        return True
    dev = getattr(x, "__dlpack_device__", None)
    if dev is None:
        return False
    try:
        return int(dev()[0]) in (2, 13)  # kDLCUDA, kDLCUDAManaged
    except Exception:  # a producer whose device query fails is not a GPU array we can take
        return False


def asarray(x: Any, device: DeviceLike = None) -> DeviceArray:
    """``x`` as a DeviceArray.

    A DeviceArray is returned as it is (``device`` must match or be None); a
    CuPy array, PyTorch CUDA tensor or other CUDA-array-interface / DLPack GPU
    object is wrapped without a copy and kept alive; anything else
    (``numpy.ndarray``, lists) is copied to ``device`` (default 0). dtypes:
    float32, float64, int64, bool.
    """
    if isinstance(x, DeviceArray):
        if device is not None and device_index(device) != x.device_index:
            raise ValueError(f"asarray: the array is on {x.device}, not on cuda:{device_index(device)}")
        return x
    if is_foreign_gpu_array(x):
        if hasattr(x, "__dlpack__"):
            arr = _C.cuda.from_dlpack(x)
        else:
            arr = _C.cuda.from_cuda_array_interface(x)
        if device is not None and device_index(device) != arr.device_index:
            raise ValueError(f"asarray: the array is on {arr.device}, not on cuda:{device_index(device)}")
        return arr
    return _C.cuda.from_host(np.asarray(x), device_index(device))


def from_dlpack(x: Any) -> Any:
    """An array from a DLPack producer without a copy: a DeviceArray for CUDA
    memory, a NumPy array for host memory."""
    dev = getattr(x, "__dlpack_device__", None)
    if dev is not None and int(dev()[0]) in (1, 3):  # kDLCPU, kDLCUDAHost
        return np.from_dlpack(x)
    return _C.cuda.from_dlpack(x)


def empty(shape: Sequence[int], dtype: Any = np.float32, device: DeviceLike = None) -> DeviceArray:
    """An uninitialised C-contiguous DeviceArray."""
    return _C.cuda.empty([int(s) for s in shape], np.dtype(dtype), device_index(device))


def zeros(shape: Sequence[int], dtype: Any = np.float32, device: DeviceLike = None) -> DeviceArray:
    """A C-contiguous DeviceArray of zeros."""
    return empty(shape, dtype, device).fill_(0)


def synchronize(device: DeviceLike = None) -> None:
    """Waits until every queued GPU operation on ``device`` has finished."""
    _C.cuda.synchronize(device_index(device))


def empty_cache() -> None:
    """Returns the allocator's cached free blocks to the driver."""
    _C.cuda.empty_cache()


def memory_stats(device: DeviceLike = None) -> dict:
    """``{'allocated_bytes', 'cached_bytes', 'peak_allocated_bytes'}`` of the allocator."""
    return dict(_C.cuda.memory_stats(device_index(device)))


def get_device_name(device: DeviceLike = None) -> str:
    return str(_C.cuda.device_name(device_index(device)))


def set_math_mode(mode: str) -> None:
    """The precision of float32 convolutions and GEMMs on the GPU.

    ``'fp32'`` (default): exact float32 FMA. ``'tf32'``, ``'fp16'``,
    ``'bf16'``: inputs rounded to that format for the tensor cores, products
    accumulated in float32 (relative errors around 1e-3, 1e-3 and 1e-2).
    float64 is never affected; the CPU always computes in the array's dtype.
    """
    if mode not in MATH_MODES:
        raise ValueError(f"set_math_mode: mode must be one of {MATH_MODES}, got {mode!r}")
    _C.cuda.set_math_mode(mode)


def get_math_mode() -> str:
    return str(_C.cuda.math_mode())


@contextlib.contextmanager
def math_mode(mode: str) -> Iterator[None]:
    """``with convcore.cuda.math_mode('tf32'): ...`` sets the mode for a block."""
    previous = get_math_mode()
    set_math_mode(mode)
    try:
        yield
    finally:
        set_math_mode(previous)
