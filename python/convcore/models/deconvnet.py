"""A small DeconvNet (Noh, Hong and Han 2015): a conv/pool encoder mirrored by
an unpool/deconv decoder with the encoder's pooling switches, giving
per-pixel class logits."""

from __future__ import annotations

from typing import Sequence

from ..nn import BatchNorm2d, Conv2d, ConvTranspose2d, Layer, MaxPool2d, MaxUnpool2d, ReLU, Sequential
from ._common import conv_bn_relu

__all__ = ["deconvnet"]


def _deconv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, padding: int = 0) -> list[Layer]:
    return [ConvTranspose2d(in_channels, out_channels, kernel_size, padding=padding, bias=False),
            BatchNorm2d(out_channels), ReLU()]


def deconvnet(num_classes: int = 21, input_size: int = 64,
              widths: Sequence[int] = (32, 64, 128), fc_width: int = 256) -> Sequential:
    """On (3, input_size, input_size) with input_size divisible by
    2 ** len(widths): per stage two 3x3 conv/BN/ReLU and a 2x2 max pool
    (which keeps its switches in ``pool.indices``); fc6 as a conv whose
    kernel covers the whole bottleneck map (1x1 out) and a 1x1 fc7, both
    with BN/ReLU (train with batches of more than one image); a transposed
    conv back to the bottleneck size; per stage in reverse a MaxUnpool2d with
    the matching pool's switches and two 3x3 deconv/BN/ReLU; a 1x1 conv to
    num_classes. Output (N, num_classes, input_size, input_size)."""
    scale = 2 ** len(widths)
    if input_size < scale or input_size % scale:
        raise ValueError(f"deconvnet: input_size must be a positive multiple of {scale}, got {input_size}")
    encoder: list[Layer] = []
    pools: list[MaxPool2d] = []
    channels = 3
    for width in widths:
        pools.append(MaxPool2d(2, 2))  # keeps its switches in .indices for the unpool
        encoder += [*conv_bn_relu(channels, width, 3), *conv_bn_relu(width, width, 3), pools[-1]]
        channels = width
    side = input_size // scale
    middle = [*conv_bn_relu(channels, fc_width, side, padding=0), *conv_bn_relu(fc_width, fc_width, 1),
              *_deconv_bn_relu(fc_width, channels, side)]
    decoder: list[Layer] = []
    for pool, width, below in zip(reversed(pools), reversed(widths), [*reversed(widths[:-1]), widths[0]]):
        decoder += [MaxUnpool2d(2, 2, pool=pool), *_deconv_bn_relu(width, width, 3, 1),
                    *_deconv_bn_relu(width, below, 3, 1)]
    return Sequential(*encoder, *middle, *decoder, Conv2d(widths[0], num_classes, 1))
