"""Pooling layers over :mod:`convcore.functional`: fixed-window max / average /
power-average pooling (1-D and 2-D), max unpooling, adaptive, global and
spatial pyramid pooling.

Every layer keeps its last forward's input (and, for max pooling, the argmax
indices) for its backward. Constructor names, order and defaults are
PyTorch's, plus a keyword-only ``data_format`` ('NCHW'/'NHWC', 1-D
'NCL'/'NLC').

Conv arithmetic (per sample): ``macs`` is 0 for every pooling layer (no
multiply-adds; comparisons and sums are not counted). ``receptive_field`` is
``(dilation * (k - 1) + 1, stride, padding)`` per axis for the fixed-window
pools; an adaptive pool reports the equivalent window ``(n / o, n / o, 0)``
when every input size ``n`` divides by its output size ``o`` (then its bins
are exactly that window) and None otherwise; global pooling reports one
window over the whole input ``(n, n, 0)``; spatial pyramid pooling reports
its coarsest level (its largest window, as a block reports its largest branch)
under the same divisibility rule; unpooling (an upsampling) reports None.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from .. import functional as F
from .._args import is_int
from . import _checks as chk
from .layer import Layer

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "GlobalAvgPool2d",
    "GlobalMaxPool2d",
    "LPPool1d",
    "LPPool2d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxUnpool2d",
    "SpatialPyramidPool2d",
]

Ops = tuple[Callable[..., Any], Callable[..., Any]]


def pool_output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool,
                     layer: str = "pooling") -> int:
    """Output length of a pooling window along one axis (PyTorch's rule: with
    ceil_mode a last window starting past the input and its left padding is
    dropped)."""
    span = n + 2 * p - d * (k - 1) - 1
    if span < 0:
        raise ValueError(f"{layer}: padded input size {n + 2 * p} is smaller than the "
                         f"(dilated) kernel size {d * (k - 1) + 1}")
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


class _Pool(Layer):
    """Base of the pooling layers: layout, the saved input, macs = 0."""

    _nd: int = 2
    _ops: Ops

    def __init__(self, data_format: str) -> None:
        super().__init__()
        self._channels_last = chk.layout(type(self).__name__, data_format, self._nd)
        self.data_format = data_format
        self._input: Optional[np.ndarray] = None

    def _split(self, input_shape: Sequence[int]) -> tuple[int, tuple[int, ...]]:
        return chk.split(type(self).__name__, input_shape, self._nd, self._channels_last)

    def _format_repr(self) -> str:
        default = chk.LAYOUTS[self._nd][0]
        return "" if self.data_format == default else f", data_format={self.data_format!r}"


class _WindowPool(_Pool):
    """A fixed window slid with a stride: kernel_size, stride (default the
    kernel), padding, dilation, ceil_mode. Subclasses give ``_args()``, the
    functional op's positional arguments after the input."""

    def __init__(self, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                 ceil_mode: bool, data_format: str) -> None:
        super().__init__(data_format)
        name, nd = type(self).__name__, self._nd
        self.kernel_size = chk.ints(name, "kernel_size", kernel_size, nd, 1)
        self.stride = self.kernel_size if stride is None else chk.ints(name, "stride", stride, nd, 1)
        self.padding = chk.ints(name, "padding", padding, nd, 0)
        self.dilation = chk.ints(name, "dilation", dilation, nd, 1)
        for p, k, d in zip(self.padding, self.kernel_size, self.dilation):
            if 2 * p > d * (k - 1) + 1:
                raise ValueError(f"{name}: padding {padding!r} must be at most half of the "
                                 f"(dilated) kernel size {kernel_size!r}")
        self.ceil_mode = chk.flag(name, "ceil_mode", ceil_mode)

    def _args(self) -> tuple:
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, *spatial)`` (channels-last ``(N, *spatial, C)``; batch axis
        optional) -> ``(N, C, *out_spatial)``."""
        self._input = x
        return self._ops[0](x, *self._args(), data_format=self.data_format)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        chk.saved(self, "_input")
        return self._ops[1](grad_output, self._input, *self._args(), data_format=self.data_format)

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        c, spatial = self._split(input_shape)
        sizes = [pool_output_size(n, k, s, p, d, self.ceil_mode, type(self).__name__)
                 for n, k, s, p, d in
                 zip(spatial, self.kernel_size, self.stride, self.padding, self.dilation)]
        return chk.join(c, sizes, self._channels_last)

    def receptive_field(self, input_shape: Sequence[int]) -> Optional[list[tuple[int, int, int]]]:
        self._split(input_shape)
        return [(d * (k - 1) + 1, s, p) for k, s, p, d in
                zip(self.kernel_size, self.stride, self.padding, self.dilation)]

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}" + self._format_repr())


class _MaxPool(_WindowPool):
    """Max pooling; keeps ``indices`` (int64 flat argmax positions, output
    shaped) and ``input_shape`` of its last forward, which its backward uses
    and a paired :class:`MaxUnpool2d` reads."""

    def __init__(self, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                 ceil_mode: bool, return_indices: bool, data_format: str) -> None:
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode, data_format)
        self.return_indices = chk.flag(type(self).__name__, "return_indices", return_indices)
        self.indices: Optional[np.ndarray] = None
        self.input_shape: Optional[tuple[int, ...]] = None

    def _args(self) -> tuple:
        return self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode

    def forward(self, x: np.ndarray) -> Any:
        """The pooled array, or ``(pooled, indices)`` with ``return_indices``."""
        y, self.indices = self._ops[0](x, *self._args(), True, data_format=self.data_format)
        self._input, self.input_shape = x, tuple(np.shape(x))
        return (y, self.indices) if self.return_indices else y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        chk.saved(self, "_input", "indices")
        return self._ops[1](grad_output, self._input, self.indices, *self._args(),
                            data_format=self.data_format)


class MaxPool2d(_MaxPool):
    """2-D max pooling, as ``torch.nn.MaxPool2d``: ``(N, C, H, W)`` -> ``(N, C, Hout, Wout)``
    with ``Hout = floor((H + 2p - d(k - 1) - 1) / s) + 1`` (ceil with ceil_mode).
    After each forward ``self.indices`` holds the flat argmax ``h * W + w`` per output."""

    _ops = (F.max_pool2d, F.max_pool2d_backward)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False, return_indices: bool = False, *,
                 data_format: str = "NCHW") -> None:
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                         data_format)


class MaxPool1d(_MaxPool):
    """1-D max pooling, as ``torch.nn.MaxPool1d`` (``(N, C, L)``; indices are positions l)."""

    _nd = 1
    _ops = (F.max_pool1d, F.max_pool1d_backward)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 ceil_mode: bool = False, return_indices: bool = False, *,
                 data_format: str = "NCL") -> None:
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                         data_format)


class AvgPool2d(_WindowPool):
    """2-D average pooling, as ``torch.nn.AvgPool2d`` (divisor rules of
    :func:`convcore.functional.avg_pool2d`)."""

    _ops: Ops = (F.avg_pool2d, F.avg_pool2d_backward)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: Optional[int] = None, *, data_format: str = "NCHW") -> None:
        super().__init__(kernel_size, stride, padding, 1, ceil_mode, data_format)
        name = type(self).__name__
        self.count_include_pad = chk.flag(name, "count_include_pad", count_include_pad)
        self.divisor_override = (None if divisor_override is None
                                 else chk.positive(name, "divisor_override", divisor_override))

    def _args(self) -> tuple:
        return (self.kernel_size, self.stride, self.padding, self.ceil_mode,
                self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                + self._format_repr())


class AvgPool1d(AvgPool2d):
    """1-D average pooling, as ``torch.nn.AvgPool1d`` (``(N, C, L)``)."""

    _nd = 1
    _ops = (F.avg_pool1d, F.avg_pool1d_backward)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True, *,
                 data_format: str = "NCL") -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad,
                         data_format=data_format)

    def _args(self) -> tuple:
        return super()._args()[:-1]  # avg_pool1d has no divisor_override


class LPPool2d(_WindowPool):
    """2-D power-average pooling, as ``torch.nn.LPPool2d``:
    ``(sum over the window of x ** p) ** (1 / p)`` (definition and edge cases of
    :func:`convcore.functional.lp_pool2d`); no padding."""

    _ops: Ops = (F.lp_pool2d, F.lp_pool2d_backward)

    def __init__(self, norm_type: float, kernel_size: Any, stride: Any = None,
                 ceil_mode: bool = False, *, data_format: str = "NCHW") -> None:
        super().__init__(kernel_size, stride, 0, 1, ceil_mode, data_format)
        if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)):
            raise TypeError(f"{type(self).__name__}: norm_type must be a real number, "
                            f"got {norm_type!r}")
        if norm_type == 0 or not math.isfinite(norm_type):
            raise ValueError(f"{type(self).__name__}: norm_type must be finite and non-zero, "
                             f"got {norm_type!r}")
        self.norm_type = float(norm_type)

    def _args(self) -> tuple:
        return self.norm_type, self.kernel_size, self.stride, self.ceil_mode

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}" + self._format_repr())


class LPPool1d(LPPool2d):
    """1-D power-average pooling, as ``torch.nn.LPPool1d``."""

    _nd = 1
    _ops = (F.lp_pool1d, F.lp_pool1d_backward)

    def __init__(self, norm_type: float, kernel_size: Any, stride: Any = None,
                 ceil_mode: bool = False, *, data_format: str = "NCL") -> None:
        super().__init__(norm_type, kernel_size, stride, ceil_mode, data_format=data_format)


class MaxUnpool2d(_Pool):
    """Partial inverse of :class:`MaxPool2d`, as ``torch.nn.MaxUnpool2d``: each
    input value is written at its argmax position, zeros elsewhere.

    Two ways to give it the switches:

    * ``pool=`` a MaxPool2d (DeconvNet's switches): ``forward(x)`` uses
      ``pool.indices`` and the pool's last input's spatial size as the output
      size, so the unpooled map has exactly the pooled map's input shape;
    * without a pool, ``forward_with(x, indices, output_size=None)`` takes the
      indices (and optionally the output's spatial size) explicitly;
      ``forward(x)`` then raises RuntimeError.

    The default output size is ``(H - 1) * stride - 2 * padding + kernel_size``
    per axis; ``output_shape`` answers the paired pool's input size when the
    pool's last forward pooled that size to this input's. The pool is not
    registered as a child (it belongs to the encoder)."""

    pool: Optional[MaxPool2d]

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, *,
                 pool: Optional[MaxPool2d] = None, data_format: str = "NCHW") -> None:
        super().__init__(data_format)
        name = type(self).__name__
        self.kernel_size = chk.ints(name, "kernel_size", kernel_size, 2, 1)
        self.stride = self.kernel_size if stride is None else chk.ints(name, "stride", stride, 2, 1)
        self.padding = chk.ints(name, "padding", padding, 2, 0)
        if pool is not None and not isinstance(pool, MaxPool2d):
            raise TypeError(f"{name}: pool must be a MaxPool2d or None, got {type(pool).__name__}")
        object.__setattr__(self, "pool", pool)  # not a child: no double registration
        self.indices: Optional[np.ndarray] = None
        self.output_size: Optional[tuple[int, ...]] = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        pool = self.pool
        if pool is None:
            raise RuntimeError("MaxUnpool2d without pool= needs the indices: call "
                               "forward_with(x, indices, output_size)")
        if pool.indices is None or pool.input_shape is None:
            raise RuntimeError("MaxUnpool2d: the paired MaxPool2d has not run a forward yet")
        _, spatial = chk.split("MaxUnpool2d", pool.input_shape[-3:], 2, pool._channels_last)
        return self.forward_with(x, pool.indices, spatial)

    def forward_with(self, x: np.ndarray, indices: np.ndarray,
                     output_size: Optional[Sequence[int]] = None) -> Any:
        """Unpools ``x`` (``(N, C, H, W)``) with int64 ``indices`` of its shape
        into ``output_size`` (``(Ho, Wo)``; None: the default size)."""
        self._input, self.indices = x, indices
        self.output_size = None if output_size is None else tuple(output_size)
        return F.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding,
                              self.output_size, data_format=self.data_format)

    def backward(self, grad_output: np.ndarray) -> Any:
        chk.saved(self, "_input", "indices")
        return F.max_unpool2d_backward(grad_output, self._input, self.indices, self.kernel_size,
                                       self.stride, self.padding, self.output_size,
                                       data_format=self.data_format)

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        c, spatial = self._split(input_shape)
        sizes: Sequence[int] = [(n - 1) * s - 2 * p + k for n, k, s, p in
                                zip(spatial, self.kernel_size, self.stride, self.padding)]
        pool = self.pool
        if pool is not None and pool.input_shape is not None:
            pooled_from = pool.input_shape[-3:]
            if pool.output_shape(pooled_from) == tuple(input_shape):
                sizes = chk.split("MaxUnpool2d", pooled_from, 2, pool._channels_last)[1]
        return chk.join(c, sizes, self._channels_last)

    def extra_repr(self) -> str:
        paired = ", pool=<paired>" if self.pool is not None else ""
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                + paired + self._format_repr())


OutputSize = Union[int, None, Sequence[Optional[int]]]


def _equal_windows(sizes: Sequence[int], outs: Sequence[int]) -> Optional[list[tuple[int, int, int]]]:
    """The window ``(n / o, n / o, 0)`` per axis when every n divides by its o."""
    if any(n % o for n, o in zip(sizes, outs)):
        return None
    return [(n // o, n // o, 0) for n, o in zip(sizes, outs)]


class _AdaptivePool(_Pool):
    """Pooling into a fixed output size (bins ``floor(i * n / o)`` to
    ``ceil((i + 1) * n / o)``); ``output_size`` entries may be None (keep the input size)."""

    def __init__(self, output_size: OutputSize, data_format: str) -> None:
        super().__init__(data_format)
        name, nd = type(self).__name__, self._nd
        entries: list[Any] = ([output_size] * nd if is_int(output_size) or output_size is None
                              else list(output_size) if isinstance(output_size, (list, tuple))
                              else [])
        if len(entries) != nd or not all(v is None or is_int(v) for v in entries):
            raise TypeError(f"{name}: output_size must be an int or a sequence of {nd} ints or "
                            f"None, got {output_size!r}")
        if any(v is not None and v < 1 for v in entries):
            raise ValueError(f"{name}: output_size must be >= 1, got {output_size!r}")
        self.output_size = output_size if is_int(output_size) else tuple(entries)

    def _sizes(self, spatial: Sequence[int]) -> tuple[int, ...]:
        entries = (self.output_size,) * self._nd if is_int(self.output_size) else self.output_size
        assert isinstance(entries, tuple)
        return tuple(n if o is None else int(o) for n, o in zip(spatial, entries))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, *spatial)`` -> ``(N, C, *output_size)``."""
        self._input = x
        return self._ops[0](x, self.output_size, data_format=self.data_format)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        chk.saved(self, "_input")
        return self._ops[1](grad_output, self._input, self.output_size,
                            data_format=self.data_format)

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        c, spatial = self._split(input_shape)
        return chk.join(c, self._sizes(spatial), self._channels_last)

    def receptive_field(self, input_shape: Sequence[int]) -> Optional[list[tuple[int, int, int]]]:
        _, spatial = self._split(input_shape)
        return _equal_windows(spatial, self._sizes(spatial))

    def extra_repr(self) -> str:
        return f"output_size={self.output_size!r}" + self._format_repr()


class _AdaptiveMaxPool(_AdaptivePool):
    """Adaptive max pooling; keeps the forward's ``indices`` for backward."""

    def __init__(self, output_size: OutputSize, return_indices: bool, data_format: str) -> None:
        super().__init__(output_size, data_format)
        self.return_indices = chk.flag(type(self).__name__, "return_indices", return_indices)
        self.indices: Optional[np.ndarray] = None

    def forward(self, x: np.ndarray) -> Any:
        y, self.indices = self._ops[0](x, self.output_size, True, data_format=self.data_format)
        self._input = x
        return (y, self.indices) if self.return_indices else y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        chk.saved(self, "_input", "indices")
        return self._ops[1](grad_output, self._input, self.indices, self.output_size,
                            data_format=self.data_format)


class AdaptiveAvgPool2d(_AdaptivePool):
    """As ``torch.nn.AdaptiveAvgPool2d``: ``(N, C, H, W)`` -> ``(N, C, Ho, Wo)``."""

    _ops = (F.adaptive_avg_pool2d, F.adaptive_avg_pool2d_backward)

    def __init__(self, output_size: OutputSize, *, data_format: str = "NCHW") -> None:
        super().__init__(output_size, data_format)


class AdaptiveAvgPool1d(_AdaptivePool):
    """As ``torch.nn.AdaptiveAvgPool1d``: ``(N, C, L)`` -> ``(N, C, Lo)``."""

    _nd = 1
    _ops = (F.adaptive_avg_pool1d, F.adaptive_avg_pool1d_backward)

    def __init__(self, output_size: OutputSize, *, data_format: str = "NCL") -> None:
        super().__init__(output_size, data_format)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """As ``torch.nn.AdaptiveMaxPool2d``; ``indices`` (flat ``h * W + w``) kept after forward."""

    _ops = (F.adaptive_max_pool2d, F.adaptive_max_pool2d_backward)

    def __init__(self, output_size: OutputSize, return_indices: bool = False, *,
                 data_format: str = "NCHW") -> None:
        super().__init__(output_size, return_indices, data_format)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """As ``torch.nn.AdaptiveMaxPool1d``."""

    _nd = 1
    _ops = (F.adaptive_max_pool1d, F.adaptive_max_pool1d_backward)

    def __init__(self, output_size: OutputSize, return_indices: bool = False, *,
                 data_format: str = "NCL") -> None:
        super().__init__(output_size, return_indices, data_format)


class _GlobalPool(_Pool):
    """One value per channel over the whole plane: ``(N, C, H, W)`` -> ``(N, C)``
    (``keepdim``: ``(N, C, 1, 1)``, NHWC ``(N, 1, 1, C)``)."""

    def __init__(self, keepdim: bool, data_format: str) -> None:
        super().__init__(data_format)
        self.keepdim = chk.flag(type(self).__name__, "keepdim", keepdim)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._input = x
        return self._ops[0](x, self.keepdim, data_format=self.data_format)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        chk.saved(self, "_input")
        return self._ops[1](grad_output, self._input, self.keepdim, data_format=self.data_format)

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        c, _ = self._split(input_shape)
        return chk.join(c, (1, 1), self._channels_last) if self.keepdim else (c,)

    def receptive_field(self, input_shape: Sequence[int]) -> Optional[list[tuple[int, int, int]]]:
        _, spatial = self._split(input_shape)
        return _equal_windows(spatial, (1, 1))

    def extra_repr(self) -> str:
        return f"keepdim={self.keepdim}" + self._format_repr()


class GlobalAvgPool2d(_GlobalPool):
    """Mean of each channel's plane (Network-in-Network / GoogLeNet heads)."""

    _ops = (F.global_avg_pool2d, F.global_avg_pool2d_backward)

    def __init__(self, keepdim: bool = False, *, data_format: str = "NCHW") -> None:
        super().__init__(keepdim, data_format)


class GlobalMaxPool2d(_GlobalPool):
    """Maximum of each channel's plane."""

    _ops = (F.global_max_pool2d, F.global_max_pool2d_backward)

    def __init__(self, keepdim: bool = False, *, data_format: str = "NCHW") -> None:
        super().__init__(keepdim, data_format)


class SpatialPyramidPool2d(_Pool):
    """Spatial pyramid pooling (SPP-net): adaptive ``mode`` pooling to ``l x l``
    for each level, flattened channel-major and concatenated:
    ``(N, C, H, W)`` -> ``(N, C * sum(l * l))`` whatever H and W."""

    def __init__(self, levels: Sequence[int] = (1, 2, 4), mode: str = "max", *,
                 data_format: str = "NCHW") -> None:
        super().__init__(data_format)
        name = type(self).__name__
        if not isinstance(levels, (tuple, list)) or not levels or not all(
                is_int(v) for v in levels):
            raise TypeError(f"{name}: levels must be a non-empty sequence of ints, got {levels!r}")
        if any(v < 1 for v in levels):
            raise ValueError(f"{name}: levels must be >= 1, got {levels!r}")
        if mode not in ("max", "avg"):
            raise ValueError(f"{name}: mode must be 'max' or 'avg', got {mode!r}")
        self.levels = tuple(int(v) for v in levels)
        self.mode = mode
        self.indices: Optional[np.ndarray] = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._input = x
        result = F.spatial_pyramid_pool2d(x, self.levels, self.mode, data_format=self.data_format,
                                          return_indices=self.mode == "max")
        if self.mode == "max":
            result, self.indices = result
        return result

    def backward(self, grad_output: np.ndarray) -> Any:
        chk.saved(self, "_input")
        return F.spatial_pyramid_pool2d_backward(grad_output, self._input, self.levels, self.mode,
                                                 data_format=self.data_format,
                                                 indices=self.indices)

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        c, _ = self._split(input_shape)
        return (c * sum(v * v for v in self.levels),)

    def receptive_field(self, input_shape: Sequence[int]) -> Optional[list[tuple[int, int, int]]]:
        _, spatial = self._split(input_shape)
        coarsest = min(self.levels)
        return _equal_windows(spatial, (coarsest, coarsest))

    def extra_repr(self) -> str:
        return f"levels={self.levels}, mode={self.mode!r}" + self._format_repr()
