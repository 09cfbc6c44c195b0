// SPDX-License-Identifier: MIT
// Max / average / power-average pooling bindings: arrays in, validated, the
// GIL released for the compute, arrays out. No algorithms here.
#include <pybind11/stl.h>

#include "bindings/arrays.h"
#include "core/error.h"
#include "dispatch/pool.h"

namespace convcore::bindings {
namespace {

std::vector<int64_t> as_vector(const std::array<int64_t, 4>& s) { return {s[0], s[1], s[2], s[3]}; }

// (output, indices or None)
py::tuple pool2d(const py::object& input, const PoolParams& p, bool return_indices,
                 const std::optional<py::object>& out) {
  const TensorView x = view_of(input, p.op, "input");
  const PoolProblem prob = pool_problem(p, x);
  const std::vector<int64_t> shape = as_vector(pool_output_shape(prob));
  py::object y = output_array(p.op, "output", prob.dtype, shape, out, &x);
  const TensorView yv = view_of(y, p.op, "out");
  CC_CHECK_ARG(!return_indices || p.kind == PoolKind::max, p.op,
               ": return_indices needs max pooling");
  const IndicesOutput indices = indices_output(return_indices, p.op, shape, &x);
  {
    py::gil_scoped_release release;
    pool2d_forward(p, x, yv, indices.ptr());
  }
  return py::make_tuple(y, indices.array);
}

py::object pool2d_backward(const py::object& grad_output, const py::object& input,
                          const std::optional<py::object>& indices, const PoolParams& p,
                          const std::optional<py::object>& out) {
  const TensorView gy = view_of(grad_output, p.op, "grad_output");
  const TensorView x = view_of(input, p.op, "input");
  std::optional<TensorView> iv;
  if (indices) iv = index_view_of(*indices, p.op, "indices");
  const PoolProblem prob = pool_problem(p, x);
  py::object gx = output_array(p.op, "grad_input", prob.dtype, as_vector(pool_input_shape(prob)), out, &x);
  const TensorView gxv = view_of(gx, p.op, "grad_input");
  {
    py::gil_scoped_release release;
    pool2d_backward(p, gy, x, iv ? &*iv : nullptr, gxv);
  }
  return gx;
}

// The output shape (in the params' layout) of a valid call; raises otherwise.
std::vector<int64_t> pool2d_output_shape(const py::object& input, const PoolParams& p) {
  return as_vector(pool_output_shape(pool_problem(p, view_of(input, p.op, "input"))));
}

}  // namespace

void bind_pool(py::module_& m) {
  py::class_<PoolParams>(m, "PoolParams", "Normalised pooling options (see functional/pooling.py)")
      .def(py::init<>())
      .def_property(
          "kind",
          [](const PoolParams& p) {
            return std::string(p.kind == PoolKind::max ? "max" : p.kind == PoolKind::avg ? "avg" : "lp");
          },
          [](PoolParams& p, const std::string& k) {
            if (k == "max") p.kind = PoolKind::max;
            else if (k == "avg") p.kind = PoolKind::avg;
            else if (k == "lp") p.kind = PoolKind::lp;
            else throw_argument_error(p.op, ": unknown pooling kind '", k, "'");
          })
      .def_readwrite("kernel", &PoolParams::kernel)
      .def_readwrite("stride", &PoolParams::stride)
      .def_readwrite("padding", &PoolParams::padding)
      .def_readwrite("dilation", &PoolParams::dilation)
      .def_readwrite("ceil_mode", &PoolParams::ceil_mode)
      .def_readwrite("count_include_pad", &PoolParams::count_include_pad)
      .def_readwrite("divisor_override", &PoolParams::divisor_override)
      .def_readwrite("norm_type", &PoolParams::norm_type)
      .def_readwrite("nhwc", &PoolParams::nhwc)
      .def_readwrite("spatial_dims", &PoolParams::spatial_dims)
      .def_readwrite("op", &PoolParams::op);

  m.def("pool2d", &pool2d, py::arg("input"), py::arg("params"), py::arg("return_indices") = false,
        py::arg("out") = py::none());
  m.def("pool2d_backward", &pool2d_backward, py::arg("grad_output"), py::arg("input"),
        py::arg("indices"), py::arg("params"), py::arg("out") = py::none());
  m.def("pool2d_output_shape", &pool2d_output_shape, py::arg("input"), py::arg("params"));
}

}  // namespace convcore::bindings
