// SPDX-License-Identifier: MIT
#include "bindings/arrays.h"

#include "bindings/device_array.h"
#include "core/error.h"

namespace convcore::bindings {
namespace {

std::optional<DType> dtype_of(const py::array& a) {
  if (a.dtype().is(py::dtype::of<float>())) return DType::f32;
  if (a.dtype().is(py::dtype::of<double>())) return DType::f64;
  if (a.dtype().is(py::dtype::of<int64_t>())) return DType::i64;
  if (a.dtype().is(py::dtype::of<bool>())) return DType::b8;
  return std::nullopt;
}

const DeviceArray* device_array_of(const py::object& a) {
  return py::isinstance<DeviceArray>(a) ? &a.cast<const DeviceArray&>() : nullptr;
}

py::array host_array(const py::object& a, const std::string& op, const char* name) {
  if (!py::isinstance<py::array>(a))
    throw_dtype_error(op, ": ", name, " must be a numpy.ndarray or a convcore DeviceArray, got ",
                      std::string(py::str(py::type::of(a).attr("__name__"))));
  return py::reinterpret_borrow<py::array>(a);
}

// The dtype of a host or device array, for messages and checks.
std::optional<DType> any_dtype(const py::object& a, const std::string& op, const char* name) {
  if (const DeviceArray* d = device_array_of(a)) return d->dtype;
  return dtype_of(host_array(a, op, name));
}

std::string dtype_str(const py::object& a) { return py::str(a.attr("dtype")); }

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += str_cat(i ? ", " : "", a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

py::dtype numpy_dtype(DType dt) {
  if (dt == DType::f32) return py::dtype::of<float>();
  if (dt == DType::f64) return py::dtype::of<double>();
  if (dt == DType::b8) return py::dtype::of<bool>();
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

// A view of a host or device array whose dtype is one of `allowed`.
TensorView typed_view(const py::object& a, std::initializer_list<DType> allowed,
                      const char* expected, const std::string& op, const char* name) {
  const auto dt = any_dtype(a, op, name);
  bool ok = false;
  for (DType d : allowed) ok = ok || dt == d;
  if (!ok) throw_dtype_error(op, ": ", name, " has dtype ", dtype_str(a), "; expected ", expected);
  if (const DeviceArray* d = device_array_of(a)) return device_view(*d, op, name);
  return strided_view(host_array(a, op, name), *dt, op, name);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += str_cat(i ? ", " : "", shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

py::object device_output(const std::string& op, const char* name, DType dtype,
                         const std::vector<int64_t>& shape, const std::optional<py::object>& out,
                         int device) {
  if (!out) return py::cast(empty_device_array(dtype, shape, device));
  const DeviceArray* o = device_array_of(*out);
  CC_CHECK_ARG(o, op, ": out (", name, ") must be a DeviceArray on cuda:", device,
               " like the inputs, got ", std::string(py::str(py::type::of(*out).attr("__name__"))));
  CC_CHECK_ARG(o->shape == shape, op, ": out (", name, ") has shape ", shape_text(o->shape),
               ", expected ", shape_text(shape));
  if (o->dtype != dtype)
    throw_dtype_error(op, ": out (", name, ") has dtype ", dtype_name(o->dtype), ", expected ",
                      dtype_name(dtype));
  CC_CHECK_ARG(o->device == device, op, ": out (", name, ") is on cuda:", o->device,
               " but the inputs are on cuda:", device);
  CC_CHECK_ARG(o->c_contiguous(), op, ": out (", name, ") must be C-contiguous");
  CC_CHECK_ARG(!o->readonly, op, ": out (", name, ") is read-only");
  return *out;
}

}  // namespace

TensorView view_of(const py::object& a, const std::string& op, const char* name) {
  return typed_view(a, {DType::f32, DType::f64}, "float32 or float64", op, name);
}

TensorView index_view_of(const py::object& a, const std::string& op, const char* name) {
  return typed_view(a, {DType::i64}, "int64", op, name);
}

TensorView mask_view_of(const py::object& a, const std::string& op, const char* name) {
  return typed_view(a, {DType::b8}, "bool", op, name);
}

py::object output_array(const std::string& op, const char* name, DType dtype,
                        const std::vector<int64_t>& shape, const std::optional<py::object>& out,
                        const TensorView* like) {
  if (like && on_cuda(*like)) return device_output(op, name, dtype, shape, out, like->device_index);
  const py::dtype want = numpy_dtype(dtype);
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  if (!out) return py::array(want, dims);
  CC_CHECK_ARG(!device_array_of(*out), op, ": out (", name,
               ") is a DeviceArray but the inputs are on the host");
  const py::array o = host_array(*out, op, "out");
  bool same_shape = o.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; same_shape && i < shape.size(); ++i) same_shape = o.shape(i) == shape[i];
  CC_CHECK_ARG(same_shape, op, ": out (", name, ") has shape ", shape_str(o), ", expected ",
               shape_text(shape));
  if (!o.dtype().is(want))
    throw_dtype_error(op, ": out (", name, ") has dtype ", std::string(py::str(o.dtype())),
                      ", expected ", dtype_name(dtype));
  CC_CHECK_ARG(o.flags() & py::array::c_style, op, ": out (", name, ") must be C-contiguous");
  CC_CHECK_ARG(o.writeable(), op, ": out (", name, ") is read-only");
  return o;
}

IndicesOutput indices_output(bool wanted, const std::string& op,
                             const std::vector<int64_t>& shape, const TensorView* like) {
  IndicesOutput out;
  if (!wanted) return out;
  py::object a = output_array(op, "indices", DType::i64, shape, std::nullopt, like);
  out.view = index_view_of(a, op, "indices");
  out.array = a;
  return out;
}

}  // namespace convcore::bindings
