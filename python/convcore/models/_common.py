"""Pieces shared by the model builders."""

from __future__ import annotations

import math
from typing import Optional, Sequence

from ..nn import BatchNorm2d, Conv2d, Dropout, Flatten, Layer, Linear, LocalResponseNorm, ReLU

__all__ = ["classifier", "conv_bn", "conv_bn_relu", "flat_size", "paper_lrn"]


def paper_lrn() -> LocalResponseNorm:
    """Krizhevsky et al.'s normalization (n = 5, alpha = 1e-4, beta = 0.75,
    k = 2) in torch's convention, which divides alpha by the window size."""
    return LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)


def conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
            padding: Optional[int] = None, eps: float = 1e-5) -> list[Layer]:
    """A bias-free conv (padding ``kernel_size // 2`` unless given) and a
    BatchNorm2d, whose shift is the bias."""
    pad = kernel_size // 2 if padding is None else padding
    return [Conv2d(in_channels, out_channels, kernel_size, stride, pad, bias=False),
            BatchNorm2d(out_channels, eps=eps)]


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: Optional[int] = None, eps: float = 1e-5) -> list[Layer]:
    """:func:`conv_bn` then ReLU."""
    return [*conv_bn(in_channels, out_channels, kernel_size, stride, padding, eps), ReLU()]


def flat_size(features: Layer, input_shape: Sequence[int]) -> int:
    """Elements per sample of ``features``' output (the first Linear's fan-in)."""
    try:
        shape = features.output_shape(input_shape)
    except ValueError as e:
        raise ValueError(f"input shape {tuple(input_shape)} is too small for this model: {e}") from e
    if min(shape) <= 0:
        raise ValueError(f"input shape {tuple(input_shape)} is too small for this model "
                         f"(features would be {shape})")
    return math.prod(shape)


def classifier(in_features: int, hidden: int, num_classes: int, dropout: float = 0.5) -> list[Layer]:
    """AlexNet / VGG's head: Flatten, two ReLU Linear layers each followed by
    dropout, then the logits."""
    return [Flatten(), Linear(in_features, hidden), ReLU(), Dropout(dropout),
            Linear(hidden, hidden), ReLU(), Dropout(dropout), Linear(hidden, num_classes)]
