// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>

namespace convcore {

enum class DType { f32, f64 };

inline const char* dtype_name(DType dt) { return dt == DType::f32 ? "float32" : "float64"; }
inline int64_t dtype_size(DType dt) { return dt == DType::f32 ? 4 : 8; }

}  // namespace convcore
