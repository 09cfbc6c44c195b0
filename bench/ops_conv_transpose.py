# SPDX-License-Identifier: MIT
"""Transposed convolutions (decoder / upsampling layers) for bench/op_bench.py:
forward and backward (input + weight gradients) next to PyTorch, in GFLOP/s."""

from __future__ import annotations

import numpy as np

import convcore.functional as F
from op_bench import OpCase

# (layer, Cin, H, Cout, kernel, stride, padding, output_padding)
LAYERS = [
    ("unet_up1", 1024, 28, 512, 2, 2, 0, 0),
    ("unet_up3", 256, 112, 128, 2, 2, 0, 0),
    ("fcn_up2x", 512, 14, 256, 4, 2, 1, 0),
    ("deconvnet_3x3", 512, 14, 512, 3, 1, 1, 0),
    ("decoder_3x3_s2", 128, 56, 64, 3, 2, 1, 1),
]


def cases(batch: int, dtype: np.dtype, torch) -> list[OpCase]:
    out = []
    rng = np.random.default_rng(0)
    for name, cin, h, cout, k, s, p, op in LAYERS:
        n = batch if cin * h * h <= 1 << 22 else max(1, batch // 4)
        x = rng.standard_normal((n, cin, h, h)).astype(dtype)
        w = (rng.standard_normal((cin, cout, k, k)) / np.sqrt(cin * k * k)).astype(dtype)
        b = rng.standard_normal(cout).astype(dtype)
        kw = dict(stride=s, padding=p, output_padding=op)
        y = F.conv_transpose2d(x, w, b, **kw)
        gy = rng.standard_normal(y.shape).astype(dtype)
        xt, wt, bt, gyt = (torch.from_numpy(a) for a in (x, w, b, gy))
        flops = 2.0 * n * cin * h * h * cout * k * k
        nbytes = (x.size + w.size + y.size) * x.itemsize
        layer = f"{name}(N={n})"
        yo = np.empty(y.shape, dtype)
        outs = (np.empty_like(x), np.empty_like(w), None)

        def torch_backward(xt=xt, wt=wt, gyt=gyt, kw=kw):
            # PyTorch's own transposed-conv backward kernels, without autograd bookkeeping.
            return torch.ops.aten.convolution_backward(
                gyt, xt, wt, None, (kw["stride"],) * 2, (kw["padding"],) * 2, (1, 1), True,
                (kw["output_padding"],) * 2, 1, (True, True, False))

        out += [
            OpCase("conv_transpose2d", layer, "fwd",
                   lambda x=x, w=w, b=b, kw=kw, yo=yo: F.conv_transpose2d(x, w, b, **kw, out=yo),
                   lambda xt=xt, wt=wt, bt=bt, kw=kw: torch.nn.functional.conv_transpose2d(
                       xt, wt, bt, **kw),
                   nbytes, flops),
            OpCase("conv_transpose2d grad x,w", layer, "bwd",
                   lambda gy=gy, x=x, w=w, kw=kw, outs=outs: F.conv_transpose2d_backward(
                       gy, x, w, None, **kw, needs=("input", "weight"), out=outs),
                   torch_backward, nbytes * 2, 2 * flops),
        ]
    return out
