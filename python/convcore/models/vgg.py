"""VGG (Simonyan and Zisserman 2014): configurations A to E of Table 1."""

from __future__ import annotations

from typing import Union

from ..nn import Conv2d, Layer, MaxPool2d, ReLU, Sequential
from ._common import classifier, flat_size, paper_lrn

__all__ = ["CONFIGS", "vgg", "vgg11", "vgg13", "vgg16", "vgg19"]

#: Table 1: an int is a 3x3 conv with that many filters, (n, 1) a 1x1 conv,
#: 'M' a 2x2 max pool, 'LRN' local response normalization.
CONFIGS: dict[str, list[Union[int, str, tuple[int, int]]]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "LRN", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M", 512, 512, (512, 1), "M",
          512, 512, (512, 1), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def vgg(config: str, num_classes: int = 1000, input_size: int = 224) -> Sequential:
    """VGG configuration ``config`` ('A', 'A-LRN', 'B', 'C', 'D', 'E') on
    (3, input_size, input_size): 3x3 convs (padding 1) with ReLU, 2x2 max
    pools, FC 4096, 4096, num_classes with dropout 0.5. At 224 and 1000
    classes A, B, D, E have torchvision's vgg11/13/16/19 parameter counts."""
    if config not in CONFIGS:
        raise ValueError(f"vgg: config must be one of {sorted(CONFIGS)}, got {config!r}")
    layers: list[Layer] = []
    channels = 3
    for item in CONFIGS[config]:
        if isinstance(item, str):
            layers.append(MaxPool2d(2, 2) if item == "M" else paper_lrn())
            continue
        width, k = item if isinstance(item, tuple) else (item, 3)
        layers += [Conv2d(channels, width, k, padding=k // 2), ReLU()]
        channels = width
    features = Sequential(*layers)
    n = flat_size(features, (3, input_size, input_size))
    return Sequential(*features, *classifier(n, 4096, num_classes))


def vgg11(num_classes: int = 1000, input_size: int = 224) -> Sequential:
    """VGG configuration A."""
    return vgg("A", num_classes, input_size)


def vgg13(num_classes: int = 1000, input_size: int = 224) -> Sequential:
    """VGG configuration B."""
    return vgg("B", num_classes, input_size)


def vgg16(num_classes: int = 1000, input_size: int = 224) -> Sequential:
    """VGG configuration D."""
    return vgg("D", num_classes, input_size)


def vgg19(num_classes: int = 1000, input_size: int = 224) -> Sequential:
    """VGG configuration E."""
    return vgg("E", num_classes, input_size)
