// SPDX-License-Identifier: MIT
// The single entry of max / average / power-average pooling, 1-D and 2-D
// (1-D as 2-D with H = 1), forward and backward.
#pragma once
#include "core/tensor.h"
#include "ops/pool_params.h"

namespace convcore {

// Validates the input's dtype and rank (DTypeError / ArgumentError) and
// returns the problem.
PoolProblem pool_problem(const PoolParams& p, const TensorView& input);

// output shaped pool_output_shape(problem) in the problem's layout; indices
// (int64, same shape) may be null, and only max pooling fills them.
void pool2d_forward(const PoolParams& p, const TensorView& input, const TensorView& output,
                    const TensorView* indices);

// grad_input shaped like input. indices (max pooling) may be null: the argmax
// is recomputed from input. An index outside its plane raises ArgumentError.
void pool2d_backward(const PoolParams& p, const TensorView& grad_output,
                     const TensorView& input, const TensorView* indices,
                     const TensorView& grad_input);

}  // namespace convcore
