// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>

namespace convcore {

// Operator data is f32 or f64; i64 holds indices (max pooling's argmax).
enum class DType { f32, f64, i64 };

inline const char* dtype_name(DType dt) {
  return dt == DType::f32 ? "float32" : dt == DType::f64 ? "float64" : "int64";
}
inline int64_t dtype_size(DType dt) { return dt == DType::f32 ? 4 : 8; }

}  // namespace convcore
