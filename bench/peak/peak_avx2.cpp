// SPDX-License-Identifier: MIT
// AVX2 peak kernel: vfmadd on ymm. Compiled with -mavx2 -mfma only.
#include "cpu/simd/vec_avx2.h"
#include "peak.h"

namespace bench {

PeakKernel peak_kernel_avx2() {
  using V = convcore::cpu::avx2::Vec<float>;
  constexpr int kChains = 12;  // 16 ymm registers: 12 chains + 2 constants
  return {"avx2", "vfmadd231ps ymm", V::lanes, kChains, 2, run_chains<V, kChains>};
}

}  // namespace bench
