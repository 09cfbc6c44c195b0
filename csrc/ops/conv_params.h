// SPDX-License-Identifier: MIT
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "ops/shape.h"

namespace convcore {

// Options of a convolution, already normalised to two spatial axes (a 1-D
// convolution is a 2-D one with H = 1); spatial_dims only shapes messages.
struct ConvParams {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> dilation{1, 1};
  std::array<int64_t, 4> pad{0, 0, 0, 0};  // top, bottom, left, right
  std::array<int64_t, 2> output_padding{0, 0};  // transposed convolutions only
  PadMode pad_mode = PadMode::constant;
  double pad_value = 0.0;
  int64_t groups = 1;
  bool nhwc = false;
  int spatial_dims = 2;
  std::string op = "conv2d";
};

// A validated problem: every size a kernel or the selector needs.
struct ConvProblem {
  ConvParams p;
  DType dtype = DType::f32;
  int64_t n = 0, cin = 0, h = 0, w = 0;
  int64_t cout = 0, kh = 0, kw = 0;
  int64_t oh = 0, ow = 0;
  bool has_bias = false;

  int64_t cin_g() const { return cin / p.groups; }
  int64_t cout_g() const { return cout / p.groups; }
  int64_t k_gemm() const { return cin_g() * kh * kw; }  // GEMM depth of one group
  int64_t out_pixels() const { return oh * ow; }
  bool is_depthwise() const { return p.groups == cin && cin_g() == 1 && p.groups > 1; }
  bool is_pointwise() const;  // 1x1, stride 1, no padding: a plain GEMM
  double flops() const { return 2.0 * n * cout * oh * ow * k_gemm(); }
};

// Shapes in the layout of `params.nhwc`: input (N, C, H, W) or (N, H, W, C),
// weight (Cout, Cin/groups, KH, KW). bias_len < 0 means no bias.
// Throws ArgumentError naming the argument and the values.
ConvProblem make_conv_problem(const ConvParams& params, DType dtype,
                              const std::array<int64_t, 4>& input,
                              const std::array<int64_t, 4>& weight, int64_t bias_len);

// A transposed convolution as the convolution it is the adjoint of: input
// (N, Cin, H, W) in the layout of `params.nhwc` is that convolution's output,
// weight (Cin, Cout/groups, KH, KW) its weight, and the transposed output
// (N, Cout, Hout, Wout), Hout = (H - 1) * stride - pad_top - pad_bottom +
// dilation * (KH - 1) + output_padding + 1, its input. output_padding rows
// that no window reaches make the convolution's trailing padding negative.
// bias_len is the transposed bias (Cout), checked here and not recorded.
ConvProblem make_conv_transpose_problem(const ConvParams& params, DType dtype,
                                        const std::array<int64_t, 4>& input,
                                        const std::array<int64_t, 4>& weight, int64_t bias_len);

// Checks a gradient or output array has the shape the problem implies.
void check_shape(const ConvProblem& prob, const char* what, const TensorView& t,
                 const std::array<int64_t, 4>& expected_nchw);

std::array<int64_t, 4> input_shape_nchw(const ConvProblem& prob);
std::array<int64_t, 4> output_shape_nchw(const ConvProblem& prob);
std::array<int64_t, 4> weight_shape(const ConvProblem& prob);

}  // namespace convcore
