// SPDX-License-Identifier: MIT
// CUDA linear, the twin of cpu/layers.h's linear drivers: products on
// cuda::gemm (cuda/gemm.h), bias add and bias gradient as small kernels.
// Device pointers to contiguous arrays; launches on convcore's stream, no
// synchronization. `mode` applies to float32 only (dispatch/math_mode.h).
#pragma once
#include "dispatch/math_mode.h"
#include "ops/layers_params.h"

namespace convcore::cuda {

// y[rows, out] = x[rows, in] w[out, in]^T + bias.
template <class T>
void linear_forward(const LinearShape& s, const T* x, const T* w, const T* bias, T* y,
                    MathMode mode, int device);
// Any of gx, gw, gb may be null (not asked for). gb: column sums of gy, each
// column added in row order in T, as the CPU does.
template <class T>
void linear_backward(const LinearShape& s, const T* gy, const T* x, const T* w, T* gx, T* gw,
                     T* gb, MathMode mode, int device);

}  // namespace convcore::cuda
