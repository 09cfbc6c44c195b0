"""GoogLeNet / Inception v1 (Szegedy et al. 2014), without the auxiliary heads."""

from __future__ import annotations

from ..nn import Concat, Dropout, GlobalAvgPool2d, Linear, MaxPool2d, Sequential
from ._common import conv_bn_relu

__all__ = ["googlenet"]

#: Table 1: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj) per module.
INCEPTIONS = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}

#: The stride-2 max pool (kernel size) before stages 4 and 5.
POOL_BEFORE = {"4a": 3, "5a": 2}


def _basic(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> Sequential:
    """torchvision's BasicConv2d: bias-free conv, BatchNorm2d (eps 1e-3), ReLU."""
    return Sequential(*conv_bn_relu(in_channels, out_channels, kernel_size, stride, eps=1e-3))


def inception(in_channels: int, widths: tuple[int, ...], branch5_kernel: int = 5) -> Concat:
    """Four branches concatenated on channels: 1x1; 1x1 then 3x3; 1x1 then
    ``branch5_kernel`` (5 in the paper, 3 in torchvision); 3x3/1 max pool
    then 1x1."""
    c1, r3, c3, r5, c5, pool = widths
    return Concat(
        _basic(in_channels, c1, 1),
        Sequential(_basic(in_channels, r3, 1), _basic(r3, c3, 3)),
        Sequential(_basic(in_channels, r5, 1), _basic(r5, c5, branch5_kernel)),
        Sequential(MaxPool2d(3, 1, 1, ceil_mode=True), _basic(in_channels, pool, 1)),
    )


def googlenet(num_classes: int = 1000, *, branch5_kernel: int = 5) -> Sequential:
    """GoogLeNet on (3, 224, 224), torchvision's layout (BatchNorm after each
    conv instead of the paper's LRN, ceil-mode pools) with the paper's 5x5
    convs in the third branch: 7,005,832 parameters for 1000 classes.
    ``branch5_kernel=3`` is torchvision's googlenet (its '5x5' branch is 3x3):
    6,624,904 parameters. Dropout 0.4 before the classifier, as the paper."""
    layers = [
        _basic(3, 64, 7, 2), MaxPool2d(3, 2, ceil_mode=True),
        _basic(64, 64, 1), _basic(64, 192, 3), MaxPool2d(3, 2, ceil_mode=True),
    ]
    channels = 192
    for name, widths in INCEPTIONS.items():
        if name in POOL_BEFORE:
            layers.append(MaxPool2d(POOL_BEFORE[name], 2, ceil_mode=True))
        layers.append(inception(channels, widths, branch5_kernel))
        channels = widths[0] + widths[2] + widths[4] + widths[5]
    return Sequential(*layers, GlobalAvgPool2d(), Dropout(0.4), Linear(channels, num_classes))
