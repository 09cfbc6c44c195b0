"""Convolution shape arithmetic (the same functions the native core uses)."""

from __future__ import annotations

from typing import Sequence, Union

from . import _C
from ._args import is_int

__all__ = ["conv_output_size", "same_padding"]


_LIMIT = 2**62  # sizes the native int64 arithmetic handles without overflow


def _check_ints(op: str, **values: object) -> None:
    for name, v in values.items():
        if not is_int(v):
            raise TypeError(f"{op}: {name} must be an int, got {v!r}")


def _check_range(op: str, **values: int) -> None:
    for name, v in values.items():
        if abs(v) > _LIMIT:
            raise ValueError(f"{op}: {name}={v} is above 2^62")


def conv_output_size(
    n: int,
    kernel: int,
    stride: int = 1,
    padding: Union[int, Sequence[int]] = 0,
    dilation: int = 1,
) -> int:
    """Output length of a convolution along one axis:
    ``floor((n + before + after - dilation * (kernel - 1) - 1) / stride) + 1``.

    ``padding`` is an int (both sides) or ``(before, after)``. Raises ValueError
    when the dilated kernel does not fit in the padded input.
    """
    before: int
    after: int
    if is_int(padding):
        before = after = int(padding)  # type: ignore[arg-type]
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        before, after = padding
    else:
        raise TypeError(
            f"conv_output_size: padding must be an int or (before, after), got {padding!r}"
        )
    _check_ints("conv_output_size", n=n, kernel=kernel, stride=stride, before=before,
                after=after, dilation=dilation)
    _check_range("conv_output_size", n=n, kernel=kernel, stride=stride, before=before,
                 after=after, dilation=dilation)
    if n < 0 or kernel < 1 or stride < 1 or dilation < 1 or before < 0 or after < 0:
        raise ValueError(
            "conv_output_size: need n >= 0, kernel >= 1, stride >= 1, dilation >= 1 and "
            f"padding >= 0, got n={n}, kernel={kernel}, stride={stride}, "
            f"padding=({before}, {after}), dilation={dilation}"
        )
    extent = dilation * (kernel - 1) + 1
    if n + before + after < extent:
        raise ValueError(
            f"conv_output_size: padded input size {n + before + after} is smaller than the "
            f"dilated kernel size {extent}"
        )
    if max(n + before + after, extent) > _LIMIT:
        raise ValueError(
            f"conv_output_size: padded input size {n + before + after} or dilated kernel size "
            f"{extent} is above 2^62"
        )
    return int(_C.conv_output_size(n, kernel, stride, before, after, dilation))


def same_padding(n: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """``(before, after)`` padding that makes the output ``ceil(n / stride)`` long
    (TensorFlow's SAME; for stride 1 PyTorch's ``padding='same'``). An odd total
    puts the extra unit after (bottom or right)."""
    _check_ints("same_padding", n=n, kernel=kernel, stride=stride, dilation=dilation)
    _check_range("same_padding", n=n, kernel=kernel, stride=stride, dilation=dilation)
    if dilation * (kernel - 1) + 1 > _LIMIT:
        raise ValueError(
            f"same_padding: dilated kernel size {dilation * (kernel - 1) + 1} is above 2^62")
    if n < 0 or kernel < 1 or stride < 1 or dilation < 1:
        raise ValueError(
            "same_padding: need n >= 0, kernel >= 1, stride >= 1 and dilation >= 1, got "
            f"n={n}, kernel={kernel}, stride={stride}, dilation={dilation}"
        )
    before, after = _C.same_padding(n, kernel, stride, dilation)
    return int(before), int(after)
