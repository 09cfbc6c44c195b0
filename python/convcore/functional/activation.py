"""Activations and softmax: relu, leaky_relu, elu, sigmoid, tanh, softmax,
log_softmax, with their backward passes.

Activations are elementwise on arrays of any shape; softmax and log_softmax
normalise over one axis ``dim`` of an array of any rank (negative dims count
from the end), subtracting the maximum first so that large logits never
overflow. Gradients at the kinks are taken from the left, as PyTorch:
relu'(0) = 0, leaky_relu'(0) = negative_slope, elu'(0) = alpha.

Every function takes NumPy arrays or convcore DeviceArrays (all on one
device) and returns its result on the inputs' device.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import _C
from .._args import Array, check_out, is_device_array, is_int, operand

__all__ = [
    "elu",
    "elu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "log_softmax",
    "log_softmax_backward",
    "relu",
    "relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "softmax",
    "softmax_backward",
    "tanh",
    "tanh_backward",
]


def _inplace_target(input: Any, op: str) -> Any:
    """The caller's own array (ndarray or DeviceArray), which inplace=True overwrites."""
    if not (isinstance(input, np.ndarray) or is_device_array(input)):
        raise TypeError(
            f"{op}: inplace=True needs a numpy.ndarray or DeviceArray input, got {type(input).__name__}"
        )
    if input.dtype not in (np.float32, np.float64):
        raise TypeError(f"{op}: input has dtype {input.dtype}; expected float32 or float64")
    if not input.flags.c_contiguous or not input.flags.writeable:
        raise ValueError(f"{op}: inplace=True needs a writeable C-contiguous input")
    return input


def _forward(op: str, input: Any, param: float, inplace: bool, out: Optional[Array]) -> Array:
    if inplace:
        if out is not None:
            raise ValueError(f"{op}: out= cannot be combined with inplace=True")
        return getattr(_C, op)(_inplace_target(input, op), float(param), True)
    x = operand(input, "input", op)
    check_out(out, op, "out", x)
    return getattr(_C, op)(x, float(param), False, out)


def _backward(
    op: str,
    grad_output: Any,
    input: Any,
    param: float,
    output: Any,
    out: Optional[Array],
) -> Array:
    g = operand(grad_output, "grad_output", op)
    x = operand(input, "input", op)
    y = None if output is None else operand(output, "output", op)
    check_out(out, op, "out", *[a for a in (g, x, y) if a is not None])
    return getattr(_C, op)(g, x, float(param), y, out)


def relu(input: Any, inplace: bool = False, *, out: Optional[Array] = None) -> Array:
    """max(0, x) elementwise; any shape. inplace=True overwrites input (a
    writeable C-contiguous float array) and returns it."""
    return _forward("relu", input, 0.0, inplace, out)


def leaky_relu(
    input: Any, negative_slope: float = 0.01, inplace: bool = False, *, out: Optional[Array] = None
) -> Array:
    """x if x > 0 else negative_slope * x, elementwise."""
    return _forward("leaky_relu", input, negative_slope, inplace, out)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False, *, out: Optional[Array] = None) -> Array:
    """x if x > 0 else alpha * (exp(x) - 1), elementwise."""
    return _forward("elu", input, alpha, inplace, out)


def sigmoid(input: Any, *, out: Optional[Array] = None) -> Array:
    """1 / (1 + exp(-x)), elementwise."""
    return _forward("sigmoid", input, 0.0, False, out)


def tanh(input: Any, *, out: Optional[Array] = None) -> Array:
    """tanh(x), elementwise."""
    return _forward("tanh", input, 0.0, False, out)


def relu_backward(grad_output: Any, input: Any, *, out: Optional[Array] = None) -> Array:
    """grad_output where input > 0, else 0 (relu'(0) = 0). Shapes: all equal."""
    return _backward("relu_backward", grad_output, input, 0.0, None, out)


def leaky_relu_backward(
    grad_output: Any, input: Any, negative_slope: float = 0.01, *, out: Optional[Array] = None
) -> Array:
    """grad_output where input > 0, else negative_slope * grad_output."""
    return _backward("leaky_relu_backward", grad_output, input, negative_slope, None, out)


def elu_backward(
    grad_output: Any, input: Any, alpha: float = 1.0, *, out: Optional[Array] = None
) -> Array:
    """grad_output where input > 0, else grad_output * alpha * exp(input)."""
    return _backward("elu_backward", grad_output, input, alpha, None, out)


def sigmoid_backward(
    grad_output: Any, input: Any, *, output: Any = None, out: Optional[Array] = None
) -> Array:
    """grad_output * s * (1 - s), s = sigmoid(input), or the forward's output= if given."""
    return _backward("sigmoid_backward", grad_output, input, 0.0, output, out)


def tanh_backward(
    grad_output: Any, input: Any, *, output: Any = None, out: Optional[Array] = None
) -> Array:
    """grad_output * (1 - t^2), t = tanh(input), or the forward's output= if given."""
    return _backward("tanh_backward", grad_output, input, 0.0, output, out)


def _dim(dim: Any, op: str) -> int:
    if not is_int(dim):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    return int(dim)


def softmax(input: Any, dim: int, *, out: Optional[Array] = None) -> Array:
    """exp(x) / sum(exp(x)) over axis dim (max-subtracted); same shape as input."""
    x = operand(input, "input", "softmax")
    check_out(out, "softmax", "out", x)
    return _C.softmax(x, _dim(dim, "softmax"), out)


def log_softmax(input: Any, dim: int, *, out: Optional[Array] = None) -> Array:
    """x - max - log(sum(exp(x - max))) over axis dim; same shape as input."""
    x = operand(input, "input", "log_softmax")
    check_out(out, "log_softmax", "out", x)
    return _C.log_softmax(x, _dim(dim, "log_softmax"), out)


def _softmax_backward(
    op: str, grad_output: Any, input: Any, dim: Any, output: Any, out: Optional[Array]
) -> Array:
    g = operand(grad_output, "grad_output", op)
    x = operand(input, "input", op)
    y = None if output is None else operand(output, "output", op)
    check_out(out, op, "out", *[a for a in (g, x, y) if a is not None])
    return getattr(_C, op)(g, x, _dim(dim, op), y, out)


def softmax_backward(
    grad_output: Any, input: Any, dim: int, *, output: Any = None, out: Optional[Array] = None
) -> Array:
    """y * (g - sum(g * y)) over dim, y = softmax(input, dim) or the forward's output=."""
    return _softmax_backward("softmax_backward", grad_output, input, dim, output, out)


def log_softmax_backward(
    grad_output: Any, input: Any, dim: int, *, output: Any = None, out: Optional[Array] = None
) -> Array:
    """g - exp(y) * sum(g) over dim, y = log_softmax(input, dim) or the forward's output=."""
    return _softmax_backward("log_softmax_backward", grad_output, input, dim, output, out)
