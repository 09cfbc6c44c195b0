"""LeNet-5 (LeCun et al. 1998)."""

from __future__ import annotations

from ..nn import AvgPool2d, Conv2d, Flatten, Linear, Sequential, Tanh
from ._common import flat_size

__all__ = ["lenet5"]


def lenet5(num_classes: int = 10, input_size: int = 32) -> Sequential:
    """The classic LeNet-5 on (1, input_size, input_size): C1 6@5x5, S2 2x2
    average pool, C3 16@5x5 (all C1 maps, not the paper's sparse table), S4,
    C5 120@5x5, F6 84, output; tanh activations. 61,706 parameters for 32x32
    and 10 classes. Inputs smaller than 32 (MNIST's 28) are zero-padded by C1
    up to 32; larger ones widen F6's fan-in."""
    pad = max(0, (33 - input_size) // 2)
    features = Sequential(
        Conv2d(1, 6, 5, padding=pad), Tanh(), AvgPool2d(2),
        Conv2d(6, 16, 5), Tanh(), AvgPool2d(2),
        Conv2d(16, 120, 5), Tanh(),
    )
    n = flat_size(features, (1, input_size, input_size))
    return Sequential(*features, Flatten(), Linear(n, 84), Tanh(), Linear(84, num_classes))
