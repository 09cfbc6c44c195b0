// SPDX-License-Identifier: MIT
// FP32 peak microkernels: independent FMA (or mul+add) chains, one copy per
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

PeakKernel peak_kernel_generic();
#if defined(BENCH_HAVE_AVX2)
PeakKernel peak_kernel_avx2();
#endif
#if defined(BENCH_HAVE_AVX512)
PeakKernel peak_kernel_avx512();
#endif

}  // namespace bench
