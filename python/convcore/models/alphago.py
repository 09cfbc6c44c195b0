"""AlphaGo's policy network (Silver et al. 2016, Methods)."""

from __future__ import annotations

import numpy as np

from ..nn import Conv2d, Flatten, Layer, Parameter, ReLU, Sequential, Softmax

__all__ = ["PositionBias", "alphago_policy"]

BOARD = 19
PLANES = 48


class PositionBias(Layer):
    """Adds a learned bias per position: (N, C, H, W) + bias (C, H, W). The
    bias starts at zero."""

    def __init__(self, shape: tuple[int, ...], *, dtype: type = np.float32) -> None:
        super().__init__()
        self.bias = Parameter(np.zeros(shape, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x + self.bias.data

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self.bias.grad += grad_output.sum(axis=0)
        return grad_output

    def extra_repr(self) -> str:
        return f"shape={self.bias.shape}"


def alphago_policy(k: int = 192) -> Sequential:
    """The SL/RL policy network on (48, 19, 19) feature planes: layer 1 zero
    pads to 23x23 and convolves k 5x5 filters, layers 2 to 12 pad to 21x21 and
    convolve k 3x3 filters, each with a ReLU; layer 13 convolves one 1x1
    filter with a different bias for each position; a softmax over the 361
    points gives (N, 361) move probabilities. 3,882,793 parameters for
    k = 192 (the match version)."""
    if k < 1:
        raise ValueError(f"alphago_policy: k must be positive, got {k}")
    layers: list[Layer] = [Conv2d(PLANES, k, 5, padding=2), ReLU()]
    for _ in range(11):
        layers += [Conv2d(k, k, 3, padding=1), ReLU()]
    return Sequential(*layers, Conv2d(k, 1, 1, bias=False), PositionBias((1, BOARD, BOARD)),
                      Flatten(), Softmax(dim=1))
