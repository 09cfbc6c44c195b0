"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d.

Each wraps the functional op of the same name (:mod:`convcore.functional`):
forward keeps its input, backward returns the input gradient and adds the
weight and bias gradients into ``weight.grad`` / ``bias.grad``. Constructor
names, order and defaults are PyTorch's, plus keyword-only ``data_format``
('NCHW'/'NHWC', 1-D 'NCL'/'NLC') and ``dtype`` (float32 default). Weights
start with PyTorch's default initialization (:func:`convcore.nn.init.default_init_`)
drawn from the :mod:`convcore.nn.init` generator.

Conv arithmetic (per sample, see :class:`~convcore.nn.Layer`):
``macs`` counts one multiply-add per kernel tap per output value of a
convolution (``Cout * Hout * Wout * Cin / groups * kh * kw``) and per input
value of a transposed one (``Cin * H * W * Cout / groups * kh * kw``); the bias
adds are not counted. ``receptive_field`` is ``(dilation * (k - 1) + 1, stride,
pad_before)`` per axis, with 'same'/'full' resolved to the actual padding
before (for 'same' the smaller half; the extra unit goes after). A transposed
convolution returns None: its output step is 1/stride input pixels, which the
integer ``(k, stride, pad)`` composition cannot express, so the summary treats
it as not moving the field.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from .. import _ops as tensor_ops
from .. import functional as F
from .._args import is_int, padding_mode as _check_padding_mode, spatial_padding
from ..shape import conv_output_size
from . import _checks as chk
from .init import default_init_
from .layer import Layer, Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

Padding = Union[str, int, Sequence[int]]


class _ConvNd(Layer):
    """Shared body of the convolution layers; subclasses set ``_nd``,
    ``_transposed`` and ``_ops`` = (forward function, backward function)."""

    _nd: int
    _transposed: bool = False
    _ops: tuple[Callable[..., Any], Callable[..., Any]]

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any,
                 padding: Padding, dilation: Any, groups: int, bias: bool, padding_mode: Any,
                 output_padding: Any, data_format: str, dtype: Any) -> None:
        super().__init__()
        name, nd = type(self).__name__, self._nd
        self.in_channels = chk.positive(name, "in_channels", in_channels)
        self.out_channels = chk.positive(name, "out_channels", out_channels)
        self.groups = chk.positive(name, "groups", groups)
        for arg, value in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            if value % self.groups:
                raise ValueError(f"{name}: {arg}={value} must be divisible by groups={groups}")
        self.kernel_size = chk.ints(name, "kernel_size", kernel_size, nd, 1)
        self.stride = chk.ints(name, "stride", stride, nd, 1)
        self.dilation = chk.ints(name, "dilation", dilation, nd, 1)
        self.padding = self._check_padding(padding)
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        _check_padding_mode(padding_mode, name)
        self.padding_mode = padding_mode
        self.output_padding = chk.ints(name, "output_padding", output_padding, nd, 0)
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise ValueError(f"{name}: output_padding {output_padding!r} must be smaller than "
                                 f"stride {stride!r} or dilation {dilation!r}")
        self._channels_last = chk.layout(name, data_format, nd)
        self.data_format = data_format
        dt = chk.float_dtype(name, dtype)
        pair = ((self.in_channels, self.out_channels // self.groups) if self._transposed
                else (self.out_channels, self.in_channels // self.groups))
        self.weight = Parameter(np.empty(pair + self.kernel_size, dtype=dt))
        self.bias: Optional[Parameter] = (
            Parameter(np.empty(self.out_channels, dtype=dt)) if chk.flag(name, "bias", bias)
            else None)
        self.reset_parameters()
        self._input: Optional[np.ndarray] = None

    def _check_padding(self, padding: Padding) -> Union[str, tuple[int, ...]]:
        name, nd = type(self).__name__, self._nd
        if isinstance(padding, str) and not self._transposed:
            if padding not in ("same", "valid", "full"):
                raise ValueError(f"{name}: padding must be 'same', 'valid', 'full', an int or a "
                                 f"tuple of ints, got {padding!r}")
            return padding
        if isinstance(padding, (tuple, list)) and len(padding) == 2 * nd:
            return chk.ints(name, "padding", padding, 2 * nd, 0)
        if is_int(padding) or isinstance(padding, (tuple, list)) and len(padding) == nd:
            return chk.ints(name, "padding", padding, nd, 0)
        strings = "" if self._transposed else "'same', 'valid', 'full', "
        raise TypeError(f"{name}: padding must be {strings}an int or a sequence of {nd} or "
                        f"{2 * nd} ints (before/after per axis), got {padding!r}")

    def reset_parameters(self, rng: Optional[np.random.Generator] = None) -> None:
        """PyTorch's default initialization (see :func:`convcore.nn.init.default_init_`)."""
        default_init_(self.weight, self.bias, rng)

    def _options(self) -> dict[str, Any]:
        opts: dict[str, Any] = dict(stride=self.stride, padding=self.padding,
                                    dilation=self.dilation, groups=self.groups,
                                    data_format=self.data_format)
        if self._transposed:
            opts["output_padding"] = self.output_padding
        else:
            opts["padding_mode"] = self.padding_mode
        return opts

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, Cin, *spatial)`` (channels-last: ``(N, *spatial, Cin)``; the batch
        axis is optional) -> ``(N, Cout, *out_spatial)`` in the same layout."""
        self._input = x
        bias = None if self.bias is None else self.bias.data
        return self._ops[0](x, self.weight.data, bias, **self._options())

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        chk.saved(self, "_input")
        opts = self._options()
        if self._transposed:
            opts["bias"] = None if self.bias is None else self.bias.data
        needs = ("input", "weight") + (("bias",) if self.bias is not None else ())
        gx, gw, gb = self._ops[1](grad_output, self._input, self.weight.data, needs=needs, **opts)
        tensor_ops.add_(self.weight.grad, gw)
        if self.bias is not None:
            tensor_ops.add_(self.bias.grad, gb)
        return gx

    # ------------------------------------------------------------ conv arithmetic
    def _pads(self, spatial: Sequence[int]) -> list[tuple[int, int]]:
        """(before, after) padding per spatial axis for an input of this size."""
        flat = spatial_padding(self.padding, spatial, self.kernel_size, self.stride,
                               self.dilation, type(self).__name__)
        return list(zip(flat[::2], flat[1::2]))

    def _out_spatial(self, spatial: Sequence[int]) -> tuple[int, ...]:
        axes = zip(spatial, self.kernel_size, self.stride, self.dilation, self._pads(spatial),
                   self.output_padding)
        if not self._transposed:
            return tuple(conv_output_size(n, k, s, pads, d) for n, k, s, d, pads, _ in axes)
        sizes = tuple((n - 1) * s - lo - hi + d * (k - 1) + op + 1
                      for n, k, s, d, (lo, hi), op in axes)
        if min(sizes) < 1:
            raise ValueError(f"{type(self).__name__}: input size {tuple(spatial)} gives an empty "
                             f"output {sizes}")
        return sizes

    def output_shape(self, input_shape: Sequence[int]) -> tuple:
        _, spatial = chk.split(type(self).__name__, input_shape, self._nd, self._channels_last,
                               self.in_channels)
        return chk.join(self.out_channels, self._out_spatial(spatial), self._channels_last)

    def macs(self, input_shape: Sequence[int]) -> int:
        _, spatial = chk.split(type(self).__name__, input_shape, self._nd, self._channels_last,
                               self.in_channels)
        taps = math.prod(self.kernel_size) * self.weight.shape[1]  # kernel * channels per group
        sites = spatial if self._transposed else self._out_spatial(spatial)
        return int(self.weight.shape[0] * math.prod(sites) * taps)

    def receptive_field(self, input_shape: Sequence[int]) -> Optional[list[tuple[int, int, int]]]:
        if self._transposed:
            return None
        _, spatial = chk.split(type(self).__name__, input_shape, self._nd, self._channels_last,
                               self.in_channels)
        return [(d * (k - 1) + 1, s, lo) for k, s, d, (lo, _) in
                zip(self.kernel_size, self.stride, self.dilation, self._pads(spatial))]

    def extra_repr(self) -> str:
        nd = self._nd
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        optional = (("padding", self.padding, (0,) * nd),
                    ("dilation", self.dilation, (1,) * nd),
                    ("output_padding", self.output_padding, (0,) * nd),
                    ("groups", self.groups, 1),
                    ("bias", self.bias is not None, True),
                    ("padding_mode", self.padding_mode, "zeros"),
                    ("data_format", self.data_format, chk.LAYOUTS[nd][0]))
        for arg, value, default in optional:
            if value != default:  # PyTorch's format: padding_mode unquoted
                text += f", {arg}={value}" if arg == "padding_mode" else f", {arg}={value!r}"
        return text


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation), as ``torch.nn.Conv2d``.

    weight ``(Cout, Cin / groups, kh, kw)``, bias ``(Cout,)`` or None. padding:
    int, ``(ph, pw)``, ``(top, bottom, left, right)``, 'valid', 'same' or
    'full'; padding_mode as :func:`convcore.functional.conv2d`. Input
    ``(N, Cin, H, W)`` -> ``(N, Cout, Hout, Wout)`` (NHWC: channels last)."""

    _nd = 2
    _ops = (F.conv2d, F.conv2d_backward)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Padding = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: Any = "zeros", *, data_format: str = "NCHW",
                 dtype: Any = np.float32) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, 0, data_format, dtype)


class Conv1d(_ConvNd):
    """1-D convolution, as ``torch.nn.Conv1d``: weight ``(Cout, Cin / groups, k)``;
    input ``(N, Cin, L)`` (``data_format='NLC'``: ``(N, L, Cin)``); padding an int,
    ``(p,)``, ``(left, right)`` or a string of :class:`Conv2d`."""

    _nd = 1
    _ops = (F.conv1d, F.conv1d_backward)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Padding = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: Any = "zeros", *, data_format: str = "NCL",
                 dtype: Any = np.float32) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, 0, data_format, dtype)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution ("deconvolution"), as ``torch.nn.ConvTranspose2d``.

    weight ``(Cin, Cout / groups, kh, kw)`` (PyTorch's layout), bias ``(Cout,)``.
    ``padding`` (int, pair or 4-tuple) removes rows/columns from the full output;
    ``output_padding`` (< stride or dilation) adds them at the bottom/right:
    ``Hout = (H - 1) * sh - top - bottom + dh * (kh - 1) + output_padding + 1``.
    Only ``padding_mode='zeros'``. receptive_field is None (module doc)."""

    _nd = 2
    _transposed = True
    _ops = (F.conv_transpose2d, F.conv_transpose2d_backward)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", *, data_format: str = "NCHW",
                 dtype: Any = np.float32) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, output_padding, data_format, dtype)


class ConvTranspose1d(_ConvNd):
    """1-D transposed convolution, as ``torch.nn.ConvTranspose1d``: weight
    ``(Cin, Cout / groups, k)``; options and lengths as :class:`ConvTranspose2d`."""

    _nd = 1
    _transposed = True
    _ops = (F.conv_transpose1d, F.conv_transpose1d_backward)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", *, data_format: str = "NCL",
                 dtype: Any = np.float32) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, output_padding, data_format, dtype)
