// SPDX-License-Identifier: MIT
// The single entries of batch norm and local response norm: validate, pick
// the loop shape from the layout (channel planes or channel-vector rows, in
// cpu/norm.cpp), run for float or double.
#pragma once
#include "core/tensor.h"
#include "ops/norm_params.h"

namespace convcore {

// The optional per-channel arrays of a batch-norm call (null: not given).
struct BatchNormOperands {
  const TensorView* running_mean = nullptr;
  const TensorView* running_var = nullptr;
  const TensorView* weight = nullptr;
  const TensorView* bias = nullptr;
};

// Validates options, ranks, dtypes and channel counts; returns the shape.
// input: (N, C), (N, C, L), (N, C, H, W), or channels-last (N, L, C), (N, H, W, C).
NormShape batch_norm_check(const BatchNormParams& p, const TensorView& input,
                           const BatchNormOperands& ops);

// output: shaped as input. save_mean / save_invstd: (C,) or null; they get the
// statistics used (the batch's in training, the running ones in eval). In
// training the running statistics (if given) are updated in place.
void batch_norm_forward(const BatchNormParams& p, const TensorView& input,
                        const BatchNormOperands& ops, const TensorView& output,
                        const TensorView* save_mean, const TensorView* save_invstd);

// Any of grad_input / grad_weight / grad_bias may be null (not asked for).
// save_mean / save_invstd: the forward's batch statistics, both or neither
// (training only; recomputed from input when absent).
void batch_norm_backward(const BatchNormParams& p, const TensorView& grad_output,
                         const TensorView& input, const BatchNormOperands& ops,
                         const TensorView* save_mean, const TensorView* save_invstd,
                         const TensorView* grad_input, const TensorView* grad_weight,
                         const TensorView* grad_bias);

// input: (N, C, L), (N, C, H, W) or channels-last (N, L, C), (N, H, W, C).
NormShape lrn_check(const LrnParams& p, const TensorView& input);
void local_response_norm(const LrnParams& p, const TensorView& input, const TensorView& output);
void local_response_norm_backward(const LrnParams& p, const TensorView& grad_output,
                                  const TensorView& input, const TensorView& grad_input);

}  // namespace convcore
