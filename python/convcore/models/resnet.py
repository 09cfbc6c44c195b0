"""ResNet (He et al. 2015) in torchvision's layout: 18/34 with basic blocks,
50/101/152 with bottlenecks (stride on the 3x3), 1x1-projection shortcuts
where the shape changes, BatchNorm after every conv."""

from __future__ import annotations

from typing import Optional

from ..nn import GlobalAvgPool2d, Layer, Linear, MaxPool2d, Residual, Sequential
from ._common import conv_bn, conv_bn_relu

__all__ = ["resnet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]


def _block(in_channels: int, width: int, stride: int, bottleneck: bool) -> Residual:
    """relu(body(x) + shortcut(x)); the body is 3x3, 3x3 (basic) or 1x1, 3x3,
    1x1 with 4x expansion (bottleneck)."""
    if bottleneck:
        out = 4 * width
        body = Sequential(*conv_bn_relu(in_channels, width, 1),
                          *conv_bn_relu(width, width, 3, stride),
                          *conv_bn(width, out, 1))
    else:
        out = width
        body = Sequential(*conv_bn_relu(in_channels, width, 3, stride), *conv_bn(width, width, 3))
    shortcut: Optional[Layer] = None
    if stride != 1 or in_channels != out:
        shortcut = Sequential(*conv_bn(in_channels, out, 1, stride))
    return Residual(body, shortcut)


def resnet(depths: tuple[int, int, int, int], bottleneck: bool, num_classes: int = 1000) -> Sequential:
    """A ResNet with ``depths`` blocks per stage (widths 64, 128, 256, 512;
    stride 2 at the first block of stages 2 to 4): 7x7/2 stem, 3x3/2 max pool,
    the stages, global average pool, Linear. Each stage is a Sequential of
    Residual blocks."""
    layers: list[Layer] = [*conv_bn_relu(3, 64, 7, 2), MaxPool2d(3, 2, 1)]
    channels = 64
    for stage, (depth, width) in enumerate(zip(depths, (64, 128, 256, 512))):
        blocks = []
        for i in range(depth):
            blocks.append(_block(channels, width, 2 if stage and not i else 1, bottleneck))
            channels = 4 * width if bottleneck else width
        layers.append(Sequential(*blocks))
    return Sequential(*layers, GlobalAvgPool2d(), Linear(channels, num_classes))


def resnet18(num_classes: int = 1000) -> Sequential:
    """ResNet-18: 11,689,512 parameters for 1000 classes."""
    return resnet((2, 2, 2, 2), False, num_classes)


def resnet34(num_classes: int = 1000) -> Sequential:
    """ResNet-34: 21,797,672 parameters for 1000 classes."""
    return resnet((3, 4, 6, 3), False, num_classes)


def resnet50(num_classes: int = 1000) -> Sequential:
    """ResNet-50: 25,557,032 parameters for 1000 classes."""
    return resnet((3, 4, 6, 3), True, num_classes)


def resnet101(num_classes: int = 1000) -> Sequential:
    """ResNet-101: 44,549,160 parameters for 1000 classes."""
    return resnet((3, 4, 23, 3), True, num_classes)


def resnet152(num_classes: int = 1000) -> Sequential:
    """ResNet-152: 60,192,808 parameters for 1000 classes."""
    return resnet((3, 8, 36, 3), True, num_classes)
