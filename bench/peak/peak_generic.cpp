// SPDX-License-Identifier: MIT
// Portable peak kernel: 16-byte GCC vectors (SSE2 on x86-64), mul + add per
// step, compiled with the baseline flags (as convcore's generic kernels are).
#include "peak.h"

namespace bench {
namespace {

typedef float v4 __attribute__((vector_size(16)));
constexpr int kChains = 12;

__attribute__((noinline)) float run(int64_t iters, float seed) {
  v4 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = v4{} + (seed + i * 0.001f);
  const v4 a = v4{} + 0.999999f, b = v4{} + 1e-7f;
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * a + b;
  }
  v4 s = acc[0];
  for (int i = 1; i < kChains; ++i) s += acc[i];
  return s[0] + s[1] + s[2] + s[3];
}

}  // namespace

PeakKernel peak_kernel_generic() { return {"generic", "mulps+addps (4 lanes)", 4, kChains, 2, run}; }

}  // namespace bench
