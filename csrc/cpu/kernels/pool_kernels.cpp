// SPDX-License-Identifier: MIT
#include "cpu/kernels/kernels.h"
#include "cpu/simd/vec.h"

namespace convcore::cpu::CC_ISA {

void register_pool_kernels(KernelTable& table) { (void)table; }

}  // namespace convcore::cpu::CC_ISA
