"""ZFNet (Zeiler and Fergus 2013, "Visualizing and Understanding Convolutional Networks")."""

from __future__ import annotations

from ..nn import Conv2d, MaxPool2d, ReLU, Sequential
from ._common import classifier, flat_size, paper_lrn

__all__ = ["zfnet"]


def zfnet(num_classes: int = 1000, input_size: int = 224) -> Sequential:
    """The paper's Fig. 3 network on (3, 224, 224): conv 96@7x7/2 (110x110),
    max pool 3/2 (55), contrast normalization, conv 256@5x5/2 (26), pool 3/2
    (13), normalization, conv 384, 384, 256 @3x3, pool 3/2 (6), FC 4096, 4096,
    num_classes with dropout. Padding 1 on conv1 and on the first two pools
    gives the paper's map sizes. 62,357,608 parameters for 1000 classes."""
    features = Sequential(
        Conv2d(3, 96, 7, stride=2, padding=1), ReLU(), MaxPool2d(3, 2, padding=1), paper_lrn(),
        Conv2d(96, 256, 5, stride=2), ReLU(), MaxPool2d(3, 2, padding=1), paper_lrn(),
        Conv2d(256, 384, 3, padding=1), ReLU(),
        Conv2d(384, 384, 3, padding=1), ReLU(),
        Conv2d(384, 256, 3, padding=1), ReLU(), MaxPool2d(3, 2),
    )
    n = flat_size(features, (3, input_size, input_size))
    return Sequential(*features, *classifier(n, 4096, num_classes))
