"""Normalization: batch_norm and local_response_norm with their backward passes."""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence, Union

import numpy as np

from .. import _C
from .._args import check_out, contiguous, in_int64, is_device_array, is_int, operand

__all__ = [
    "batch_norm",
    "batch_norm_backward",
    "local_response_norm",
    "local_response_norm_backward",
]

_NEEDS = ("input", "weight", "bias")
# Accepted data_format values per input rank; the second is channels-last.
_LAYOUTS = {2: ("NC",), 3: ("NCL", "NLC"), 4: ("NCHW", "NHWC"), 5: ("NCDHW", "NDHWC")}


def _channels_last(x: Any, data_format: Optional[str], op: str) -> bool:
    if data_format is None:
        return False
    allowed = _LAYOUTS.get(x.ndim)
    if allowed is None:  # the core reports the bad rank
        return False
    if data_format not in allowed:
        names = " or ".join(repr(a) for a in allowed)
        raise ValueError(
            f"{op}: data_format must be None or {names} for a {x.ndim}-D input, "
            f"got {data_format!r}"
        )
    return len(allowed) == 2 and data_format == allowed[1]


def _as_core(arr: Any, channels_last: bool) -> Any:
    """A 5-D volume as 3-D, its spatial axes merged (a view): the core takes at
    most 4 axes, and only the channel axis matters to these operators."""
    if arr is None or arr.ndim != 5:
        return arr
    n, spatial = arr.shape[0], math.prod(arr.shape[1:-1] if channels_last else arr.shape[2:])
    shape = (n, spatial, arr.shape[-1]) if channels_last else (n, arr.shape[1], spatial)
    return arr.reshape(shape)


def _real(value: Any, name: str, op: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    return float(value)


def _running_stat(arr: Any, name: str, x: Any, training: bool, op: str) -> Any:
    """The running statistic itself (never a copy: training updates it in place,
    on the host for an ndarray, on the GPU for a DeviceArray)."""
    if arr is None:
        return None
    if not isinstance(arr, np.ndarray) and not is_device_array(arr):
        if training:
            raise TypeError(
                f"{op}: {name} must be a numpy.ndarray or a convcore DeviceArray (updated in place), "
                f"got {type(arr).__name__}"
            )
        return operand(arr, name, op)
    if arr.dtype != x.dtype:
        raise TypeError(f"{op}: {name} has dtype {arr.dtype} but input has dtype {x.dtype}; they must match")
    if training and not arr.flags.c_contiguous:
        raise ValueError(f"{op}: {name} must be C-contiguous, since training=True updates it in place")
    return contiguous(arr)


def _bn_params(training: bool, momentum: Any, eps: Any, channels_last: bool, op: str) -> Any:
    p = _C.BatchNormParams()
    p.op, p.training, p.channels_last = op, bool(training), channels_last
    p.eps = _real(eps, "eps", op)
    p.momentum = _real(momentum, "momentum", op)
    return p


def batch_norm(
    input: np.ndarray,
    running_mean: Optional[np.ndarray],
    running_var: Optional[np.ndarray],
    weight: Optional[np.ndarray] = None,
    bias: Optional[np.ndarray] = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
    *,
    data_format: Optional[str] = None,
    return_stats: bool = False,
    out: Optional[np.ndarray] = None,
) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Batch normalization over every axis but the channels, as torch.

    input: (N, C), (N, C, L), (N, C, H, W) or (N, C, D, H, W); channels-last
    (N, L, C), (N, H, W, C) or (N, D, H, W, C) with data_format='NLC' / 'NHWC'
    / 'NDHWC'. running_mean, running_var,
    weight, bias: (C,) of the input's dtype.

    training=True normalizes with the batch mean and biased variance and
    updates running_mean / running_var in place (when given) with the
    unbiased variance: running = (1 - momentum) * running + momentum * stat.
    training=False uses the running statistics. Returns y shaped as input, or
    with return_stats=True (y, mean, invstd) of the statistics used, which
    batch_norm_backward accepts as save_mean / save_invstd."""
    op = "batch_norm"
    x = operand(input, "input", op)
    rm = _running_stat(running_mean, "running_mean", x, training, op)
    rv = _running_stat(running_var, "running_var", x, training, op)
    w = None if weight is None else operand(weight, "weight", op)
    b = None if bias is None else operand(bias, "bias", op)
    check_out(out, op, "out", x, *(a for a in (rm, rv, w, b) if a is not None))
    cl = _channels_last(x, data_format, op)
    p = _bn_params(training, momentum, eps, cl, op)
    res = _C.batch_norm(_as_core(x, cl), rm, rv, w, b, p, bool(return_stats), _as_core(out, cl))
    if isinstance(res, tuple):  # return_stats
        return (out if out is not None else res[0].reshape(x.shape)), res[1], res[2]
    return out if out is not None else res.reshape(x.shape)


def batch_norm_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    running_mean: Optional[np.ndarray],
    running_var: Optional[np.ndarray],
    weight: Optional[np.ndarray] = None,
    bias: Optional[np.ndarray] = None,
    training: bool = False,
    eps: float = 1e-5,
    *,
    data_format: Optional[str] = None,
    save_mean: Optional[np.ndarray] = None,
    save_invstd: Optional[np.ndarray] = None,
    needs: Sequence[str] = _NEEDS,
    out: Optional[np.ndarray] = None,
) -> tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray]]:
    """Gradients of batch_norm: (grad_input, grad_weight, grad_bias).

    grad_output and input: shaped as batch_norm's input. training=True gives
    the gradient through the batch statistics, taken from save_mean /
    save_invstd (the forward's return_stats) or recomputed from input; the
    running statistics are not used (the forward has changed them).
    training=False gives the gradient of the affine map with the running
    statistics. grad_weight / grad_bias are None where weight / bias is None
    or not in needs; grad_input is None where 'input' is not in needs, and
    written into `out` when given."""
    op = "batch_norm_backward"
    unknown = [n for n in needs if n not in _NEEDS]
    if unknown:
        raise ValueError(f"{op}: needs may contain only {_NEEDS}, got {tuple(needs)!r}")
    x = operand(input, "input", op)
    gy = operand(grad_output, "grad_output", op)
    rm = None if running_mean is None else operand(running_mean, "running_mean", op)
    rv = None if running_var is None else operand(running_var, "running_var", op)
    w = None if weight is None else operand(weight, "weight", op)
    if bias is not None:
        operand(bias, "bias", op)  # the gradient does not depend on its value
    sm = None if save_mean is None else operand(save_mean, "save_mean", op)
    si = None if save_invstd is None else operand(save_invstd, "save_invstd", op)
    check_out(out, op, "out", x, gy)
    cl = _channels_last(x, data_format, op)
    p = _bn_params(training, 0.0, eps, cl, op)
    need_b = "bias" in needs and bias is not None
    gx, gw, gb = _C.batch_norm_backward(
        _as_core(gy, cl), _as_core(x, cl), rm, rv, w, p, sm, si, "input" in needs,
        "weight" in needs and w is not None, need_b, _as_core(out, cl),
    )
    if gx is not None:
        gx = out if out is not None else gx.reshape(x.shape)
    return gx, gw, gb


def _lrn_params(size: Any, alpha: Any, beta: Any, k: Any, x: Any,
                data_format: Optional[str], op: str) -> Any:
    if not is_int(size):
        raise TypeError(f"{op}: size must be an int, got {size!r}")
    p = _C.LrnParams()
    p.op, p.size = op, in_int64((size,), "size", op)[0]
    p.alpha, p.beta, p.k = _real(alpha, "alpha", op), _real(beta, "beta", op), _real(k, "k", op)
    p.channels_last = _channels_last(x, data_format, op)
    return p


def local_response_norm(
    input: np.ndarray,
    size: int,
    alpha: float = 1e-4,
    beta: float = 0.75,
    k: float = 1.0,
    *,
    data_format: Optional[str] = None,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Local response normalization across channels, as torch:
    y_c = x_c / (k + alpha / size * sum_{j in window(c)} x_j^2) ** beta, the
    window covering channels c - size//2 .. c + (size-1)//2 (missing ones 0).

    input: (N, C, L), (N, C, H, W) or (N, C, D, H, W); channels-last with
    data_format='NLC' / 'NHWC' / 'NDHWC'. Returns y shaped as input."""
    op = "local_response_norm"
    x = operand(input, "input", op)
    check_out(out, op, "out", x)
    p = _lrn_params(size, alpha, beta, k, x, data_format, op)
    y = _C.local_response_norm(_as_core(x, p.channels_last), p, _as_core(out, p.channels_last))
    return out if out is not None else y.reshape(x.shape)


def local_response_norm_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    size: int,
    alpha: float = 1e-4,
    beta: float = 0.75,
    k: float = 1.0,
    *,
    data_format: Optional[str] = None,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Gradient of local_response_norm with respect to its input, shaped as input."""
    op = "local_response_norm_backward"
    x = operand(input, "input", op)
    gy = operand(grad_output, "grad_output", op)
    check_out(out, op, "out", x, gy)
    p = _lrn_params(size, alpha, beta, k, x, data_format, op)
    cl = p.channels_last
    gx = _C.local_response_norm_backward(_as_core(gy, cl), _as_core(x, cl), p, _as_core(out, cl))
    return out if out is not None else gx.reshape(x.shape)

