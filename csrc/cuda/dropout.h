// SPDX-License-Identifier: MIT
// CUDA dropout, the twin of cpu/layers.h's dropout drivers: the same
// counter-based mask (Note [dropout mask] in cpu/layers.h), so that for a
// given seed the GPU keeps exactly the elements the CPU keeps. Pointers are
// device pointers; launches on convcore's stream, no synchronization.
#pragma once
#include <cstdint>

namespace convcore::cuda {

// keep (may be null) receives the mask as bytes 0 / 1 (a bool array).
template <class T>
void dropout_forward(int64_t n, const T* x, double p, uint64_t seed, T* y, uint8_t* keep,
                     int device);
// keep: the forward's mask, or null to regenerate it from seed.
template <class T>
void dropout_backward(int64_t n, const T* g, const uint8_t* keep, double p, uint64_t seed, T* gx,
                      int device);

}  // namespace convcore::cuda
