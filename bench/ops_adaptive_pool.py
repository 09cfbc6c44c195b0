# SPDX-License-Identifier: MIT
"""Cases for bench/op_bench.py: global / adaptive / spatial-pyramid / ROI pooling
and max unpooling, forward and backward, on ResNet-50 / VGG-16 / SPP-net /
SegNet / Fast R-CNN shapes.

Peers: torch's own ops where they exist (adaptive_*_pool2d and their aten
backward kernels, max_unpool2d; unpooling's backward is a gather, as its
autograd formula). Spatial pyramid pooling is torch's three adaptive_max_pool2d
+ flatten + cat (backward: the three aten backward kernels with the forward's
indices, summed; convcore's backward gets its forward's indices too).
torchvision is not installed, so the ROI pooling peer is a stand-in: a torch
loop of adaptive_max_pool2d over each box's crop of the feature map (bins
close to, not exactly, roi_pool's; backward: autograd through that loop,
forward included). Its results are checked against a NumPy roi_pool instead.
"""

from __future__ import annotations

import math

import convcore.functional as F
import numpy as np
from op_bench import OpCase


def _nbytes(*arrays) -> int:
    return int(sum(a.nbytes for a in arrays))


def _global_avg(n, dtype, torch, rng):
    x = rng.standard_normal((n, 2048, 7, 7)).astype(dtype)
    tx = torch.from_numpy(x)
    y = np.empty((n, 2048), dtype)
    gy = rng.standard_normal((n, 2048)).astype(dtype)
    tgy = torch.from_numpy(gy.reshape(n, 2048, 1, 1))
    gx = np.empty_like(x)
    return [
        OpCase("global_avg_pool2d", "resnet50_avgpool", "fwd",
               lambda: F.global_avg_pool2d(x, out=y),
               lambda: torch.nn.functional.adaptive_avg_pool2d(tx, 1).view(n, 2048),
               _nbytes(x, y)),
        OpCase("global_avg_pool2d", "resnet50_avgpool", "bwd",
               lambda: F.global_avg_pool2d_backward(gy, x, out=gx),
               lambda: torch.ops.aten._adaptive_avg_pool2d_backward(tgy, tx),
               _nbytes(gy, gx)),
    ]


def _adaptive(n, dtype, torch, rng, mode, shape, layer):
    x = rng.standard_normal((n,) + shape).astype(dtype)
    tx = torch.from_numpy(x)
    y = np.empty((n, shape[0], 7, 7), dtype)
    gy = rng.standard_normal(y.shape).astype(dtype)
    tgy = torch.from_numpy(gy)
    gx = np.empty_like(x)
    name = f"adaptive_{mode}_pool2d ->7x7"
    if mode == "avg":
        return [
            OpCase(name, layer, "fwd", lambda: F.adaptive_avg_pool2d(x, 7, out=y),
                   lambda: torch.nn.functional.adaptive_avg_pool2d(tx, 7), _nbytes(x, y)),
            OpCase(name, layer, "bwd", lambda: F.adaptive_avg_pool2d_backward(gy, x, 7, out=gx),
                   lambda: torch.ops.aten._adaptive_avg_pool2d_backward(tgy, tx),
                   _nbytes(gy, gx)),
        ]
    _, ind = F.adaptive_max_pool2d(x, 7, True)
    tind = torch.from_numpy(ind)
    return [
        OpCase(name, layer, "fwd", lambda: F.adaptive_max_pool2d(x, 7, True),
               lambda: torch.nn.functional.adaptive_max_pool2d(tx, 7, return_indices=True),
               _nbytes(x, y, ind)),
        OpCase(name, layer, "bwd",
               lambda: F.adaptive_max_pool2d_backward(gy, x, ind, 7, out=gx),
               lambda: torch.ops.aten.adaptive_max_pool2d_backward(tgy, tx, tind),
               _nbytes(gy, ind, gx)),
    ]


def _spp(n, dtype, torch, rng):
    levels = (1, 2, 4)
    x = rng.standard_normal((n, 256, 13, 13)).astype(dtype)
    tx = torch.from_numpy(x)
    y = np.empty((n, 256 * 21), dtype)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = np.empty_like(x)
    _, ind = F.spatial_pyramid_pool2d(x, levels, return_indices=True)
    tf = torch.nn.functional
    inds = [tf.adaptive_max_pool2d(tx, l, return_indices=True)[1] for l in levels]
    offs = np.cumsum([0] + [256 * l * l for l in levels])
    tgys = [torch.from_numpy(gy[:, offs[i]:offs[i + 1]].reshape(n, 256, l, l).copy())
            for i, l in enumerate(levels)]

    def torch_fwd():
        return torch.cat([tf.adaptive_max_pool2d(tx, l).flatten(1) for l in levels], 1)

    def torch_bwd():
        g = torch.ops.aten.adaptive_max_pool2d_backward(tgys[0], tx, inds[0])
        for tg, ti in zip(tgys[1:], inds[1:]):
            g += torch.ops.aten.adaptive_max_pool2d_backward(tg, tx, ti)
        return g

    return [
        OpCase("spatial_pyramid_pool2d 1,2,4", "spp_conv5", "fwd",
               lambda: F.spatial_pyramid_pool2d(x, levels, out=y), torch_fwd, _nbytes(x, y)),
        OpCase("spatial_pyramid_pool2d 1,2,4", "spp_conv5", "bwd",
               lambda: F.spatial_pyramid_pool2d_backward(gy, x, levels, indices=ind, out=gx),
               torch_bwd, _nbytes(gy, ind, gx)),
    ]


def _unpool(n, dtype, torch, rng):
    tf = torch.nn.functional
    src = torch.from_numpy(rng.standard_normal((n, 64, 224, 224)).astype(dtype))
    tp, tind = tf.max_pool2d(src, 2, 2, return_indices=True)
    del src
    p, ind = tp.cpu().numpy(), tind.cpu().numpy()
    y = np.empty((n, 64, 224, 224), dtype)
    gy = rng.standard_normal(y.shape).astype(dtype)
    tgy = torch.from_numpy(gy)
    gx = np.empty_like(p)
    return [
        OpCase("max_unpool2d 2x2/2", "segnet_unpool1", "fwd",
               lambda: F.max_unpool2d(p, ind, 2, out=y),
               lambda: tf.max_unpool2d(tp, tind, 2), _nbytes(p, ind, y)),
        OpCase("max_unpool2d 2x2/2", "segnet_unpool1", "bwd",
               lambda: F.max_unpool2d_backward(gy, p, ind, 2, out=gx),
               lambda: tgy.flatten(2).gather(2, tind.flatten(2)).view_as(tp),
               _nbytes(ind, gx) + gx.nbytes),  # indices + gathered gy + gx
    ]


def _roi_bins(lo, hi, scale, pooled, n, t):
    r = lambda v: int(math.copysign(math.floor(abs(v) + 0.5), v))
    start, end = r(float(t(lo) * t(scale))), r(float(t(hi) * t(scale)))
    b = t(max(end - start + 1, 1)) / t(pooled)
    c = lambda v: min(max(v, 0), n)
    return [(c(math.floor(t(i) * b) + start), c(math.ceil(t(i + 1) * b) + start))
            for i in range(pooled)]


def _roi(n, dtype, torch, rng):
    del n  # Fast R-CNN runs one image at a time
    H, W, scale, K = 38, 50, 1.0 / 16, 128
    t = np.dtype(dtype).type
    x = rng.standard_normal((1, 512, H, W)).astype(dtype)
    tx = torch.from_numpy(x)
    x1 = rng.uniform(0, W * 16 - 64, K)
    y1 = rng.uniform(0, H * 16 - 64, K)
    boxes = np.stack([np.zeros(K), x1, y1, x1 + rng.uniform(32, 400, K),
                      y1 + rng.uniform(32, 300, K)], 1).astype(dtype)
    grids = [(_roi_bins(b[2], b[4], scale, 7, H, t), _roi_bins(b[1], b[3], scale, 7, W, t))
             for b in boxes]
    crops = [(max(g[0][0][0], 0), max(g[0][-1][1], 1), max(g[1][0][0], 0), max(g[1][-1][1], 1))
             for g in grids]
    y = np.empty((K, 512, 7, 7), dtype)
    gy = rng.standard_normal(y.shape).astype(dtype)
    tgy = torch.from_numpy(gy)
    gx = np.empty_like(x)
    tf = torch.nn.functional

    def torch_fwd(inp=tx):
        return torch.cat([tf.adaptive_max_pool2d(inp[:, :, h0:h1, w0:w1], 7)
                          for h0, h1, w0, w1 in crops])

    def torch_bwd():
        txg = tx.detach().requires_grad_(True)
        with torch.enable_grad():
            return torch.autograd.grad(torch_fwd(txg), txg, tgy)[0]

    def numpy_fwd():
        want = np.zeros((K, 512, 7, 7))
        for k, (rows, cols) in enumerate(grids):
            for i, (h0, h1) in enumerate(rows):
                for j, (w0, w1) in enumerate(cols):
                    if h1 > h0 and w1 > w0:
                        want[k, :, i, j] = x[0, :, h0:h1, w0:w1].max(axis=(1, 2))
        return want

    def numpy_bwd():
        want = np.zeros((512, H * W))
        ch = np.arange(512)
        for k, (rows, cols) in enumerate(grids):
            for i, (h0, h1) in enumerate(rows):
                for j, (w0, w1) in enumerate(cols):
                    if h1 > h0 and w1 > w0:
                        a = x[0, :, h0:h1, w0:w1].reshape(512, -1).argmax(axis=1)
                        pos = (h0 + a // (w1 - w0)) * W + w0 + a % (w1 - w0)
                        np.add.at(want, (ch, pos), gy[k, :, i, j])
        return want.reshape(1, 512, H, W)

    return [
        OpCase("roi_pool 7x7 K128 (peer: crops)", "vgg16_conv5_frcnn", "fwd",
               lambda: F.roi_pool(x, boxes, 7, scale, out=y), torch_fwd, _nbytes(x, boxes, y),
               check=lambda: (F.roi_pool(x, boxes, 7, scale), numpy_fwd())),
        OpCase("roi_pool 7x7 K128 (peer: crops)", "vgg16_conv5_frcnn", "bwd",
               lambda: F.roi_pool_backward(gy, x, boxes, 7, scale, out=gx), torch_bwd,
               _nbytes(gy, x, boxes, gx),
               check=lambda: (F.roi_pool_backward(gy, x, boxes, 7, scale), numpy_bwd())),
    ]


def cases(batch: int, dtype: np.dtype, torch) -> list[OpCase]:
    rng = np.random.default_rng(0)
    return (
        _global_avg(batch, dtype, torch, rng)
        + _adaptive(batch, dtype, torch, rng, "avg", (512, 14, 14), "vgg16_pool5_14")
        + _adaptive(batch, dtype, torch, rng, "avg", (512, 7, 7), "vgg16_pool5")
        + _adaptive(batch, dtype, torch, rng, "max", (512, 14, 14), "vgg16_pool5_14")
        + _spp(batch, dtype, torch, rng)
        + _unpool(batch, dtype, torch, rng)
        + _roi(batch, dtype, torch, rng)
    )
