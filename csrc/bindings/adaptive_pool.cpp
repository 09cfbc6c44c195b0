// SPDX-License-Identifier: MIT
// Bindings of adaptive / global / spatial-pyramid / ROI pooling and max
// unpooling. Arrays arrive 4-D (the Python layer adds the batch axis and the
// H = 1 axis of 1-D ops); layouts are NCHW or (nhwc) NHWC.
#include <pybind11/stl.h>

#include "bindings/arrays.h"
#include "core/error.h"
#include "dispatch/adaptive_pool.h"

namespace convcore::bindings {
namespace {

using Pair = std::array<int64_t, 2>;

py::object adaptive_pool2d(const std::string& op, const py::object& input, const Pair& size,
                           const std::string& mode, bool nhwc, bool return_indices,
                           const std::optional<py::object>& out) {
  const PoolReduce reduce = parse_pool_reduce(mode, op);
  const TensorView x = view_of(input, op, "input");
  const std::vector<int64_t> shape = pooled_shape(op, x, nhwc, size[0], size[1]);
  py::object y = output_array(op, "output", x.dtype, shape, out, &x);
  const TensorView yv = view_of(y, op, "out");
  const IndicesOutput indices = indices_output(return_indices, op, shape, &x);
  {
    py::gil_scoped_release release;
    adaptive_pool2d(op, reduce, x, nhwc, yv, indices.ptr());
  }
  if (indices.view) return py::make_tuple(y, indices.array);
  return y;
}

py::object adaptive_pool2d_backward(const std::string& op, const py::object& grad_output,
                                   const py::object& input, const std::optional<py::object>& indices,
                                   const Pair& size, const std::string& mode, bool nhwc,
                                   const std::optional<py::object>& out) {
  const PoolReduce reduce = parse_pool_reduce(mode, op);
  const TensorView gy = view_of(grad_output, op, "grad_output"), x = view_of(input, op, "input");
  std::optional<TensorView> iv;
  if (indices) iv = index_view_of(*indices, op, "indices");
  pooled_shape(op, x, nhwc, size[0], size[1]);
  py::object gx = output_array(op, "grad_input", x.dtype,
                              std::vector<int64_t>(x.sizes.begin(), x.sizes.begin() + 4), out, &x);
  const TensorView gv = view_of(gx, op, "out");
  {
    py::gil_scoped_release release;
    adaptive_pool2d_backward(op, reduce, gy, x, iv ? &*iv : nullptr, nhwc, size[0], size[1], gv);
  }
  return gx;
}

py::object spatial_pyramid_pool2d(const std::string& op, const py::object& input,
                                  const std::vector<int64_t>& levels, const std::string& mode,
                                  bool nhwc, bool return_indices,
                                  const std::optional<py::object>& out) {
  const PoolReduce reduce = parse_pool_reduce(mode, op);
  const TensorView x = view_of(input, op, "input");
  const std::vector<int64_t> one = pooled_shape(op, x, nhwc, 1, 1);
  const int64_t c = nhwc ? one[3] : one[1];
  const std::vector<int64_t> shape{one[0], c * pyramid_bins(levels, op)};
  py::object y = output_array(op, "output", x.dtype, shape, out, &x);
  const TensorView yv = view_of(y, op, "out");
  const IndicesOutput indices = indices_output(return_indices, op, shape, &x);
  {
    py::gil_scoped_release release;
    spatial_pyramid_pool2d(op, reduce, x, nhwc, levels, yv, indices.ptr());
  }
  if (indices.view) return py::make_tuple(y, indices.array);
  return y;
}

py::object spatial_pyramid_pool2d_backward(const std::string& op, const py::object& grad_output,
                                          const py::object& input,
                                          const std::vector<int64_t>& levels,
                                          const std::string& mode, bool nhwc,
                                          const std::optional<py::object>& indices,
                                          const std::optional<py::object>& out) {
  const PoolReduce reduce = parse_pool_reduce(mode, op);
  const TensorView gy = view_of(grad_output, op, "grad_output"), x = view_of(input, op, "input");
  std::optional<TensorView> iv;
  if (indices) iv = index_view_of(*indices, op, "indices");
  pooled_shape(op, x, nhwc, 1, 1);
  py::object gx = output_array(op, "grad_input", x.dtype,
                              std::vector<int64_t>(x.sizes.begin(), x.sizes.begin() + 4), out, &x);
  const TensorView gv = view_of(gx, op, "out");
  {
    py::gil_scoped_release release;
    spatial_pyramid_pool2d_backward(op, reduce, gy, x, nhwc, levels, iv ? &*iv : nullptr, gv);
  }
  return gx;
}

py::object roi_pool(const std::string& op, const py::object& input, const py::object& boxes,
                   const Pair& size, double spatial_scale, bool nhwc,
                   const std::optional<py::object>& out) {
  const TensorView x = view_of(input, op, "input"), b = view_of(boxes, op, "boxes");
  py::object y = output_array(op, "output", x.dtype,
                             roi_pool_shape(op, x, b, nhwc, size[0], size[1], spatial_scale), out, &x);
  const TensorView yv = view_of(y, op, "out");
  {
    py::gil_scoped_release release;
    convcore::roi_pool(op, x, b, nhwc, spatial_scale, yv);
  }
  return y;
}

py::object roi_pool_backward(const std::string& op, const py::object& grad_output,
                            const py::object& input, const py::object& boxes, const Pair& size,
                            double spatial_scale, bool nhwc,
                            const std::optional<py::object>& out) {
  const TensorView gy = view_of(grad_output, op, "grad_output"), x = view_of(input, op, "input");
  const TensorView b = view_of(boxes, op, "boxes");
  roi_pool_shape(op, x, b, nhwc, size[0], size[1], spatial_scale);
  py::object gx = output_array(op, "grad_input", x.dtype,
                              std::vector<int64_t>(x.sizes.begin(), x.sizes.begin() + 4), out, &x);
  const TensorView gv = view_of(gx, op, "out");
  {
    py::gil_scoped_release release;
    convcore::roi_pool_backward(op, gy, x, b, nhwc, size[0], size[1], spatial_scale, gv);
  }
  return gx;
}

UnpoolParams unpool_params(const Pair& kernel, const Pair& stride, const Pair& padding) {
  UnpoolParams p;
  for (int a = 0; a < 2; ++a) {
    p.kernel[a] = kernel[a];
    p.stride[a] = stride[a];
    p.padding[a] = padding[a];
  }
  return p;
}

std::vector<int64_t> unpool_size(const std::string& op, const Pair& kernel, const Pair& stride,
                                 const Pair& padding, int64_t h, int64_t w,
                                 const std::optional<std::vector<int64_t>>& output_size) {
  return unpool_output_size(unpool_params(kernel, stride, padding), h, w,
                            output_size ? &*output_size : nullptr, op);
}

std::vector<int64_t> unpool_plane(const std::string& op, const TensorView& x, bool nhwc,
                                  const Pair& kernel, const Pair& stride, const Pair& padding,
                                  const std::optional<std::vector<int64_t>>& output_size) {
  CC_CHECK_ARG(x.ndim == 4, op, ": input must be 4-D (batched, 2-D layout)");
  const Act4 xa = act4_of(x, nhwc);
  return unpool_size(op, kernel, stride, padding, xa.h, xa.w, output_size);
}

py::object max_unpool2d(const std::string& op, const py::object& input, const py::object& indices,
                       const Pair& kernel, const Pair& stride, const Pair& padding,
                       const std::optional<std::vector<int64_t>>& output_size, bool nhwc,
                       const std::optional<py::object>& out) {
  const TensorView x = view_of(input, op, "input"), ind = index_view_of(indices, op, "indices");
  const std::vector<int64_t> plane =
      unpool_plane(op, x, nhwc, kernel, stride, padding, output_size);
  py::object y = output_array(op, "output", x.dtype, max_unpool_shape(op, x, ind, nhwc, plane), out, &x);
  const TensorView yv = view_of(y, op, "out");
  {
    py::gil_scoped_release release;
    convcore::max_unpool2d(op, x, ind, nhwc, yv);
  }
  return y;
}

py::object max_unpool2d_backward(const std::string& op, const py::object& grad_output,
                                const py::object& input, const py::object& indices,
                                const Pair& kernel, const Pair& stride, const Pair& padding,
                                const std::optional<std::vector<int64_t>>& output_size, bool nhwc,
                                const std::optional<py::object>& out) {
  const TensorView gy = view_of(grad_output, op, "grad_output"), x = view_of(input, op, "input");
  const TensorView ind = index_view_of(indices, op, "indices");
  const std::vector<int64_t> plane =
      unpool_plane(op, x, nhwc, kernel, stride, padding, output_size);
  py::object gx = output_array(op, "grad_input", x.dtype,
                              std::vector<int64_t>(x.sizes.begin(), x.sizes.begin() + 4), out, &x);
  const TensorView gv = view_of(gx, op, "out");
  {
    py::gil_scoped_release release;
    convcore::max_unpool2d_backward(op, gy, x, ind, nhwc, plane, gv);
  }
  return gx;
}

}  // namespace

void bind_adaptive_pool(py::module_& m) {
  const auto o = py::arg("out") = py::none();
  m.def("adaptive_pool2d", &adaptive_pool2d, py::arg("op"), py::arg("input"),
        py::arg("output_size"), py::arg("mode"), py::arg("nhwc"), py::arg("return_indices"), o);
  m.def("adaptive_pool2d_backward", &adaptive_pool2d_backward, py::arg("op"),
        py::arg("grad_output"), py::arg("input"), py::arg("indices"), py::arg("output_size"),
        py::arg("mode"), py::arg("nhwc"), o);
  m.def("spatial_pyramid_pool2d", &spatial_pyramid_pool2d, py::arg("op"), py::arg("input"),
        py::arg("levels"), py::arg("mode"), py::arg("nhwc"), py::arg("return_indices"), o);
  m.def("spatial_pyramid_pool2d_backward", &spatial_pyramid_pool2d_backward, py::arg("op"),
        py::arg("grad_output"), py::arg("input"), py::arg("levels"), py::arg("mode"),
        py::arg("nhwc"), py::arg("indices"), o);
  m.def("roi_pool", &roi_pool, py::arg("op"), py::arg("input"), py::arg("boxes"),
        py::arg("output_size"), py::arg("spatial_scale"), py::arg("nhwc"), o);
  m.def("roi_pool_backward", &roi_pool_backward, py::arg("op"), py::arg("grad_output"),
        py::arg("input"), py::arg("boxes"), py::arg("output_size"), py::arg("spatial_scale"),
        py::arg("nhwc"), o);
  m.def("unpool_output_size", &unpool_size, py::arg("op"), py::arg("kernel_size"),
        py::arg("stride"), py::arg("padding"), py::arg("h"), py::arg("w"),
        py::arg("output_size"));
  m.def("max_unpool2d", &max_unpool2d, py::arg("op"), py::arg("input"), py::arg("indices"),
        py::arg("kernel_size"), py::arg("stride"), py::arg("padding"), py::arg("output_size"),
        py::arg("nhwc"), o);
  m.def("max_unpool2d_backward", &max_unpool2d_backward, py::arg("op"), py::arg("grad_output"),
        py::arg("input"), py::arg("indices"), py::arg("kernel_size"), py::arg("stride"),
        py::arg("padding"), py::arg("output_size"), py::arg("nhwc"), o);
}

}  // namespace convcore::bindings
