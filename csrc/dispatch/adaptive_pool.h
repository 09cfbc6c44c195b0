// SPDX-License-Identifier: MIT
// The single entry of adaptive / global / spatial-pyramid / ROI pooling and
// max unpooling: validate, choose the loop (a copy when every bin is one
// pixel, a plane-mean fast path for the global average of channels-first
// maps, per-plane or channel-block bin loops otherwise), run it for float32
// or float64.
//
// Every activation is a 4-D view, NCHW or (nhwc) NHWC, contiguous in its
// layout; 1-D ops arrive as 2-D with H = 1. Outputs are allocated by the
// caller with the shapes from ops/adaptive_pool_params.h and checked here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/adaptive_pool_params.h"

namespace convcore {

// The shape (in x's layout) of a pooled result of x with `c` channels and an
// oh x ow plane, after checking x is a 4-D float array with non-empty C, H, W.
std::vector<int64_t> pooled_shape(const std::string& op, const TensorView& x, bool nhwc,
                                  int64_t oh, int64_t ow);

// y: (N, C, oh, ow) in x's layout; indices (may be null): int64, y's shape.
void adaptive_pool2d(const std::string& op, PoolReduce reduce, const TensorView& x, bool nhwc,
                     const TensorView& y, const TensorView* indices);
// grad_output: y's shape for an oh x ow output; indices (max only) may be
// null: the maxima are recomputed from x.
void adaptive_pool2d_backward(const std::string& op, PoolReduce reduce,
                              const TensorView& grad_output, const TensorView& x,
                              const TensorView* indices, bool nhwc, int64_t oh, int64_t ow,
                              const TensorView& grad_input);

// y: (N, C * sum(l * l)); level l's bins flattened (C, l, l), levels in order.
// indices (mode max; may be null): int64, y's shape, each maximum's flat
// position in its plane. The backward recomputes them when null.
void spatial_pyramid_pool2d(const std::string& op, PoolReduce reduce, const TensorView& x,
                            bool nhwc, const std::vector<int64_t>& levels, const TensorView& y,
                            const TensorView* indices);
void spatial_pyramid_pool2d_backward(const std::string& op, PoolReduce reduce,
                                     const TensorView& grad_output, const TensorView& x,
                                     bool nhwc, const std::vector<int64_t>& levels,
                                     const TensorView* indices, const TensorView& grad_input);

// Checks boxes (K, 5) rows (batch_index, x1, y1, x2, y2) of x's dtype with
// finite coordinates and integer batch indices in [0, N), the pooled size and
// spatial_scale; returns y's shape (K, C, ph, pw) in x's layout.
std::vector<int64_t> roi_pool_shape(const std::string& op, const TensorView& x,
                                    const TensorView& boxes, bool nhwc, int64_t ph, int64_t pw,
                                    double spatial_scale);
void roi_pool(const std::string& op, const TensorView& x, const TensorView& boxes, bool nhwc,
              double spatial_scale, const TensorView& y);
void roi_pool_backward(const std::string& op, const TensorView& grad_output,
                       const TensorView& x, const TensorView& boxes, bool nhwc, int64_t ph,
                       int64_t pw, double spatial_scale, const TensorView& grad_input);

// Checks x (4-D float) and indices (int64, x's shape); returns y's shape for
// the output plane `size` (from unpool_output_size) in x's layout.
std::vector<int64_t> max_unpool_shape(const std::string& op, const TensorView& x,
                                      const TensorView& indices, bool nhwc,
                                      const std::vector<int64_t>& size);
void max_unpool2d(const std::string& op, const TensorView& x, const TensorView& indices,
                  bool nhwc, const TensorView& y);
// grad_input has x's shape; grad_output y's, whose plane is `size`.
void max_unpool2d_backward(const std::string& op, const TensorView& grad_output,
                           const TensorView& x, const TensorView& indices, bool nhwc, const std::vector<int64_t>& size,
                           const TensorView& grad_input);

}  // namespace convcore
