# SPDX-License-Identifier: MIT
"""Max / average / Lp pooling cases for bench/op_bench.py: ResNet-50's stem
pool, VGG-16's 2x2/2 pools, GoogLeNet's 3x3/1 inception pool, average and Lp
2x2/2 pools, forward and backward, plus NHWC (channels_last in torch).

Forward calls write into preallocated out= arrays; max pooling's backward
takes the forward's indices (torch: aten.max_pool2d_with_indices_backward,
avg: aten.avg_pool2d_backward; lp has no backward op in torch, so its torch
side is autograd over a retained graph)."""

from __future__ import annotations

from typing import Any

import numpy as np

import convcore.functional as F
from op_bench import OpCase, host

# VGG-16's first pool at batch 4 (as compare_torch.BATCH_CAP does for conv1_2).
BATCH_CAP = {"vgg16_pool1": 4}


def _nhwc(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def _max_cases(layer: str, shape, k, s, p, dtype, torch, nhwc: bool = False) -> list[OpCase]:
    tf = torch.nn.functional
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    fmt = "NHWC" if nhwc else "NCHW"
    xc = _nhwc(x) if nhwc else x
    tx = torch.from_numpy(xc).permute(0, 3, 1, 2) if nhwc else torch.from_numpy(x)
    y, idx = F.max_pool2d(xc, k, s, p, return_indices=True, data_format=fmt)
    _, ti = tf.max_pool2d(tx, k, s, p, return_indices=True)
    gy = rng.standard_normal(y.shape).astype(dtype)
    tgy = torch.from_numpy(gy).permute(0, 3, 1, 2) if nhwc else torch.from_numpy(gy)
    gx = np.empty_like(xc)
    name = f"max_pool2d {k}x{k}/{s}" + (f" p{p}" if p else "") + (" NHWC" if nhwc else "")
    back = (lambda a: host(a).transpose(0, 3, 1, 2)) if nhwc else host

    def cc_fwd() -> Any:
        return F.max_pool2d(xc, k, s, p, data_format=fmt, out=y)

    def pt_fwd() -> Any:
        return tf.max_pool2d(tx, k, s, p)

    def cc_bwd() -> Any:
        return F.max_pool2d_backward(gy, xc, idx, k, s, p, data_format=fmt, out=gx)

    def pt_bwd() -> Any:
        return torch.ops.aten.max_pool2d_with_indices_backward(tgy, tx, [k, k], [s, s], [p, p],
                                                               [1, 1], False, ti)

    item = x.itemsize
    return [
        OpCase(name, layer, "fwd", cc_fwd, pt_fwd, (x.size + y.size) * item,
               check=lambda: (back(cc_fwd()), pt_fwd())),
        OpCase(name, layer, "bwd", cc_bwd, pt_bwd, (gy.size + x.size) * item + idx.size * 8,
               check=lambda: (back(cc_bwd()), pt_bwd())),
    ]


def _avg_cases(layer: str, shape, k, s, p, dtype, torch) -> list[OpCase]:
    tf = torch.nn.functional
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    tx = torch.from_numpy(x)
    y = F.avg_pool2d(x, k, s, p)
    gy = rng.standard_normal(y.shape).astype(dtype)
    tgy = torch.from_numpy(gy)
    gx = np.empty_like(x)
    name = f"avg_pool2d {k}x{k}/{s}" + (f" p{p}" if p else "")
    item = x.itemsize
    return [
        OpCase(name, layer, "fwd", lambda: F.avg_pool2d(x, k, s, p, out=y),
               lambda: tf.avg_pool2d(tx, k, s, p), (x.size + y.size) * item),
        OpCase(name, layer, "bwd", lambda: F.avg_pool2d_backward(gy, x, k, s, p, out=gx),
               lambda: torch.ops.aten.avg_pool2d_backward(tgy, tx, [k, k], [s, s], [p, p], False,
                                                          True, None),
               (gy.size + x.size) * item),
    ]


def _lp_cases(layer: str, shape, norm: float, k, s, dtype, torch) -> list[OpCase]:
    tf = torch.nn.functional
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    y = F.lp_pool2d(x, norm, k, s)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = np.empty_like(x)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    with torch.enable_grad():
        ty = tf.lp_pool2d(tx, norm, k, s)
    tgy = torch.from_numpy(gy)
    name = f"lp_pool2d p{norm:g} {k}x{k}/{s}"
    item = x.itemsize
    return [
        OpCase(name, layer, "fwd", lambda: F.lp_pool2d(x, norm, k, s, out=y),
               lambda: tf.lp_pool2d(tx.detach(), norm, k, s), (x.size + y.size) * item),
        OpCase(name, layer, "bwd", lambda: F.lp_pool2d_backward(gy, x, norm, k, s, out=gx),
               lambda: torch.autograd.grad(ty, tx, tgy, retain_graph=True),
               (gy.size + 2 * x.size) * item),
    ]


def cases(batch: int, dtype: np.dtype, torch) -> list[OpCase]:
    dt = np.dtype(dtype).type
    n1 = min(batch, BATCH_CAP["vgg16_pool1"])
    out: list[OpCase] = []
    out += _max_cases("resnet50_pool1", (batch, 64, 112, 112), 3, 2, 1, dt, torch)
    out += _max_cases(f"vgg16_pool1 N{n1}", (n1, 64, 224, 224), 2, 2, 0, dt, torch)
    out += _max_cases("vgg16_pool2", (batch, 128, 112, 112), 2, 2, 0, dt, torch)
    out += _max_cases("vgg16_pool3", (batch, 256, 56, 56), 2, 2, 0, dt, torch)
    out += _max_cases("vgg16_pool4", (batch, 512, 28, 28), 2, 2, 0, dt, torch)
    out += _max_cases("vgg16_pool5", (batch, 512, 14, 14), 2, 2, 0, dt, torch)
    out += _avg_cases("googlenet_3a_pool", (batch, 192, 28, 28), 3, 1, 1, dt, torch)
    out += _avg_cases("c256_56", (batch, 256, 56, 56), 2, 2, 0, dt, torch)
    out += _lp_cases("c256_56", (batch, 256, 56, 56), 2.0, 2, 2, dt, torch)
    out += _max_cases("resnet50_pool1", (batch, 64, 112, 112), 3, 2, 1, dt, torch, nhwc=True)
    return out
