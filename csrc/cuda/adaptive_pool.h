// SPDX-License-Identifier: MIT
// CUDA drivers of the bin-listed pooling ops (adaptive, global, spatial
// pyramid, ROI) and of max unpooling: the twins of cpu/adaptive_pool.h, with
// the same PooledOutput descriptions (their bins are built on the host and
// copied to the device). Arrays are on the current device; kernels run on
// stream(). Index checks (ArgumentError naming `op`) run after the kernels
// and wait for the device.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "cpu/adaptive_pool.h"

namespace convcore::cuda {

// One thread per output element; the CPU's bins, ties and NaN rule.
template <class T>
void pool_bins_forward(PoolReduce reduce, const T* x, const Act4& xa,
                       const cpu::PooledOutput& y);

// Adaptive grids (no `image` map: adaptive and pyramid pooling) without
// indices, avg or max: a gather, one thread per input element, outputs added
// in the CPU's order (deterministic). Max with indices, or ROI bins: each
// bin's gradient scattered to its maximum with atomicAdd (bins that overlap
// add in an unspecified order).
template <class T>
void pool_bins_backward(PoolReduce reduce, const std::vector<cpu::PooledOutput>& grads,
                        const T* x, const Act4& xa, T* gx, const std::string& op);

template <class T>
void global_avg_pool_planes(const T* x, int64_t planes, int64_t hw, T* y);
template <class T>
void global_avg_pool_planes_backward(const T* gy, int64_t planes, int64_t hw, T* gx);

template <class T>
void copy_elements(const T* src, int64_t n, T* dst);

// Zero-fills y, then scatters; of duplicate indices in a plane the later
// input position in scan order wins, as on the CPU (deterministic).
template <class T>
void max_unpool_forward(const T* x, const int64_t* ind, const Act4& xa, T* y, const Act4& ya,
                        const std::string& op);
// A gather: gx[n, c, h, w] = gy[n, c, ind].
template <class T>
void max_unpool_backward(const T* gy, const Act4& ga, const int64_t* ind, T* gx,
                         const Act4& xa, const std::string& op);

}  // namespace convcore::cuda
