// SPDX-License-Identifier: MIT
// The single entry every operator call goes through: check the arguments,
// select the algorithm, run the kernel. Bindings and benchmarks call only this.
#pragma once
#include <optional>

#include "core/tensor.h"
#include "dispatch/select.h"
#include "ops/conv_params.h"

namespace convcore {

// Validates dtypes, ranks and shapes (ArgumentError / DTypeError) and returns
// the problem; bias may be null.
ConvProblem conv_problem(const ConvParams& p, const TensorView& input, const TensorView& weight,
                         const TensorView* bias);

// y: the output, shaped output_shape_nchw(problem) in the problem's layout and
// contiguous in it. Returns the choice it ran.
Choice conv2d_forward(const ConvParams& p, const TensorView& input, const TensorView& weight,
                      const TensorView* bias, const TensorView& output,
                      std::optional<Algo> algo = std::nullopt);

// Any of grad_input / grad_weight / grad_bias may be null (not asked for).
void conv2d_backward(const ConvParams& p, const TensorView& grad_output,
                     const TensorView& input, const TensorView& weight,
                     const TensorView* grad_input, const TensorView* grad_weight,
                     const TensorView* grad_bias, std::optional<Algo> algo = std::nullopt);

// Transposed convolutions (ops/conv_params.h make_conv_transpose_problem):
// input (N, Cin, H, W), weight (Cin, Cout/groups, KH, KW), output shaped
// input_shape_nchw(problem). The passes map onto the convolution ones
// (forward = backward_input, grad_input = forward), and so does the choice.
ConvProblem conv_transpose_problem(const ConvParams& p, const TensorView& input,
                                   const TensorView& weight, const TensorView* bias);
Choice conv_transpose2d_forward(const ConvParams& p, const TensorView& input,
                                const TensorView& weight, const TensorView* bias,
                                const TensorView& output, std::optional<Algo> algo = std::nullopt);
void conv_transpose2d_backward(const ConvParams& p, const TensorView& grad_output,
                               const TensorView& input, const TensorView& weight,
                               const TensorView* grad_input, const TensorView* grad_weight,
                               const TensorView* grad_bias,
                               std::optional<Algo> algo = std::nullopt);

}  // namespace convcore
