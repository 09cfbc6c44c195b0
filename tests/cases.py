"""The convolution problem description shared by the test modules."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

import reference as R


@dataclass(frozen=True)
class Case:
    """One convolution problem, channel-first shapes; 1-D when ``size`` has one entry."""

    name: str
    n: int
    cin: int
    cout: int
    size: tuple
    k: tuple
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    groups: int = 1
    mode: Any = "zeros"
    bias: bool = True

    def __str__(self) -> str:
        return self.name

    @property
    def nd(self) -> int:
        return len(self.size)

    def per_axis(self, v) -> tuple:
        return tuple(v) if isinstance(v, (tuple, list)) else (v,) * self.nd

    @property
    def s(self) -> tuple:
        return self.per_axis(self.stride)

    @property
    def d(self) -> tuple:
        return self.per_axis(self.dilation)

    @property
    def pads(self) -> tuple:
        """(top, bottom, left, right) for 2-D, (left, right) for 1-D."""
        return R.resolve_padding(self.padding, self.size, self.k, self.s, self.d)

    @property
    def out_size(self) -> tuple:
        p = self.pads
        return tuple(
            R.output_size(self.size[i], self.k[i], self.s[i], p[2 * i], p[2 * i + 1], self.d[i])
            for i in range(self.nd)
        )

    @property
    def x_shape(self) -> tuple:
        return (self.n, self.cin) + tuple(self.size)

    @property
    def w_shape(self) -> tuple:
        return (self.cout, self.cin // self.groups) + tuple(self.k)

    @property
    def y_shape(self) -> tuple:
        return (self.n, self.cout) + self.out_size

    @property
    def k_fwd(self) -> int:
        return self.cin // self.groups * int(np.prod(self.k))

    @property
    def k_wgt(self) -> int:
        return self.n * int(np.prod(self.out_size))

    def kwargs(self) -> dict:
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups, padding_mode=self.mode)

    def algorithms(self) -> list:
        algos = ["im2col_gemm"]
        if all(k == 1 for k in self.k) and all(s == 1 for s in self.s) and not any(self.pads):
            algos.append("gemm_1x1")
        if self.groups == self.cin and self.groups > 1:
            algos.append("depthwise_direct")
        return algos

    def replace(self, **kw) -> "Case":
        return dataclasses.replace(self, **kw)
