// SPDX-License-Identifier: MIT
#include "bindings/device_array.h"

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings/dlpack_abi.h"
#include "core/error.h"
#include "cuda/runtime.h"
#include "dispatch/math_mode.h"

namespace convcore::bindings {
namespace {

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

std::string device_str(int device) { return device_name(Device::cuda, device); }

std::string tuple_str(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += str_cat(i ? ", " : "", v[i]);
  return s + (v.size() == 1 ? ",)" : ")");
}

py::dtype numpy_dtype(DType dt) {
  switch (dt) {
    case DType::f32: return py::dtype::of<float>();
    case DType::f64: return py::dtype::of<double>();
    case DType::i64: return py::dtype::of<int64_t>();
    default: return py::dtype::of<bool>();
  }
}

DType dtype_from_numpy(const py::dtype& dt, const char* what) {
  for (DType d : {DType::f32, DType::f64, DType::i64, DType::b8})
    if (dt.is(numpy_dtype(d))) return d;
  throw_dtype_error(what, ": dtype ", std::string(py::str(dt)),
                    " is not supported on the GPU (float32, float64, int64 or bool)");
}

const char* typestr(DType dt) {
  switch (dt) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::i64: return "<i8";
    default: return "|b1";
  }
}

// ---- building arrays ------------------------------------------------------

DeviceArray contiguous_copy(const DeviceArray& a) {
  DeviceArray out = empty_device_array(a.dtype, a.shape, a.device);
  if (a.c_contiguous())
    cuda::copy_device_to_device(out.data, a.data, a.nbytes(), a.device);
  else
    cuda::copy_strided(out.data, a.data, dtype_size(a.dtype), a.shape, a.strides, a.device);
  return out;
}

DeviceArray from_host(const py::array& host, int device) {
  const DType dt = dtype_from_numpy(host.dtype(), "convcore.cuda.asarray");
  py::array c = py::array::ensure(host, py::array::c_style);
  std::vector<int64_t> shape(c.shape(), c.shape() + c.ndim());
  DeviceArray out = empty_device_array(dt, shape, device);
  cuda::copy_host_to_device(out.data, c.data(), out.nbytes(), device);
  return out;
}

py::array to_host(const DeviceArray& a) {
  const DeviceArray c = a.c_contiguous() ? a : contiguous_copy(a);
  py::array host(numpy_dtype(c.dtype), std::vector<py::ssize_t>(c.shape.begin(), c.shape.end()));
  cuda::copy_device_to_host(host.mutable_data(), c.data, c.nbytes(), c.device);
  return host;
}

DeviceArray reshaped(const DeviceArray& a, std::vector<int64_t> shape) {
  CC_CHECK_ARG(a.c_contiguous(), "reshape: the array is not C-contiguous; call .copy() first");
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      CC_CHECK_ARG(infer < 0, "reshape: only one dimension can be -1, got ", tuple_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      CC_CHECK_ARG(shape[i] >= 0, "reshape: negative dimension in ", tuple_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0 && known > 0 && a.numel() % known == 0) shape[infer] = a.numel() / known;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  CC_CHECK_ARG(n == a.numel() && (infer < 0 || known > 0), "reshape: cannot reshape an array of ",
               a.numel(), " elements (shape ", tuple_str(a.shape), ") into shape ",
               tuple_str(shape));
  DeviceArray out = a;
  out.shape = std::move(shape);
  out.strides = contiguous_strides(out.shape);
  return out;
}

// ---- foreign arrays in ----------------------------------------------------

std::shared_ptr<void> keep_alive(py::object obj) {
  auto* held = new py::object(std::move(obj));
  return std::shared_ptr<void>(held, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
}

DeviceArray from_cuda_array_interface(const py::object& obj) {
  const py::dict cai = obj.attr("__cuda_array_interface__");
  DeviceArray a;
  a.shape = cai["shape"].cast<std::vector<int64_t>>();
  a.dtype = dtype_from_numpy(py::dtype(cai["typestr"].cast<std::string>()),
                             "__cuda_array_interface__");
  const py::tuple data = cai["data"];
  a.data = reinterpret_cast<void*>(data[0].cast<std::uintptr_t>());
  a.readonly = data[1].cast<bool>();
  const int64_t item = dtype_size(a.dtype);
  if (cai.contains("strides") && !cai["strides"].is_none()) {
    for (int64_t bytes : cai["strides"].cast<std::vector<int64_t>>()) {
      CC_CHECK_ARG(bytes % item == 0, "__cuda_array_interface__: stride of ", bytes,
                   " bytes is not a multiple of the item size ", item);
      a.strides.push_back(bytes / item);
    }
  } else {
    a.strides = contiguous_strides(a.shape);
  }
  CC_CHECK_ARG(a.strides.size() == a.shape.size(), "__cuda_array_interface__: ",
               a.strides.size(), " strides for a shape of ", a.shape.size(), " dimensions");
  const bool has_data = a.numel() != 0 && a.data;
  a.device = has_data ? cuda::device_of_pointer(a.data, "__cuda_array_interface__") : 0;
  // An empty array has nothing to wait for, and its device (0) is a guess: an
  // event recorded on the producer's stream of another device would fail.
  if (has_data && cai.contains("stream") && !cai["stream"].is_none())
    cuda::wait_for_stream(cai["stream"].cast<std::uintptr_t>(), a.device);
  a.owner = keep_alive(obj);
  return a;
}

DeviceArray from_dl_tensor(const dlpack::Tensor& t, std::shared_ptr<void> owner, bool readonly) {
  CC_CHECK_ARG(t.device.device_type == dlpack::kCUDA || t.device.device_type == dlpack::kCUDAManaged,
               "from_dlpack: the producer's array is not in CUDA device memory (device type ",
               t.device.device_type, ")");
  CC_CHECK_ARG(t.dtype.lanes == 1, "from_dlpack: vector dtypes (lanes=", t.dtype.lanes,
               ") are not supported");
  DeviceArray a;
  const auto code = t.dtype.code;
  const int bits = t.dtype.bits;
  if (code == dlpack::kFloat && bits == 32) a.dtype = DType::f32;
  else if (code == dlpack::kFloat && bits == 64) a.dtype = DType::f64;
  else if (code == dlpack::kInt && bits == 64) a.dtype = DType::i64;
  else if (code == dlpack::kBool && bits == 8) a.dtype = DType::b8;
  else
    throw_dtype_error("from_dlpack: dtype code ", int(code), " with ", bits,
                      " bits is not supported on the GPU (float32, float64, int64 or bool)");
  a.shape.assign(t.shape, t.shape + t.ndim);
  a.strides = t.strides ? std::vector<int64_t>(t.strides, t.strides + t.ndim)
                        : contiguous_strides(a.shape);
  a.data = static_cast<char*>(t.data) + t.byte_offset;
  a.device = t.device.device_id;
  a.readonly = readonly;
  a.owner = std::move(owner);
  return a;
}

// Takes ownership of a DLPack capsule's tensor (renaming the capsule "used_...").
DeviceArray from_capsule(const py::capsule& capsule) {
  const std::string name = capsule.name() ? capsule.name() : "";
  PyObject* cap = capsule.ptr();
  if (name == "dltensor_versioned") {
    auto* m = static_cast<dlpack::ManagedTensorVersioned*>(PyCapsule_GetPointer(cap, name.c_str()));
    CC_CHECK_ARG(m->version.major == 1, "from_dlpack: DLPack major version ", m->version.major,
                 " is not supported (1 is)");
    PyCapsule_SetName(cap, "used_dltensor_versioned");
    std::shared_ptr<void> owner(m, [](void* p) {
      auto* mt = static_cast<dlpack::ManagedTensorVersioned*>(p);
      if (mt->deleter) mt->deleter(mt);
    });
    return from_dl_tensor(m->dl_tensor, owner, m->flags & dlpack::kFlagReadOnly);
  }
  CC_CHECK_ARG(name == "dltensor", "from_dlpack: expected a DLPack capsule, got one named '",
               name, "' (already consumed?)");
  auto* m = static_cast<dlpack::ManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
  PyCapsule_SetName(cap, "used_dltensor");
  std::shared_ptr<void> owner(m, [](void* p) {
    auto* mt = static_cast<dlpack::ManagedTensor*>(p);
    if (mt->deleter) mt->deleter(mt);
  });
  return from_dl_tensor(m->dl_tensor, owner, false);
}

DeviceArray from_dlpack(const py::object& obj) {
  if (py::isinstance<py::capsule>(obj)) return from_capsule(obj);
  py::object capsule;
  // Our work runs on the legacy default stream (1): the producer orders its work before it.
  try {
    capsule = obj.attr("__dlpack__")(py::arg("stream") = 1,
                                     py::arg("max_version") = py::make_tuple(1, 0));
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError)) throw;
    capsule = obj.attr("__dlpack__")(py::arg("stream") = 1);  // a pre-2023 producer
  }
  return from_capsule(capsule);
}

// ---- our arrays out -------------------------------------------------------

// What a capsule's deleter frees: the array's owner and the shape it points to.
struct ExportContext {
  std::shared_ptr<void> owner;
  std::vector<int64_t> shape, strides;
};

template <class Managed>
Managed* export_tensor(const DeviceArray& a) {
  auto* ctx = new ExportContext{a.owner, a.shape, a.strides};
  auto* m = new Managed{};
  m->manager_ctx = ctx;
  m->deleter = [](Managed* self) {
    delete static_cast<ExportContext*>(self->manager_ctx);
    delete self;
  };
  dlpack::Tensor& t = m->dl_tensor;
  t.data = a.data;
  t.device = {dlpack::kCUDA, a.device};
  t.ndim = static_cast<int32_t>(a.shape.size());
  switch (a.dtype) {
    case DType::f32: t.dtype = {dlpack::kFloat, 32, 1}; break;
    case DType::f64: t.dtype = {dlpack::kFloat, 64, 1}; break;
    case DType::i64: t.dtype = {dlpack::kInt, 64, 1}; break;
    default: t.dtype = {dlpack::kBool, 8, 1}; break;
  }
  t.shape = ctx->shape.data();
  t.strides = ctx->strides.data();
  t.byte_offset = 0;
  return m;
}

py::capsule dlpack_capsule(const DeviceArray& a, const py::object& stream,
                           const py::object& max_version, const py::object& dl_device,
                           const py::object& copy) {
  if (!dl_device.is_none()) {
    const auto dev = dl_device.cast<std::pair<int, int>>();
    if (dev.first != dlpack::kCUDA || dev.second != a.device)
      throw py::buffer_error(str_cat("__dlpack__: the array is on ", device_str(a.device),
                                     "; cannot export it to device (", dev.first, ", ",
                                     dev.second, ")"));
  }
  if (!stream.is_none()) {
    const auto s = stream.cast<int64_t>();
    if (s != -1) cuda::make_stream_wait(static_cast<std::uintptr_t>(s), a.device);
  }
  const bool copied = !copy.is_none() && copy.cast<bool>();
  const DeviceArray src = copied ? contiguous_copy(a) : a;
  const bool versioned =
      !max_version.is_none() && max_version.cast<std::pair<int, int>>().first >= 1;
  if (versioned) {
    auto* m = export_tensor<dlpack::ManagedTensorVersioned>(src);
    m->version = {1, 0};
    m->flags = (src.readonly ? dlpack::kFlagReadOnly : 0) | (copied ? dlpack::kFlagIsCopied : 0);
    return py::capsule(m, "dltensor_versioned", [](PyObject* cap) {
      // Only a capsule nobody consumed still owns its tensor.
      if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
        auto* mt = static_cast<dlpack::ManagedTensorVersioned*>(
            PyCapsule_GetPointer(cap, "dltensor_versioned"));
        mt->deleter(mt);
      }
    });
  }
  auto* m = export_tensor<dlpack::ManagedTensor>(src);
  return py::capsule(m, "dltensor", [](PyObject* cap) {
    if (PyCapsule_IsValid(cap, "dltensor")) {
      auto* mt = static_cast<dlpack::ManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
      mt->deleter(mt);
    }
  });
}

py::dict cuda_array_interface(const DeviceArray& a) {
  py::dict d;
  const int64_t item = dtype_size(a.dtype);
  d["shape"] = py::tuple(py::cast(a.shape));
  d["typestr"] = typestr(a.dtype);
  d["data"] = py::make_tuple(a.numel() == 0 ? 0 : reinterpret_cast<std::uintptr_t>(a.data),
                             a.readonly);
  d["version"] = 3;
  if (a.c_contiguous()) {
    d["strides"] = py::none();
  } else {
    std::vector<int64_t> bytes;
    for (int64_t s : a.strides) bytes.push_back(s * item);
    d["strides"] = py::tuple(py::cast(bytes));
  }
  d["stream"] = 1;  // all our work is on the legacy default stream
  return d;
}

py::dict memory_stats_dict(int device) {
  const cuda::MemoryStats s = cuda::memory_stats(device);
  py::dict d;
  d["allocated_bytes"] = s.allocated_bytes;
  d["cached_bytes"] = s.cached_bytes;
  d["peak_allocated_bytes"] = s.peak_allocated_bytes;
  return d;
}

}  // namespace

int64_t DeviceArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool DeviceArray::c_contiguous() const {
  int64_t expect = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expect) return false;
    expect *= shape[i];
  }
  return true;
}

DeviceArray empty_device_array(DType dtype, const std::vector<int64_t>& shape, int device) {
  DeviceArray a;
  a.dtype = dtype;
  a.device = device;
  a.shape = shape;
  a.strides = contiguous_strides(shape);
  int64_t bytes = dtype_size(dtype);
  for (int64_t d : shape)
    CC_CHECK_ARG(d >= 0 && !__builtin_mul_overflow(bytes, d, &bytes),
                 "cannot allocate an array of shape ", tuple_str(shape), " and dtype ",
                 dtype_name(dtype));
  a.owner = cuda::allocate(device, a.nbytes());
  a.data = a.owner.get();
  return a;
}

TensorView device_view(const DeviceArray& a, const std::string& op, const char* name) {
  CC_CHECK_ARG(a.shape.size() <= TensorView::kMaxDims, op, ": ", name, " has ", a.shape.size(),
               " dimensions (shape ", tuple_str(a.shape), "), at most ", TensorView::kMaxDims,
               " are supported");
  CC_CHECK_ARG(a.c_contiguous(), op, ": ", name,
               " must be C-contiguous (internal error: the Python layer copies others)");
  TensorView t;
  t.data = a.data;
  t.dtype = a.dtype;
  t.device = Device::cuda;
  t.device_index = a.device;
  t.ndim = static_cast<int>(a.shape.size());
  const std::vector<int64_t> strides = contiguous_strides(a.shape);
  for (int i = 0; i < t.ndim; ++i) {
    t.sizes[i] = a.shape[i];
    t.strides[i] = strides[i];
  }
  return t;
}

void bind_device_array(py::module_& m) {
  py::module_ types = py::module_::import("types");
  py::class_<DeviceArray>(m, "DeviceArray",
                          "An array in GPU memory (convcore.cuda.asarray makes one). Speaks the "
                          "CUDA array interface and DLPack, so CuPy arrays and PyTorch CUDA "
                          "tensors convert both ways without copies.")
      .def_property_readonly("shape",
                             [](const DeviceArray& a) { return py::tuple(py::cast(a.shape)); })
      .def_property_readonly("dtype", [](const DeviceArray& a) { return numpy_dtype(a.dtype); })
      .def_property_readonly("ndim", [](const DeviceArray& a) { return a.shape.size(); })
      .def_property_readonly("size", &DeviceArray::numel)
      .def_property_readonly("nbytes", &DeviceArray::nbytes)
      .def_property_readonly("itemsize", [](const DeviceArray& a) { return dtype_size(a.dtype); })
      .def_property_readonly("strides",
                             [](const DeviceArray& a) {
                               std::vector<int64_t> bytes;
                               for (int64_t s : a.strides) bytes.push_back(s * dtype_size(a.dtype));
                               return py::tuple(py::cast(bytes));
                             })
      .def_property_readonly("device", [](const DeviceArray& a) { return device_str(a.device); })
      .def_property_readonly("device_index", [](const DeviceArray& a) { return a.device; })
      .def_property_readonly(
          "data_ptr", [](const DeviceArray& a) { return reinterpret_cast<std::uintptr_t>(a.data); })
      .def_property_readonly("flags",
                             [types](const DeviceArray& a) {
                               return types.attr("SimpleNamespace")(
                                   py::arg("c_contiguous") = a.c_contiguous(),
                                   py::arg("writeable") = !a.readonly);
                             })
      .def_property_readonly("__cuda_array_interface__", &cuda_array_interface)
      .def("__dlpack__", &dlpack_capsule, py::kw_only(), py::arg("stream") = py::none(),
           py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(),
           py::arg("copy") = py::none())
      .def("__dlpack_device__",
           [](const DeviceArray& a) { return py::make_tuple(int(dlpack::kCUDA), a.device); })
      .def("numpy", &to_host, "A NumPy copy of the array on the host.")
      .def("copy", &contiguous_copy, "A C-contiguous copy on the same device.")
      .def("reshape",
           [](const DeviceArray& a, py::args args) {
             if (args.size() == 1 && !py::isinstance<py::int_>(args[0]))
               return reshaped(a, args[0].cast<std::vector<int64_t>>());
             return reshaped(a, args.cast<std::vector<int64_t>>());
           },
           "The same memory with a new shape (C-contiguous arrays only; one -1 is inferred).")
      .def("fill_",
           [](DeviceArray& a, double value) -> DeviceArray& {
             CC_CHECK_ARG(a.c_contiguous(), "fill_: the array is not C-contiguous");
             CC_CHECK_ARG(!a.readonly, "fill_: the array is read-only");
             cuda::fill(a.data, value, a.dtype, a.numel(), a.device);
             return a;
           },
           py::arg("value"), py::return_value_policy::reference_internal,
           "Sets every element to value, in place; returns the array.")
      .def("__array__",
           [](const DeviceArray& a, const py::args&, const py::kwargs&) -> py::object {
             throw py::type_error(str_cat("this DeviceArray lives on ", device_str(a.device),
                                          "; call .numpy() to copy it to the host explicitly"));
           })
      .def("__len__",
           [](const DeviceArray& a) {
             if (a.shape.empty()) throw py::type_error("len() of a 0-d DeviceArray");
             return a.shape[0];
           })
      .def("__repr__", [](const DeviceArray& a) {
        return str_cat("DeviceArray(shape=", tuple_str(a.shape), ", dtype=", dtype_name(a.dtype),
                       ", device='", device_str(a.device), "')");
      });

  py::module_ c = m.def_submodule("cuda", "The CUDA runtime (see convcore.cuda)");
  c.def("built_with_cuda", &cuda::built_with_cuda);
  c.def("device_count", &cuda::device_count);
  c.def("is_available", &cuda::is_available);
  c.def("synchronize", [](int device) {
    py::gil_scoped_release release;
    cuda::synchronize(device);
  }, py::arg("device") = 0);
  c.def("empty_cache", &cuda::empty_cache);
  c.def("memory_stats", &memory_stats_dict, py::arg("device") = 0);
  c.def("device_name", [](int device) { return cuda::device_info(device).name; },
        py::arg("device") = 0);
  c.def("compute_capability", [](int device) {
    const auto& info = cuda::device_info(device);
    return py::make_tuple(info.major, info.minor);
  }, py::arg("device") = 0);
  c.def("from_host", &from_host, py::arg("array"), py::arg("device"));
  c.def("empty", [](const std::vector<int64_t>& shape, const py::dtype& dtype, int device) {
    return empty_device_array(dtype_from_numpy(dtype, "convcore.cuda.empty"), shape, device);
  }, py::arg("shape"), py::arg("dtype"), py::arg("device"));
  c.def("from_dlpack", &from_dlpack, py::arg("obj"));
  c.def("from_cuda_array_interface", &from_cuda_array_interface, py::arg("obj"));
  c.def("set_math_mode", [](const std::string& name) { set_math_mode(parse_math_mode(name)); },
        py::arg("mode"));
  c.def("math_mode", [] { return std::string(math_mode_name(math_mode())); });
}

}  // namespace convcore::bindings
