// SPDX-License-Identifier: MIT
// How a dispatch entry runs a call where its arrays are: the CUDA drivers
// (cuda/) under a DeviceGuard when they are on a GPU, else the CPU drivers,
// each instantiated for the arrays' float type.
#pragma once
#include "core/tensor.h"
#include "cuda/runtime.h"

namespace convcore {

#if CONVCORE_WITH_CUDA
inline constexpr bool kWithCuda = true;
#else
inline constexpr bool kWithCuda = false;
#endif

// fn(T{}) for the float type of `dtype` (float32 or float64).
template <class Fn>
void for_float_type(DType dtype, Fn&& fn) {
  if (dtype == DType::f32)
    fn(float{});
  else
    fn(double{});
}

// gpu(T{}) when `x` is on a GPU, else cpu(T{}), T the float type of `dtype`.
// Both are generic lambdas: a build without CUDA never instantiates the GPU
// one, so it may call cuda:: drivers that such a build does not define.
template <class Gpu, class Cpu>
void on_device_of(const TensorView& x, DType dtype, Gpu&& gpu, Cpu&& cpu) {
  if constexpr (kWithCuda) {
    if (on_cuda(x)) {
      cuda::DeviceGuard guard(x.device_index);
      for_float_type(dtype, gpu);
      return;
    }
  }
  for_float_type(dtype, cpu);
}

}  // namespace convcore
