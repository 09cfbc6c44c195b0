// SPDX-License-Identifier: MIT
// CPU drivers of the pooling ops whose windows are listed bin by bin
// (adaptive, global, spatial pyramid and ROI pooling) and of max unpooling.
// Plain loops: these ops run on small late-network maps. Channels-last
// arrays are reduced a block of channels at a time (unit stride, vectorised
// by the compiler); channels-first arrays one plane at a time.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/adaptive_pool_params.h"

namespace convcore::cpu {

// The bins of one output plane: output (i, j) reduces rows[i] x cols[j].
struct BinGrid {
  std::vector<Span> rows, cols;
};

// One pooled result of an input x: output image k (of out.n) reduces input
// image image[k] (k itself when `image` is empty) over grids[k] (grids[0]
// when there is one grid). `out` addresses the result with NCHW-indexed
// strides; `indices`, if not null, has the same strides and receives each
// maximum's flat position h * W + w in its input plane (-1 for an empty bin).
struct PooledOutput {
  std::vector<BinGrid> grids;
  std::vector<int64_t> image;
  void* data = nullptr;
  Act4 out{};
  int64_t* indices = nullptr;
};

// Empty bins give 0. Max: NaN propagates, ties take the first maximum in
// row-major scan order.
template <class T>
void pool_bins_forward(PoolReduce reduce, const T* x, const Act4& xa, const PooledOutput& y);

// gx (strides xa) = the sum over `grads` (gradients of outputs laid out as
// PooledOutput) of each bin's gradient: spread evenly over the window (avg),
// or routed to the maximum, which comes from `indices` when given (each
// checked to lie in the input plane: ArgumentError naming `op` otherwise),
// else is recomputed from x.
template <class T>
void pool_bins_backward(PoolReduce reduce, const std::vector<PooledOutput>& grads, const T* x,
                        const Act4& xa, T* gx, const std::string& op);

// The common global average pool of channels-first planes: y[p] = mean of
// plane p (planes of hw contiguous elements), and its gradient.
template <class T>
void global_avg_pool_planes(const T* x, int64_t planes, int64_t hw, T* y);
template <class T>
void global_avg_pool_planes_backward(const T* gy, int64_t planes, int64_t hw, T* gx);

// dst[i] = src[i] for i < n, on the thread pool: adaptive pooling to the
// input's own size (every bin one pixel), forward and backward.
template <class T>
void copy_elements(const T* src, int64_t n, T* dst);

// Max unpooling: y (strides ya) is zero except y[n, c, ind] = x[n, c, h, w]
// at each input position (ind: strides xa, flat h * W + w in y's plane; a
// later position in scan order wins a duplicate). Backward gathers: gx[n, c,
// h, w] = gy[n, c, ind]. An index outside [0, H_out * W_out) raises
// ArgumentError naming `op` and the value before anything is written there.
template <class T>
void max_unpool_forward(const T* x, const int64_t* ind, const Act4& xa, T* y, const Act4& ya,
                        const std::string& op);
template <class T>
void max_unpool_backward(const T* gy, const Act4& ga, const int64_t* ind, T* gx,
                         const Act4& xa, const std::string& op);

}  // namespace convcore::cpu
