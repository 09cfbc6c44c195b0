// SPDX-License-Identifier: MIT
// The pool family's entries in the per-ISA kernel table (cpu/kernels/kernels.h).
#pragma once
#include <cstdint>

namespace convcore::cpu {

template <class T>
struct PoolKernels {};

}  // namespace convcore::cpu
