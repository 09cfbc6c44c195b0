// SPDX-License-Identifier: MIT
// Shape arithmetic shared by every device and by the Python layer.
#pragma once
#include <cstdint>
#include <utility>

// Marks a helper callable from CUDA device code as well as from the host.
#ifndef CC_HOST_DEVICE
#ifdef __CUDACC__
#define CC_HOST_DEVICE __host__ __device__
#else
#define CC_HOST_DEVICE
#endif
#endif

namespace convcore {

enum class PadMode { constant, reflect, replicate, circular, symmetric };

inline const char* pad_mode_name(PadMode m) {
  switch (m) {
    case PadMode::reflect: return "reflect";
    case PadMode::replicate: return "replicate";
    case PadMode::circular: return "circular";
    case PadMode::symmetric: return "symmetric";
    default: return "constant";
  }
}

constexpr int64_t effective_kernel(int64_t k, int64_t dilation) { return dilation * (k - 1) + 1; }

// floor((n + before + after - k_eff) / stride) + 1; <= 0 when the kernel does not fit.
constexpr int64_t conv_output_size(int64_t n, int64_t k, int64_t stride, int64_t before,
                                   int64_t after, int64_t dilation) {
  const int64_t span = n + before + after - effective_kernel(k, dilation);
  return span < 0 ? 0 : span / stride + 1;
}

// TensorFlow's SAME: the output is ceil(n / stride) and the odd unit of the
// total padding goes after (bottom/right). For stride 1 this is PyTorch's
// padding='same' (total = dilation * (k - 1)).
inline std::pair<int64_t, int64_t> same_padding(int64_t n, int64_t k, int64_t stride,
                                                int64_t dilation) {
  const int64_t out = (n + stride - 1) / stride;
  int64_t total = (out - 1) * stride + effective_kernel(k, dilation) - n;
  if (total < 0) total = 0;
  return {total / 2, total - total / 2};
}

// The source index that padded position i (in [-before, n + after)) reads,
// or -1 when it reads the constant. Validation guarantees the pad widths each
// mode needs (reflect: pad < n; symmetric, circular: pad <= n).
CC_HOST_DEVICE inline int64_t source_index(int64_t i, int64_t n, PadMode mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::reflect: return i < 0 ? -i : 2 * (n - 1) - i;
    case PadMode::symmetric: return i < 0 ? -i - 1 : 2 * n - 1 - i;
    case PadMode::replicate: return i < 0 ? 0 : n - 1;
    case PadMode::circular: return i < 0 ? i + n : i - n;
    default: return -1;
  }
}

}  // namespace convcore
