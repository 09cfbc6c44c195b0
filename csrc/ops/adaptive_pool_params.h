// SPDX-License-Identifier: MIT
// Window arithmetic of the pooling ops whose windows follow the output size
// rather than a kernel: adaptive and global pooling, spatial pyramid pooling,
// ROI pooling, and the output size of max unpooling.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace convcore {

enum class PoolReduce { max, avg };

// Parses 'max' / 'avg'; ArgumentError naming `op` otherwise.
PoolReduce parse_pool_reduce(const std::string& mode, const std::string& op);

// A half-open window [begin, end) along one axis; empty when end <= begin.
struct Span {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end > begin ? end - begin : 0; }
};

// PyTorch's adaptive bins: bin i of `out` over `in` covers
// [floor(i * in / out), ceil((i + 1) * in / out)), so neighbours may overlap.
inline Span adaptive_span(int64_t i, int64_t in, int64_t out) {
  return {i * in / out, ((i + 1) * in + out - 1) / out};
}
std::vector<Span> adaptive_spans(int64_t in, int64_t out);

// The bins of one ROI along one axis, as torchvision.ops.roi_pool computes
// them (in T, so float32 boxes round as torchvision's float32 kernel does):
// start = round(lo * scale), end = round(hi * scale), size = max(end - start
// + 1, 1), bin = size / pooled; bin i covers [floor(i * bin) + start,
// ceil((i + 1) * bin) + start) clipped to [0, in].
template <class T>
std::vector<Span> roi_spans(T lo, T hi, T scale, int64_t pooled, int64_t in) {
  // Clamped before the cast: a huge (finite) coordinate would overflow int64.
  const auto rounded = [](T v) {
    return static_cast<int64_t>(std::clamp<T>(std::round(v), T(-1e15), T(1e15)));
  };
  const int64_t start = rounded(lo * scale), end = rounded(hi * scale);
  const T bin = static_cast<T>(std::max<int64_t>(end - start + 1, 1)) / static_cast<T>(pooled);
  const auto clip = [in](int64_t v) { return std::min(std::max(v, int64_t{0}), in); };
  std::vector<Span> spans(static_cast<size_t>(pooled));
  for (int64_t i = 0; i < pooled; ++i) {
    spans[i].begin = clip(static_cast<int64_t>(std::floor(static_cast<T>(i) * bin)) + start);
    spans[i].end = clip(static_cast<int64_t>(std::ceil(static_cast<T>(i + 1) * bin)) + start);
  }
  return spans;
}

// Output size of a pooled axis given by the caller: positive.
void check_pooled_size(int64_t size, const std::string& op, const char* name);

// Spatial pyramid levels: non-empty, each positive. Returns sum(l * l).
int64_t pyramid_bins(const std::vector<int64_t>& levels, const std::string& op);

// Options of max unpooling along two axes (a 1-D op has H options 1, 1, 0).
struct UnpoolParams {
  int64_t kernel[2] = {1, 1};
  int64_t stride[2] = {1, 1};
  int64_t padding[2] = {0, 0};
};

// Validates kernel/stride/padding and returns the output plane (H, W):
// (in - 1) * stride - 2 * padding + kernel per axis, or `requested` when the
// caller gives one, which must lie strictly within stride of that default
// (as torch's _unpool_output_size).
std::vector<int64_t> unpool_output_size(const UnpoolParams& p, int64_t h, int64_t w,
                                        const std::vector<int64_t>* requested,
                                        const std::string& op);

}  // namespace convcore
