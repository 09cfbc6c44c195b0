// SPDX-License-Identifier: MIT
// convcore.cuda.DeviceArray: a strided array in GPU memory that owns (or
// keeps alive) its memory and speaks the CUDA array interface and DLPack.
#pragma once
#include <pybind11/pybind11.h>

#include <memory>
#include <vector>

#include "core/tensor.h"

namespace convcore::bindings {

namespace py = pybind11;

struct DeviceArray {
  std::shared_ptr<void> owner;  // our allocation, or a foreign producer's array
  void* data = nullptr;         // the first element
  DType dtype = DType::f32;
  int device = 0;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // elements
  bool readonly = false;

  int64_t numel() const;
  int64_t nbytes() const { return numel() * dtype_size(dtype); }
  bool c_contiguous() const;
};

// A new C-contiguous array from the caching allocator (uninitialised).
DeviceArray empty_device_array(DType dtype, const std::vector<int64_t>& shape, int device);

// The kernels' view of a C-contiguous array of at most 4 dimensions.
TensorView device_view(const DeviceArray& a, const std::string& op, const char* name);

void bind_device_array(py::module_& m);

}  // namespace convcore::bindings
