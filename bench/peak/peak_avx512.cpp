// SPDX-License-Identifier: MIT
// AVX-512 peak kernel: vfmadd on zmm. Compiled with -mavx512f only.
// 16 chains cover latency (4) x pipes (2) twice over, so the kernel is
// throughput-bound whether the core runs 512-bit FMAs at full width (Zen 5,
// Intel server cores) or as two 256-bit halves (Zen 4).
#include <immintrin.h>

#include "peak.h"

namespace bench {
namespace {

constexpr int kChains = 16;  // 32 zmm registers: 16 chains + 2 constants

__attribute__((noinline)) float run(int64_t iters, float seed) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(seed + i * 0.001f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  alignas(64) float t[16];
  _mm512_store_ps(t, s);
  float r = 0;
  for (float v : t) r += v;
  return r;
}

}  // namespace

PeakKernel peak_kernel_avx512() { return {"avx512", "vfmadd231ps zmm", 16, kChains, 2, run}; }

}  // namespace bench
