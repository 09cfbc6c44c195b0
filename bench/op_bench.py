#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""convcore vs PyTorch (CPU) on every non-conv operator, side by side in one run.

Each operator family has a module bench/ops_<family>.py with a function
``cases(batch, dtype, torch) -> list[OpCase]``: one case per operator, pass and
layer shape (ResNet-50 and VGG-16 shapes). For every case this script times
the convcore call and the PyTorch call interleaved sample by sample (see
compare_torch.time_interleaved), checks that both give the same result, and
reports medians:

  ratio      torch_ms / cc_ms (> 1: convcore is faster)
  GB/s       case.bytes / time: the traffic the operator cannot avoid (every
             input read once, every output written once), for memory-bound ops
  %copy      convcore's GB/s as a fraction of this run's copy bandwidth
             (torch's Tensor.copy_ at the same thread count on a 256 MiB array)
  GFLOP/s    case.flops / time, for compute-bound ops (flops > 0)

Usage:
  python bench/op_bench.py --threads 2 --batch 16
  python bench/op_bench.py --family pool --quick
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as compare_torch.py

import argparse
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from compare_torch import MONITOR, geomean, plan_for, time_interleaved  # noqa: E402

FAMILIES = ("conv_transpose", "pool", "adaptive_pool", "norm", "layers")


@dataclass
class OpCase:
    """One operator call to time in both libraries."""

    name: str  # operator and options, e.g. "max_pool2d 3x3/2 p1"
    layer: str  # where the shape comes from, e.g. "resnet50_pool1"
    pass_: str  # "fwd" or "bwd"
    convcore: Callable[[], Any]
    torch: Callable[[], Any]
    bytes: int  # unavoidable traffic: inputs read once + outputs written once
    flops: float = 0.0  # > 0 for compute-bound operators
    # Returns (convcore result, torch result) as arrays to compare; None: the
    # callables' own return values are compared.
    check: Optional[Callable[[], tuple]] = None


def as_numpy(v: Any) -> np.ndarray:
    if isinstance(v, tuple):
        v = v[0]
    return v.detach().numpy() if hasattr(v, "detach") else np.asarray(v)


def max_rel_err(case: OpCase) -> float:
    got, want = case.check() if case.check else (case.convcore(), case.torch())
    a, b = as_numpy(got).astype(np.float64), as_numpy(want).astype(np.float64)
    if a.shape != b.shape:
        raise AssertionError(f"{case.name} {case.layer}: shapes differ, {a.shape} vs {b.shape}")
    scale = max(float(np.max(np.abs(b))), 1e-30) if b.size else 1.0
    return float(np.max(np.abs(a - b))) / scale if a.size else 0.0


def copy_bandwidth(torch, plan, threads: int) -> float:
    """GB/s of torch's multi-threaded copy (read + write) on 256 MiB."""
    src = torch.ones(1 << 26)
    dst = torch.empty_like(src)
    t = time_interleaved({"copy": lambda: dst.copy_(src)}, plan, 5)["copy"].median
    return 2 * src.numel() * 4 / t / 1e9


def run(args: argparse.Namespace) -> None:
    import torch

    import convcore

    torch.set_num_threads(args.threads)
    convcore.set_num_threads(args.threads)
    plan = plan_for(args.quick)
    dtype = np.dtype(args.dtype)
    copy_gbs = copy_bandwidth(torch, plan, args.threads)
    print(f"threads {args.threads}, batch {args.batch}, {dtype.name}, "
          f"copy bandwidth {copy_gbs:.1f} GB/s, convcore {convcore.__version__} "
          f"({convcore._C.active_isa()}), torch {torch.__version__}")
    header = (f"{'op':<30} {'layer':<20} {'pass':<4} {'cc_ms':>9} {'torch_ms':>9} {'ratio':>6} "
              f"{'cc_GB/s':>8} {'pt_GB/s':>8} {'%copy':>6} {'GFLOP/s':>8} {'rel_err':>8} {'other':>5}")
    ratios: dict[str, list[float]] = {}
    for family in args.family:
        module = importlib.import_module(f"ops_{family}")
        print(f"\n[{family}]\n{header}")
        for case in module.cases(args.batch, dtype, torch):
            err = max_rel_err(case)
            MONITOR.start()
            with torch.no_grad():
                st = time_interleaved({"torch": case.torch, "cc": case.convcore}, plan,
                                      plan.samples_small)
            other = MONITOR.stop()
            cc, pt = st["cc"].median, st["torch"].median
            gbs = case.bytes / cc / 1e9
            gflops = f"{case.flops / cc / 1e9:8.1f}" if case.flops else f"{'':>8}"
            ratios.setdefault(family, []).append(pt / cc)
            print(f"{case.name:<30} {case.layer:<20} {case.pass_:<4} {cc * 1e3:9.3f} "
                  f"{pt * 1e3:9.3f} {pt / cc:6.2f} {gbs:8.1f} {case.bytes / pt / 1e9:8.1f} "
                  f"{100 * gbs / copy_gbs:5.0f}% {gflops} {err:8.1e} {other:5.2f}", flush=True)
    print("\ngeomean ratio (torch_ms / cc_ms) per family:")
    for family, rs in ratios.items():
        print(f"  {family:<16} {geomean(rs):5.2f}  (min {min(rs):.2f}, {len(rs)} cases)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", type=lambda s: s.split(","), default=list(FAMILIES),
                    help=f"comma-separated subset of {','.join(FAMILIES)}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--quick", action="store_true", help="3 short samples per case")
    args = ap.parse_args()
    unknown = [f for f in args.family if f not in FAMILIES]
    if unknown:
        ap.error(f"unknown family {unknown}; choose from {FAMILIES}")
    run(args)


if __name__ == "__main__":
    main()
