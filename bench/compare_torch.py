#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""convcore vs PyTorch (CPU) on the layers of bench/layers.csv, side by side.

For every layer, batch size and thread count it times the three conv passes
in both libraries, in one process, interleaving the libraries sample by
sample (torch, convcore, convcore again without out=, then the next sample in a
rotated order) so that machine noise hits all of them alike:

  pass        convcore                                            PyTorch (under torch.no_grad())
  forward     convcore.functional.conv2d(x, w, ...)               F.conv2d(x, w, ...)
  bwd_input   conv2d_backward(dy, x, w, ..., needs=('input',))    torch.nn.grad.conv2d_input(x.shape, w, dy, ...)
  bwd_weight  conv2d_backward(dy, x, w, ..., needs=('weight',))   torch.nn.grad.conv2d_weight(x, w.shape, dy, ...)

Allocation. PyTorch allocates its result on every call (glibc malloc, so large
results are fresh pages that fault in, ~1.6 us per 4 KiB on this VM; see
PERF.md). convcore is timed twice:
  cc_ms        with out= (the result written into a preallocated array; what a
               training loop that reuses buffers pays). `ratio` uses this.
  cc_alloc_ms  without out= (a new NumPy array per call, like torch).
               `r_alloc` uses this: the like-for-like comparison.
Inputs are the same memory for both libraries (torch.from_numpy).

ratio = torch_ms / cc_ms: > 1 means convcore is faster.
GFLOP/s uses 2 * N * Cout * Hout * Wout * (Cin / groups) * Kh * Kw per pass
(padding MACs counted), as PERF.md.

Timing (as PERF.md): 3 warm-up calls, one call to size a sample, then 10 samples
(7 for passes >= 20 GFLOP), each averaging back-to-back calls for >= 20 ms;
medians reported. Before each sample the library about to be timed runs
untimed for >= 15 ms (see time_interleaved: at 2 threads torch's libgomp
workers spin ~10 ms after every call and would otherwise steal a core from
the next convcore sample; for the GEMM rows 150 ms, as OpenBLAS's spin
~100 ms). --quick: no extra warm-up (the correctness-check call warms up),
3 samples of >= 10 ms, no untimed calls before calls >= 0.1 s, no no-out=
timing (--alloc restores it), no 2048^3 GEMM row: ~2 minutes on the 2-core
machine.

The batch-16 row of vgg16_conv1_2 runs at batch 4 (as PERF.md does, to bound
the run time); it is summarised with the batch-16 rows. --no-batch-cap lifts it.

GEMM rows: convcore._C.gemm vs np.matmul(a, b, out=c) (and torch.matmul(out=))
on float32 square matrices, run in a child process per thread count with
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set before NumPy loads (threadpoolctl is
also applied when installed). NumPy's bundled OpenBLAS (DYNAMIC_ARCH) honours
OPENBLAS_CORETYPE; an environment may pin it (this project's sets
OPENBLAS_CORETYPE=Haswell, i.e. AVX2 kernels), so on AVX-512 machines the child
is run twice: with the environment as it is, and with
OPENBLAS_CORETYPE=SkylakeX (AVX-512 kernels; --no-openblas-skylakex skips it).

Noise: the "other" column is the CPU (in cores) that other processes and the
hypervisor (steal) used while a row was timed (from /proc/stat). Before each
layer the script waits (--wait-idle) for the machine to go quiet, and a pass
timed while others used > 0.15 core (all cores busy) / 0.5 core is re-timed
(--retries) keeping the cleanest attempt; rows still noisy are flagged NOISY.

Usage:
  python bench/compare_torch.py --quick
  python bench/compare_torch.py --threads 2 --batch 16 --csv /tmp/cmp.csv
"""

from __future__ import annotations

import os
import sys

# This process never calls a NumPy BLAS routine in a timed region; keep
# OpenBLAS from starting a thread pool that would compete with torch and
# convcore. (The GEMM comparison runs in child processes with their own
# setting.) Must happen before NumPy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import csv
import json
import math
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_LAYERS = HERE / "layers.csv"
# Batch sizes replaced to bound the run time (PERF.md: VGG conv1_2 at N=4, not 16).
BATCH_CAP = {"vgg16_conv1_2": {16: 4}}
PASSES = ("fwd", "bwd_input", "bwd_weight")


# ----------------------------------------------------------------- timing

@dataclass
class Plan:
    warmup: int
    min_sample_s: float
    samples_small: int
    samples_large: int  # passes >= 20 GFLOP
    rewarm_s: float  # untimed calls (at least one) before each sample, for this long
    rewarm_max_call_s: float  # ... only when one call is shorter than this

    def samples(self, gflop: float) -> int:
        return self.samples_large if gflop >= 20 else self.samples_small


def plan_for(quick: bool) -> Plan:
    if quick:
        return Plan(0, 0.010, 3, 3, 0.015, 0.1)
    return Plan(3, 0.020, 10, 7, 0.015, float("inf"))


@dataclass
class Stat:
    median: float
    min: float
    max: float
    samples: list = field(default_factory=list)


def time_interleaved(fns: dict[str, Callable[[], object]], plan: Plan, samples: int) -> dict[str, Stat]:
    """Times every callable of `fns`, alternating between them sample by sample
    (the order rotates each round so none always runs first).

    Before each sample the same callable runs untimed for plan.rewarm_s (at
    least once): a library's idle worker threads keep spinning after a call
    (measured here at 2 threads: torch's libgomp workers ~10 ms, OpenBLAS's
    ~100 ms), and on a 2-core machine they would steal a core from the next
    library's sample; the untimed calls outlast them, so a sample measures
    back-to-back calls of one library, as a loop calling it would."""
    inner, one_call = {}, {}
    for name, fn in fns.items():
        for _ in range(plan.warmup):
            fn()
        t0 = time.perf_counter()
        fn()
        one_call[name] = time.perf_counter() - t0
        inner[name] = max(1, math.ceil(plan.min_sample_s / max(one_call[name], 1e-7)))
    names = list(fns)
    out: dict[str, list] = {n: [] for n in names}
    for r in range(samples):
        for name in names[r % len(names):] + names[: r % len(names)]:
            fn, k = fns[name], inner[name]
            if len(names) > 1 and one_call[name] < plan.rewarm_max_call_s:
                t_end = time.perf_counter() + plan.rewarm_s
                fn()
                while time.perf_counter() < t_end:
                    fn()
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            out[name].append((time.perf_counter() - t0) / k)
    return {n: Stat(statistics.median(s), min(s), max(s), s) for n, s in out.items()}


def geomean(xs) -> float:
    xs = [x for x in xs if x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


# ----------------------------------------------------------------- noise

class LoadMonitor:
    """CPU used by everything but this process (other processes, and steal
    time under a hypervisor), in cores, over a timed region: from /proc/stat
    minus this process's own CPU time. NaN where /proc/stat is missing."""

    def __init__(self) -> None:
        self.ok = os.path.exists("/proc/stat")
        self.hz = os.sysconf("SC_CLK_TCK") if self.ok else 100
        self._b0 = self._s0 = self._t0 = 0.0

    def _busy(self) -> float:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal
        return (v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)) / self.hz

    def start(self) -> None:
        if self.ok:
            t = os.times()
            self._b0, self._s0, self._t0 = self._busy(), t.user + t.system, time.perf_counter()

    def stop(self) -> float:
        if not self.ok:
            return float("nan")
        t = os.times()
        wall = time.perf_counter() - self._t0
        other = (self._busy() - self._b0) - (t.user + t.system - self._s0)
        return max(0.0, other / max(wall, 1e-9))

    def wait_idle(self, max_wait_s: float, below: float = 0.1) -> float:
        """Waits (<= max_wait_s) until the other load over 0.5 s drops below
        `below` cores; returns the seconds waited."""
        if not self.ok or max_wait_s <= 0:
            return 0.0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < max_wait_s:
            self.start()
            time.sleep(0.5)
            if self.stop() < below:
                break
        return time.perf_counter() - t0


MONITOR = LoadMonitor()


def noisy_limit(threads: int) -> float:
    """Other load (cores) above which a row is flagged and retried: any
    noticeable load when every core is in use, half a core otherwise (as
    PERF.md's summarize.py)."""
    return 0.15 if threads >= (os.cpu_count() or 1) else 0.5


# ----------------------------------------------------------------- layers

@dataclass
class Layer:
    name: str
    cin: int
    h: int
    w: int
    cout: int
    kh: int
    kw: int
    stride: int
    pad: int
    dilation: int
    groups: int

    @property
    def dense(self) -> bool:
        return self.groups == 1

    def out_hw(self) -> tuple[int, int]:
        oh = (self.h + 2 * self.pad - self.dilation * (self.kh - 1) - 1) // self.stride + 1
        ow = (self.w + 2 * self.pad - self.dilation * (self.kw - 1) - 1) // self.stride + 1
        return oh, ow

    def gflop(self, n: int) -> float:
        oh, ow = self.out_hw()
        return 2.0 * n * self.cout * oh * ow * (self.cin // self.groups) * self.kh * self.kw / 1e9


def read_layers(path: Path) -> list[Layer]:
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["name"] and not r["name"].startswith("#")]
    ints = ("cin", "h", "w", "cout", "kh", "kw", "stride", "pad", "dilation", "groups")
    return [Layer(r["name"], *(int(r[k]) for k in ints)) for r in rows]


# ----------------------------------------------------------------- conv comparison

@dataclass
class Row:
    layer: str
    dense: bool
    n_req: int
    n: int
    threads: int
    pass_: str
    gflop: float
    cc_algo: str
    torch_backend: str
    cc: Stat
    cc_alloc: Optional[Stat]
    torch: Stat
    max_rel_err: float
    other: float = float("nan")  # cores used by other processes while timing
    attempts: int = 1

    @property
    def ratio(self) -> float:
        return self.torch.median / self.cc.median

    @property
    def ratio_alloc(self) -> float:
        return self.torch.median / self.cc_alloc.median if self.cc_alloc else float("nan")


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    scale = float(np.max(np.abs(b))) or 1.0
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) / scale


def torch_backend(torch, xt, wt, layer: Layer) -> str:
    try:
        s, p, d = layer.stride, layer.pad, layer.dilation
        b = torch._C._select_conv_backend(xt, wt, None, [s, s], [p, p], [d, d], False, [0, 0],
                                          layer.groups, None)
        return str(b).split(".")[-1]
    except Exception:  # private API; informational only
        return "?"


def compare_layer(layer: Layer, n_req: int, n: int, threads: int, plan: Plan, with_alloc: bool,
                  retries: int, torch, F, ccF, convcore) -> list[Row]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, layer.cin, layer.h, layer.w), dtype=np.float32)
    w = (rng.standard_normal((layer.cout, layer.cin // layer.groups, layer.kh, layer.kw),
                             dtype=np.float32) * 0.05)
    oh, ow = layer.out_hw()
    dy = rng.standard_normal((n, layer.cout, oh, ow), dtype=np.float32)
    y_out = np.empty_like(dy)
    gx_out = np.empty_like(x)
    gw_out = np.empty_like(w)
    xt, wt, dyt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(dy)
    s, p, d, g = layer.stride, layer.pad, layer.dilation, layer.groups
    gflop = layer.gflop(n)
    be = torch_backend(torch, xt, wt, layer)
    grad = torch.nn.grad

    # convcore's calls, with out= and without
    cc = {
        "fwd": (lambda: ccF.conv2d(x, w, None, s, p, d, g, out=y_out),
                lambda: ccF.conv2d(x, w, None, s, p, d, g)),
        "bwd_input": (lambda: ccF.conv2d_backward(dy, x, w, s, p, d, g, needs=("input",),
                                                  out=(gx_out, None, None)),
                      lambda: ccF.conv2d_backward(dy, x, w, s, p, d, g, needs=("input",))),
        "bwd_weight": (lambda: ccF.conv2d_backward(dy, x, w, s, p, d, g, needs=("weight",),
                                                   out=(None, gw_out, None)),
                       lambda: ccF.conv2d_backward(dy, x, w, s, p, d, g, needs=("weight",))),
    }
    th = {
        "fwd": lambda: F.conv2d(xt, wt, None, s, p, d, g),
        "bwd_input": lambda: grad.conv2d_input(xt.shape, wt, dyt, s, p, d, g),
        "bwd_weight": lambda: grad.conv2d_weight(xt, wt.shape, dyt, s, p, d, g),
    }
    pick = {"fwd": 0, "bwd_input": 0, "bwd_weight": 1}  # which result of the call to check
    names = {"fwd": "forward", "bwd_input": "backward_input", "bwd_weight": "backward_weight"}
    rows = []
    with torch.no_grad():
        for ps in PASSES:
            # Correctness check first (also warms both up).
            ref = th[ps]().numpy()
            got = cc[ps][1]()
            if ps != "fwd":
                got = got[pick[ps]]
            err = rel_err(got, ref)
            fns = {"torch": th[ps], "cc": cc[ps][0]}
            if with_alloc:
                fns["cc_alloc"] = cc[ps][1]
            # Re-time when other processes took CPU meanwhile; keep the cleanest attempt.
            best, best_other, attempts = None, float("inf"), 0
            for attempts in range(1, retries + 2):
                MONITOR.start()
                st = time_interleaved(fns, plan, plan.samples(gflop))
                other = MONITOR.stop()
                if best is None or other < best_other:
                    best, best_other = st, other
                if not other > noisy_limit(threads):  # also stops on NaN
                    break
            st = best
            algo = convcore.explain("conv2d", x.shape, w.shape, stride=s, padding=p, dilation=d,
                                    groups=g, pass_=names[ps]).algorithm
            rows.append(Row(layer.name, layer.dense, n_req, n, threads, ps, gflop, algo, be,
                            st["cc"], st.get("cc_alloc"), st["torch"], err, best_other, attempts))
    return rows


def fmt_row(r: Row) -> str:
    alloc = f"{r.cc_alloc.median * 1e3:10.3f}" if r.cc_alloc else f"{'-':>10}"
    ra = f"{r.ratio_alloc:7.2f}" if r.cc_alloc else f"{'-':>7}"
    flag = "" if r.max_rel_err < 1e-3 else f"  MISMATCH rel err {r.max_rel_err:.1e}"
    if r.other > noisy_limit(r.threads):
        flag += f"  NOISY ({r.other:.2f} cores busy elsewhere after {r.attempts} tries)"
    return (f"{r.layer:28s} {r.n:3d} {r.threads:3d} {r.pass_:10s} {r.cc_algo:16s} "
            f"{r.cc.median * 1e3:10.3f} {alloc} {r.torch.median * 1e3:10.3f} "
            f"{r.gflop / r.cc.median:8.1f} {r.gflop / r.torch.median:8.1f} {r.ratio:6.2f} {ra} "
            f"{r.other:5.2f}{flag}")


HEADER = (f"{'layer':28s} {'N':>3s} {'thr':>3s} {'pass':10s} {'cc algorithm':16s} "
          f"{'cc ms':>10s} {'cc_alloc':>10s} {'torch ms':>10s} {'cc GF/s':>8s} {'th GF/s':>8s} "
          f"{'ratio':>6s} {'r_alloc':>7s} {'other':>5s}")


def summarize(rows: list[Row]) -> list[str]:
    lines = ["",
             "== summary: ratio = torch_ms / convcore_ms (> 1: convcore faster); geometric means ==",
             "   'dense' = groups == 1 layers; 'all' adds the depthwise ones; N=16 includes vgg16_conv1_2 at N=4",
             f"{'thr':>3s} {'N':>3s} {'pass':10s} {'dense(out=)':>11s} {'all(out=)':>10s} "
             f"{'dense(alloc)':>12s} {'all(alloc)':>10s}  min ratio (out=) at layer; min ratio (alloc)"]
    keys = []
    for r in rows:
        k = (r.threads, r.n_req, r.pass_)
        if k not in keys:
            keys.append(k)
    for k in keys:
        rs = [r for r in rows if (r.threads, r.n_req, r.pass_) == k]
        dense = [r for r in rs if r.dense]
        worst = min(rs, key=lambda r: r.ratio)
        has_alloc = all(r.cc_alloc for r in rs)
        ga_d = geomean(r.ratio_alloc for r in dense) if has_alloc else float("nan")
        ga_a = geomean(r.ratio_alloc for r in rs) if has_alloc else float("nan")
        worst_a = min(rs, key=lambda r: r.ratio_alloc) if has_alloc else None
        wa = f"{worst_a.ratio_alloc:.2f} {worst_a.layer}" if worst_a else "-"
        num = lambda v, w: f"{v:{w}.2f}" if v == v else f"{'-':>{w}}"  # NaN -> '-'
        lines.append(f"{k[0]:3d} {k[1]:3d} {k[2]:10s} {num(geomean(r.ratio for r in dense), 11)} "
                     f"{num(geomean(r.ratio for r in rs), 10)} {num(ga_d, 12)} {num(ga_a, 10)}  "
                     f"{worst.ratio:.2f} {worst.layer}; {wa}")
    return lines


# ----------------------------------------------------------------- GEMM comparison

def gemm_child(threads: int, sizes: list[int], quick: bool, with_torch: bool, wait_idle: float,
               retries: int) -> None:
    """Runs in a child process whose environment already limits OpenBLAS."""
    try:  # also pin the pool size when threadpoolctl is there
        from threadpoolctl import threadpool_limits
        threadpool_limits(threads)
    except ImportError:
        pass
    import convcore
    from convcore import _C

    convcore.set_num_threads(threads)
    core = "?"
    try:
        import ctypes
        import glob
        libs = glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*"))
        if libs:
            lib = ctypes.CDLL(libs[0])
            for sym in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                        "openblas_get_corename64_", "openblas_get_corename"):
                if hasattr(lib, sym):
                    fn = getattr(lib, sym)
                    fn.restype = ctypes.c_char_p
                    core = fn().decode()
                    break
    except Exception:
        pass
    torch = None
    if with_torch:
        import torch
        torch.set_num_threads(threads)
    plan = plan_for(quick)
    plan.rewarm_s, plan.rewarm_max_call_s = 0.15, float("inf")  # OpenBLAS workers spin ~100 ms
    rng = np.random.default_rng(0)
    for n in sizes:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        c1, c2 = np.empty((n, n), np.float32), np.empty((n, n), np.float32)
        gflop = 2.0 * n ** 3 / 1e9
        fns = {"cc": lambda: _C.gemm(a, b, c1), "numpy": lambda: np.matmul(a, b, out=c2)}
        if torch is not None:
            at, bt, c3 = torch.from_numpy(a), torch.from_numpy(b), torch.empty(n, n)
            fns["torch"] = lambda: torch.matmul(at, bt, out=c3)
        MONITOR.wait_idle(wait_idle)
        best, best_other = None, float("inf")
        for _ in range(retries + 1):
            MONITOR.start()
            st = time_interleaved(fns, plan, 5 if (gflop >= 10 and not quick) else plan.samples(gflop))
            other = MONITOR.stop()
            if best is None or other < best_other:
                best, best_other = st, other
            if not other > noisy_limit(threads):
                break
        st = best
        err = rel_err(c1, c2)
        print(json.dumps({"n": n, "threads": threads, "openblas_core": core,
                          "coretype_env": os.environ.get("OPENBLAS_CORETYPE", ""),
                          "gflop": gflop, "err": err, "other": best_other,
                          **{k: v.median for k, v in st.items()}}), flush=True)


def run_gemm(threads_list: list[int], sizes: list[int], quick: bool, coretypes: list[Optional[str]],
             with_torch: bool, wait_idle: float, retries: int) -> list[dict]:
    results = []
    print("\n== GEMM: convcore._C.gemm vs np.matmul(a, b, out=c)"
          + (" and torch.matmul(out=)" if with_torch else "") + ", float32 square, MxKxN = n^3 ==")
    print(f"{'n':>5s} {'thr':>3s} {'numpy OpenBLAS kernel':30s} {'cc GF/s':>8s} {'numpy GF/s':>10s} "
          f"{'np/cc':>6s}" + (f" {'torch GF/s':>10s}" if with_torch else "") + f" {'other':>5s}"
          + "   (np/cc = numpy_ms/cc_ms: > 1 convcore faster)")
    for t in threads_list:
        for ct in coretypes:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t),
                       MKL_NUM_THREADS=str(t))
            if ct is not None:  # None: as this environment has it
                env["OPENBLAS_CORETYPE"] = ct
            cmd = [sys.executable, str(Path(__file__).resolve()), "--_gemm-child", "--threads", str(t),
                   "--gemm-sizes", *map(str, sizes), "--wait-idle", str(wait_idle),
                   "--retries", str(retries)] + (["--quick"] if quick else []) \
                + ([] if with_torch else ["--no-gemm-torch"])
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"GEMM child failed ({t} threads, coretype {ct or 'default'}):\n{proc.stderr}")
                continue
            for line in proc.stdout.splitlines():
                r = json.loads(line)
                results.append(r)
                g = r["gflop"]
                env_ct = r["coretype_env"]
                kern = r["openblas_core"] + (f" (CORETYPE={env_ct})" if env_ct else " (auto)")
                extra = f" {g / r['torch']:10.1f}" if "torch" in r else ""
                flag = "" if r["err"] < 1e-4 else f"  MISMATCH rel err {r['err']:.1e}"
                if r["other"] > noisy_limit(t):
                    flag += "  NOISY"
                print(f"{r['n']:5d} {t:3d} {kern:30s} {g / r['cc']:8.1f} {g / r['numpy']:10.1f} "
                      f"{r['numpy'] / r['cc']:6.2f}{extra} {r['other']:5.2f}{flag}", flush=True)
    return results


# ----------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See bench/README.md.")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                    help="thread counts (convcore.set_num_threads and torch.set_num_threads); default 1 2")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 16], help="batch sizes; default 1 16")
    ap.add_argument("--only", default=None, help="only layers whose name contains this")
    ap.add_argument("--quick", action="store_true",
                    help="no extra warm-up, 3 samples of >= 10 ms, no untimed re-warm before calls of "
                         ">= 0.1 s, no no-out= timing, no 2048^3 GEMM (~2 minutes)")
    ap.add_argument("--csv", default=None, help="write every conv and GEMM row to this CSV file")
    ap.add_argument("--layers", default=str(DEFAULT_LAYERS), help="layer list (default bench/layers.csv)")
    ap.add_argument("--no-alloc", action="store_true",
                    help="skip the convcore-without-out= timing (r_alloc column); --quick implies "
                         "it unless --alloc is given")
    ap.add_argument("--alloc", action="store_true", help="with --quick: keep the r_alloc timing")
    ap.add_argument("--no-batch-cap", action="store_true",
                    help="run vgg16_conv1_2 at the requested batch instead of 4 for 16")
    ap.add_argument("--wait-idle", type=float, default=None, metavar="SECONDS",
                    help="before each layer and GEMM size, wait up to this long for other processes "
                         "to go idle (< 0.1 core); 0 disables; default 30 (--quick: 2)")
    ap.add_argument("--retries", type=int, default=2,
                    help="re-time a pass up to this many times when other processes used more than "
                         "0.15 core (all cores in use) / 0.5 core during it; default 2 (--quick: 0)")
    ap.add_argument("--skip-conv", action="store_true")
    ap.add_argument("--skip-gemm", action="store_true")
    ap.add_argument("--gemm-sizes", type=int, nargs="+", default=None,
                    help="square GEMM sizes (default 1024 2048; --quick: 1024)")
    ap.add_argument("--gemm-threads", type=int, nargs="+", default=None,
                    help="thread counts for the GEMM rows (default: --threads)")
    ap.add_argument("--no-gemm-torch", action="store_true", help="leave torch.matmul out of the GEMM rows")
    ap.add_argument("--no-openblas-skylakex", action="store_true",
                    help="do not add the OPENBLAS_CORETYPE=SkylakeX GEMM rows on AVX-512 machines")
    ap.add_argument("--_gemm-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    sizes = args.gemm_sizes or ([1024] if args.quick else [1024, 2048])
    if args.wait_idle is None:
        args.wait_idle = 2.0 if args.quick else 30.0
    if "--retries" not in sys.argv and args.quick:
        args.retries = 0
    if args.quick and not args.alloc:
        args.no_alloc = True
    if args._gemm_child:
        gemm_child(args.threads[0], sizes, args.quick, not args.no_gemm_torch, args.wait_idle,
                   args.retries)
        return

    import torch
    import torch.nn.functional as F

    import convcore
    import convcore.functional as ccF

    plan = plan_for(args.quick)
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(convcore._C.__file__)))
    print(f"convcore {convcore.__version__} ({convcore._C.active_isa()}, from {Path(convcore.__file__).parent}, "
          f"_C installed {built}), "
          f"torch {torch.__version__} (mkldnn {torch.backends.mkldnn.is_available()}), numpy {np.__version__}; "
          f"{os.cpu_count()} CPUs; {'quick' if args.quick else 'full'} timing; "
          f"threads {args.threads}, batch {args.batch}", flush=True)
    t_start = time.time()
    rows: list[Row] = []
    if not args.skip_conv:
        layers = [l for l in read_layers(Path(args.layers)) if not args.only or args.only in l.name]
        print("\n== conv2d NCHW float32: convcore (cc ms: out=; cc_alloc: no out=) vs PyTorch ==")
        print("   ratio = torch_ms / cc_ms, r_alloc = torch_ms / cc_alloc_ms; > 1 means convcore faster\n")
        print(HEADER, flush=True)
        for t in args.threads:
            convcore.set_num_threads(t)
            torch.set_num_threads(t)
            for n_req in args.batch:
                for layer in layers:
                    n = n_req if args.no_batch_cap else BATCH_CAP.get(layer.name, {}).get(n_req, n_req)
                    MONITOR.wait_idle(args.wait_idle)
                    for r in compare_layer(layer, n_req, n, t, plan, not args.no_alloc, args.retries,
                                           torch, F, ccF, convcore):
                        rows.append(r)
                        print(fmt_row(r), flush=True)
        for line in summarize(rows):
            print(line)
        slow = sorted(rows, key=lambda r: r.ratio)[:8]
        print("\n== slowest cells relative to torch (ratio with out=) ==")
        for r in slow:
            print(f"  {r.ratio:5.2f}  {r.layer} N={r.n} thr={r.threads} {r.pass_} "
                  f"({r.cc_algo}; torch {r.torch_backend}): cc {r.gflop / r.cc.median:.1f} vs torch "
                  f"{r.gflop / r.torch.median:.1f} GFLOP/s")

    gemm_rows = []
    if not args.skip_gemm:
        coretypes: list[Optional[str]] = [None]
        if (not args.no_openblas_skylakex and convcore._C.detected_isa() == "avx512"
                and os.environ.get("OPENBLAS_CORETYPE", "").lower() != "skylakex"):
            coretypes.append("SkylakeX")
        gemm_rows = run_gemm(args.gemm_threads or args.threads, sizes, args.quick, coretypes,
                             not args.no_gemm_torch, args.wait_idle, args.retries)

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            wr = csv.writer(f)
            wr.writerow(["kind", "layer", "N_requested", "N", "threads", "pass", "gflop", "cc_algorithm",
                         "torch_backend", "cc_ms", "cc_min_ms", "cc_max_ms", "cc_alloc_ms", "torch_ms",
                         "torch_min_ms", "torch_max_ms", "cc_gflops", "torch_gflops", "ratio",
                         "ratio_alloc", "max_rel_err", "other_load_cores", "attempts"])
            for r in rows:
                wr.writerow(["conv", r.layer, r.n_req, r.n, r.threads, r.pass_, f"{r.gflop:.5f}", r.cc_algo,
                             r.torch_backend, f"{r.cc.median * 1e3:.4f}", f"{r.cc.min * 1e3:.4f}",
                             f"{r.cc.max * 1e3:.4f}",
                             f"{r.cc_alloc.median * 1e3:.4f}" if r.cc_alloc else "",
                             f"{r.torch.median * 1e3:.4f}", f"{r.torch.min * 1e3:.4f}",
                             f"{r.torch.max * 1e3:.4f}", f"{r.gflop / r.cc.median:.2f}",
                             f"{r.gflop / r.torch.median:.2f}", f"{r.ratio:.4f}",
                             f"{r.ratio_alloc:.4f}" if r.cc_alloc else "", f"{r.max_rel_err:.2e}",
                             f"{r.other:.3f}", r.attempts])
            for g in gemm_rows:
                n = g["n"]
                wr.writerow(["gemm", f"{n}x{n}x{n}" + (f" openblas={g['openblas_core']}"), "", "",
                             g["threads"], "gemm", f"{g['gflop']:.5f}", "blis", "numpy", f"{g['cc'] * 1e3:.4f}",
                             "", "", "", f"{g['numpy'] * 1e3:.4f}", "", "", f"{g['gflop'] / g['cc']:.2f}",
                             f"{g['gflop'] / g['numpy']:.2f}", f"{g['numpy'] / g['cc']:.4f}", "",
                             f"{g['err']:.2e}", f"{g.get('other', float('nan')):.3f}", 1])
        print(f"\nwrote {args.csv}")
    print(f"\ntotal {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
