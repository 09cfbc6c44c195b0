"""The model zoo: builders for classic CNNs on :mod:`convcore.nn`, with the
papers' (or torchvision's, where noted) parameter counts."""

from __future__ import annotations

from .alexnet import alexnet
from .alphago import PositionBias, alphago_policy
from .deconvnet import deconvnet
from .googlenet import googlenet
from .lenet import lenet5
from .resnet import resnet, resnet18, resnet34, resnet50, resnet101, resnet152
from .vgg import vgg, vgg11, vgg13, vgg16, vgg19
from .zfnet import zfnet

__all__ = [
    "PositionBias", "alexnet", "alphago_policy", "deconvnet", "googlenet", "lenet5", "resnet",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg", "vgg11", "vgg13",
    "vgg16", "vgg19", "zfnet",
]
