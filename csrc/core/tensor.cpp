// SPDX-License-Identifier: MIT
#include "core/tensor.h"

#include "core/error.h"

namespace convcore {

std::string shape_of(const TensorView& t) {
  std::string s = "[";
  for (int i = 0; i < t.ndim; ++i) s += str_cat(i ? ", " : "", t.sizes[i]);
  return s + "]";
}

std::string device_name(Device device, int index) {
  return device == Device::cpu ? std::string("cpu") : str_cat("cuda:", index);
}

void check_same_device(const std::string& op, std::initializer_list<NamedView> arrays) {
  const NamedView* first = nullptr;
  for (const NamedView& a : arrays) {
    if (!a.view) continue;
    if (!first) {
      first = &a;
      continue;
    }
    const TensorView& x = *first->view;
    const TensorView& y = *a.view;
    CC_CHECK_ARG(x.device == y.device && (x.device == Device::cpu || x.device_index == y.device_index),
                 op, ": ", a.name, " is on ", device_name(y.device, y.device_index), " but ",
                 first->name, " is on ", device_name(x.device, x.device_index),
                 "; all arrays of one call must be on one device (move them with "
                 "convcore.cuda.asarray(...) or .numpy())");
  }
}

}  // namespace convcore
