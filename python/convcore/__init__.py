"""convcore: compact, fast CNN operators for NumPy arrays.

A C++17 core with our own SIMD GEMM (AVX-512 / AVX2 / portable, chosen at run
time), one dispatcher that picks the algorithm for every call, and a thin
Python layer whose functional API follows ``torch.nn.functional``.
"""

from __future__ import annotations

from . import functional, models, nn, optim
from ._C import __version__, get_num_threads, set_num_threads
from ._explain import Explanation, explain
from .shape import conv_output_size, same_padding
from .summary import Summary, summary

__all__ = [
    "Explanation",
    "Summary",
    "__version__",
    "conv_output_size",
    "explain",
    "functional",
    "get_num_threads",
    "models",
    "nn",
    "optim",
    "same_padding",
    "set_num_threads",
    "summary",
]
