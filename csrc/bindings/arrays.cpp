// SPDX-License-Identifier: MIT
#include "bindings/arrays.h"

#include "core/error.h"

namespace convcore::bindings {
namespace {

std::optional<DType> dtype_of(const py::array& a) {
  if (a.dtype().is(py::dtype::of<float>())) return DType::f32;
  if (a.dtype().is(py::dtype::of<double>())) return DType::f64;
  if (a.dtype().is(py::dtype::of<int64_t>())) return DType::i64;
  return std::nullopt;
}

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += str_cat(i ? ", " : "", a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

py::dtype numpy_dtype(DType dt) {
  if (dt == DType::f32) return py::dtype::of<float>();
  if (dt == DType::f64) return py::dtype::of<double>();
  return py::dtype::of<int64_t>();
}

TensorView strided_view(const py::array& a, DType dt, const std::string& op, const char* name) {
  CC_CHECK_ARG(a.ndim() <= TensorView::kMaxDims, op, ": ", name, " has ", a.ndim(),
               " dimensions (shape ", shape_str(a), "), at most ", TensorView::kMaxDims,
               " are supported");
  CC_CHECK_ARG(a.flags() & py::array::c_style, op, ": ", name,
               " must be C-contiguous (internal error: the Python layer copies others)");
  TensorView t;
  t.data = const_cast<void*>(a.data());
  t.dtype = dt;
  t.ndim = static_cast<int>(a.ndim());
  // NumPy may give size-1 axes any stride (0 after arr[None]); kernels get
  // the canonical C-contiguous strides, which address the same elements.
  int64_t stride = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    t.sizes[i] = a.shape(i);
    t.strides[i] = stride;
    stride *= t.sizes[i];
  }
  return t;
}

}  // namespace

TensorView view_of(const py::array& a, const std::string& op, const char* name) {
  const auto dt = dtype_of(a);
  if (!dt || *dt == DType::i64)
    throw_dtype_error(op, ": ", name, " has dtype ", std::string(py::str(a.dtype())),
                      "; expected float32 or float64");
  return strided_view(a, *dt, op, name);
}

TensorView index_view_of(const py::array& a, const std::string& op, const char* name) {
  if (dtype_of(a) != DType::i64)
    throw_dtype_error(op, ": ", name, " has dtype ", std::string(py::str(a.dtype())),
                      "; expected int64");
  return strided_view(a, DType::i64, op, name);
}

py::array output_array(const std::string& op, const char* name, DType dtype,
                       const std::vector<int64_t>& shape, const std::optional<py::array>& out) {
  const py::dtype want = numpy_dtype(dtype);
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  if (!out) return py::array(want, dims);
  const py::array& o = *out;
  std::string expect = "(";
  for (size_t i = 0; i < shape.size(); ++i) expect += str_cat(i ? ", " : "", shape[i]);
  expect += ")";
  bool same_shape = o.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; same_shape && i < shape.size(); ++i) same_shape = o.shape(i) == shape[i];
  CC_CHECK_ARG(same_shape, op, ": out (", name, ") has shape ", shape_str(o), ", expected ",
               expect);
  if (!o.dtype().is(want))
    throw_dtype_error(op, ": out (", name, ") has dtype ", std::string(py::str(o.dtype())),
                      ", expected ", dtype_name(dtype));
  CC_CHECK_ARG(o.flags() & py::array::c_style, op, ": out (", name, ") must be C-contiguous");
  CC_CHECK_ARG(o.writeable(), op, ": out (", name, ") is read-only");
  return o;
}

IndicesOutput indices_output(bool wanted, const std::string& op,
                             const std::vector<int64_t>& shape) {
  IndicesOutput out;
  if (!wanted) return out;
  py::array a = output_array(op, "indices", DType::i64, shape, std::nullopt);
  out.view = index_view_of(a, op, "indices");
  out.array = a;
  return out;
}

}  // namespace convcore::bindings
