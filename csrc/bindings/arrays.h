// SPDX-License-Identifier: MIT
// NumPy arrays <-> TensorView, and output allocation.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <array>
#include <optional>
#include <string>

#include "core/tensor.h"

namespace convcore::bindings {

namespace py = pybind11;

// A view of a float32/float64 C-contiguous array, a NumPy ndarray on the host
// or a DeviceArray on a GPU; TypeError naming `name` otherwise. `op`
// prefixes messages.
TensorView view_of(const py::object& a, const std::string& op, const char* name);

// The same for an int64 index array (TypeError naming `name` otherwise).
TensorView index_view_of(const py::object& a, const std::string& op, const char* name);

// The same for a bool mask array.
TensorView mask_view_of(const py::object& a, const std::string& op, const char* name);

// A new C-contiguous array of `shape` on the device of `like` (null: the
// host), or `out` after checking it has exactly that shape, dtype and device,
// is C-contiguous and writeable.
py::object output_array(const std::string& op, const char* name, DType dtype,
                        const std::vector<int64_t>& shape, const std::optional<py::object>& out,
                        const TensorView* like = nullptr);

// The int64 indices array a max-pooling forward fills when asked for (None
// otherwise), shaped like its output, and the view the kernels write.
struct IndicesOutput {
  py::object array = py::none();
  std::optional<TensorView> view;
  const TensorView* ptr() const { return view ? &*view : nullptr; }
};
IndicesOutput indices_output(bool wanted, const std::string& op,
                             const std::vector<int64_t>& shape, const TensorView* like = nullptr);

}  // namespace convcore::bindings
