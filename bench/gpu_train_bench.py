#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A full training step on the GPU, convcore vs PyTorch: ResNet-50 and VGG-16
(convcore.models builders) at batch 32 on 224x224 images, 1000 classes.

One step = zero the gradients, forward, cross-entropy loss, backward, and an
SGD step (momentum 0.9, weight decay 1e-4; convcore's fused kernel, torch's
default foreach implementation). The torch twin of each network is built
from the convcore model by tests/test_models.py's ``torch_twin`` (same
layers, same weights; its max pools also return their indices, as convcore's
do; VGG-16's two dropouts become identities in the twin, a negligible
difference), so both libraries train the same network on the same GPU and
the same data.

Math modes, both libraries alike:
  fp32  TF32 off: convcore.cuda.set_math_mode('fp32');
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
  tf32  TF32 on:  convcore.cuda.set_math_mode('tf32'); both torch flags True

Timing: --warmup untimed steps per library, then --steps samples of one step
each, alternating the libraries sample by sample; each sample is bracketed
by device synchronizations. Medians in ms; ratio = torch_ms / convcore_ms
(> 1: convcore is faster). Exits with a message (status 1) when there is no
CUDA device, for either library.

Usage:
  python bench/gpu_train_bench.py
  python bench/gpu_train_bench.py --models resnet50 --modes tf32 --steps 20 --csv /tmp/train.csv
"""

from __future__ import annotations

import argparse
import csv
import importlib
import os
import statistics
import sys
import time
from typing import Any, Callable

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))  # test_models.torch_twin

BUILDERS = {"resnet50": "resnet50", "vgg16": "vgg16"}


def fail(message: str) -> None:
    print(f"gpu_train_bench: {message}", file=sys.stderr)
    sys.exit(1)


def load_libraries() -> tuple[Any, Any]:
    import convcore

    try:
        cuda = importlib.import_module("convcore.cuda")
    except ImportError:
        fail("this convcore has no convcore.cuda module (no GPU support)")
    if not cuda.is_available():
        fail("no CUDA device for convcore (" + ("built without CUDA" if not cuda.built_with_cuda()
                                                  else "no driver or no GPU") + ")")
    try:
        import torch
    except ImportError:
        fail("PyTorch is not installed")
    if not torch.cuda.is_available():
        fail("PyTorch sees no CUDA device (a CPU-only torch build?)")
    return convcore, torch


def build(convcore: Any, torch: Any, name: str) -> tuple[Any, Any]:
    """(convcore model on cuda:0, torch twin on cuda:0), same weights, train mode."""
    from test_models import torch_twin

    model = getattr(convcore.models, BUILDERS[name])(1000)
    twin = torch_twin(torch, model).float().cuda().train()
    return model.to("cuda").train(), twin


def convcore_step(convcore: Any, model: Any, x: Any, y: Any) -> Callable[[], None]:
    loss = convcore.nn.CrossEntropyLoss()
    opt = convcore.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

    def step() -> None:
        opt.zero_grad()
        prediction = model(x)
        loss._forward_array(prediction, y)  # the loss stays on the device (no host copy)
        model.backward(loss.backward())
        opt.step()

    return step


def torch_step(torch: Any, model: Any, x: Any, y: Any) -> Callable[[], None]:
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

    def step() -> None:
        opt.zero_grad(set_to_none=False)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def set_mode(convcore: Any, torch: Any, mode: str) -> None:
    importlib.import_module("convcore.cuda").set_math_mode(mode)
    tf32 = mode == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", default="resnet50,vgg16")
    parser.add_argument("--modes", default="fp32,tf32")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224, help="image height and width")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="timed samples per library")
    parser.add_argument("--csv", help="also write the rows to this CSV file")
    args = parser.parse_args()
    names = [n for n in args.models.split(",") if n]
    modes = [m for m in args.modes.split(",") if m]
    for n in names:
        if n not in BUILDERS:
            parser.error(f"unknown model {n!r} (choose from {sorted(BUILDERS)})")
    for m in modes:
        if m not in ("fp32", "tf32"):
            parser.error(f"unknown mode {m!r} (fp32 or tf32)")
    convcore, torch = load_libraries()
    cuda = importlib.import_module("convcore.cuda")
    print(f"device: {torch.cuda.get_device_name(0)}; batch {args.batch}, {args.size}x{args.size}, "
          f"{args.warmup} warm-up steps, median of {args.steps}")
    rng = np.random.default_rng(0)
    rows = []
    header = f"{'model':<10} {'mode':<5} {'convcore_ms':>12} {'torch_ms':>10} {'ratio':>7}"
    print(header)
    for name in names:
        model, twin = build(convcore, torch, name)
        x = rng.standard_normal((args.batch, 3, args.size, args.size)).astype(np.float32)
        y = rng.integers(0, 1000, args.batch)
        ours = convcore_step(convcore, model, cuda.asarray(x), cuda.asarray(y))
        theirs = torch_step(torch, twin, torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda())
        for mode in modes:
            set_mode(convcore, torch, mode)

            def timed(step: Callable[[], None], sync: Callable[[], None]) -> float:
                sync()
                start = time.perf_counter()
                step()
                sync()
                return (time.perf_counter() - start) * 1e3

            for _ in range(args.warmup):
                ours()
                theirs()
            cuda.synchronize()
            torch.cuda.synchronize()
            cc, th = [], []
            for i in range(args.steps):
                pair = [(cc, ours, cuda.synchronize), (th, theirs, torch.cuda.synchronize)]
                for store, step, sync in (pair if i % 2 == 0 else pair[::-1]):
                    store.append(timed(step, sync))
            cc_ms, th_ms = statistics.median(cc), statistics.median(th)
            row = dict(model=name, mode=mode, batch=args.batch, convcore_ms=round(cc_ms, 3),
                       torch_ms=round(th_ms, 3), ratio=round(th_ms / cc_ms, 3))
            rows.append(row)
            print(f"{name:<10} {mode:<5} {cc_ms:>12.2f} {th_ms:>10.2f} {th_ms / cc_ms:>7.3f}", flush=True)
        del model, twin, ours, theirs
        torch.cuda.empty_cache()
        cuda.empty_cache()
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
