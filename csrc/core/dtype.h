// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>

namespace convcore {

// Operator data is f32 or f64; i64 holds indices (max pooling's argmax) and
// b8 boolean masks (dropout's), one byte each.
enum class DType { f32, f64, i64, b8 };

inline const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i64: return "int64";
    default: return "bool";
  }
}
inline int64_t dtype_size(DType dt) {
  return dt == DType::f32 ? 4 : dt == DType::b8 ? 1 : 8;
}

}  // namespace convcore
