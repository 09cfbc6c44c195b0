// SPDX-License-Identifier: MIT
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/dtype.h"

namespace convcore {

enum class Device { cpu, cuda };

// "cpu" or "cuda:0": a device as messages and Python print it.
std::string device_name(Device device, int index);

// A non-owning view of a strided array. Sizes and strides are in elements and
// 64-bit, so offsets never wrap for arrays past 2^31 elements.
struct TensorView {
  static constexpr int kMaxDims = 4;
  void* data = nullptr;
  DType dtype = DType::f32;
  Device device = Device::cpu;
  int device_index = 0;  // the CUDA ordinal when device == cuda
  int ndim = 0;
  std::array<int64_t, kMaxDims> sizes{};
  std::array<int64_t, kMaxDims> strides{};

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= sizes[i];
    return n;
  }
  template <class T>
  T* ptr() const { return static_cast<T*>(data); }
};

// "[N, C, H, W]": an array's shape as messages print it.
std::string shape_of(const TensorView& t);

// One array of a call and the argument name messages give it; view may be null
// (an optional argument left out).
struct NamedView {
  const char* name;
  const TensorView* view;
};

// ArgumentError naming the first array that is not on the device of the first
// one given: a call never mixes host and device arrays.
void check_same_device(const std::string& op, std::initializer_list<NamedView> arrays);

inline bool on_cuda(const TensorView& t) { return t.device == Device::cuda; }

// A 4-D NCHW-indexed view of an activation tensor whatever its memory layout:
// NHWC arrays are the same view with permuted strides.
struct Act4 {
  int64_t n, c, h, w;
  int64_t sn, sc, sh, sw;
};

inline Act4 act4_of(const TensorView& t, bool nhwc) {
  if (!nhwc)
    return {t.sizes[0], t.sizes[1], t.sizes[2], t.sizes[3],
            t.strides[0], t.strides[1], t.strides[2], t.strides[3]};
  return {t.sizes[0], t.sizes[3], t.sizes[1], t.sizes[2],
          t.strides[0], t.strides[3], t.strides[1], t.strides[2]};
}

}  // namespace convcore
