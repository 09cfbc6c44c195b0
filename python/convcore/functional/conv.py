"""Convolutions: conv1d, conv2d and their backward passes (and, as their
adjoints, the transposed convolutions)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .. import _C
from ..shape import conv_output_size
from ._layout import Layout
from .._args import (
    Array,
    IntOrPair,
    Padding,
    PaddingMode,
    check_out,
    in_int64,
    int_tuple,
    is_int,
    operand,
    padding_mode,
    spatial_padding,
)

__all__ = [
    "conv1d",
    "conv1d_backward",
    "conv2d",
    "conv2d_backward",
    "conv_transpose1d",
    "conv_transpose1d_backward",
    "conv_transpose2d",
    "conv_transpose2d_backward",
]

_NEEDS = ("input", "weight", "bias")


class _ConvCall(Layout):
    """One convolution call in the core's terms: 4-D arrays and ConvParams.

    `output_padding` (not None) makes it a transposed convolution, whose
    weight is (in_channels, out_channels / groups, ...). A 1-D convolution runs as a 2-D one with H = 1 and an unbatched input
    gains a batch axis of 1; `as4d` applies both to an array, `restore` undoes
    them on a result. Built from shapes alone, so `explain` needs no arrays."""

    def __init__(
        self,
        op: str,
        nd: int,
        x_shape: tuple,
        w_shape: tuple,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: Any,
        mode: Any,
        fmt: str,
        output_padding: Any = None,
    ) -> None:
        super().__init__(op, nd, x_shape, fmt)
        self.transposed = output_padding is not None
        self.core = "conv_transpose2d" if self.transposed else "conv2d"
        if len(w_shape) != nd + 2:
            kernel = "kH, kW" if nd == 2 else "kL"
            channels = ("in_channels, out_channels/groups" if self.transposed
                        else "out_channels, in_channels/groups")
            raise ValueError(
                f"{op}: expected weight to be {nd + 2}-D ({channels}, "
                f"{kernel}), got a {len(w_shape)}-D array of shape {tuple(w_shape)}"
            )
        if not is_int(groups):
            raise TypeError(f"{op}: groups must be an int, got {groups!r}")
        in_int64((groups,), "groups", op)
        s = int_tuple(stride, nd, "stride", op)
        d = int_tuple(dilation, nd, "dilation", op)
        if self.transposed and isinstance(padding, str):
            raise TypeError(f"{op}: padding must be an int or a tuple of ints, got {padding!r}")
        pads = spatial_padding(padding, self.spatial, w_shape[2:], s, d, op)
        core_mode, value = padding_mode(mode, op)
        out_pad = int_tuple(output_padding, nd, "output_padding", op) if self.transposed else (0,) * nd

        p = _C.ConvParams()
        p.op, p.spatial_dims, p.groups, p.nhwc = op, nd, int(groups), self.nhwc
        p.pad_mode, p.pad_value = core_mode, value
        if nd == 1:
            p.stride, p.dilation, p.pad = (1, s[0]), (1, d[0]), (0, 0) + pads
            p.output_padding = (0, out_pad[0])
        else:
            p.stride, p.dilation, p.pad, p.output_padding = s, d, pads, out_pad
        self.params = p

    def weight4d(self, w: Any) -> Any:
        if self.nd == 1 and w.ndim == 3:
            return w.reshape(tuple(w.shape[:2]) + (1,) + tuple(w.shape[2:]))
        return w

    def output_shape(self, x_shape: tuple, w_shape: tuple) -> tuple:
        """The output shape in the caller's layout and rank."""
        p, nd = self.params, self.nd
        sizes = x_shape[-nd - 1:-1] if self.nhwc else x_shape[-nd:]
        axes = zip(sizes, w_shape[2:], p.stride[2 - nd:], p.dilation[2 - nd:],
                   p.pad[4 - 2 * nd::2], p.pad[5 - 2 * nd::2], p.output_padding[2 - nd:])
        if self.transposed:
            spatial = tuple((n - 1) * s - lo - hi + d * (k - 1) + op + 1
                            for n, k, s, d, lo, hi, op in axes)
            channels = w_shape[1] * p.groups
        else:
            spatial = tuple(conv_output_size(n, k, s, (lo, hi), d)
                            for n, k, s, d, lo, hi, _ in axes)
            channels = w_shape[0]
        core = spatial + (channels,) if self.nhwc else (channels,) + spatial
        return core if self.unbatched else (x_shape[0],) + core

    def out_view(self, out: Optional[Array], name: str, what: str, inputs: tuple,
                 expected: tuple, weight: bool = False) -> Any:
        """The core's view of a caller's out= array for result `what`, after
        checking it in the caller's own shapes."""
        if out is None:
            return None
        check_out(out, self.op, name, *inputs)
        if out.ndim != len(expected):
            raise ValueError(
                f"{self.op}: {name} has {out.ndim} dimensions (shape {out.shape}); "
                f"expected {len(expected)}"
            )
        if out.shape != tuple(expected) and out.dtype in (np.float32, np.float64):
            raise ValueError(
                f"{self.op}: out ({what}) has shape {out.shape}, expected {tuple(expected)}"
            )
        if not out.flags.c_contiguous:
            raise ValueError(f"{self.op}: {name} must be C-contiguous")
        return self.weight4d(out) if weight else self.as4d(out, name)

    def restore_weight(self, arr: Any) -> Any:
        return arr.reshape(tuple(arr.shape[:2]) + tuple(arr.shape[3:])) if self.nd == 1 else arr


def _forward(
    op: str, nd: int, input: Any, weight: Any, bias: Any, stride: Any, padding: Any,
    dilation: Any, groups: Any, mode: Any, fmt: str, algorithm: Optional[str], out: Any,
    output_padding: Any = None,
) -> Array:
    x, w = operand(input, "input", op), operand(weight, "weight", op)
    b = None if bias is None else operand(bias, "bias", op)
    call = _ConvCall(op, nd, x.shape, w.shape, stride, padding, dilation, groups, mode, fmt,
                     output_padding)
    x4, w4 = call.as4d(x, "input"), call.weight4d(w)
    out4 = None
    if out is not None:  # out is checked in the caller's shapes, after the core's checks
        getattr(_C, "check_" + call.core)(x4, w4, b, call.params)
        out4 = call.out_view(out, "out", "output", (x, w, b), call.output_shape(x.shape, w.shape))
    y = getattr(_C, call.core)(x4, w4, b, call.params, algorithm, out4)
    return out if out is not None else call.restore(y)


def _backward(
    op: str, nd: int, grad_output: Any, input: Any, weight: Any, stride: Any, padding: Any,
    dilation: Any, groups: Any, mode: Any, fmt: str, needs: Sequence[str],
    algorithm: Optional[str], out: Any, output_padding: Any = None,
) -> tuple[Optional[Array], Optional[Array], Optional[Array]]:
    if isinstance(needs, str) or not all(n in _NEEDS for n in needs):
        raise ValueError(f"{op}_backward: needs must be a subset of {_NEEDS}, got {needs!r}")
    x, w = operand(input, "input", op), operand(weight, "weight", op)
    g = operand(grad_output, "grad_output", op)
    call = _ConvCall(op, nd, x.shape, w.shape, stride, padding, dilation, groups, mode, fmt,
                     output_padding)
    outs = (None, None, None) if out is None else tuple(out)
    if len(outs) != 3:
        raise ValueError(f"{op}_backward: out must be a tuple (grad_input, grad_weight, grad_bias)")
    inputs = (x, w, g)
    x4, w4 = call.as4d(x, "input"), call.weight4d(w)
    if out is not None:  # out is checked in the caller's shapes, after the core's checks
        getattr(_C, "check_" + call.core)(x4, w4, None, call.params)
    check_out(outs[2], op, "out[2]", *inputs)
    gx, gw, gb = getattr(_C, call.core + "_backward")(
        call.as4d(g, "grad_output"), x4, w4, call.params,
        "input" in needs, "weight" in needs, "bias" in needs, algorithm,
        call.out_view(outs[0], "out[0]", "grad_input", inputs, x.shape),
        call.out_view(outs[1], "out[1]", "grad_weight", inputs, w.shape, weight=True),
        outs[2],
    )
    return (
        None if gx is None else (outs[0] if outs[0] is not None else call.restore(gx)),
        None if gw is None else (outs[1] if outs[1] is not None else call.restore_weight(gw)),
        gb,
    )


def conv2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrPair = 1,
    padding: Padding = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    data_format: str = "NCHW",
    *,
    algorithm: Optional[str] = None,
    out: Optional[Array] = None,
) -> Array:
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    Args:
        input: ``(N, Cin, H, W)`` (or ``(N, H, W, Cin)`` with ``data_format='NHWC'``),
            float32 or float64; ``(Cin, H, W)`` for one unbatched image.
        weight: ``(Cout, Cin / groups, kH, kW)``, same dtype.
        bias: ``(Cout,)`` or None.
        stride, dilation: int or ``(sH, sW)``.
        padding: int, ``(pH, pW)``, ``(top, bottom, left, right)``, ``'valid'``,
            ``'same'`` (output ``ceil(H / sH)``; an odd total puts the extra row or
            column at the bottom or right, as TensorFlow does; any stride and
            dilation) or ``'full'`` (``dilation * (k - 1)`` on each side).
        groups: ``Cin`` and ``Cout`` must both divide by it; ``groups == Cin`` with
            ``Cout = m * Cin`` is depthwise with channel multiplier m.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` (``'edge'``),
            ``'circular'`` (``'wrap'``), ``'symmetric'`` or ``('constant', value)``.
        algorithm: force ``'im2col_gemm'``, ``'gemm_1x1'`` or ``'depthwise_direct'``
            (see :func:`convcore.explain`); None lets the dispatcher choose.
        out: a C-contiguous array of the output's shape and dtype to write into.

    Returns:
        ``(N, Cout, Hout, Wout)`` (NHWC: ``(N, Hout, Wout, Cout)``) with
        ``Hout = floor((H + top + bottom - dilation * (kH - 1) - 1) / sH) + 1``.
    """
    return _forward("conv2d", 2, input, weight, bias, stride, padding, dilation, groups,
                    padding_mode, data_format, algorithm, out)


def conv2d_backward(
    grad_output: Any,
    input: Any,
    weight: Any,
    stride: IntOrPair = 1,
    padding: Padding = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    data_format: str = "NCHW",
    needs: Sequence[str] = ("input", "weight", "bias"),
    *,
    algorithm: Optional[str] = None,
    out: Optional[tuple] = None,
) -> tuple[Optional[Array], Optional[Array], Optional[Array]]:
    """Gradients of :func:`conv2d` with respect to its input, weight and bias.

    Args:
        grad_output: gradient of the loss for conv2d's output, shaped like it.
        input, weight, and the options: exactly those of the forward call.
        needs: which of ``'input'``, ``'weight'``, ``'bias'`` to compute.
        out: optional ``(grad_input, grad_weight, grad_bias)`` arrays (None entries
            are allocated).

    Returns:
        ``(grad_input, grad_weight, grad_bias)`` shaped like input, weight and
        ``(Cout,)``, with None for those not in ``needs``. Padding modes that read
        a pixel twice (reflect, replicate, circular, symmetric) give that pixel the
        sum of its shares; constant padding gets no gradient.
    """
    return _backward("conv2d", 2, grad_output, input, weight, stride, padding, dilation, groups,
                     padding_mode, data_format, needs, algorithm, out)


def conv1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrPair = 1,
    padding: Padding = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    data_format: str = "NCL",
    *,
    algorithm: Optional[str] = None,
    out: Optional[Array] = None,
) -> Array:
    """1-D cross-correlation, as ``torch.nn.functional.conv1d``.

    ``input`` is ``(N, Cin, L)`` (``data_format='NLC'``: ``(N, L, Cin)``), weight
    ``(Cout, Cin / groups, k)``; padding is an int, ``(p,)``, ``(left, right)`` or
    one of the strings of :func:`conv2d`, and every other option means what it
    means there. Returns ``(N, Cout, Lout)`` (or ``(N, Lout, Cout)``).
    """
    return _forward("conv1d", 1, input, weight, bias, stride, padding, dilation, groups,
                    padding_mode, data_format, algorithm, out)


def conv1d_backward(
    grad_output: Any,
    input: Any,
    weight: Any,
    stride: IntOrPair = 1,
    padding: Padding = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    data_format: str = "NCL",
    needs: Sequence[str] = ("input", "weight", "bias"),
    *,
    algorithm: Optional[str] = None,
    out: Optional[tuple] = None,
) -> tuple[Optional[Array], Optional[Array], Optional[Array]]:
    """Gradients of :func:`conv1d`; arguments and results as :func:`conv2d_backward`."""
    return _backward("conv1d", 1, grad_output, input, weight, stride, padding, dilation, groups,
                     padding_mode, data_format, needs, algorithm, out)


def _transposed_backward(
    op: str, nd: int, grad_output: Any, input: Any, weight: Any, bias: Any, stride: Any,
    padding: Any, output_padding: Any, groups: Any, dilation: Any, fmt: str,
    needs: Sequence[str], algorithm: Optional[str], out: Any,
) -> tuple[Optional[Array], Optional[Array], Optional[Array]]:
    if bias is not None:
        operand(bias, "bias", op)
    elif not isinstance(needs, str):
        needs = tuple(n for n in needs if n != "bias")
    return _backward(op, nd, grad_output, input, weight, stride, padding, dilation, groups,
                     "zeros", fmt, needs, algorithm, out, output_padding)


def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    groups: int = 1,
    dilation: IntOrPair = 1,
    *,
    data_format: str = "NCHW",
    algorithm: Optional[str] = None,
    out: Optional[Array] = None,
) -> Array:
    """2-D transposed convolution ("deconvolution"), as
    ``torch.nn.functional.conv_transpose2d``: the adjoint of :func:`conv2d`, so
    ``<conv2d(x, w), y> == <x, conv_transpose2d(y, w)>``.

    Args:
        input: ``(N, Cin, H, W)`` (``data_format='NHWC'``: ``(N, H, W, Cin)``) or
            ``(Cin, H, W)`` unbatched.
        weight: ``(Cin, Cout / groups, kH, kW)``, as PyTorch.
        bias: ``(Cout,)`` or None.
        stride, dilation: int or ``(sH, sW)``.
        padding: int, ``(pH, pW)`` or ``(top, bottom, left, right)``: rows and
            columns removed from each side of the full output.
        output_padding: int or pair added to the bottom and right of the output
            (to choose among the input sizes a strided conv2d maps to the same
            output size); each must be smaller than the stride or the dilation.
        groups: ``Cin`` and ``Cout`` must both divide by it.
        algorithm: the conv algorithm of the pass that runs (the transposed
            forward is conv2d's backward-input pass): see :func:`convcore.explain`.
        out: a C-contiguous array of the output's shape and dtype to write into.

    Returns:
        ``(N, Cout, Hout, Wout)`` with ``Hout = (H - 1) * sH - top - bottom +
        dilation * (kH - 1) + output_padding + 1``.
    """
    return _forward("conv_transpose2d", 2, input, weight, bias, stride, padding, dilation,
                    groups, "zeros", data_format, algorithm, out, output_padding)


def conv_transpose2d_backward(
    grad_output: Any,
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    groups: int = 1,
    dilation: IntOrPair = 1,
    *,
    data_format: str = "NCHW",
    needs: Sequence[str] = ("input", "weight", "bias"),
    algorithm: Optional[str] = None,
    out: Optional[tuple] = None,
) -> tuple[Optional[Array], Optional[Array], Optional[Array]]:
    """Gradients of :func:`conv_transpose2d` for its input, weight and bias.

    Arguments are the forward call's; ``needs`` and ``out`` as in
    :func:`conv2d_backward`. Returns ``(grad_input, grad_weight, grad_bias)``
    shaped like input, weight and ``(Cout,)``; grad_bias is None when bias is
    None, and each is None when not in ``needs``.
    """
    return _transposed_backward("conv_transpose2d", 2, grad_output, input, weight, bias, stride,
                                padding, output_padding, groups, dilation, data_format, needs,
                                algorithm, out)


def conv_transpose1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    groups: int = 1,
    dilation: IntOrPair = 1,
    *,
    data_format: str = "NCL",
    algorithm: Optional[str] = None,
    out: Optional[Array] = None,
) -> Array:
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``:
    input ``(N, Cin, L)`` (``'NLC'``: ``(N, L, Cin)``), weight ``(Cin, Cout / groups, k)``,
    result ``(N, Cout, (L - 1) * stride - left - right + dilation * (k - 1) +
    output_padding + 1)``; options as :func:`conv_transpose2d`."""
    return _forward("conv_transpose1d", 1, input, weight, bias, stride, padding, dilation,
                    groups, "zeros", data_format, algorithm, out, output_padding)


def conv_transpose1d_backward(
    grad_output: Any,
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    groups: int = 1,
    dilation: IntOrPair = 1,
    *,
    data_format: str = "NCL",
    needs: Sequence[str] = ("input", "weight", "bias"),
    algorithm: Optional[str] = None,
    out: Optional[tuple] = None,
) -> tuple[Optional[Array], Optional[Array], Optional[Array]]:
    """Gradients of :func:`conv_transpose1d`; as :func:`conv_transpose2d_backward`."""
    return _transposed_backward("conv_transpose1d", 1, grad_output, input, weight, bias, stride,
                                padding, output_padding, groups, dilation, data_format, needs,
                                algorithm, out)
