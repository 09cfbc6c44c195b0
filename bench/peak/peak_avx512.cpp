// SPDX-License-Identifier: MIT
// AVX-512 peak kernel: vfmadd on zmm. Compiled with -mavx512f only.
// 16 chains cover latency (4) x pipes (2) twice over, so the kernel is
// throughput-bound whether the core runs 512-bit FMAs at full width (Zen 5,
// Intel server cores) or as two 256-bit halves (Zen 4).
#include "cpu/simd/vec_avx512.h"
#include "peak.h"

namespace bench {

PeakKernel peak_kernel_avx512() {
  using V = convcore::cpu::avx512::Vec<float>;
  constexpr int kChains = 16;  // 32 zmm registers: 16 chains + 2 constants
  return {"avx512", "vfmadd231ps zmm", V::lanes, kChains, 2, run_chains<V, kChains>};
}

}  // namespace bench
