"""AlexNet (Krizhevsky, Sutskever and Hinton 2012), as in the paper."""

from __future__ import annotations

from ..nn import Conv2d, MaxPool2d, ReLU, Sequential
from ._common import classifier, flat_size, paper_lrn

__all__ = ["alexnet"]


def alexnet(num_classes: int = 1000, grouped: bool = False, input_size: int = 227) -> Sequential:
    """The paper's AlexNet on (3, 227, 227): conv 96@11x11/4, LRN, max pool
    3/2, conv 256@5x5, LRN, pool, conv 384, 384, 256 @3x3, pool, FC 4096,
    4096, num_classes with dropout 0.5. ``grouped=True`` splits conv2, conv4
    and conv5 into the paper's two towers (groups=2): 60,965,224 parameters;
    ``grouped=False`` is the single-tower network: 62,378,344.

    This is not torchvision's ``alexnet`` (64/192/384/256/256 channels after
    "One weird trick", no LRN, 224 input: 61,100,840 parameters)."""
    g = 2 if grouped else 1
    features = Sequential(
        Conv2d(3, 96, 11, stride=4), ReLU(), paper_lrn(), MaxPool2d(3, 2),
        Conv2d(96, 256, 5, padding=2, groups=g), ReLU(), paper_lrn(), MaxPool2d(3, 2),
        Conv2d(256, 384, 3, padding=1), ReLU(),
        Conv2d(384, 384, 3, padding=1, groups=g), ReLU(),
        Conv2d(384, 256, 3, padding=1, groups=g), ReLU(), MaxPool2d(3, 2),
    )
    n = flat_size(features, (3, input_size, input_size))
    return Sequential(*features, *classifier(n, 4096, num_classes))
