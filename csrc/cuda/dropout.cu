// SPDX-License-Identifier: MIT
// Dropout on the GPU: one thread per element evaluates the CPU's counter-based
// mask (cpu/layers.cpp, Note [dropout mask] in cpu/layers.h) at its index:
// element i is kept when the 32-bit half (i % 2) of
// splitmix64(splitmix64(seed) + (i / 2 + 1) * golden) is below
// round((1 - p) * 2^32). It depends on (seed, i) only, so the GPU mask equals
// the CPU's bit for bit.
#include <cmath>

#include "cuda/dropout.h"
#include "cuda/launch.cuh"

namespace convcore::cuda {
namespace {

constexpr int kThreads = 256;

__host__ __device__ inline uint64_t splitmix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

struct Mask {
  uint64_t key, threshold;
  __device__ bool keep(int64_t i) const {
    constexpr uint64_t golden = 0x9e3779b97f4a7c15ULL;
    const uint64_t h = splitmix64(key + static_cast<uint64_t>(i / 2 + 1) * golden);
    const uint64_t half = (i % 2 == 0) ? (h & 0xffffffffULL) : (h >> 32);
    return half < threshold;
  }
};

Mask make_mask(double p, uint64_t seed) {
  return {splitmix64(seed), static_cast<uint64_t>(std::llround((1.0 - p) * 4294967296.0))};
}

template <class T>
T keep_scale(double p) {
  return p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
}

template <class T>
__global__ void dropout_forward_kernel(int64_t n, const T* x, Mask mask, T scale, T* y,
                                       uint8_t* keep) {
  CC_GRID_STRIDE_LOOP(i, n) {
    const bool k = mask.keep(i);
    y[i] = k ? x[i] * scale : T(0);
    if (keep) keep[i] = k ? 1 : 0;
  }
}

template <class T>
__global__ void dropout_backward_kernel(int64_t n, const T* g, const uint8_t* keep, Mask mask,
                                        T scale, T* gx) {
  CC_GRID_STRIDE_LOOP(i, n) {
    const bool k = keep ? keep[i] != 0 : mask.keep(i);
    gx[i] = k ? g[i] * scale : T(0);
  }
}

}  // namespace

template <class T>
void dropout_forward(int64_t n, const T* x, double p, uint64_t seed, T* y, uint8_t* keep,
                     int device) {
  (void)device;
  if (n == 0) return;
  dropout_forward_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
      n, x, make_mask(p, seed), keep_scale<T>(p), y, keep);
  CC_CUDA_CHECK_LAUNCH("dropout_forward_kernel");
}

template <class T>
void dropout_backward(int64_t n, const T* g, const uint8_t* keep, double p, uint64_t seed, T* gx,
                      int device) {
  (void)device;
  if (n == 0) return;
  dropout_backward_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
      n, g, keep, make_mask(p, seed), keep_scale<T>(p), gx);
  CC_CUDA_CHECK_LAUNCH("dropout_backward_kernel");
}

template void dropout_forward<float>(int64_t, const float*, double, uint64_t, float*, uint8_t*,
                                     int);
template void dropout_forward<double>(int64_t, const double*, double, uint64_t, double*,
                                      uint8_t*, int);
template void dropout_backward<float>(int64_t, const float*, const uint8_t*, double, uint64_t,
                                      float*, int);
template void dropout_backward<double>(int64_t, const double*, const uint8_t*, double, uint64_t,
                                       double*, int);

}  // namespace convcore::cuda
