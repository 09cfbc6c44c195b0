# SPDX-License-Identifier: MIT
"""Layer operators for bench/op_bench.py: activations, softmax, cross-entropy,
dropout and linear, forward and backward, on ResNet-50 / VGG-16 shapes.

PyTorch's side of each backward is the ATen op its autograd runs (with the
forward's saved output where autograd saves it): threshold_backward,
leaky_relu_backward, elu_backward, sigmoid_backward / tanh_backward (from
the output), _softmax_backward_data / _log_softmax_backward_data (from the
output), nll_loss{,2d}_backward + _log_softmax_backward_data for
cross-entropy (from the saved log-probabilities; convcore recomputes them from
the logits), native_dropout_backward (from the mask), and mm + mm + sum for
linear. convcore writes into preallocated out= arrays where its API has them.

bytes: inputs read once + outputs written once. linear flops: 2*N*in*out for
the forward, 4*N*in*out for the backward (grad_input and grad_weight GEMMs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import convcore.functional as F
from op_bench import OpCase, host


def _activation_cases(batch: int, dtype: np.dtype, torch) -> list[OpCase]:
    rng = np.random.default_rng(0)
    shape = (batch, 256, 56, 56)  # ResNet-50 res2 block output
    layer = "resnet50_res2"
    x = rng.standard_normal(shape, dtype=np.float32).astype(dtype)
    g = rng.standard_normal(shape, dtype=np.float32).astype(dtype)
    y, gx = np.empty_like(x), np.empty_like(x)
    tx, tg = torch.from_numpy(x), torch.from_numpy(g)
    es = x.itemsize
    aten = torch.ops.aten
    tf = torch.nn.functional
    saved = {name: torch.from_numpy(getattr(F, name)(x)) for name in ("sigmoid", "tanh")}
    forward = {
        "relu": (lambda: F.relu(x, out=y), lambda: torch.relu(tx)),
        "leaky_relu": (lambda: F.leaky_relu(x, 0.01, out=y), lambda: tf.leaky_relu(tx, 0.01)),
        "elu": (lambda: F.elu(x, 1.0, out=y), lambda: tf.elu(tx, 1.0)),
        "sigmoid": (lambda: F.sigmoid(x, out=y), lambda: torch.sigmoid(tx)),
        "tanh": (lambda: F.tanh(x, out=y), lambda: torch.tanh(tx)),
    }
    sig_y, tanh_y = saved["sigmoid"].cpu().numpy(), saved["tanh"].cpu().numpy()
    backward = {
        "relu": (lambda: F.relu_backward(g, x, out=gx), lambda: aten.threshold_backward(tg, tx, 0)),
        "leaky_relu": (lambda: F.leaky_relu_backward(g, x, 0.01, out=gx),
                       lambda: aten.leaky_relu_backward(tg, tx, 0.01, False)),
        "elu": (lambda: F.elu_backward(g, x, 1.0, out=gx), lambda: aten.elu_backward(tg, 1.0, 1, 1, False, tx)),
        "sigmoid": (lambda: F.sigmoid_backward(g, x, output=sig_y, out=gx),
                    lambda: aten.sigmoid_backward(tg, saved["sigmoid"])),
        "tanh": (lambda: F.tanh_backward(g, x, output=tanh_y, out=gx),
                 lambda: aten.tanh_backward(tg, saved["tanh"])),
    }
    cases = []
    for name in forward:
        cc, pt = forward[name]
        cases.append(OpCase(name, layer, "fwd", cc, pt, 2 * x.size * es))
        cc, pt = backward[name]
        cases.append(OpCase(name, layer, "bwd", cc, pt, 3 * x.size * es))
    return cases


def _softmax_cases(batch: int, dtype: np.dtype, torch) -> list[OpCase]:
    rng = np.random.default_rng(1)
    cases = []
    for shape, layer in (((batch, 1000), "classifier_1000"), ((batch, 21, 112, 112), "dense_21x112x112")):
        x = (rng.standard_normal(shape, dtype=np.float32) * 3).astype(dtype)
        g = rng.standard_normal(shape, dtype=np.float32).astype(dtype)
        y, gx = np.empty_like(x), np.empty_like(x)
        tx, tg = torch.from_numpy(x), torch.from_numpy(g)
        es = x.itemsize
        tdtype = tx.dtype
        for log in (False, True):
            name = "log_softmax" if log else "softmax"
            fwd = F.log_softmax if log else F.softmax
            bwd = F.log_softmax_backward if log else F.softmax_backward
            out = fwd(x, 1)
            tout = torch.from_numpy(out)
            tfwd = torch.log_softmax if log else torch.softmax
            tbwd = torch.ops.aten._log_softmax_backward_data if log else torch.ops.aten._softmax_backward_data
            cases.append(OpCase(f"{name} dim=1", layer, "fwd", lambda x=x, y=y, fwd=fwd: fwd(x, 1, out=y),
                                lambda tx=tx, tfwd=tfwd: tfwd(tx, 1), 2 * x.size * es))
            cases.append(OpCase(
                f"{name} dim=1", layer, "bwd",
                lambda g=g, x=x, out=out, gx=gx, bwd=bwd: bwd(g, x, 1, output=out, out=gx),
                lambda tg=tg, tout=tout, tbwd=tbwd, tdtype=tdtype: tbwd(tg, tout, 1, tdtype),
                3 * x.size * es))
    return cases


def _cross_entropy_cases(batch: int, dtype: np.dtype, torch) -> list[OpCase]:
    rng = np.random.default_rng(2)
    aten = torch.ops.aten
    cases = []
    for shape, layer in (((batch, 1000), "classifier_1000"), ((batch, 21, 112, 112), "dense_21x112x112")):
        x = (rng.standard_normal(shape, dtype=np.float32) * 3).astype(dtype)
        t = rng.integers(0, shape[1], (shape[0],) + shape[2:])
        gx = np.empty_like(x)
        tx, tt = torch.from_numpy(x), torch.from_numpy(t)
        one = np.array(1.0, dtype)
        tone = torch.from_numpy(one)
        logp = torch.log_softmax(tx, 1)
        nll_fwd = aten.nll_loss_forward if x.ndim == 2 else aten.nll_loss2d_forward
        nll_bwd = aten.nll_loss_backward if x.ndim == 2 else aten.nll_loss2d_backward
        total_weight = nll_fwd(logp, tt, None, 1, -100)[1]

        def torch_bwd(logp=logp, tt=tt, total_weight=total_weight, nll_bwd=nll_bwd, tone=tone):
            g_logp = nll_bwd(tone, logp, tt, None, 1, -100, total_weight)
            return aten._log_softmax_backward_data(g_logp, logp, 1, logp.dtype)

        def check(x=x, t=t, tx=tx, tt=tt):
            txg = tx.clone().requires_grad_(True)
            torch.nn.functional.cross_entropy(txg, tt).backward()
            return F.cross_entropy_backward(np.array(1.0, x.dtype), x, t), txg.grad

        nbytes = x.size * x.itemsize + t.size * 8
        cases.append(OpCase("cross_entropy mean", layer, "fwd", lambda x=x, t=t: F.cross_entropy(x, t),
                            lambda tx=tx, tt=tt: torch.nn.functional.cross_entropy(tx, tt), nbytes))
        cases.append(OpCase("cross_entropy mean", layer, "bwd",
                            lambda x=x, t=t, gx=gx, one=one: F.cross_entropy_backward(one, x, t, out=gx),
                            torch_bwd, nbytes + x.size * x.itemsize, check=check))
    return cases


def _dropout_cases(batch: int, dtype: np.dtype, torch) -> list[OpCase]:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((batch, 4096), dtype=np.float32).astype(dtype)  # VGG-16 fc6 output
    g = rng.standard_normal(x.shape, dtype=np.float32).astype(dtype)
    tx, tg = torch.from_numpy(x), torch.from_numpy(g)
    y, gx = np.empty_like(x), np.empty_like(x)
    _, mask = F.dropout(x, 0.5, seed=1, return_mask=True)
    mask = host(mask)
    tmask = torch.from_numpy(mask)
    es = x.itemsize
    fwd_check = lambda: (F.dropout(x, 0.5, seed=1, out=y), np.where(mask, x * dtype.type(2), 0))
    bwd_check = lambda: (F.dropout_backward(g, x, 0.5, mask=mask), np.where(mask, g * dtype.type(2), 0))
    return [
        OpCase("dropout p=0.5 (+mask)", "vgg16_fc6", "fwd",
               lambda: F.dropout(x, 0.5, seed=1, return_mask=True, out=y),
               lambda: torch.ops.aten.native_dropout(tx, 0.5, True), 2 * x.size * es + x.size, check=fwd_check),
        OpCase("dropout p=0.5 (mask)", "vgg16_fc6", "bwd",
               lambda: F.dropout_backward(g, x, 0.5, mask=mask, out=gx),
               lambda: torch.ops.aten.native_dropout_backward(tg, tmask, 2.0), 2 * x.size * es + x.size,
               check=bwd_check),
    ]


def _linear_cases(batch: int, dtype: np.dtype, torch) -> list[OpCase]:
    rng = np.random.default_rng(4)
    cases = []
    for layer, fin, fout in (("vgg16_fc6", 25088, 4096), ("vgg16_fc7", 4096, 4096), ("vgg16_fc8", 4096, 1000)):
        x = rng.standard_normal((batch, fin), dtype=np.float32).astype(dtype)
        w = (rng.standard_normal((fout, fin), dtype=np.float32) * 0.01).astype(dtype)
        b = rng.standard_normal(fout, dtype=np.float32).astype(dtype)
        g = rng.standard_normal((batch, fout), dtype=np.float32).astype(dtype)
        y = np.empty((batch, fout), dtype)
        tx, tw, tb, tg = (torch.from_numpy(a) for a in (x, w, b, g))
        es = x.itemsize
        flops = 2.0 * batch * fin * fout

        def torch_bwd(tx=tx, tw=tw, tg=tg) -> Any:
            return tg @ tw, tg.t() @ tx, tg.sum(0)

        cases.append(OpCase(f"linear {fin}->{fout}", layer, "fwd", lambda x=x, w=w, b=b, y=y: F.linear(x, w, b, out=y),
                            lambda tx=tx, tw=tw, tb=tb: torch.nn.functional.linear(tx, tw, tb),
                            (x.size + w.size + b.size + y.size) * es, flops))
        cases.append(OpCase(f"linear {fin}->{fout}", layer, "bwd",
                            lambda g=g, x=x, w=w, b=b: F.linear_backward(g, x, w, b), torch_bwd,
                            (g.size + x.size + 2 * w.size + x.size + b.size) * es, 2 * flops))
    return cases


def cases(batch: int, dtype: np.dtype, torch) -> list[OpCase]:
    return (_activation_cases(batch, dtype, torch) + _softmax_cases(batch, dtype, torch)
            + _cross_entropy_cases(batch, dtype, torch) + _dropout_cases(batch, dtype, torch)
            + _linear_cases(batch, dtype, torch))
