#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs a small subset of the GPU tests under NVIDIA compute-sanitizer's
# memcheck tool (out-of-bounds and misaligned device accesses, invalid frees,
# CUDA API errors): every conv kernel runs on small problems, so the slowdown
# (10-100x per kernel) stays at a few minutes.
#
#   bench/gpu_memcheck.sh                      # the default subset below
#   bench/gpu_memcheck.sh tests/test_cuda_pool.py -k max   # any pytest arguments instead
#
# Environment: PYTHON (default: python3), COMPUTE_SANITIZER (default: the one
# on PATH, else /usr/local/cuda/bin/compute-sanitizer). Exit status: pytest's,
# or 1 when memcheck reported an error, 2 when there is no sanitizer or GPU.
#
# Caveat: convcore's caching allocator (cuda/allocator.cpp) rounds each
# request up to a 512-byte (small) or 2 MiB (large) size class, one cudaMalloc
# per block, and reuses freed blocks: an access past an array's end but inside
# its rounded block, or into a block freed back to the cache, is not flagged.
# The test subset uses odd sizes so that most overruns cross a block edge.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python3}
san=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)}
if [ ! -x "$san" ]; then
  echo "gpu_memcheck: compute-sanitizer not found (set COMPUTE_SANITIZER)" >&2
  exit 2
fi
if ! "$py" -c "import convcore, sys; sys.exit(0 if convcore.cuda.is_available() else 1)"; then
  echo "gpu_memcheck: convcore sees no CUDA device (or was built without CUDA)" >&2
  exit 2
fi
cd "$top"
if [ $# -eq 0 ]; then
  # Fixed (non-hypothesis) cases of every conv algorithm, both layouts, the
  # transposed convs (negative trailing padding), unbatched inputs, and the
  # multi-block depthwise / bias reductions.
  set -- tests/test_cuda_conv.py -k \
    "(test_conv_every_algorithm and (depthwise or mode_ or 1d_ or pointwise or gemm_blocking or basic_3x3)) \
     or test_transposed_2d or test_transposed_1d or test_conv_unbatched or test_conv_larger_problems \
     or deterministic"
fi
exec "$san" --tool memcheck --error-exitcode 1 --print-limit 20 \
  "$py" -m pytest -q -p no:cacheprovider -x "$@"
