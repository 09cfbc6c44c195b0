# SPDX-License-Identifier: MIT
"""Batch norm and local response norm cases for bench/op_bench.py.

Batch norm on the ResNet-50 activation shapes (every BN of the network sees one
of these five), training forward, training backward and eval forward, plus the
res3 shape channels-last (torch channels_last tensors). LRN on AlexNet's
norm1 (N, 96, 55, 55), size 5, alpha 1e-4, beta 0.75, k 2.

Peers: torch.nn.functional.batch_norm; for the batch-norm backward
torch.ops.aten.native_batch_norm_backward with the forward's saved statistics
(convcore gets the same via save_mean / save_invstd); for the LRN backward
autograd, with the graph built once outside the timed loop.

Bytes: the traffic of the minimal algorithm, in elements of the activation
(E): eval forward reads x and writes y (2E); training forward reads x for
the statistics and again to normalize, and writes y (3E); training backward
reads dy and x for the per-channel sums and again for dx, and writes dx (5E);
LRN forward 2E, LRN backward reads dy and x and writes dx (3E).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import convcore.functional as F
from op_bench import OpCase

RESNET50_BN = [
    ("resnet50_bn1", 64, 112),
    ("resnet50_res2", 256, 56),
    ("resnet50_res3", 512, 28),
    ("resnet50_res4", 1024, 14),
    ("resnet50_res5", 2048, 7),
]
EPS, MOMENTUM = 1e-5, 0.1


class _BatchNormSetup:
    """One activation in convcore's layout; torch sees the same memory as an
    NCHW tensor (channels_last-strided when channels_last)."""

    def __init__(self, layer: str, x: np.ndarray, channels_last: bool, torch: Any,
                 rng: np.random.Generator) -> None:
        self.layer, self.x, self.torch = layer, x, torch
        c = x.shape[-1] if channels_last else x.shape[1]
        self.fmt = "NHWC" if channels_last else None
        self.name = "batch_norm" + (" NHWC" if channels_last else "")
        self.as_torch = (lambda a: torch.from_numpy(a).permute(0, 3, 1, 2)) if channels_last \
            else torch.from_numpy
        self.to_cc = (lambda t: t.permute(0, 2, 3, 1)) if channels_last else (lambda t: t)
        self.c = c
        self.w = (1 + 0.1 * rng.standard_normal(c)).astype(x.dtype)
        self.b = (0.1 * rng.standard_normal(c)).astype(x.dtype)
        self.xt = self.as_torch(x)
        self.wt, self.bt = torch.from_numpy(self.w), torch.from_numpy(self.b)
        self.g = rng.standard_normal(x.shape).astype(x.dtype)
        self.E = x.nbytes

    def running_stats(self) -> tuple:
        """Fresh running statistics for one case: the timed training calls
        update them a different number of times in each library."""
        rm = np.zeros(self.c, self.x.dtype)
        rv = np.linspace(1, 1.5, self.c).astype(self.x.dtype)
        return rm, rv, self.torch.from_numpy(rm.copy()), self.torch.from_numpy(rv.copy())

    def forward(self, training: bool) -> OpCase:
        x, w, b, fmt, xt, wt, bt = self.x, self.w, self.b, self.fmt, self.xt, self.wt, self.bt
        tf = self.torch.nn.functional
        rm, rv, rmt, rvt = self.running_stats()
        y = np.empty_like(x)
        return OpCase(
            f"{self.name} {'train' if training else 'eval'}", self.layer, "fwd",
            lambda: F.batch_norm(x, rm, rv, w, b, training, MOMENTUM, EPS, data_format=fmt,
                                 out=y),
            lambda: tf.batch_norm(xt, rmt, rvt, wt, bt, training, MOMENTUM, EPS),
            (3 if training else 2) * self.E,
            check=lambda: (F.batch_norm(x, rm, rv, w, b, training, MOMENTUM, EPS,
                                        data_format=fmt),
                           self.to_cc(tf.batch_norm(xt, rmt, rvt, wt, bt, training, MOMENTUM,
                                                    EPS))))

    def backward(self) -> OpCase:
        x, w, b, fmt, g = self.x, self.w, self.b, self.fmt, self.g
        rm, rv, rmt, rvt = self.running_stats()
        _, sm, si = F.batch_norm(x, rm.copy(), rv.copy(), w, b, True, data_format=fmt,
                                 return_stats=True)
        smt, sit = self.torch.from_numpy(sm), self.torch.from_numpy(si)
        gt, gx = self.as_torch(g), np.empty_like(x)
        xt, wt = self.xt, self.wt
        native = self.torch.ops.aten.native_batch_norm_backward

        def torch_bwd():
            return native(gt, xt, wt, rmt, rvt, smt, sit, True, EPS, [True, True, True])

        def cc_bwd():
            return F.batch_norm_backward(g, x, rm, rv, w, b, True, EPS, data_format=fmt,
                                         save_mean=sm, save_invstd=si, out=gx)

        return OpCase(f"{self.name} train", self.layer, "bwd", cc_bwd, torch_bwd, 5 * self.E,
                      check=lambda: (cc_bwd()[0].copy(), self.to_cc(torch_bwd()[0])))


def _lrn_cases(batch: int, dtype: np.dtype, torch: Any, rng: np.random.Generator) -> list[OpCase]:
    tf = torch.nn.functional
    size, alpha, beta, k = 5, 1e-4, 0.75, 2.0
    x = rng.standard_normal((batch, 96, 55, 55)).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    y, gx = np.empty_like(x), np.empty_like(x)
    xt, gt = torch.from_numpy(x), torch.from_numpy(g)
    xg = torch.from_numpy(x.copy()).requires_grad_()
    with torch.enable_grad():
        yg = tf.local_response_norm(xg, size, alpha, beta, k)
    E = x.nbytes
    return [
        OpCase("local_response_norm 5", "alexnet_norm1", "fwd",
               lambda: F.local_response_norm(x, size, alpha, beta, k, out=y),
               lambda: tf.local_response_norm(xt, size, alpha, beta, k), 2 * E),
        OpCase("local_response_norm 5", "alexnet_norm1", "bwd",
               lambda: F.local_response_norm_backward(g, x, size, alpha, beta, k, out=gx),
               lambda: torch.autograd.grad(yg, xg, gt, retain_graph=True), 3 * E),
    ]


def cases(batch: int, dtype: np.dtype, torch: Any) -> list[OpCase]:
    rng = np.random.default_rng(0)
    out: list[OpCase] = []
    for layer, c, hw in RESNET50_BN:
        bn = _BatchNormSetup(layer, rng.standard_normal((batch, c, hw, hw)).astype(dtype), False,
                             torch, rng)
        out += [bn.forward(True), bn.backward(), bn.forward(False)]
    bn = _BatchNormSetup("resnet50_res3", rng.standard_normal((batch, 28, 28, 512)).astype(dtype),
                         True, torch, rng)
    out += [bn.forward(True), bn.backward()]
    out += _lrn_cases(batch, dtype, torch, rng)
    return out
