#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""convcore vs PyTorch (cuDNN) on one GPU, per conv layer, side by side.

The ResNet-50 and VGG-16 layers of bench/layers.csv (names starting with
`resnet50_` / `vgg16_`; --only / --all-layers change the set), batch 32,
float32 NCHW, the three passes:

  pass        convcore (DeviceArrays)                              PyTorch (CUDA tensors, no_grad)
  forward     convcore.functional.conv2d(x, w, ...)                F.conv2d(x, w, ...)
  bwd_input   conv2d_backward(dy, x, w, ..., needs=('input',))     torch.nn.grad.conv2d_input(...)
  bwd_weight  conv2d_backward(dy, x, w, ..., needs=('weight',))    torch.nn.grad.conv2d_weight(...)

Both libraries read the same device memory: the convcore operands are
zero-copy views (convcore.cuda.asarray) of the torch tensors. Both allocate
their results from their own caching allocators on every call.

Two rounds (--modes):
  fp32  TF32 off on both: torch.backends.cudnn.allow_tf32 = False,
        torch.backends.cuda.matmul.allow_tf32 = False; convcore math mode fp32.
  tf32  tensor cores on both: the two torch flags True; convcore math mode tf32.

Timing: each sample is K back-to-back calls between two device
synchronizations (torch.cuda.synchronize and convcore.cuda.synchronize; the
two libraries share the legacy default stream, so either would do), timed
with time.perf_counter; K is sized from one call so a sample lasts >= 20 ms.
3 warm-up calls, 10 samples, the libraries alternating sample by sample
(the order rotating), medians reported. --quick: 1 warm-up, 3 samples of
>= 5 ms, and only the first --quick-layers layers of each network.

ratio = torch_ms / convcore_ms: > 1 means convcore is faster. TFLOP/s uses
2 * N * Cout * Hout * Wout * (Cin / groups) * Kh * Kw per pass, as
compare_torch.py. Before timing, each pass's convcore result is compared with
torch's (rel err = max |cc - torch| / max |torch|); rows beyond 1e-3 (fp32)
or 1e-2 (tf32) are flagged MISMATCH.

Usage:
  python bench/gpu_compare_torch.py --quick
  python bench/gpu_compare_torch.py --batch 32 --modes fp32,tf32 --csv /tmp/gpu_cmp.csv
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from compare_torch import Layer, geomean, read_layers  # noqa: E402

PASSES = ("fwd", "bwd_input", "bwd_weight")
EXPLAIN_PASS = {"fwd": "forward", "bwd_input": "backward_input", "bwd_weight": "backward_weight"}
MISMATCH = {"fp32": 1e-3, "tf32": 1e-2}


def no_gpu(why: str) -> None:
    print(f"{Path(sys.argv[0]).name}: {why}; this benchmark needs a CUDA GPU visible to both "
          "convcore and PyTorch.", file=sys.stderr)
    sys.exit(2)


def load_libraries():
    """(torch, convcore, convcore.functional), or a clear exit when there is no GPU."""
    try:
        import torch
    except ImportError:
        no_gpu("PyTorch is not installed")
    if not torch.cuda.is_available():
        no_gpu("PyTorch sees no CUDA device (torch.cuda.is_available() is False)")
    import convcore
    import convcore.functional as ccF

    cuda = getattr(convcore, "cuda", None)
    if cuda is None or not cuda.built_with_cuda():
        no_gpu("this convcore build has no CUDA backend (rebuild with CONVCORE_CUDA=ON)")
    if not cuda.is_available():
        no_gpu("convcore sees no CUDA device (convcore.cuda.is_available() is False)")
    return torch, convcore, ccF


# ----------------------------------------------------------------- timing

@dataclass
class Plan:
    warmup: int
    min_sample_s: float
    samples: int


def plan_for(quick: bool) -> Plan:
    return Plan(1, 0.005, 3) if quick else Plan(3, 0.020, 10)


def time_interleaved(fns: dict[str, Callable[[], object]], sync: Callable[[], None],
                     plan: Plan) -> dict[str, float]:
    """Median seconds per call of each callable; samples alternate between them."""
    inner = {}
    for name, fn in fns.items():
        for _ in range(plan.warmup):
            fn()
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        inner[name] = max(1, math.ceil(plan.min_sample_s / max(time.perf_counter() - t0, 1e-7)))
    names = list(fns)
    out: dict[str, list] = {n: [] for n in names}
    for r in range(plan.samples):
        for name in names[r % len(names):] + names[: r % len(names)]:
            fn, k = fns[name], inner[name]
            sync()
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            sync()
            out[name].append((time.perf_counter() - t0) / k)
    return {n: statistics.median(s) for n, s in out.items()}


# ----------------------------------------------------------------- comparison

@dataclass
class Row:
    mode: str
    layer: str
    n: int
    pass_: str
    gflop: float
    cc_algo: str
    cc_s: float
    torch_s: float
    rel_err: float

    @property
    def ratio(self) -> float:
        return self.torch_s / self.cc_s


def set_mode(mode: str, torch, convcore) -> None:
    tf32 = mode == "tf32"
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    convcore.cuda.set_math_mode(mode)


def cc_algorithm(convcore, layer: Layer, n: int, pass_: str) -> str:
    """The algorithm convcore's GPU dispatcher picks (informational)."""
    try:
        return convcore.explain(
            "conv2d", (n, layer.cin, layer.h, layer.w),
            (layer.cout, layer.cin // layer.groups, layer.kh, layer.kw), stride=layer.stride,
            padding=layer.pad, dilation=layer.dilation, groups=layer.groups,
            pass_=EXPLAIN_PASS[pass_], device="cuda").algorithm
    except (TypeError, ValueError):  # an explain without device=
        return "?"


def compare_layer(layer: Layer, n: int, mode: str, plan: Plan, torch, convcore, ccF,
                  device: int) -> list[Row]:
    dev = torch.device("cuda", device)
    gen = torch.Generator(device=dev).manual_seed(0)
    oh, ow = layer.out_hw()
    x = torch.randn((n, layer.cin, layer.h, layer.w), device=dev, generator=gen)
    w = torch.randn((layer.cout, layer.cin // layer.groups, layer.kh, layer.kw), device=dev,
                    generator=gen) * 0.05
    dy = torch.randn((n, layer.cout, oh, ow), device=dev, generator=gen)
    xc, wc, dyc = (convcore.cuda.asarray(t) for t in (x, w, dy))
    s, p, d, g = layer.stride, layer.pad, layer.dilation, layer.groups
    kw = dict(stride=s, padding=p, dilation=d, groups=g)
    grad = torch.nn.grad
    cc = {
        "fwd": lambda: ccF.conv2d(xc, wc, None, **kw),
        "bwd_input": lambda: ccF.conv2d_backward(dyc, xc, wc, **kw, needs=("input",))[0],
        "bwd_weight": lambda: ccF.conv2d_backward(dyc, xc, wc, **kw, needs=("weight",))[1],
    }
    th = {
        "fwd": lambda: torch.nn.functional.conv2d(x, w, None, s, p, d, g),
        "bwd_input": lambda: grad.conv2d_input(x.shape, w, dy, s, p, d, g),
        "bwd_weight": lambda: grad.conv2d_weight(x, w.shape, dy, s, p, d, g),
    }

    def sync() -> None:
        torch.cuda.synchronize(dev)
        convcore.cuda.synchronize()

    rows = []
    with torch.no_grad():
        for ps in PASSES:
            ref = th[ps]()
            got = torch.from_dlpack(cc[ps]())
            scale = float(ref.abs().max()) or 1.0
            err = float((got.double() - ref.double()).abs().max()) / scale
            del ref, got
            t = time_interleaved({"torch": th[ps], "cc": cc[ps]}, sync, plan)
            rows.append(Row(mode, layer.name, n, ps, layer.gflop(n), cc_algorithm(convcore, layer, n, ps),
                            t["cc"], t["torch"], err))
            print(fmt_row(rows[-1]), flush=True)
    return rows


HEADER = (f"{'mode':4s} {'layer':28s} {'N':>3s} {'pass':10s} {'cc algorithm':16s} {'cc ms':>9s} "
          f"{'torch ms':>9s} {'cc TF/s':>8s} {'th TF/s':>8s} {'ratio':>6s} {'rel err':>8s}")


def fmt_row(r: Row) -> str:
    flag = "" if r.rel_err <= MISMATCH[r.mode] else "  MISMATCH"
    return (f"{r.mode:4s} {r.layer:28s} {r.n:3d} {r.pass_:10s} {r.cc_algo:16s} "
            f"{r.cc_s * 1e3:9.3f} {r.torch_s * 1e3:9.3f} {r.gflop / r.cc_s / 1e3:8.2f} "
            f"{r.gflop / r.torch_s / 1e3:8.2f} {r.ratio:6.2f} {r.rel_err:8.1e}{flag}")


def summarize(rows: list[Row]) -> list[str]:
    lines = ["", "== summary: ratio = torch_ms / convcore_ms (> 1: convcore faster); geometric means ==",
             f"{'mode':4s} {'pass':10s} {'geomean':>8s}  slowest layer (lowest ratio)"]
    for mode in dict.fromkeys(r.mode for r in rows):
        for ps in PASSES + ("all",):
            rs = [r for r in rows if r.mode == mode and (ps == "all" or r.pass_ == ps)]
            if not rs:
                continue
            worst = min(rs, key=lambda r: r.ratio)
            lines.append(f"{mode:4s} {ps:10s} {geomean(r.ratio for r in rs):8.2f}  "
                         f"{worst.ratio:.2f} {worst.layer} {worst.pass_}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--modes", default="fp32,tf32", help="comma-separated: fp32, tf32")
    ap.add_argument("--layers", type=Path, default=HERE / "layers.csv")
    ap.add_argument("--only", default="", help="only layers whose name contains this")
    ap.add_argument("--all-layers", action="store_true", help="every layer of the CSV")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--quick-layers", type=int, default=2,
                    help="with --quick: layers per network (default 2)")
    ap.add_argument("--device", type=int, default=0)
    ap.add_argument("--csv", type=Path)
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in MISMATCH:
            ap.error(f"--modes: unknown mode {m!r} (fp32, tf32)")

    torch, convcore, ccF = load_libraries()
    torch.cuda.set_device(args.device)
    convcore_dev = convcore.cuda.device_count()
    if args.device >= convcore_dev:
        no_gpu(f"--device {args.device} but convcore sees {convcore_dev} device(s)")

    layers = read_layers(args.layers)
    if not args.all_layers:
        layers = [l for l in layers if l.name.startswith(("resnet50_", "vgg16_"))]
    if args.only:
        layers = [l for l in layers if args.only in l.name]
    if args.quick:
        picked, per_net = [], {}
        for l in layers:
            net = l.name.split("_")[0]
            if per_net.get(net, 0) < args.quick_layers:
                picked.append(l)
                per_net[net] = per_net.get(net, 0) + 1
        layers = picked
    if not layers:
        ap.error("no layer selected")

    plan = plan_for(args.quick)
    print(f"device: {torch.cuda.get_device_name(args.device)}; torch {torch.__version__} "
          f"(cuDNN {torch.backends.cudnn.version()}); convcore {convcore.__version__}; batch {args.batch}")
    print(HEADER)
    rows: list[Row] = []
    try:
        for mode in modes:
            set_mode(mode, torch, convcore)
            for layer in layers:
                rows += compare_layer(layer, args.batch, mode, plan, torch, convcore, ccF, args.device)
    finally:
        set_mode("fp32", torch, convcore)
    for line in summarize(rows):
        print(line)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            wr = csv.writer(f)
            wr.writerow(["mode", "layer", "n", "pass", "gflop", "cc_algorithm", "cc_ms", "torch_ms",
                         "ratio", "rel_err"])
            for r in rows:
                wr.writerow([r.mode, r.layer, r.n, r.pass_, f"{r.gflop:.4f}", r.cc_algo,
                             f"{r.cc_s * 1e3:.4f}", f"{r.torch_s * 1e3:.4f}", f"{r.ratio:.4f}",
                             f"{r.rel_err:.3e}"])
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
