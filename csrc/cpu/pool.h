// SPDX-License-Identifier: MIT
// CPU drivers of max / average / power-average pooling: threads, scratch,
// border windows; the inner loops come from kernels().pool<T>().
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "ops/pool_params.h"

namespace convcore::cpu {

// y (and indices, when not null) shaped pool_output_shape(prob), contiguous.
template <class T>
void pool_forward(const PoolProblem& prob, const TensorView& x, const TensorView& y,
                  int64_t* indices, int threads);

// gx shaped like x. indices (max pooling only) may be null: the argmax is
// recomputed from x. Throws ArgumentError for an index outside its plane
// (no write happens for it).
template <class T>
void pool_backward(const PoolProblem& prob, const TensorView& gy, const TensorView& x,
                   const int64_t* indices, const TensorView& gx, int threads);

}  // namespace convcore::cpu
