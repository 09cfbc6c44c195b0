// SPDX-License-Identifier: MIT
#include "core/tensor.h"

#include "core/error.h"

namespace convcore {

std::string shape_of(const TensorView& t) {
  std::string s = "[";
  for (int i = 0; i < t.ndim; ++i) s += str_cat(i ? ", " : "", t.sizes[i]);
  return s + "]";
}

}  // namespace convcore
