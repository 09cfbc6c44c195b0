"""Pooling whose windows follow the output size: adaptive average / max
pooling (1-D and 2-D), global pooling, spatial pyramid pooling (SPP-net) and
ROI pooling (Fast R-CNN, torchvision.ops.roi_pool), plus max unpooling
(DeconvNet), each with its backward pass.

Layouts: 2-D ops take ``(N, C, H, W)`` (``data_format='NHWC'``: ``(N, H, W,
C)``), 1-D ops ``(N, C, L)`` (``'NLC'``: ``(N, L, C)``); an input without the
batch axis is one unbatched sample, as in PyTorch (except roi_pool, which
needs the batch axis its boxes index). ``out=`` takes a C-contiguous array of
the result's exact shape and dtype.

Indices (adaptive max pooling, unpooling) are int64 flat positions ``h * W +
w`` within a channel's plane (``l`` for 1-D), as torch's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _C
from .._args import Array, IntOrPair, check_out, in_int64, int_tuple, is_int, operand
from ._layout import Layout, index_operand

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool1d_backward",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool2d_backward",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_backward",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_backward",
    "global_avg_pool2d",
    "global_avg_pool2d_backward",
    "global_max_pool2d",
    "global_max_pool2d_backward",
    "max_unpool1d",
    "max_unpool1d_backward",
    "max_unpool2d",
    "max_unpool2d_backward",
    "roi_pool",
    "roi_pool_backward",
    "spatial_pyramid_pool2d",
    "spatial_pyramid_pool2d_backward",
]

OutputSize = int | None | Sequence[int | None]
def _core_size(lay: Layout, size: Sequence[int]) -> tuple[int, int]:
    return (1, int(size[0])) if lay.nd == 1 else (int(size[0]), int(size[1]))


def _output_size(size: OutputSize, layout: Layout) -> tuple[int, ...]:
    """An int, or a tuple of nd ints or None (None keeps that input size)."""
    nd, op = layout.nd, layout.op
    if is_int(size):
        vals: list = [size] * nd
    elif isinstance(size, (tuple, list)) and len(size) == nd:
        vals = list(size)
    else:
        raise TypeError(
            f"{op}: output_size must be an int or a sequence of {nd} ints or None, got {size!r}"
        )
    for i, v in enumerate(vals):
        if v is None:
            vals[i] = layout.spatial[i]
        elif not is_int(v):
            raise TypeError(f"{op}: output_size must hold ints or None, got {size!r}")
    return in_int64(vals, "output_size", op)


def _adaptive(op: str, nd: int, mode: str, input: Any, output_size: OutputSize,
              return_indices: bool, fmt: str, out: Any) -> Any:
    x = operand(input, "input", op)
    lay = Layout(op, nd, x.shape, fmt)
    size = _output_size(output_size, lay)
    out4 = lay.out4(out, lay.shape(x.shape[0], size), x)
    r = _C.adaptive_pool2d(op, lay.as4d(x, "input"), _core_size(lay, size), mode, lay.nhwc,
                           return_indices, out4)
    if return_indices:
        y, ind = r
        return (out if out is not None else lay.restore(y)), lay.restore(ind)
    return out if out is not None else lay.restore(r)


def _adaptive_backward(op: str, nd: int, mode: str, grad_output: Any, input: Any,
                       indices: Any, output_size: OutputSize, fmt: str, out: Any) -> Array:
    x = operand(input, "input", op)
    g = operand(grad_output, "grad_output", op)
    lay = Layout(op, nd, x.shape, fmt)
    size = _output_size(output_size, lay)
    ind = None if indices is None else lay.as4d(index_operand(indices, op), "indices")
    out4 = lay.out4(out, x.shape, x, g)
    gx = _C.adaptive_pool2d_backward(op, lay.as4d(g, "grad_output"), lay.as4d(x, "input"), ind,
                                     _core_size(lay, size), mode, lay.nhwc, out4)
    return out if out is not None else lay.restore(gx)


def adaptive_avg_pool2d(input: Any, output_size: OutputSize, *, data_format: str = "NCHW",
                        out: Array | None = None) -> Array:
    """Adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)`` (NHWC: ``(N, H, W, C)``), float32/64.
        output_size: ``Ho`` for a square output, or ``(Ho, Wo)`` whose entries
            may be None (keep that input size).

    Returns:
        ``(N, C, Ho, Wo)``: bin ``(i, j)`` averages rows ``floor(i * H / Ho)`` to
        ``ceil((i + 1) * H / Ho)`` (exclusive) and likewise columns.
    """
    return _adaptive("adaptive_avg_pool2d", 2, "avg", input, output_size, False, data_format, out)


def adaptive_max_pool2d(input: Any, output_size: OutputSize, return_indices: bool = False, *,
                        data_format: str = "NCHW", out: Array | None = None) -> Any:
    """Adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool2d``; the
    bins are those of :func:`adaptive_avg_pool2d`.

    Returns ``(N, C, Ho, Wo)``, and with ``return_indices`` also the int64 flat
    position ``h * W + w`` of each maximum in its plane (ties: the first in
    row-major order; a NaN wins, the last NaN if several, as in PyTorch).
    """
    return _adaptive("adaptive_max_pool2d", 2, "max", input, output_size, return_indices,
                     data_format, out)


def adaptive_avg_pool1d(input: Any, output_size: int | Sequence[int], *,
                        data_format: str = "NCL", out: Array | None = None) -> Array:
    """1-D :func:`adaptive_avg_pool2d`: ``(N, C, L)`` -> ``(N, C, Lo)``."""
    return _adaptive("adaptive_avg_pool1d", 1, "avg", input, output_size, False, data_format, out)


def adaptive_max_pool1d(input: Any, output_size: int | Sequence[int],
                        return_indices: bool = False, *, data_format: str = "NCL",
                        out: Array | None = None) -> Any:
    """1-D :func:`adaptive_max_pool2d`: ``(N, C, L)`` -> ``(N, C, Lo)`` (indices: l)."""
    return _adaptive("adaptive_max_pool1d", 1, "max", input, output_size, return_indices,
                     data_format, out)


def adaptive_avg_pool2d_backward(grad_output: Any, input: Any, output_size: OutputSize, *,
                                 data_format: str = "NCHW",
                                 out: Array | None = None) -> Array:
    """Gradient of :func:`adaptive_avg_pool2d` for its input: each output's
    gradient spread evenly over its bin (overlapping bins add up)."""
    return _adaptive_backward("adaptive_avg_pool2d", 2, "avg", grad_output, input, None,
                              output_size, data_format, out)


def adaptive_max_pool2d_backward(grad_output: Any, input: Any, indices: Any | None,
                                 output_size: OutputSize, *, data_format: str = "NCHW",
                                 out: Array | None = None) -> Array:
    """Gradient of :func:`adaptive_max_pool2d` for its input: each output's
    gradient goes to its maximum, taken from ``indices`` (the forward's) or,
    when None, recomputed from ``input``. An index outside the plane raises
    ValueError naming it."""
    return _adaptive_backward("adaptive_max_pool2d", 2, "max", grad_output, input, indices,
                              output_size, data_format, out)


def adaptive_avg_pool1d_backward(grad_output: Any, input: Any,
                                 output_size: int | Sequence[int], *,
                                 data_format: str = "NCL",
                                 out: Array | None = None) -> Array:
    """Gradient of :func:`adaptive_avg_pool1d` for its input."""
    return _adaptive_backward("adaptive_avg_pool1d", 1, "avg", grad_output, input, None,
                              output_size, data_format, out)


def adaptive_max_pool1d_backward(grad_output: Any, input: Any, indices: Any | None,
                                 output_size: int | Sequence[int], *,
                                 data_format: str = "NCL",
                                 out: Array | None = None) -> Array:
    """Gradient of :func:`adaptive_max_pool1d` for its input (indices may be None)."""
    return _adaptive_backward("adaptive_max_pool1d", 1, "max", grad_output, input, indices,
                              output_size, data_format, out)


def _global_shape(lay: Layout, batch: int, keepdim: bool) -> tuple:
    return lay.shape(batch, (1, 1)) if keepdim else (lay.channels,) if lay.unbatched else (
        batch, lay.channels)


def _global(op: str, mode: str, input: Any, keepdim: bool, fmt: str, out: Any) -> Array:
    x = operand(input, "input", op)
    lay = Layout(op, 2, x.shape, fmt)
    want = _global_shape(lay, x.shape[0], keepdim)
    out4 = None
    if out is not None:
        check_out(out, op, "out", x)
        if out.shape != want or not out.flags.c_contiguous:
            raise ValueError(f"{op}: out must be C-contiguous with shape {want}, got {out.shape}")
        out4 = lay.as4d(out.reshape(lay.shape(x.shape[0], (1, 1))), "out")
    y = _C.adaptive_pool2d(op, lay.as4d(x, "input"), (1, 1), mode, lay.nhwc, False, out4)
    return out if out is not None else y.reshape(want)


def _global_backward(op: str, mode: str, grad_output: Any, input: Any, keepdim: bool, fmt: str,
                     out: Any) -> Array:
    x = operand(input, "input", op)
    g = operand(grad_output, "grad_output", op)
    lay = Layout(op, 2, x.shape, fmt)
    want = _global_shape(lay, x.shape[0], keepdim)
    if g.shape != want:
        raise ValueError(f"{op}: grad_output has shape {g.shape}, expected {want}")
    g4 = lay.as4d(g.reshape(lay.shape(x.shape[0], (1, 1))), "grad_output")
    out4 = lay.out4(out, x.shape, x, g)
    gx = _C.adaptive_pool2d_backward(op, g4, lay.as4d(x, "input"), None, (1, 1), mode, lay.nhwc,
                                     out4)
    return out if out is not None else lay.restore(gx)


def global_avg_pool2d(input: Any, keepdim: bool = False, *, data_format: str = "NCHW",
                      out: Array | None = None) -> Array:
    """Mean of each channel's plane: ``(N, C, H, W)`` -> ``(N, C)``; with
    ``keepdim`` ``(N, C, 1, 1)`` (NHWC: ``(N, 1, 1, C)``). Unbatched: ``(C,)``."""
    return _global("global_avg_pool2d", "avg", input, keepdim, data_format, out)


def global_max_pool2d(input: Any, keepdim: bool = False, *, data_format: str = "NCHW",
                      out: Array | None = None) -> Array:
    """Maximum of each channel's plane; shapes as :func:`global_avg_pool2d`."""
    return _global("global_max_pool2d", "max", input, keepdim, data_format, out)


def global_avg_pool2d_backward(grad_output: Any, input: Any, keepdim: bool = False, *,
                               data_format: str = "NCHW",
                               out: Array | None = None) -> Array:
    """Gradient of :func:`global_avg_pool2d`: ``grad_output / (H * W)`` everywhere."""
    return _global_backward("global_avg_pool2d", "avg", grad_output, input, keepdim, data_format,
                            out)


def global_max_pool2d_backward(grad_output: Any, input: Any, keepdim: bool = False, *,
                               data_format: str = "NCHW",
                               out: Array | None = None) -> Array:
    """Gradient of :func:`global_max_pool2d`: all of it at each plane's first maximum."""
    return _global_backward("global_max_pool2d", "max", grad_output, input, keepdim, data_format,
                            out)


def _unpool_args(lay: Layout, kernel_size: Any, stride: Any, padding: Any,
                 output_size: Any) -> tuple:
    op, nd = lay.op, lay.nd
    k = int_tuple(kernel_size, nd, "kernel_size", op)
    s = k if stride is None else int_tuple(stride, nd, "stride", op)
    p = int_tuple(padding, nd, "padding", op)
    size = None
    if output_size is not None:
        sz = tuple(output_size) if isinstance(output_size, (tuple, list)) else None
        if sz is None or not all(is_int(v) for v in sz) or len(sz) not in (nd, nd + 1, nd + 2):
            raise ValueError(
                f"{op}: output_size must be a sequence of {nd} ints (the output's spatial size) "
                f"or the output's full shape, got {output_size!r}"
            )
        if len(sz) > nd:  # the full shape (as torch accepts): keep its spatial entries
            sz = sz[-nd - 1:-1] if lay.nhwc else sz[-nd:]
        size = list(in_int64(sz, "output_size", op))
        if nd == 1:
            size = [1] + size
    if nd == 1:
        return (1, k[0]), (1, s[0]), (0, p[0]), size
    return k, s, p, size


def _unpool(op: str, nd: int, input: Any, indices: Any, kernel_size: Any, stride: Any,
            padding: Any, output_size: Any, fmt: str, out: Any) -> Array:
    x = operand(input, "input", op)
    ind = index_operand(indices, op)
    lay = Layout(op, nd, x.shape, fmt)
    k, s, p, size = _unpool_args(lay, kernel_size, stride, padding, output_size)
    x4 = lay.as4d(x, "input")
    if ind.shape != x.shape:
        raise ValueError(f"{op}: indices has shape {ind.shape}, expected input's {x.shape}")
    out4 = None
    if out is not None:
        h, w = (x4.shape[1:3] if lay.nhwc else x4.shape[2:])
        plane = _C.unpool_output_size(op, k, s, p, h, w, size)
        out4 = lay.out4(out, lay.shape(x.shape[0], plane[2 - nd:]), x)
    y = _C.max_unpool2d(op, x4, lay.as4d(ind, "indices"), k, s, p, size, lay.nhwc, out4)
    return out if out is not None else lay.restore(y)


def _unpool_backward(op: str, nd: int, grad_output: Any, input: Any, indices: Any,
                     kernel_size: Any, stride: Any, padding: Any, output_size: Any, fmt: str,
                     out: Any) -> Array:
    x = operand(input, "input", op)
    g = operand(grad_output, "grad_output", op)
    ind = index_operand(indices, op)
    lay = Layout(op, nd, x.shape, fmt)
    k, s, p, size = _unpool_args(lay, kernel_size, stride, padding, output_size)
    if ind.shape != x.shape:
        raise ValueError(f"{op}: indices has shape {ind.shape}, expected input's {x.shape}")
    out4 = lay.out4(out, x.shape, x, g)
    gx = _C.max_unpool2d_backward(op, lay.as4d(g, "grad_output"), lay.as4d(x, "input"),
                                  lay.as4d(ind, "indices"), k, s, p, size, lay.nhwc, out4)
    return out if out is not None else lay.restore(gx)


def max_unpool2d(input: Any, indices: Any, kernel_size: IntOrPair,
                 stride: IntOrPair | None = None, padding: IntOrPair = 0,
                 output_size: Sequence[int] | None = None, *, data_format: str = "NCHW",
                 out: Array | None = None) -> Array:
    """Partial inverse of max_pool2d, as ``torch.nn.functional.max_unpool2d``.

    Args:
        input: the pooled ``(N, C, H, W)`` (or unbatched / NHWC).
        indices: int64, input's shape: flat positions ``h * Wo + w`` in the
            output plane (max_pool2d's ``return_indices``).
        kernel_size, stride (default kernel_size), padding: the pooling's.
        output_size: ``(Ho, Wo)`` or the full output shape; default
            ``(H - 1) * stride - 2 * padding + kernel_size`` per axis, and a given
            size must lie strictly within ``stride`` of it.

    Returns:
        ``(N, C, Ho, Wo)``: zero except each input value at its index. When
        indices repeat, the last in row-major scan order of the input plane wins.
        An index outside ``[0, Ho * Wo)`` raises ValueError naming it.
    """
    return _unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size,
                   data_format, out)


def max_unpool1d(input: Any, indices: Any, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] | None = None,
                 padding: int | Sequence[int] = 0,
                 output_size: Sequence[int] | None = None, *, data_format: str = "NCL",
                 out: Array | None = None) -> Array:
    """1-D :func:`max_unpool2d`: ``(N, C, L)`` -> ``(N, C, Lo)``."""
    return _unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size,
                   data_format, out)


def max_unpool2d_backward(grad_output: Any, input: Any, indices: Any, kernel_size: IntOrPair,
                          stride: IntOrPair | None = None, padding: IntOrPair = 0,
                          output_size: Sequence[int] | None = None, *,
                          data_format: str = "NCHW",
                          out: Array | None = None) -> Array:
    """Gradient of :func:`max_unpool2d` for its input: ``grad_output`` gathered
    at ``indices`` (every input position gathers, duplicates included)."""
    return _unpool_backward("max_unpool2d", 2, grad_output, input, indices, kernel_size, stride,
                            padding, output_size, data_format, out)


def max_unpool1d_backward(grad_output: Any, input: Any, indices: Any,
                          kernel_size: int | Sequence[int],
                          stride: int | Sequence[int] | None = None,
                          padding: int | Sequence[int] = 0,
                          output_size: Sequence[int] | None = None, *,
                          data_format: str = "NCL",
                          out: Array | None = None) -> Array:
    """Gradient of :func:`max_unpool1d` for its input."""
    return _unpool_backward("max_unpool1d", 1, grad_output, input, indices, kernel_size, stride,
                            padding, output_size, data_format, out)


def _levels(levels: Any, op: str) -> list[int]:
    if not isinstance(levels, (tuple, list)) or not all(is_int(v) for v in levels):
        raise TypeError(f"{op}: levels must be a sequence of ints, got {levels!r}")
    return list(in_int64(levels, "levels", op))


def _add_batch(arr: Any) -> Any:
    """arr with a leading axis of 1: a view on the host, a reshape on a GPU."""
    return arr[None] if isinstance(arr, np.ndarray) else arr.reshape((1,) + tuple(arr.shape))


def _drop_batch(arr: Any) -> Any:
    """The one item of a batch of 1, on the host or a GPU."""
    return arr[0] if isinstance(arr, np.ndarray) else arr.reshape(tuple(arr.shape[1:]))


def _spp_vector(lay: Layout, arr: Any) -> Any:
    return None if arr is None else _add_batch(arr) if lay.unbatched else arr


def spatial_pyramid_pool2d(input: Any, levels: Sequence[int] = (1, 2, 4), mode: str = "max", *,
                           data_format: str = "NCHW", return_indices: bool = False,
                           out: Array | None = None) -> Any:
    """Spatial pyramid pooling (SPP-net): a fixed-length vector from any input size.

    For each level ``l`` in order, adaptive ``mode`` ('max' or 'avg') pooling to
    ``l x l``, flattened ``(C, l, l)`` (channel-major whatever the data_format),
    concatenated: ``(N, C, H, W)`` -> ``(N, C * sum(l * l))`` (unbatched:
    ``(C * sum(l * l),)``). With ``return_indices`` (mode 'max') also each
    maximum's int64 flat position ``h * W + w`` in its plane, same shape, which
    :func:`spatial_pyramid_pool2d_backward` accepts to skip recomputing them.
    """
    op = "spatial_pyramid_pool2d"
    x = operand(input, "input", op)
    lay = Layout(op, 2, x.shape, data_format)
    lv = _levels(levels, op)
    if out is not None:
        check_out(out, op, "out", x)
    r = _C.spatial_pyramid_pool2d(op, lay.as4d(x, "input"), lv, mode, lay.nhwc,
                                  bool(return_indices), _spp_vector(lay, out))
    y, ind = r if return_indices else (r, None)
    y = out if out is not None else (_drop_batch(y) if lay.unbatched else y)
    if ind is None:
        return y
    return y, (_drop_batch(ind) if lay.unbatched else ind)


def spatial_pyramid_pool2d_backward(grad_output: Any, input: Any,
                                    levels: Sequence[int] = (1, 2, 4), mode: str = "max", *,
                                    data_format: str = "NCHW", indices: Any = None,
                                    out: Array | None = None) -> Array:
    """Gradient of :func:`spatial_pyramid_pool2d` for its input (the levels' sum).

    ``indices``: the forward's (``return_indices=True``, mode 'max'), or None to
    recompute the maxima from ``input``."""
    op = "spatial_pyramid_pool2d"
    x = operand(input, "input", op)
    g = operand(grad_output, "grad_output", op)
    lay = Layout(op, 2, x.shape, data_format)
    lv = _levels(levels, op)
    ind = None if indices is None else index_operand(indices, op)
    out4 = lay.out4(out, x.shape, x, g)
    gx = _C.spatial_pyramid_pool2d_backward(op, _add_batch(g) if lay.unbatched else g,
                                            lay.as4d(x, "input"), lv,
                                            mode, lay.nhwc, _spp_vector(lay, ind), out4)
    return out if out is not None else lay.restore(gx)


def _roi_args(op: str, input: Any, boxes: Any, output_size: Any, spatial_scale: Any,
              fmt: str) -> tuple:
    x = operand(input, "input", op)
    b = operand(boxes, "boxes", op)
    lay = Layout(op, 2, x.shape, fmt, batched_only=True)
    size = int_tuple(output_size, 2, "output_size", op)
    if isinstance(spatial_scale, bool) or not isinstance(spatial_scale, (int, float, np.number)):
        raise TypeError(f"{op}: spatial_scale must be a number, got {spatial_scale!r}")
    return x, b, lay, size, float(spatial_scale)


def roi_pool(input: Any, boxes: Any, output_size: IntOrPair, spatial_scale: float = 1.0, *,
             data_format: str = "NCHW", out: Array | None = None) -> Array:
    """ROI max pooling, as ``torchvision.ops.roi_pool`` (Fast R-CNN).

    Args:
        input: ``(N, C, H, W)`` (NHWC: ``(N, H, W, C)``).
        boxes: ``(K, 5)`` rows ``(batch_index, x1, y1, x2, y2)`` in image
            coordinates, input's dtype; batch indices integer-valued in ``[0, N)``.
        output_size: ``ph`` or ``(ph, pw)``.
        spatial_scale: image -> feature-map scale (e.g. 1/16), positive.

    Returns:
        ``(K, C, ph, pw)`` (NHWC: ``(K, ph, pw, C)``). Along each axis the box
        spans ``round(x1 * scale)`` to ``round(x2 * scale)`` inclusive (at least 1
        pixel), cut into bins ``[floor(i * bin), ceil((i + 1) * bin))`` with
        ``bin = size / pooled``, clipped to the map; an empty bin gives 0 (and no
        gradient). Ties: the first maximum. Unlike torchvision, whose running max
        starts at -FLT_MAX, a NaN propagates and an all -inf bin gives -inf.
    """
    op = "roi_pool"
    x, b, lay, size, scale = _roi_args(op, input, boxes, output_size, spatial_scale, data_format)
    if out is not None:
        check_out(out, op, "out", x, b)
    y = _C.roi_pool(op, x, b, size, scale, lay.nhwc, out)
    return out if out is not None else y


def roi_pool_backward(grad_output: Any, input: Any, boxes: Any, output_size: IntOrPair,
                      spatial_scale: float = 1.0, *, data_format: str = "NCHW",
                      out: Array | None = None) -> Array:
    """Gradient of :func:`roi_pool` for its input (overlapping boxes add up;
    boxes get none)."""
    op = "roi_pool"
    x, b, lay, size, scale = _roi_args(op, input, boxes, output_size, spatial_scale, data_format)
    g = operand(grad_output, "grad_output", op)
    if out is not None:
        check_out(out, op, "out", x, b, g)
    gx = _C.roi_pool_backward(op, g, x, b, size, scale, lay.nhwc, out)
    return out if out is not None else gx
