// SPDX-License-Identifier: MIT
// FP32 peak microkernels: independent FMA (or mul+add) chains, one instance per
// instruction set, each compiled in its own source file with that ISA's flags
// (see bench/CMakeLists.txt). Call a kernel only when the CPU supports it
// (convcore::detected_isa()).
#pragma once
#include <cstdint>

namespace bench {

struct PeakKernel {
  const char* isa;       // "generic", "avx2", "avx512"
  const char* insn;      // what one chain step is
  int lanes;             // FP32 lanes per vector
  int chains;            // independent accumulators
  int flops_per_lane;    // 2 for FMA or mul+add
  // Runs `iters` steps of every chain; returns a value that depends on all of
  // them so nothing is optimised away.
  float (*run)(int64_t iters, float seed);
  double flops(int64_t iters) const {
    return double(iters) * lanes * chains * flops_per_lane;
  }
};

// Runs `iters` steps of Chains independent x = x * a + b chains on the vector
// type V (convcore's own cpu/simd Vec of the ISA the including file is built
// for); returns a value that depends on every chain.
template <class V, int Chains>
__attribute__((noinline)) float run_chains(int64_t iters, float seed) {
  typename V::reg acc[Chains];
  for (int i = 0; i < Chains; ++i) acc[i] = V::set1(seed + i * 0.001f);
  const typename V::reg a = V::set1(0.999999f), b = V::set1(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 32
    for (int i = 0; i < Chains; ++i) acc[i] = V::fmadd(acc[i], a, b);
  }
  typename V::reg s = acc[0];
  for (int i = 1; i < Chains; ++i) s = V::add(s, acc[i]);
  float lanes[V::lanes];
  V::store(lanes, s);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}

PeakKernel peak_kernel_generic();
#if defined(BENCH_HAVE_AVX2)
PeakKernel peak_kernel_avx2();
#endif
#if defined(BENCH_HAVE_AVX512)
PeakKernel peak_kernel_avx512();
#endif

}  // namespace bench
