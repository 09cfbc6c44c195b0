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

--device cuda: the same cases on one GPU, convcore on DeviceArrays and
torch on CUDA tensors (cuDNN), batch 32 by default, TF32 off on both unless
--tf32. The case builders are the CPU ones: the module's `F` and the `torch`
they get are thin wrappers (CudaShim) that move every NumPy operand to the
GPU once (convcore.cuda.asarray, cached per array for the family) and make
torch.from_numpy return CUDA tensors. Each sample is K back-to-back calls
between two synchronizations (torch.cuda.synchronize + convcore.cuda.
synchronize), the libraries alternating sample by sample, medians. %copy is
relative to torch's Tensor.copy_ of a 1 GiB buffer on the GPU, measured in
the same run (a convcore DeviceArray.copy() of 1 GiB is printed next to it).
The summary lists, per family, the geomean ratio, the memory-bound cases
(flops == 0) under 60% of copy bandwidth, the cases slower than torch, results
beyond 1e-3 relative error (1e-2 with --tf32; flagged MISMATCH) and cases
that failed (e.g. an operator without a CUDA route). The shim's own host time
per convcore call (~1 us, printed) only shows in cases too small to keep the
GPU busy. Without a usable GPU it exits with status 2.

Usage:
  python bench/op_bench.py --threads 2 --batch 16
  python bench/op_bench.py --family pool --quick
  python bench/op_bench.py --device cuda [--tf32] [--family norm,layers]
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


def host(v: Any) -> np.ndarray:
    """A NumPy array of a result of either library on either device (a tuple:
    its first element)."""
    if isinstance(v, tuple):
        v = v[0]
    if hasattr(v, "detach"):
        return v.detach().cpu().numpy()
    if not isinstance(v, np.ndarray) and hasattr(v, "numpy"):
        return v.numpy()  # convcore DeviceArray: copy to host
    return np.asarray(v)


as_numpy = host


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


# ----------------------------------------------------------------- GPU

COPY_FRACTION = 0.6  # issue 6: memory-bound kernels at >= 60% of copy bandwidth


class _TorchOnDevice:
    """torch, except that from_numpy gives a CUDA tensor (a copy of a NumPy
    array, or a zero-copy view of a convcore DeviceArray)."""

    def __init__(self, torch: Any, device: str) -> None:
        self._torch, self._device = torch, device

    def __getattr__(self, name: str) -> Any:
        return getattr(self._torch, name)

    def from_numpy(self, a: Any) -> Any:
        if isinstance(a, np.ndarray):
            return self._torch.from_numpy(a).to(self._device)
        return self._torch.as_tensor(a, device=self._device)  # __cuda_array_interface__


class _FunctionalOnDevice:
    """convcore.functional, except that NumPy operands (also inside tuples,
    e.g. out=(gx, gw, None)) are replaced by their cached device copies."""

    def __init__(self, functional: Any, to_device: Callable[[Any], Any]) -> None:
        self._F, self._to_device = functional, to_device
        self._wrapped: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        hit = self._wrapped.get(name)
        if hit is not None:
            return hit
        fn = getattr(self._F, name)
        if not callable(fn):
            return fn
        dev = self._to_device

        def call(*args: Any, **kw: Any) -> Any:
            return fn(*[dev(a) for a in args], **{k: dev(v) for k, v in kw.items()})

        self._wrapped[name] = call
        return call


class CudaShim:
    """Lets the CPU case builders of bench/ops_*.py build GPU cases unchanged:
    `torch` for them is _TorchOnDevice and their module's `F` is
    _FunctionalOnDevice. Every NumPy array reaching a convcore call is copied
    to the GPU once (cached by identity, the array kept alive with its copy,
    until clear()); results and out= arrays stay on the GPU, so the timed
    calls do no host-device transfer."""

    def __init__(self, torch: Any, convcore: Any, functional: Any) -> None:
        self.convcore = convcore
        self.torch = _TorchOnDevice(torch, "cuda")
        self.F = _FunctionalOnDevice(functional, self.to_device)
        self._cache: dict[int, tuple] = {}

    def to_device(self, a: Any) -> Any:
        hit = self._cache.get(id(a))  # fast path: an array seen before (kept alive: ids unique)
        if hit is not None and hit[0] is a:
            return hit[1]
        if isinstance(a, np.ndarray):
            hit = (a, self.convcore.cuda.asarray(a))
            self._cache[id(a)] = hit
            return hit[1]
        if type(a) is tuple:
            return tuple(self.to_device(v) for v in a)
        return a

    def overhead_s(self) -> float:
        """Seconds the wrapper adds to one call of three arrays and an out=
        (part of every cc_ms; measured on a no-op, host only)."""
        import timeit
        from types import SimpleNamespace

        a, b, c = np.zeros(1), np.zeros(1), np.zeros(1)
        noop = SimpleNamespace(f=lambda *args, **kw: None)
        wrapped = _FunctionalOnDevice(noop, self.to_device)
        self._cache.update({id(v): (v, v) for v in (a, b, c)})
        n = 20000
        direct = min(timeit.repeat(lambda: noop.f(a, b, out=c), number=n, repeat=3))
        shimmed = min(timeit.repeat(lambda: wrapped.f(a, b, out=c), number=n, repeat=3))
        for v in (a, b, c):
            del self._cache[id(v)]
        return max(shimmed - direct, 0.0) / n

    def clear(self) -> None:
        self._cache.clear()


def gpu_copy_bandwidth(torch: Any, convcore: Any, sync: Callable[[], None], plan: Any) -> tuple:
    """GB/s (read + write) of a 1 GiB device-to-device copy: torch's
    Tensor.copy_ into a preallocated tensor, and convcore's DeviceArray.copy()
    (which allocates its result, from the caching allocator)."""
    from gpu_compare_torch import time_interleaved as gpu_time

    n = 1 << 28  # float32 elements: 1 GiB
    src = torch.ones(n, device="cuda")
    dst = torch.empty_like(src)
    csrc = convcore.cuda.zeros((n,), np.float32)
    t = gpu_time({"torch": lambda: dst.copy_(src), "cc": lambda: csrc.copy()}, sync, plan)
    del src, dst, csrc
    torch.cuda.empty_cache()
    convcore.cuda.empty_cache()
    return 2 * n * 4 / t["torch"] / 1e9, 2 * n * 4 / t["cc"] / 1e9


def run_cuda(args: argparse.Namespace) -> None:
    from gpu_compare_torch import load_libraries
    from gpu_compare_torch import plan_for as gpu_plan_for
    from gpu_compare_torch import time_interleaved as gpu_time

    torch, convcore, ccF = load_libraries()

    torch.backends.cudnn.allow_tf32 = args.tf32
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    convcore.cuda.set_math_mode("tf32" if args.tf32 else "fp32")
    torch.set_num_threads(args.threads)
    convcore.set_num_threads(args.threads)

    def sync() -> None:
        torch.cuda.synchronize()
        convcore.cuda.synchronize()

    plan = gpu_plan_for(args.quick)
    dtype = np.dtype(args.dtype)
    copy_gbs, cc_copy_gbs = gpu_copy_bandwidth(torch, convcore, sync, plan)
    shim = CudaShim(torch, convcore, ccF)
    print(f"{torch.cuda.get_device_name()}, batch {args.batch}, {dtype.name}, "
          f"TF32 {'on' if args.tf32 else 'off'}, copy bandwidth {copy_gbs:.1f} GB/s "
          f"(torch copy_ 1 GiB; convcore .copy() {cc_copy_gbs:.1f} GB/s), "
          f"convcore {convcore.__version__}, torch {torch.__version__} "
          f"(cuDNN {torch.backends.cudnn.version()}); device shim adds "
          f"~{shim.overhead_s() * 1e6:.1f} us of host time per convcore call")
    header = (f"{'op':<30} {'layer':<20} {'pass':<4} {'cc_ms':>9} {'torch_ms':>9} {'ratio':>6} "
              f"{'cc_GB/s':>8} {'pt_GB/s':>8} {'%copy':>6} {'GFLOP/s':>8} {'rel_err':>8}")
    ratios: dict[str, list[float]] = {}
    slow_copy: list[str] = []
    slower: list[str] = []
    failed: list[str] = []
    mismatched: list[str] = []
    for family in args.family:
        module = importlib.import_module(f"ops_{family}")
        module.F = shim.F  # type: ignore[attr-defined]
        print(f"\n[{family}]\n{header}", flush=True)
        try:
            family_cases = module.cases(args.batch, dtype, shim.torch)
            sync()
        except Exception as e:  # e.g. an operator without a CUDA route yet
            failed.append(f"{family}: cases not built: {type(e).__name__}: {e}")
            print(f"  skipped: {failed[-1]}", flush=True)
            shim.clear()
            continue
        for case in family_cases:
            what = f"{case.name:<30} {case.layer:<20} {case.pass_:<4}"
            try:
                err = max_rel_err(case)
                with torch.no_grad():
                    st = gpu_time({"torch": case.torch, "cc": case.convcore}, sync, plan)
            except Exception as e:
                failed.append(f"{family}: {case.name} {case.layer} {case.pass_}: "
                              f"{type(e).__name__}: {e}")
                print(f"{what} FAILED: {type(e).__name__}: {e}", flush=True)
                continue
            cc, pt = st["cc"], st["torch"]
            gbs = case.bytes / cc / 1e9
            gflops = f"{case.flops / cc / 1e9:8.1f}" if case.flops else f"{'':>8}"
            ratios.setdefault(family, []).append(pt / cc)
            label = f"{family}: {case.name} {case.layer} {case.pass_}"
            if not case.flops and gbs < COPY_FRACTION * copy_gbs:
                slow_copy.append(f"{label}: {100 * gbs / copy_gbs:.0f}% of copy")
            if pt / cc < 1:
                kind = "compute-bound" if case.flops else "memory-bound"
                slower.append(f"{label}: {pt / cc:.2f}x torch ({kind})")
            flag = ""
            if not err <= (1e-2 if args.tf32 else 1e-3):
                flag = " MISMATCH"
                mismatched.append(f"{label}: rel err {err:.1e}")
            print(f"{what} {cc * 1e3:9.3f} {pt * 1e3:9.3f} {pt / cc:6.2f} {gbs:8.1f} "
                  f"{case.bytes / pt / 1e9:8.1f} {100 * gbs / copy_gbs:5.0f}% {gflops} "
                  f"{err:8.1e}{flag}", flush=True)
        del family_cases
        shim.clear()
        sync()
        torch.cuda.empty_cache()
        convcore.cuda.empty_cache()
    print("\ngeomean ratio (torch_ms / cc_ms) per family:")
    for family, rs in ratios.items():
        print(f"  {family:<16} {geomean(rs):5.2f}  (min {min(rs):.2f}, {len(rs)} cases)")
    print(f"\nmemory-bound cases under {100 * COPY_FRACTION:.0f}% of copy bandwidth "
          f"({copy_gbs:.1f} GB/s): {len(slow_copy)}")
    for line in slow_copy:
        print(f"  {line}")
    print(f"\ncases under 1x torch: {len(slower)}")
    for line in slower:
        print(f"  {line}")
    if mismatched:
        print(f"\nresults differing from torch (MISMATCH: rel err above "
              f"{1e-2 if args.tf32 else 1e-3:g}): {len(mismatched)}")
        for line in mismatched:
            print(f"  {line}")
    if failed:
        print(f"\nfailed or skipped: {len(failed)}")
        for line in failed:
            print(f"  {line}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", type=lambda s: s.split(","), default=list(FAMILIES),
                    help=f"comma-separated subset of {','.join(FAMILIES)}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=None, help="default 16 (cpu), 32 (cuda)")
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--quick", action="store_true", help="3 short samples per case")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                    help="cuda: convcore DeviceArrays vs torch CUDA tensors on one GPU")
    ap.add_argument("--tf32", action="store_true",
                    help="with --device cuda: TF32 on in both libraries (default off)")
    args = ap.parse_args()
    if args.batch is None:
        args.batch = 32 if args.device == "cuda" else 16
    unknown = [f for f in args.family if f not in FAMILIES]
    if unknown:
        ap.error(f"unknown family {unknown}; choose from {FAMILIES}")
    if args.device == "cuda":
        run_cuda(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
