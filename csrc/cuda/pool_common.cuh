// SPDX-License-Identifier: MIT
// Helpers shared by the pooling kernels (cuda/pool.cu, cuda/adaptive_pool.cu):
// the CPU's max rule, atomic gradient adds, and the report of an index
// outside its plane. Included by .cu files only.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>

#include "cuda/launch.cuh"

namespace convcore::cuda::pool_common {

// The CPU's running max (cpu/pool.cpp exact_max, cpu/adaptive_pool.cpp): the
// first maximum in scan order wins ties; a NaN always wins, the last NaN in
// scan order (its value NaN, its position the NaN's).
template <class T>
struct MaxChain {
  T best;
  int64_t at;
  __device__ explicit MaxChain(int64_t first) : best(-INFINITY), at(first) {}
  __device__ void add(T v, int64_t pos) {
    if (v > best || v != v) best = v, at = pos;
  }
};

// gx += v from threads that may collide (overlapping windows, repeated
// indices): the order of the adds, so the last bits of a sum, may vary.
template <class T>
__device__ inline void add_to(T* p, T v) {
  atomicAdd(p, v);
}

// Where kernels report the first index value outside its plane: the host
// checks after the launches (one device-to-host copy, which waits for them).
struct BadIndex {
  unsigned long long flag;
  long long value;
};

__device__ inline void report_bad_index(BadIndex* b, int64_t value) {
  if (atomicCAS(&b->flag, 0ull, 1ull) == 0ull) b->value = static_cast<long long>(value);
}

// A zeroed BadIndex on the current device.
inline std::shared_ptr<void> new_bad_index() {
  int device = 0;
  CC_CUDA_CHECK(cudaGetDevice(&device));
  std::shared_ptr<void> p = allocate(device, sizeof(BadIndex));
  CC_CUDA_CHECK(cudaMemsetAsync(p.get(), 0, sizeof(BadIndex), stream()));
  return p;
}

// Waits for the kernels before; true (and the value) when one reported.
inline bool read_bad_index(const std::shared_ptr<void>& p, int64_t* value) {
  int device = 0;
  CC_CUDA_CHECK(cudaGetDevice(&device));
  BadIndex host{};
  copy_device_to_host(&host, p.get(), sizeof(BadIndex), device);
  *value = static_cast<int64_t>(host.value);
  return host.flag != 0;
}

inline int current_device() {
  int device = 0;
  CC_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

// Zeroes n elements of size `size` (all-zero bits are 0.0 for float and double).
inline void zero_fill(void* p, int64_t n, int64_t size) {
  if (n > 0) CC_CUDA_CHECK(cudaMemsetAsync(p, 0, static_cast<size_t>(n * size), stream()));
}

}  // namespace convcore::cuda::pool_common
