"""linear (fully connected) on convcore's GEMM, and its backward pass."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .. import _C
from .._args import check_out, operand

__all__ = ["linear", "linear_backward"]

_NEEDS = ("input", "weight", "bias")


def linear(input: Any, weight: Any, bias: Any = None, *, out: Optional[np.ndarray] = None) -> np.ndarray:
    """input @ weight.T + bias. input (..., in_features), weight (out_features,
    in_features), bias (out_features,) -> (..., out_features)."""
    op = "linear"
    x, w = operand(input, "input", op), operand(weight, "weight", op)
    b = None if bias is None else operand(bias, "bias", op)
    check_out(out, op, "out", *[a for a in (x, w, b) if a is not None])
    return _C.linear(x, w, b, out)


def linear_backward(
    grad_output: Any,
    input: Any,
    weight: Any,
    bias: Any = None,
    *,
    needs: Sequence[str] = _NEEDS,
) -> tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray]]:
    """(grad_input, grad_weight, grad_bias) of linear for grad_output (..., out_features):
    grad_input = grad_output @ weight, grad_weight = grad_output^T @ input (over all
    leading axes), grad_bias = grad_output summed over them. A gradient not in
    `needs` is None, and grad_bias is None when bias is None."""
    op = "linear_backward"
    unknown = [n for n in needs if n not in _NEEDS]
    if isinstance(needs, str) or unknown:
        raise ValueError(f"{op}: needs must be a sequence of {_NEEDS}, got {needs!r}")
    g = operand(grad_output, "grad_output", op)
    x, w = operand(input, "input", op), operand(weight, "weight", op)
    b = None if bias is None else operand(bias, "bias", op)
    return _C.linear_backward(g, x, w, b, "input" in needs, "weight" in needs, "bias" in needs)
