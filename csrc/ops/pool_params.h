// SPDX-License-Identifier: MIT
// Max / average / power-average pooling: options, validation and the window
// arithmetic every device shares (PyTorch's rules, aten/src/ATen/native/Pool.h).
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "ops/shape.h"

namespace convcore {

enum class PoolKind { max, avg, lp };

// Options normalised to two spatial axes (a 1-D pool is a 2-D one with H = 1
// and kernel 1 along it); spatial_dims only shapes messages.
struct PoolParams {
  PoolKind kind = PoolKind::max;
  std::array<int64_t, 2> kernel{1, 1};
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};  // symmetric: top = bottom, left = right
  std::array<int64_t, 2> dilation{1, 1};
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg
  int64_t divisor_override = 0;   // avg; 0: none
  double norm_type = 2.0;         // lp
  bool nhwc = false;
  int spatial_dims = 2;
  std::string op = "max_pool2d";
};

// A validated problem: every size a kernel needs.
struct PoolProblem {
  PoolParams p;
  DType dtype = DType::f32;
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t oh = 0, ow = 0;

  int64_t dilated_kh() const { return effective_kernel(p.kernel[0], p.dilation[0]); }
  int64_t dilated_kw() const { return effective_kernel(p.kernel[1], p.dilation[1]); }
};

// PyTorch's pooling_output_shape: floor (or ceil) of the window count, where in
// ceil_mode a last window starting past the input and its left padding is dropped.
constexpr int64_t pool_output_size(int64_t n, int64_t k, int64_t stride, int64_t pad,
                                   int64_t dilation, bool ceil_mode) {
  const int64_t span = n + 2 * pad - effective_kernel(k, dilation) + (ceil_mode ? stride - 1 : 0);
  const int64_t floor_div = span >= 0 ? span / stride : -((-span + stride - 1) / stride);
  int64_t out = floor_div + 1;
  if (ceil_mode && (out - 1) * stride >= n + pad) --out;
  return out;
}

// The taps k < kernel whose position start + k * dilation lies in [0, n).
struct TapRange {
  int64_t begin, end;
};

CC_HOST_DEVICE constexpr TapRange valid_taps(int64_t start, int64_t n, int64_t kernel, int64_t dilation) {
  const int64_t b = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  const int64_t e = n - start <= 0 ? 0 : (n - start + dilation - 1) / dilation;
  const int64_t lo = b < kernel ? b : kernel;
  const int64_t hi = e < kernel ? e : kernel;
  return {lo, hi > lo ? hi : lo};
}

// The window of output (oh, ow): its top-left tap in input coordinates (may
// be negative, in the padding) and the tap rows / columns inside the input.
struct PoolWindow {
  int64_t h0, w0;
  TapRange rows, cols;
};

PoolWindow pool_window(const PoolProblem& prob, int64_t oh, int64_t ow);

// Some max window has no tap inside the input (possible only with dilation):
// PyTorch gives -inf there, which the fast kernels of both devices avoid.
bool has_empty_window(const PoolProblem& prob);

// The average pool's divisor of output (oh, ow): divisor_override, else the
// window's size clipped to the padded input (count_include_pad; ceil_mode
// overhang past the padding never counts) or to the input.
int64_t avg_pool_divisor(const PoolProblem& prob, int64_t oh, int64_t ow);

// Shape in the params' layout: (N, C, H, W) or (N, H, W, C).
PoolProblem make_pool_problem(const PoolParams& params, DType dtype,
                              const std::array<int64_t, 4>& input);

std::array<int64_t, 4> pool_output_shape(const PoolProblem& prob);  // in the params' layout
std::array<int64_t, 4> pool_input_shape(const PoolProblem& prob);   // in the params' layout

}  // namespace convcore
