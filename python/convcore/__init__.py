"""convcore: compact, fast CNN operators for NumPy arrays.

A C++17 core with our own SIMD GEMM (AVX-512 / AVX2 / portable, chosen at run
time), one dispatcher that picks the algorithm for every call, and a thin
Python layer whose functional API follows ``torch.nn.functional``. With a
CUDA build and a GPU, the same ops run on ``convcore.cuda.DeviceArray``s
(our own kernels, no cuDNN), which exchange memory with CuPy and PyTorch
through DLPack and the CUDA array interface.
"""

from __future__ import annotations

from . import cuda, functional, models, nn, optim
from ._C import __version__, get_num_threads, set_num_threads
from ._explain import Explanation, explain
from .shape import conv_output_size, same_padding
from .cuda import from_dlpack
from .summary import Summary, summary

__all__ = [
    "Explanation",
    "Summary",
    "__version__",
    "conv_output_size",
    "cuda",
    "explain",
    "from_dlpack",
    "functional",
    "get_num_threads",
    "models",
    "nn",
    "optim",
    "same_padding",
    "set_num_threads",
    "summary",
]
