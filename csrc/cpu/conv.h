// SPDX-License-Identifier: MIT
// CPU convolution drivers, one per algorithm and pass. Arrays arrive as
// views whose layout (NCHW or NHWC) is carried by their strides; the caller
// (dispatch/) has validated every shape.
#pragma once
#include "core/tensor.h"
#include "ops/conv_params.h"

namespace convcore::cpu {

// Im2colGemm (pointwise = false) and Gemm1x1 (pointwise = true).
template <class T>
void conv_gemm_forward(const ConvProblem& prob, bool pointwise, const TensorView& x,
                       const TensorView& w, const T* bias, const TensorView& y, int threads);
template <class T>
void conv_gemm_backward_input(const ConvProblem& prob, bool pointwise, const TensorView& gy,
                              const TensorView& w, const TensorView& gx, int threads);
// The weight gradient needs no 1x1 special case: a 1x1 patch row is a plain copy.
template <class T>
void conv_gemm_backward_weight(const ConvProblem& prob, const TensorView& x,
                               const TensorView& gy, const TensorView& gw, int threads);

// True when the Im2colGemm backward-input pass runs as a forward convolution
// of grad_output (stride 1, constant padding no wider than the dilated kernel
// minus one), which needs no col2im.
bool backward_input_as_forward(const ConvProblem& prob);

// DepthwiseDirect: groups == Cin, any channel multiplier.
template <class T>
void conv_depthwise_forward(const ConvProblem& prob, const TensorView& x, const TensorView& w,
                            const T* bias, const TensorView& y, int threads);
template <class T>
void conv_depthwise_backward_input(const ConvProblem& prob, const TensorView& gy,
                                   const TensorView& w, const TensorView& gx, int threads);
template <class T>
void conv_depthwise_backward_weight(const ConvProblem& prob, const TensorView& x,
                                    const TensorView& gy, const TensorView& gw, int threads);

// sums[c] = sum of t over N, H, W (the bias gradient); t[n, c, i, j] += values[c] (a bias).
template <class T>
void sum_per_channel(const TensorView& t, bool nhwc, T* sums, int threads);
template <class T>
void add_per_channel(const TensorView& t, bool nhwc, const T* values, int threads);

// Row stride of a padded depthwise plane: room for the whole vectors the
// kernels read past a row's last tap (see cpu/kernels/kernels.h).
inline int64_t depthwise_row_stride(int64_t padded_width, int64_t elem_size) {
  const int64_t v = 64 / elem_size;
  return (padded_width + v - 1) / v * v + v;
}

// Scratch bytes per thread of the im2col tile used by the backward-input pass.
int64_t conv_col_tile_bytes(const ConvProblem& prob);

}  // namespace convcore::cpu
