// SPDX-License-Identifier: MIT
// Bindings of the model code's device kernels (cuda/tensor_ops.h). They take
// device arrays only: convcore._ops runs the same operations with NumPy on
// host arrays. Outputs are allocated by the caller (convcore._ops).
#include <pybind11/stl.h>

#include <optional>

#include "bindings/arrays.h"
#include "core/error.h"
#if CONVCORE_WITH_CUDA
#include "cuda/tensor_ops.h"
#endif

namespace convcore::bindings {
namespace {

// A view of a device array; ValueError for a host array.
TensorView gpu_view(const py::object& a, const char* op, const char* name) {
  const TensorView v = view_of(a, op, name);
  CC_CHECK_ARG(on_cuda(v), op, ": ", name,
               " must be a convcore DeviceArray (host arrays use NumPy), got a host array");
  return v;
}

void check_like(const char* op, const TensorView& a, const char* a_name, const TensorView& b,
                const char* b_name) {
  check_same_device(op, {{a_name, &a}, {b_name, &b}});
  if (a.dtype != b.dtype)
    throw_dtype_error(op, ": ", a_name, " is ", dtype_name(a.dtype), " but ", b_name, " is ",
                      dtype_name(b.dtype));
  CC_CHECK_ARG(a.numel() == b.numel(), op, ": ", a_name, " has ", a.numel(), " elements but ",
               b_name, " has ", b.numel());
}

#if !CONVCORE_WITH_CUDA
[[noreturn]] void unreachable(const char* op) {
  throw_argument_error(op, ": this convcore was built without CUDA");
}
#endif

// y += alpha * x, in place.
void axpy(const py::object& y, const py::object& x, double alpha) {
  const char* op = "axpy_";
  const TensorView yv = gpu_view(y, op, "y"), xv = gpu_view(x, op, "x");
  check_like(op, yv, "y", xv, "x");
#if CONVCORE_WITH_CUDA
  cuda::axpy(yv.data, xv.data, alpha, yv.dtype, yv.numel(), yv.device_index);
#else
  (void)alpha;
  unreachable(op);
#endif
}

// out = a + b (out allocated by the caller; it may be a or b).
void add(const py::object& a, const py::object& b, const py::object& out) {
  const char* op = "add";
  const TensorView av = gpu_view(a, op, "a"), bv = gpu_view(b, op, "b");
  const TensorView ov = gpu_view(out, op, "out");
  check_like(op, av, "a", bv, "b");
  check_like(op, av, "a", ov, "out");
#if CONVCORE_WITH_CUDA
  cuda::add(ov.data, av.data, bv.data, av.dtype, av.numel(), av.device_index);
#else
  unreachable(op);
#endif
}

// dst = src converted to dst's dtype (float32 / float64).
void cast(const py::object& dst, const py::object& src) {
  const char* op = "astype";
  const TensorView dv = gpu_view(dst, op, "dst"), sv = gpu_view(src, op, "src");
  check_same_device(op, {{"dst", &dv}, {"src", &sv}});
  CC_CHECK_ARG(dv.numel() == sv.numel(), op, ": dst has ", dv.numel(), " elements but src has ",
               sv.numel());
#if CONVCORE_WITH_CUDA
  cuda::cast(dv.data, dv.dtype, sv.data, sv.dtype, dv.numel(), dv.device_index);
#else
  unreachable(op);
#endif
}

// dst.flat[dst_offset + r * dst_ld + c] = src.flat[src_offset + r * src_ld + c]
// for r < rows, c < cols; both ranges are checked against the arrays' sizes.
void copy_2d(const py::object& dst, int64_t dst_offset, int64_t dst_ld, const py::object& src,
             int64_t src_offset, int64_t src_ld, int64_t rows, int64_t cols) {
  const char* op = "copy_2d";
  const TensorView dv = gpu_view(dst, op, "dst"), sv = gpu_view(src, op, "src");
  check_same_device(op, {{"dst", &dv}, {"src", &sv}});
  if (dv.dtype != sv.dtype)
    throw_dtype_error(op, ": dst is ", dtype_name(dv.dtype), " but src is ", dtype_name(sv.dtype));
  CC_CHECK_ARG(rows >= 0 && cols >= 0 && dst_offset >= 0 && src_offset >= 0 && dst_ld >= cols &&
                   src_ld >= cols,
               op, ": bad block (rows ", rows, ", cols ", cols, ", leading dimensions ", dst_ld,
               " and ", src_ld, ")");
  if (rows == 0 || cols == 0) return;
  const int64_t dst_end = dst_offset + (rows - 1) * dst_ld + cols;
  const int64_t src_end = src_offset + (rows - 1) * src_ld + cols;
  CC_CHECK_ARG(dst_end <= dv.numel() && src_end <= sv.numel(), op,
               ": the block runs past the end of ", dst_end > dv.numel() ? "dst" : "src");
#if CONVCORE_WITH_CUDA
  const int64_t size = dtype_size(dv.dtype);
  cuda::copy_2d(static_cast<char*>(dv.data) + dst_offset * size, dst_ld,
                static_cast<const char*>(sv.data) + src_offset * size, src_ld, rows, cols, size,
                dv.device_index);
#else
  unreachable(op);
#endif
}

// acc (2 float64) += [scale * loss, number of correct argmax predictions].
void accumulate_metrics(const py::object& acc, const std::optional<py::object>& loss, double scale,
                        const py::object& prediction, const std::optional<py::object>& labels) {
  const char* op = "accumulate_metrics";
  const TensorView av = gpu_view(acc, op, "acc");
  const TensorView pv = gpu_view(prediction, op, "prediction");
  if (av.dtype != DType::f64) throw_dtype_error(op, ": acc must be float64");
  CC_CHECK_ARG(av.numel() == 2, op, ": acc must hold 2 values, got ", av.numel());
  std::optional<TensorView> lv, yv;
  if (loss && !loss->is_none()) {
    lv = gpu_view(*loss, op, "loss");
    CC_CHECK_ARG(lv->numel() == 1, op, ": loss must be one value, got ", lv->numel());
  }
  int64_t outer = 1, classes = 1, inner = 1;
  if (pv.ndim == 1) {
    classes = pv.sizes[0];
  } else if (pv.ndim >= 2) {
    outer = pv.sizes[0];
    classes = pv.sizes[1];
    for (int d = 2; d < pv.ndim; ++d) inner *= pv.sizes[d];
  }
  if (labels && !labels->is_none()) {
    yv = index_view_of(*labels, op, "labels");
    CC_CHECK_ARG(yv->numel() == outer * inner, op, ": labels has ", yv->numel(),
                 " elements, the prediction ", outer * inner, " positions");
  }
  check_same_device(op, {{"acc", &av}, {"prediction", &pv}, {"loss", lv ? &*lv : nullptr},
                         {"labels", yv ? &*yv : nullptr}});
#if CONVCORE_WITH_CUDA
  cuda::accumulate_metrics(av.ptr<double>(), lv ? lv->data : nullptr,
                           lv ? lv->dtype : DType::f32, scale, pv.data, pv.dtype, outer, classes,
                           inner, yv ? yv->ptr<const int64_t>() : nullptr, av.device_index);
#else
  (void)scale;
  (void)classes;
  unreachable(op);
#endif
}

}  // namespace

void bind_tensor_ops(py::module_& m) {
  m.def("device_axpy_", &axpy, py::arg("y"), py::arg("x"), py::arg("alpha") = 1.0);
  m.def("device_add", &add, py::arg("a"), py::arg("b"), py::arg("out"));
  m.def("device_cast", &cast, py::arg("dst"), py::arg("src"));
  m.def("device_copy_2d", &copy_2d, py::arg("dst"), py::arg("dst_offset"), py::arg("dst_ld"),
        py::arg("src"), py::arg("src_offset"), py::arg("src_ld"), py::arg("rows"), py::arg("cols"));
  m.def("accumulate_metrics", &accumulate_metrics, py::arg("acc"), py::arg("loss"),
        py::arg("scale"), py::arg("prediction"), py::arg("labels"));
}

}  // namespace convcore::bindings
