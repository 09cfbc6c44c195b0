// SPDX-License-Identifier: MIT
// CUDA drivers of batch norm and local response norm, the twins of
// cpu/norm.h: the same argument structs (device pointers to contiguous data
// of the validated NormShape, dispatch/norm.cpp), minus the thread count.
// Statistics are float64 sums reduced in a fixed order (per-block partial
// sums, then one ordered pass per channel): deterministic, no atomics. All
// launch on convcore's stream and return without synchronizing.
#pragma once
#include "cpu/norm.h"
#include "ops/norm_params.h"

namespace convcore::cuda {

template <class T>
using BatchNormForwardArgs = cpu::BatchNormForwardArgs<T>;
template <class T>
using BatchNormBackwardArgs = cpu::BatchNormBackwardArgs<T>;

// running_mean / running_var are updated on the device in training.
template <class T>
void batch_norm_forward(const BatchNormParams& p, const NormShape& s,
                        const BatchNormForwardArgs<T>& a, int device);
template <class T>
void batch_norm_backward(const BatchNormParams& p, const NormShape& s,
                         const BatchNormBackwardArgs<T>& a, int device);

template <class T>
void lrn_forward(const LrnParams& p, const NormShape& s, const T* x, T* y, int device);
template <class T>
void lrn_backward(const LrnParams& p, const NormShape& s, const T* dy, const T* x, T* dx,
                  int device);

}  // namespace convcore::cuda
