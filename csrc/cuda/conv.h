// SPDX-License-Identifier: MIT
// CUDA convolution drivers, the twins of cpu/conv.h: one per algorithm and
// pass, arrays as device views whose layout (NCHW or NHWC) is carried by
// their strides, every shape validated by dispatch/. All launch on
// convcore's stream (cuda/launch.cuh) and return without synchronizing.
#pragma once
#include "core/tensor.h"
#include "dispatch/math_mode.h"
#include "ops/conv_params.h"

namespace convcore::cuda {

// Implicit GEMM (pointwise = false: patches gathered into shared-memory
// tiles, never materialized) and 1x1 GEMM (pointwise = true). `mode` applies
// to float32 only (dispatch/math_mode.h).
template <class T>
void conv_gemm_forward(const ConvProblem& prob, bool pointwise, MathMode mode, const TensorView& x,
                       const TensorView& w, const T* bias, const TensorView& y);
template <class T>
void conv_gemm_backward_input(const ConvProblem& prob, bool pointwise, MathMode mode,
                              const TensorView& gy, const TensorView& w, const TensorView& gx);
template <class T>
void conv_gemm_backward_weight(const ConvProblem& prob, bool pointwise, MathMode mode,
                               const TensorView& x, const TensorView& gy, const TensorView& gw);

// DepthwiseDirect: groups == Cin, any channel multiplier.
template <class T>
void conv_depthwise_forward(const ConvProblem& prob, const TensorView& x, const TensorView& w,
                            const T* bias, const TensorView& y);
template <class T>
void conv_depthwise_backward_input(const ConvProblem& prob, const TensorView& gy,
                                   const TensorView& w, const TensorView& gx);
template <class T>
void conv_depthwise_backward_weight(const ConvProblem& prob, const TensorView& x,
                                    const TensorView& gy, const TensorView& gw);

// sums[c] = sum of t over N, H, W (the bias gradient); t[n, c, i, j] += values[c] (a bias).
template <class T>
void sum_per_channel(const TensorView& t, bool nhwc, T* sums);
template <class T>
void add_per_channel(const TensorView& t, bool nhwc, const T* values);

}  // namespace convcore::cuda
