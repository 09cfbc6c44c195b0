"""Pooling: max, average and power-average (Lp) pooling, 1-D and 2-D, with
their backward passes (adaptive/global pooling, unpooling, SPP and ROI
pooling live in :mod:`convcore.functional.adaptive_pooling`).

Conventions shared by every function here:

* Arguments, order and defaults are those of ``torch.nn.functional``;
  ``data_format`` (``'NCHW'``/``'NHWC'``, 1-D ``'NCL'``/``'NLC'``) and ``out``
  are extra keyword-only arguments.
* An unbatched input (no N axis) gives an unbatched result.
* Output size along an axis: ``floor((n + 2 * pad - dilation * (k - 1) - 1) / stride) + 1``
  (``ceil`` with ``ceil_mode=True``, where a last window that would start past
  the input and its left padding is dropped, as PyTorch does).
"""

from __future__ import annotations

import numbers
from typing import Any, Optional

import numpy as np

from .. import _C
from .._args import Array, IntOrPair, int_tuple, operand
from ._layout import Layout, index_operand

__all__ = [
    "avg_pool1d",
    "avg_pool1d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "lp_pool1d",
    "lp_pool1d_backward",
    "lp_pool2d",
    "lp_pool2d_backward",
    "max_pool1d",
    "max_pool1d_backward",
    "max_pool2d",
    "max_pool2d_backward",
]

class _PoolCall(Layout):
    """One pooling call in the core's terms: 4-D arrays and PoolParams. A 1-D
    pool runs as a 2-D one with H = 1 (kernel 1, stride 1 along it) and an
    unbatched input gains a batch axis of 1; `as4d` applies both, `restore`
    undoes them."""

    def __init__(
        self,
        op: str,
        nd: int,
        kind: str,
        x_shape: tuple,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        ceil_mode: Any,
        fmt: str,
        count_include_pad: Any = True,
        divisor_override: Any = None,
        norm_type: Any = 2.0,
    ) -> None:
        super().__init__(op, nd, x_shape, fmt)
        k = int_tuple(kernel_size, nd, "kernel_size", op)
        s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
            else int_tuple(stride, nd, "stride", op)
        pad = int_tuple(padding, nd, "padding", op)
        d = int_tuple(dilation, nd, "dilation", op)
        for name, flag in (("ceil_mode", ceil_mode), ("count_include_pad", count_include_pad)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{op}: {name} must be a bool, got {flag!r}")

        p = _C.PoolParams()
        p.op, p.kind, p.spatial_dims, p.nhwc = op, kind, nd, self.nhwc
        p.ceil_mode, p.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        if divisor_override is not None:
            (div,) = int_tuple(divisor_override, 1, "divisor_override", op)
            if div == 0:
                raise ValueError(f"{op}: divisor_override must be non-zero, got 0")
            p.divisor_override = div
        if kind == "lp":
            if not isinstance(norm_type, numbers.Real) or isinstance(norm_type, bool):
                raise TypeError(f"{op}: norm_type must be a real number, got {norm_type!r}")
            p.norm_type = float(norm_type)
        if nd == 1:
            p.kernel, p.stride, p.padding, p.dilation = (1, k[0]), (1, s[0]), (0, pad[0]), (1, d[0])
        else:
            p.kernel, p.stride, p.padding, p.dilation = (k[0], k[1]), (s[0], s[1]), \
                (pad[0], pad[1]), (d[0], d[1])
        self.params = p

    def restore_shape(self, shape4: Any) -> tuple:
        return self.restore(np.empty(tuple(shape4), dtype=np.int8)).shape


def _forward(call: _PoolCall, input: Any, return_indices: bool, out: Any) -> Any:
    x = operand(input, "input", call.op)
    x4 = call.as4d(x, "input")
    out4 = None
    if out is not None:
        expected = call.restore_shape(_C.pool2d_output_shape(x4, call.params))
        out4 = call.out4(out, expected, x)
    y, idx = _C.pool2d(x4, call.params, return_indices, out4)
    y = out if out is not None else call.restore(y)
    if idx is None:
        return y
    return y, call.restore(idx)


def _backward(call: _PoolCall, grad_output: Any, input: Any, indices: Any, out: Any) -> Array:
    x = operand(input, "input", call.op)
    g = operand(grad_output, "grad_output", call.op)
    x4 = call.as4d(x, "input")
    idx4 = None
    if indices is not None:
        idx4 = call.as4d(index_operand(indices, call.op), "indices")
    out4 = call.out4(out, x.shape, x, g)
    gx = _C.pool2d_backward(call.as4d(g, "grad_output"), x4, idx4, call.params, out4)
    return out if out is not None else call.restore(gx)


def _max_call(op: str, nd: int, input: Any, kernel_size: Any, stride: Any, padding: Any,
              dilation: Any, ceil_mode: Any, fmt: str) -> _PoolCall:
    shape = np.shape(input)
    return _PoolCall(op, nd, "max", shape, kernel_size, stride, padding, dilation, ceil_mode, fmt)


def max_pool2d(
    input: Any,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    data_format: str = "NCHW",
    out: Optional[Array] = None,
) -> Any:
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    Args:
        input: ``(N, C, H, W)`` (``(N, H, W, C)`` with ``data_format='NHWC'``) or
            unbatched ``(C, H, W)``; float32 or float64.
        kernel_size, stride (default: kernel_size), padding, dilation: int or pair.
            Padding (implicit -inf) is at most half the dilated kernel size.
        return_indices: also return the argmax indices.
        out: a C-contiguous array of the output's shape and dtype to write into.

    Returns:
        ``(N, C, Hout, Wout)`` (same layout as input), and with ``return_indices``
        also int64 indices of the same shape: each the flat index ``h * W + w``
        of the maximum within its input plane (PyTorch's convention). Ties go to
        the FIRST maximum in row-major window order; a NaN in the window gives
        NaN and the index of the window's last NaN (as PyTorch's CPU kernel).
    """
    call = _max_call("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     data_format)
    return _forward(call, input, bool(return_indices), out)


def max_pool2d_backward(
    grad_output: Any,
    input: Any,
    indices: Optional[Array],
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    *,
    data_format: str = "NCHW",
    out: Optional[Array] = None,
) -> Array:
    """Gradient of :func:`max_pool2d` for its input.

    Args:
        grad_output: shaped like max_pool2d's output.
        input, and the options: those of the forward call.
        indices: the forward's indices (int64, output-shaped), or None to
            recompute the argmax from input (same routing).

    Returns:
        grad_input shaped like input: each output's gradient added at its
        argmax (overlapping windows accumulate). An index outside its plane
        raises ValueError.
    """
    call = _max_call("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     data_format)
    return _backward(call, grad_output, input, indices, out)


def max_pool1d(
    input: Any,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    data_format: str = "NCL",
    out: Optional[Array] = None,
) -> Any:
    """1-D max pooling, as ``torch.nn.functional.max_pool1d``: input ``(N, C, L)``
    (``(N, L, C)`` with ``data_format='NLC'``) or unbatched ``(C, L)``. Indices
    are the position ``l`` of the maximum; ties and NaN as :func:`max_pool2d`."""
    call = _max_call("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     data_format)
    return _forward(call, input, bool(return_indices), out)


def max_pool1d_backward(
    grad_output: Any,
    input: Any,
    indices: Optional[Array],
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
    *,
    data_format: str = "NCL",
    out: Optional[Array] = None,
) -> Array:
    """Gradient of :func:`max_pool1d` for its input (see :func:`max_pool2d_backward`)."""
    call = _max_call("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     data_format)
    return _backward(call, grad_output, input, indices, out)


def _avg_call(op: str, nd: int, input: Any, kernel_size: Any, stride: Any, padding: Any,
              ceil_mode: Any, count_include_pad: Any, divisor_override: Any, fmt: str) -> _PoolCall:
    return _PoolCall(op, nd, "avg", np.shape(input), kernel_size, stride, padding, 1, ceil_mode,
                     fmt, count_include_pad, divisor_override)


def avg_pool2d(
    input: Any,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
    *,
    data_format: str = "NCHW",
    out: Optional[Array] = None,
) -> Array:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Each output is the window's sum (padding reads 0) divided by:
    ``divisor_override`` if given; else with ``count_include_pad`` the window's
    size clipped to the padded input (the part of a ceil_mode window past the
    padding never counts); else the number of input elements in the window.

    Args:
        input: ``(N, C, H, W)`` (``(N, H, W, C)`` with ``data_format='NHWC'``) or
            unbatched ``(C, H, W)``; float32 or float64.
        kernel_size, stride (default: kernel_size), padding (at most half the kernel): int or pair.

    Returns:
        ``(N, C, Hout, Wout)`` in the input's layout.
    """
    call = _avg_call("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, data_format)
    return _forward(call, input, False, out)


def avg_pool2d_backward(
    grad_output: Any,
    input: Any,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
    *,
    data_format: str = "NCHW",
    out: Optional[Array] = None,
) -> Array:
    """Gradient of :func:`avg_pool2d` for its input: each output's gradient
    divided by its divisor, added over its window (input only shapes it)."""
    call = _avg_call("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, data_format)
    return _backward(call, grad_output, input, None, out)


def avg_pool1d(
    input: Any,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    *,
    data_format: str = "NCL",
    out: Optional[Array] = None,
) -> Array:
    """1-D average pooling, as ``torch.nn.functional.avg_pool1d`` (divisor rules
    of :func:`avg_pool2d`); input ``(N, C, L)``, ``(N, L, C)`` (NLC) or ``(C, L)``."""
    call = _avg_call("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None, data_format)
    return _forward(call, input, False, out)


def avg_pool1d_backward(
    grad_output: Any,
    input: Any,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    padding: IntOrPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    *,
    data_format: str = "NCL",
    out: Optional[Array] = None,
) -> Array:
    """Gradient of :func:`avg_pool1d` for its input."""
    call = _avg_call("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None, data_format)
    return _backward(call, grad_output, input, None, out)


def _lp_call(op: str, nd: int, input: Any, norm_type: Any, kernel_size: Any, stride: Any,
             ceil_mode: Any, fmt: str) -> _PoolCall:
    return _PoolCall(op, nd, "lp", np.shape(input), kernel_size, stride, 0, 1, ceil_mode, fmt,
                     norm_type=norm_type)


def lp_pool2d(
    input: Any,
    norm_type: float,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    ceil_mode: bool = False,
    *,
    data_format: str = "NCHW",
    out: Optional[Array] = None,
) -> Array:
    """2-D power-average pooling, exactly ``torch.nn.functional.lp_pool2d``.

    PyTorch defines it as ``(avg_pool2d(x ** p, k, stride, 0, ceil_mode) * kh * kw) ** (1 / p)``
    with ``p = norm_type``, so:

    * a full window gives ``(sum x ** p) ** (1 / p)``;
    * a partial ceil_mode window (cut by the input's edge) is averaged over the
      elements it holds and scaled by ``kh * kw``: ``(sum x ** p * kh * kw / count) ** (1 / p)``,
      not the plain p-norm of its elements;
    * ``x ** p`` of a negative x is NaN for a non-integer p, and for odd p a
      negative window sum gives NaN (a fractional power of a negative number);
      p = 1 is the plain (scaled) sum.

    Args:
        input: ``(N, C, H, W)`` (``(N, H, W, C)`` with ``data_format='NHWC'``) or
            unbatched ``(C, H, W)``; float32 or float64.
        norm_type: p, finite and non-zero. kernel_size, stride (default: kernel_size): int or pair.

    Returns:
        ``(N, C, Hout, Wout)`` in the input's layout (no padding).
    """
    call = _lp_call("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode, data_format)
    return _forward(call, input, False, out)


def lp_pool2d_backward(
    grad_output: Any,
    input: Any,
    norm_type: float,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    ceil_mode: bool = False,
    *,
    data_format: str = "NCHW",
    out: Optional[Array] = None,
) -> Array:
    """Gradient of :func:`lp_pool2d` for its input:
    ``grad * out / sum(x ** p) * x ** (p - 1)`` summed over the windows holding x,
    and 0 from a window whose sum is 0 (no NaN)."""
    call = _lp_call("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode, data_format)
    return _backward(call, grad_output, input, None, out)


def lp_pool1d(
    input: Any,
    norm_type: float,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    ceil_mode: bool = False,
    *,
    data_format: str = "NCL",
    out: Optional[Array] = None,
) -> Array:
    """1-D power-average pooling, exactly ``torch.nn.functional.lp_pool1d``
    (definition and edge cases as :func:`lp_pool2d` with ``kh = 1``)."""
    call = _lp_call("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode, data_format)
    return _forward(call, input, False, out)


def lp_pool1d_backward(
    grad_output: Any,
    input: Any,
    norm_type: float,
    kernel_size: IntOrPair,
    stride: Optional[IntOrPair] = None,
    ceil_mode: bool = False,
    *,
    data_format: str = "NCL",
    out: Optional[Array] = None,
) -> Array:
    """Gradient of :func:`lp_pool1d` for its input (see :func:`lp_pool2d_backward`)."""
    call = _lp_call("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode, data_format)
    return _backward(call, grad_output, input, None, out)
