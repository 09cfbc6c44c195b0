"""Losses: cross_entropy (fused with log-softmax) and mse_loss, with their backward passes.

Every function takes NumPy arrays or convcore DeviceArrays (all on one
device). On the host results are NumPy arrays; on a GPU they are
DeviceArrays on the inputs' device, a reduced loss ('mean' / 'sum')
included: a 0-d DeviceArray, read with ``.numpy()`` (no implicit sync)."""

from __future__ import annotations

from typing import Any, Optional

from .. import _C
from .._args import Array, array_operand, check_out, contiguous, is_device_array, is_int, operand

__all__ = ["cross_entropy", "cross_entropy_backward", "mse_loss", "mse_loss_backward"]


def _target(target: Any, op: str) -> Any:
    """An integer ndarray, or a DeviceArray (int64 there: the core checks
    its dtype, and its values on the device)."""
    arr = array_operand(target, "target", op)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: target has dtype {arr.dtype}; expected an integer dtype (class indices)")
    return contiguous(arr) if is_device_array(arr) else arr


def _weight(weight: Any, op: str) -> Optional[Array]:
    return None if weight is None else operand(weight, "weight", op)


def _reduction(reduction: Any, op: str) -> str:
    if not isinstance(reduction, str):
        raise TypeError(f"{op}: reduction must be a string ('none', 'mean' or 'sum'), got {reduction!r}")
    return reduction


_LAYOUTS = {"NCHW": False, "NCL": False, "NHWC": True, "NLC": True}


def _channels_last(data_format: Any, op: str) -> bool:
    if data_format not in _LAYOUTS:
        raise ValueError(f"{op}: data_format must be one of {tuple(_LAYOUTS)}, got {data_format!r}")
    return _LAYOUTS[data_format]


def _ignore_index(ignore_index: Any, op: str) -> int:
    if not is_int(ignore_index):
        raise TypeError(f"{op}: ignore_index must be an int, got {ignore_index!r}")
    return int(ignore_index)


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    *,
    data_format: str = "NCHW",
) -> Array:
    """Cross-entropy of logits against class indices, as torch.nn.functional.cross_entropy.

    input (N, C) or (N, C, d1, ...) logits, or (C,) unbatched; target (N,) /
    (N, d1, ...) / () integer class indices (any integer dtype) in [0, C) or
    ignore_index; weight (C,) rescales each class. reduction 'none' gives the
    target's shape, 'sum' and 'mean' a 0-d array (a 0-d DeviceArray for device
    inputs); 'mean' divides by the sum of
    the targets' weights over the positions not ignored. label_smoothing eps
    mixes in the uniform distribution: (1 - eps) * nll + eps / C * sum_c w_c * (-log p_c).
    Computed as log-sum-exp (max-subtracted) minus the target logit.
    data_format 'NHWC' / 'NLC': dense logits with the classes last, (N, d1, ..., C).
    On a GPU the target must be an int64 DeviceArray on the logits' device;
    its values are checked there, and an out-of-range class raises ValueError
    naming the value and its position, as on the host.
    """
    op = "cross_entropy"
    x = operand(input, "input", op)
    return _C.cross_entropy(
        x, _target(target, op), _weight(weight, op), _ignore_index(ignore_index, op),
        _reduction(reduction, op), float(label_smoothing), _channels_last(data_format, op),
    )


def cross_entropy_backward(
    grad_output: Any,
    input: Any,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    *,
    data_format: str = "NCHW",
    out: Optional[Array] = None,
) -> Array:
    """Gradient of cross_entropy with respect to input (the logits), shaped like input.
    grad_output: 0-d (or one element) for 'mean' and 'sum', the loss's shape for 'none'."""
    op = "cross_entropy_backward"
    g = operand(grad_output, "grad_output", op)
    x = operand(input, "input", op)
    check_out(out, op, "out", g, x)
    return _C.cross_entropy_backward(
        g, x, _target(target, op), _weight(weight, op), _ignore_index(ignore_index, op),
        _reduction(reduction, op), float(label_smoothing), _channels_last(data_format, op), out,
    )


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Array:
    """(input - target)^2: elementwise ('none'), summed ('sum') or averaged ('mean', 0-d).
    input and target have the same shape. Device inputs give a DeviceArray
    (0-d for 'mean' and 'sum')."""
    op = "mse_loss"
    return _C.mse_loss(operand(input, "input", op), operand(target, "target", op), _reduction(reduction, op))


def mse_loss_backward(
    grad_output: Any, input: Any, target: Any, reduction: str = "mean", *, out: Optional[Array] = None
) -> Array:
    """2 (input - target) grad_output (/ numel for 'mean'): the gradient wrt input."""
    op = "mse_loss_backward"
    g = operand(grad_output, "grad_output", op)
    x, t = operand(input, "input", op), operand(target, "target", op)
    check_out(out, op, "out", g, x, t)
    return _C.mse_loss_backward(g, x, t, _reduction(reduction, op), out)
