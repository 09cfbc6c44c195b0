// SPDX-License-Identifier: MIT
// AVX2 peak kernel: vfmadd on ymm. Compiled with -mavx2 -mfma only.
#include <immintrin.h>

#include "peak.h"

namespace bench {
namespace {

constexpr int kChains = 12;  // 16 ymm registers: 12 chains + 2 constants

__attribute__((noinline)) float run(int64_t iters, float seed) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(seed + i * 0.001f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float t[8];
  _mm256_store_ps(t, s);
  float r = 0;
  for (float v : t) r += v;
  return r;
}

}  // namespace

PeakKernel peak_kernel_avx2() { return {"avx2", "vfmadd231ps ymm", 8, kChains, 2, run}; }

}  // namespace bench
