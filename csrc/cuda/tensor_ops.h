// SPDX-License-Identifier: MIT
// The few elementwise and copy kernels the model code (convcore.nn, optim,
// training) needs on device arrays: gradient accumulation, sums, dtype
// conversion, the 2-D block copies that concatenate and split along an axis,
// and the on-device accumulation of a training loop's metrics. All arrays are
// C-contiguous; every call runs on convcore's stream and never synchronizes.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace convcore::cuda {

// y[i] += alpha * x[i] for i < n; dtype f32 or f64 (both arrays).
void axpy(void* y, const void* x, double alpha, DType dtype, int64_t n, int device);

// out[i] = a[i] + b[i] for i < n; dtype f32 or f64 (all three arrays).
void add(void* out, const void* a, const void* b, DType dtype, int64_t n, int device);

// dst[i] = src[i] converted, for i < n; dtypes f32, f64 or i64.
void cast(void* dst, DType dst_dtype, const void* src, DType src_dtype, int64_t n, int device);

// A rows x cols block of elem_size-byte elements: dst[r * dst_ld + c] = src[r * src_ld + c].
// Concatenation along an axis is one such copy per input (rows = the product
// of the sizes before the axis, cols = the input's size from the axis on);
// splitting is the same copy the other way.
void copy_2d(void* dst, int64_t dst_ld, const void* src, int64_t src_ld, int64_t rows,
             int64_t cols, int64_t elem_size, int device);

// A training loop's running metrics, without a host round trip:
// acc[0] += scale * loss[0] (when loss is not null: one
// loss_dtype value, f32 or f64), and, when labels is not
// null, acc[1] += the number of positions (n, s) where the first index of the
// largest prediction[n, :, s] (NaN counts as largest, as numpy.argmax) equals
// labels[n, s]. prediction is (outer, classes, inner) of dtype; labels
// (outer, inner) int64; acc two float64.
void accumulate_metrics(double* acc, const void* loss, DType loss_dtype, double scale,
                        const void* prediction, DType dtype, int64_t outer, int64_t classes, int64_t inner,
                        const int64_t* labels, int device);

}  // namespace convcore::cuda
