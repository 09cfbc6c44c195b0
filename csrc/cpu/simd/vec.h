// SPDX-License-Identifier: MIT
// Vec<T>: the vector type of the ISA this translation unit is compiled for
// (CC_ISA_<isa> is set per object library by cmake/ConvcoreIsa.cmake). Only
// files under cpu/kernels include this header.
#pragma once
#if defined(CC_ISA_avx512)
#include "cpu/simd/vec_avx512.h"
#elif defined(CC_ISA_avx2)
#include "cpu/simd/vec_avx2.h"
#else
#include "cpu/simd/vec_generic.h"
#endif
