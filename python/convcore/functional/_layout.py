"""How a call's activation arrays map onto the core's 4-D arrays, shared by
every functional family: 1-D ops run as 2-D ones with H = 1 and an unbatched
input gains a batch axis of 1."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .._args import array_operand, check_out, contiguous, data_format

LAYOUTS = {1: ("NCL", "NLC"), 2: ("NCHW", "NHWC")}


class Layout:
    """The layout of one call's input, from its shape and data_format;
    `as4d` maps a caller's activation array to the core's 4-D view and
    `restore` maps a core result back."""

    def __init__(self, op: str, nd: int, x_shape: Sequence[int], fmt: str,
                 batched_only: bool = False) -> None:
        self.op, self.nd = op, nd
        self.nhwc = data_format(fmt, LAYOUTS[nd], op)
        x_shape = tuple(x_shape)
        if len(x_shape) != nd + 2 and (batched_only or len(x_shape) != nd + 1):
            want = f"{nd + 2}-D (batched)" if batched_only else \
                f"{nd + 1}-D (unbatched) or {nd + 2}-D (batched)"
            raise ValueError(f"{op}: expected input to be {want}, got a {len(x_shape)}-D array "
                             f"of shape {x_shape}")
        self.unbatched = len(x_shape) == nd + 1
        self.spatial = x_shape[-nd - 1:-1] if self.nhwc else x_shape[-nd:]
        self.channels = x_shape[-1] if self.nhwc else x_shape[-nd - 1]

    def shape(self, batch: Optional[int], spatial: Sequence[int]) -> tuple:
        """An activation's shape in the caller's rank and layout."""
        core = tuple(spatial) + (self.channels,) if self.nhwc else (self.channels,) + tuple(spatial)
        return core if self.unbatched else (batch,) + core

    def as4d(self, arr: Any, name: str) -> Any:
        """A same-layout 4-D view of an activation-shaped array (an ndarray or
        a C-contiguous DeviceArray)."""
        want = self.nd + (1 if self.unbatched else 2)
        if arr.ndim != want:
            raise ValueError(
                f"{self.op}: {name} has {arr.ndim} dimensions (shape {arr.shape}); expected {want}"
            )
        shape = tuple(arr.shape)
        if self.unbatched:
            shape = (1,) + shape
        if self.nd == 1:  # the length becomes W, with H = 1
            shape = shape[:1] + (1,) + shape[1:] if self.nhwc else shape[:2] + (1,) + shape[2:]
        return arr.reshape(shape)

    def restore(self, arr: Any) -> Any:
        """Undoes `as4d` on a core result."""
        shape = tuple(arr.shape)
        if self.nd == 1:
            shape = shape[:1] + shape[2:] if self.nhwc else shape[:2] + shape[3:]
        if self.unbatched:
            shape = shape[1:]
        return arr.reshape(shape)

    def out4(self, out: Any, expected: tuple, *inputs: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """The core's 4-D view of a caller's out= array, checked in the caller's shape."""
        if out is None:
            return None
        check_out(out, self.op, "out", *inputs)
        if out.shape != tuple(expected):
            raise ValueError(f"{self.op}: out has shape {out.shape}, expected {tuple(expected)}")
        if not out.flags.c_contiguous:
            raise ValueError(f"{self.op}: out must be C-contiguous")
        return self.as4d(out, "out")


def index_operand(indices: Any, op: str, name: str = "indices") -> Any:
    """An int64 C-contiguous index array, on the host or a GPU (TypeError otherwise)."""
    if indices is None:
        raise TypeError(f"{op}: {name} must be an int64 array, got None")
    arr = array_operand(indices, name, op)
    if arr.dtype != np.int64:
        raise TypeError(f"{op}: {name} has dtype {arr.dtype}; expected int64")
    return contiguous(arr)
