// SPDX-License-Identifier: MIT
// Portable peak kernel: convcore's 4-lane generic vector (SSE2 on x86-64),
// mul + add per step, compiled with the baseline flags as the generic kernels are.
#include "cpu/simd/vec_generic.h"
#include "peak.h"

namespace bench {

PeakKernel peak_kernel_generic() {
  using V = convcore::cpu::generic::Vec<float>;
  constexpr int kChains = 12;
  return {"generic", "mulps+addps (4 lanes)", V::lanes, kChains, 2, run_chains<V, kChains>};
}

}  // namespace bench
