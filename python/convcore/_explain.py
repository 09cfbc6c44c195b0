"""``convcore.explain``: what the dispatcher would run for a problem, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from . import _C
from .functional.conv import _ConvCall

__all__ = ["Explanation", "explain"]

_OPS = {"conv2d": 2, "conv1d": 1, "conv_transpose2d": 2, "conv_transpose1d": 1}


@dataclass(frozen=True)
class Explanation:
    """The dispatcher's choice for one operator call."""

    op: str
    pass_: str
    algorithm: str
    reason: str
    workspace_bytes: int
    threads: int
    isa: str
    output_shape: tuple
    flops: float
    rejected: list = field(default_factory=list)  # [(algorithm, why not)]
    device: str = "cpu"
    math: str = "float32"  # the arithmetic: the dtype on the CPU; on the GPU also the math mode

    def __str__(self) -> str:
        if self.device == "cpu":
            where = f"{self.isa}, {self.threads} threads"
            scratch = f"  workspace: {self.workspace_bytes / 2**20:.2f} MiB per thread, reused across calls"
        else:
            where = f"{self.device}, {self.math}"
            scratch = "  workspace: per call, from the caching device allocator"
        lines = [
            f"{self.op} {self.pass_}: {self.algorithm} ({where})",
            f"  why: {self.reason}",
            scratch,
            f"  output: {self.output_shape}, {self.flops / 1e9:.3f} GFLOP",
        ]
        lines += [f"  not {name}: {why}" for name, why in self.rejected]
        return "\n".join(lines)


def explain(
    op: str,
    input_shape: Sequence[int],
    weight_shape: Sequence[int],
    *,
    bias: bool = False,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    padding_mode: Any = "zeros",
    output_padding: Any = 0,
    data_format: Optional[str] = None,
    dtype: Any = np.float32,
    pass_: str = "forward",
    algorithm: Optional[str] = None,
    device: str = "cpu",
) -> Explanation:
    """Which algorithm runs ``op`` on these shapes, why, and the scratch it needs.

    ``op`` is ``'conv2d'``, ``'conv1d'``, ``'conv_transpose2d'`` or
    ``'conv_transpose1d'``; the options are those of the functional call (a
    transposed convolution's passes run the conv passes they are the adjoints
    of: its forward is conv's backward_input and the reverse). ``pass_`` is
    ``'forward'``, ``'backward_input'`` or ``'backward_weight'``; ``algorithm=``
    checks that a forced algorithm can run the problem (ValueError saying why
    not otherwise). ``device='cuda'`` explains the GPU's choice, which also
    depends on ``convcore.cuda.set_math_mode`` for float32 (it needs no GPU to
    answer). Nothing is computed.

    >>> print(convcore.explain('conv2d', (16, 64, 56, 56), (64, 64, 3, 3), padding=1))
    """
    if device not in ("cpu", "cuda") and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise ValueError(f"explain: device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    if op not in _OPS:
        raise ValueError(f"explain: op must be one of {sorted(_OPS)}, got {op!r}")
    nd = _OPS[op]
    fmt = data_format or ("NCHW" if nd == 2 else "NCL")
    dt = np.dtype(dtype)
    xs, ws = tuple(int(v) for v in input_shape), tuple(int(v) for v in weight_shape)
    transposed = op.startswith("conv_transpose")
    call = _ConvCall(op, nd, xs, ws, stride, padding, dilation, groups, padding_mode, fmt,
                     output_padding if transposed else None)
    x4 = xs if not call.unbatched else (1,) + xs
    if nd == 1:
        x4 = x4[:2] + (1,) + x4[2:] if not call.nhwc else x4[:1] + (1,) + x4[1:]
        ws = ws[:2] + (1,) + ws[2:]
    d = _C.explain(x4, ws, bias, call.params, dt.name, pass_, algorithm, transposed,
                   device != "cpu")
    out = tuple(d["output_shape"])
    if call.nhwc:
        out = (out[0], out[2], out[3], out[1])
    if nd == 1:
        out = out[:2] + out[3:] if not call.nhwc else (out[0],) + out[2:]
    if call.unbatched:
        out = out[1:]
    return Explanation(op, d["pass"], d["algorithm"], d["reason"], d["workspace_bytes"],
                       d["threads"], d["isa"], out, d["flops"], list(d["rejected"]),
                       "cpu" if device == "cpu" else ("cuda:0" if device == "cuda" else device),
                       d["math"])
