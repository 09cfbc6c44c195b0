"""Dropout with inverted scaling and a seeded generator, and its backward pass.

The mask is a counter-based function of (seed, element index) (a splitmix64
hash), so it is reproducible whatever the thread count and can be regenerated
by the backward pass from the seed alone. With seed=None a seed is drawn from
convcore's global generator, which ``manual_seed`` resets.
"""

from __future__ import annotations

from typing import Any, Optional, Union, cast

import numpy as np

from .. import _C
from .._args import array_operand, check_out, contiguous, is_device_array, is_int, operand

__all__ = ["dropout", "dropout_backward", "manual_seed"]

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seeds the global generator that dropout(seed=None) draws its seeds from."""
    global _generator
    if not is_int(seed):
        raise TypeError(f"manual_seed: seed must be an int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))


def _seed(seed: Any, op: str) -> int:
    if seed is None:
        return int(_generator.integers(0, 2**63))
    if not is_int(seed):
        raise TypeError(f"{op}: seed must be an int or None, got {seed!r}")
    return int(seed) % 2**64


def _p(p: Any, op: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: p must be a number, got {p!r}")
    return float(p)


def dropout(
    input: Any,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    seed: Optional[int] = None,
    return_mask: bool = False,
    out: Optional[np.ndarray] = None,
) -> Union[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Zeroes each element with probability p and scales the kept ones by
    1 / (1 - p); any shape. training=False (or p == 0) is the identity (a
    copy, or input itself for inplace); p == 1 gives zeros. return_mask=True
    returns (output, mask) with the boolean keep mask, for dropout_backward.
    """
    op = "dropout"
    prob = _p(p, op)
    if inplace:
        if (not isinstance(input, np.ndarray) and not is_device_array(input)) or input.dtype not in (
            np.float32,
            np.float64,
        ):
            raise TypeError(
                f"{op}: inplace=True needs a float32 or float64 numpy.ndarray or DeviceArray input"
            )
        if not input.flags.c_contiguous or not input.flags.writeable:
            raise ValueError(f"{op}: inplace=True needs a writeable C-contiguous input")
        if out is not None:
            raise ValueError(f"{op}: out= cannot be combined with inplace=True")
        x = input
    else:
        x = operand(input, "input", op)
        check_out(out, op, "out", x)
    drawn = _seed(seed, op) if training else 0
    return _C.dropout(x, prob, drawn, bool(training), bool(inplace), bool(return_mask), out)


def dropout_backward(
    grad_output: Any,
    input: Any,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    seed: Optional[int] = None,
    mask: Optional[np.ndarray] = None,
    out: Optional[np.ndarray] = None,
) -> np.ndarray:
    """grad_output * mask / (1 - p): the gradient wrt input, with the forward's
    mask (mask=) or the mask regenerated from the forward's seed=. One of them
    is required in training mode; training=False gives a copy of grad_output.
    input only fixes the shape; inplace is accepted for symmetry and ignored."""
    op = "dropout_backward"
    prob = _p(p, op)
    g = operand(grad_output, "grad_output", op)
    x = operand(input, "input", op)
    if g.shape != x.shape:
        raise ValueError(f"{op}: grad_output has shape {g.shape} but input has shape {x.shape}; they must be equal")
    check_out(out, op, "out", g)
    if not training:
        return cast(np.ndarray, _C.dropout(g, prob, 0, False, False, False, out))
    if mask is None and seed is None:
        raise ValueError(
            f"{op}: training mode needs the forward's mask= (dropout(..., return_mask=True)) or its seed="
        )
    m = None if mask is None else contiguous(array_operand(mask, "mask", op))
    return _C.dropout_backward(g, prob, 0 if seed is None else _seed(seed, op), m, out)
