"""Dropout layer."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .. import functional as F
from .._args import is_int
from ._scalars import real
from .layer import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    """Training: zeroes each element with probability p and scales the kept
    ones by 1 / (1 - p), with a fresh mask on every forward; eval: the
    identity. Any input shape. With ``seed`` the sequence of masks is
    reproducible (each forward draws its mask's seed from a generator seeded
    with it); without, the seeds come from convcore's global dropout generator
    (``convcore.functional.manual_seed``)."""

    def __init__(self, p: float = 0.5, *, seed: Optional[int] = None) -> None:
        super().__init__()
        self.p = real("Dropout", "p", p, 0.0, 1.0)
        if seed is not None and not is_int(seed):
            raise TypeError(f"Dropout: seed must be an int or None, got {seed!r}")
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._mask: Optional[np.ndarray] = None
        self._was_training: Optional[bool] = None  # the last forward's mode

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._was_training, self._mask = self.training, None
        if not self.training:
            return x
        seed = None if self._rng is None else int(self._rng.integers(0, 2**63))
        y, self._mask = F.dropout(x, self.p, True, seed=seed, return_mask=True)
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if self._was_training is None:
            raise RuntimeError("Dropout.backward called before forward")
        if not self._was_training:
            return grad_output
        # dropout_backward's input only fixes the shape: grad_output has it.
        return F.dropout_backward(grad_output, grad_output, self.p, True, mask=self._mask)

    def extra_repr(self) -> str:
        return f"p={self.p}"
