// SPDX-License-Identifier: MIT
// CUDA drivers of max / average / power-average pooling: the twins of
// cpu/pool.h (same problems, same results, same index convention), minus the
// thread count. Arrays are on the current device; kernels run on stream().
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "ops/pool_params.h"

namespace convcore::cuda {

// y (and indices, when not null) shaped pool_output_shape(prob), contiguous.
// One thread per output element.
template <class T>
void pool_forward(const PoolProblem& prob, const TensorView& x, const TensorView& y,
                  int64_t* indices);

// gx shaped like x. indices (max pooling only) may be null: the argmax is
// recomputed from x. Throws ArgumentError for an index outside its plane
// (checked after the kernels, which skip it; this waits for the device).
// Avg / lp, and max without indices: a gather, one thread per input element
// (deterministic). Max with indices (or with an empty dilated window): a
// scatter of each output's gradient to its index with atomicAdd (windows that
// overlap, or repeated indices, add in an unspecified order).
template <class T>
void pool_backward(const PoolProblem& prob, const TensorView& gy, const TensorView& x,
                   const int64_t* indices, const TensorView& gx);

}  // namespace convcore::cuda
