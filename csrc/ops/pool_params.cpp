// SPDX-License-Identifier: MIT
#include "ops/pool_params.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace convcore {
namespace {

constexpr int64_t kMaxDim = int64_t(1) << 40;  // keeps every product below 2^63

std::string spatial(const PoolParams& p, int64_t h, int64_t w) {
  return p.spatial_dims == 1 ? str_cat(w) : str_cat(h, " x ", w);
}

std::string shape_str(const std::array<int64_t, 4>& s, const PoolParams& p) {
  if (p.spatial_dims == 1)
    return p.nhwc ? str_cat("[", s[0], ", ", s[2], ", ", s[3], "]")
                  : str_cat("[", s[0], ", ", s[1], ", ", s[3], "]");
  return str_cat("[", s[0], ", ", s[1], ", ", s[2], ", ", s[3], "]");
}

void check_positive(const PoolParams& p, const char* name, const std::array<int64_t, 2>& v) {
  const char* axes[2] = {"height", "width"};
  for (int a = 2 - p.spatial_dims; a < 2; ++a) {
    CC_CHECK_ARG(v[a] > 0, p.op, ": ", name, " must be positive, got ", v[a], " (", axes[a], ")");
    CC_CHECK_ARG(v[a] <= kMaxDim, p.op, ": ", name, " must be at most 2^40, got ", v[a], " (",
                 axes[a], ")");
  }
}

void check_params(const PoolParams& p) {
  check_positive(p, "kernel_size", p.kernel);
  check_positive(p, "stride", p.stride);
  check_positive(p, "dilation", p.dilation);
  CC_CHECK_ARG(p.kind == PoolKind::max || (p.dilation[0] == 1 && p.dilation[1] == 1), p.op,
               ": dilation is only supported by max pooling");
  const char* axes[2] = {"height", "width"};
  for (int a = 2 - p.spatial_dims; a < 2; ++a) {
    CC_CHECK_ARG(static_cast<long double>(p.dilation[a]) * (p.kernel[a] - 1) < 0x1p62L, p.op,
                 ": the dilated kernel size dilation * (kernel_size - 1) + 1 = ", p.dilation[a],
                 " * ", p.kernel[a] - 1, " + 1 overflows int64 (", axes[a], ")");
    CC_CHECK_ARG(p.padding[a] >= 0, p.op, ": padding must be non-negative, got ", p.padding[a],
                 " (", axes[a], ")");
    // max pooling measures half the dilated kernel (as torch's max_pool), the others the kernel.
    const int64_t k = p.kind == PoolKind::max ? effective_kernel(p.kernel[a], p.dilation[a])
                                              : p.kernel[a];
    CC_CHECK_ARG(p.padding[a] <= k / 2, p.op, ": padding must be at most half of the ",
                 p.kind == PoolKind::max ? "dilated " : "", "kernel size, got padding ",
                 p.padding[a], " for kernel size ", k, " (", axes[a], ")");
  }
  if (p.kind == PoolKind::lp)
    CC_CHECK_ARG(std::isfinite(p.norm_type) && p.norm_type != 0.0, p.op,
                 ": norm_type must be finite and non-zero, got ", p.norm_type);
}

}  // namespace

PoolWindow pool_window(const PoolProblem& prob, int64_t oh, int64_t ow) {
  const PoolParams& p = prob.p;
  PoolWindow win;
  win.h0 = oh * p.stride[0] - p.padding[0];
  win.w0 = ow * p.stride[1] - p.padding[1];
  win.rows = valid_taps(win.h0, prob.h, p.kernel[0], p.dilation[0]);
  win.cols = valid_taps(win.w0, prob.w, p.kernel[1], p.dilation[1]);
  return win;
}

bool has_empty_window(const PoolProblem& prob) {
  for (int64_t oh = 0; oh < prob.oh; ++oh) {
    const PoolWindow w = pool_window(prob, oh, 0);
    if (w.rows.begin == w.rows.end) return true;
  }
  for (int64_t ow = 0; ow < prob.ow; ++ow) {
    const PoolWindow w = pool_window(prob, 0, ow);
    if (w.cols.begin == w.cols.end) return true;
  }
  return false;
}

int64_t avg_pool_divisor(const PoolProblem& prob, int64_t oh, int64_t ow) {
  const PoolParams& p = prob.p;
  if (p.divisor_override != 0) return p.divisor_override;
  const int64_t h0 = oh * p.stride[0] - p.padding[0], w0 = ow * p.stride[1] - p.padding[1];
  const int64_t h1 = std::min(h0 + p.kernel[0], prob.h + p.padding[0]);
  const int64_t w1 = std::min(w0 + p.kernel[1], prob.w + p.padding[1]);
  if (p.count_include_pad) return (h1 - h0) * (w1 - w0);
  return (std::min(h1, prob.h) - std::max<int64_t>(h0, 0)) *
         (std::min(w1, prob.w) - std::max<int64_t>(w0, 0));
}

PoolProblem make_pool_problem(const PoolParams& params, DType dtype,
                              const std::array<int64_t, 4>& input) {
  check_params(params);
  PoolProblem prob;
  prob.p = params;
  prob.dtype = dtype;
  const PoolParams& p = prob.p;
  if (p.nhwc)
    prob.n = input[0], prob.h = input[1], prob.w = input[2], prob.c = input[3];
  else
    prob.n = input[0], prob.c = input[1], prob.h = input[2], prob.w = input[3];
  for (int64_t v : input)
    CC_CHECK_ARG(v >= 0 && v <= kMaxDim, p.op, ": input size ", shape_str(input, p),
                 v < 0 ? " is negative" : " is too large (a dimension above 2^40)");
  CC_CHECK_ARG(prob.c >= 1 && prob.h >= 1 && prob.w >= 1, p.op, ": input of size ",
               shape_str(input, p),
               " has a zero-size channel or spatial dimension (only the batch may be empty)");
  prob.oh = pool_output_size(prob.h, p.kernel[0], p.stride[0], p.padding[0], p.dilation[0],
                             p.ceil_mode);
  prob.ow = pool_output_size(prob.w, p.kernel[1], p.stride[1], p.padding[1], p.dilation[1],
                             p.ceil_mode);
  CC_CHECK_ARG(prob.oh >= 1 && prob.ow >= 1, p.op, ": given input size ",
               spatial(p, prob.h, prob.w), ", kernel_size ", spatial(p, p.kernel[0], p.kernel[1]),
               ", stride ", spatial(p, p.stride[0], p.stride[1]), ", padding ",
               spatial(p, p.padding[0], p.padding[1]), " and dilation ",
               spatial(p, p.dilation[0], p.dilation[1]), ", the calculated output size ",
               spatial(p, prob.oh, prob.ow), " is too small");
  const long double limit = static_cast<long double>(std::numeric_limits<int64_t>::max()) / 8;
  CC_CHECK_ARG(static_cast<long double>(prob.n) * prob.c * prob.h * prob.w <= limit, p.op,
               ": the element count of input ", shape_str(input, p), " overflows int64");
  return prob;
}

std::array<int64_t, 4> pool_output_shape(const PoolProblem& prob) {
  if (prob.p.nhwc) return {prob.n, prob.oh, prob.ow, prob.c};
  return {prob.n, prob.c, prob.oh, prob.ow};
}

std::array<int64_t, 4> pool_input_shape(const PoolProblem& prob) {
  if (prob.p.nhwc) return {prob.n, prob.h, prob.w, prob.c};
  return {prob.n, prob.c, prob.h, prob.w};
}

}  // namespace convcore
