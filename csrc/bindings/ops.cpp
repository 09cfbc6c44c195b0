// SPDX-License-Identifier: MIT
// One binding per operator: NumPy arrays in, validated, the GIL released
// for the compute, NumPy arrays out. No algorithms here.
#include <pybind11/stl.h>

#include "bindings/arrays.h"
#include "core/error.h"
#include "dispatch/dispatch.h"

namespace convcore::bindings {
namespace {

std::optional<Algo> algo_of(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  return parse_algo(*name);
}

std::vector<int64_t> in_layout(const ConvParams& p, const std::array<int64_t, 4>& nchw) {
  if (p.nhwc) return {nchw[0], nchw[2], nchw[3], nchw[1]};
  return {nchw[0], nchw[1], nchw[2], nchw[3]};
}

py::array conv2d(const py::array& input, const py::array& weight,
                 const std::optional<py::array>& bias, const ConvParams& p,
                 const std::optional<std::string>& algorithm,
                 const std::optional<py::array>& out) {
  const TensorView x = view_of(input, p.op, "input"), w = view_of(weight, p.op, "weight");
  std::optional<TensorView> b;
  if (bias) b = view_of(*bias, p.op, "bias");
  const ConvProblem prob = conv_problem(p, x, w, b ? &*b : nullptr);
  const std::optional<Algo> algo = algo_of(algorithm);
  py::array y = output_array(p.op, "output", prob.dtype, in_layout(p, output_shape_nchw(prob)), out);
  const TensorView yv = view_of(y, p.op, "out");
  {
    py::gil_scoped_release release;
    conv2d_forward(p, x, w, b ? &*b : nullptr, yv, algo);
  }
  return y;
}

py::tuple conv2d_backward(const py::array& grad_output, const py::array& input,
                          const py::array& weight, const ConvParams& p, bool need_input,
                          bool need_weight, bool need_bias,
                          const std::optional<std::string>& algorithm,
                          const std::optional<py::array>& out_input,
                          const std::optional<py::array>& out_weight,
                          const std::optional<py::array>& out_bias) {
  const TensorView gy = view_of(grad_output, p.op, "grad_output");
  const TensorView x = view_of(input, p.op, "input"), w = view_of(weight, p.op, "weight");
  const ConvProblem prob = conv_problem(p, x, w, nullptr);
  const std::optional<Algo> algo = algo_of(algorithm);
  if (algo) select_conv(prob, ConvPass::forward, algo);  // rejects a forced misfit up front
  py::object gx = py::none(), gw = py::none(), gb = py::none();
  std::optional<TensorView> gxv, gwv, gbv;
  if (need_input) {
    py::array a = output_array(p.op, "grad_input", prob.dtype,
                               in_layout(p, input_shape_nchw(prob)), out_input);
    gxv = view_of(a, p.op, "grad_input");
    gx = a;
  }
  if (need_weight) {
    const auto ws = weight_shape(prob);
    py::array a = output_array(p.op, "grad_weight", prob.dtype, {ws[0], ws[1], ws[2], ws[3]},
                               out_weight);
    gwv = view_of(a, p.op, "grad_weight");
    gw = a;
  }
  if (need_bias) {
    py::array a = output_array(p.op, "grad_bias", prob.dtype, {prob.cout}, out_bias);
    gbv = view_of(a, p.op, "grad_bias");
    gb = a;
  }
  {
    py::gil_scoped_release release;
    conv2d_backward(p, gy, x, w, gxv ? &*gxv : nullptr, gwv ? &*gwv : nullptr,
                    gbv ? &*gbv : nullptr, algo);
  }
  return py::make_tuple(gx, gw, gb);
}

// Validates a call's arrays and options without computing anything.
void check_conv(const py::array& input, const py::array& weight,
                const std::optional<py::array>& bias, const ConvParams& p) {
  const TensorView x = view_of(input, p.op, "input"), w = view_of(weight, p.op, "weight");
  std::optional<TensorView> b;
  if (bias) b = view_of(*bias, p.op, "bias");
  conv_problem(p, x, w, b ? &*b : nullptr);
}

}  // namespace

void bind_ops(py::module_& m) {
  py::class_<ConvParams>(m, "ConvParams", "Normalised convolution options (see functional.py)")
      .def(py::init<>())
      .def_readwrite("stride", &ConvParams::stride)
      .def_readwrite("dilation", &ConvParams::dilation)
      .def_readwrite("pad", &ConvParams::pad)
      .def_property(
          "pad_mode", [](const ConvParams& p) { return std::string(pad_mode_name(p.pad_mode)); },
          [](ConvParams& p, const std::string& name) {
            for (PadMode m : {PadMode::constant, PadMode::reflect, PadMode::replicate,
                              PadMode::circular, PadMode::symmetric})
              if (name == pad_mode_name(m)) {
                p.pad_mode = m;
                return;
              }
            throw_argument_error(p.op, ": unknown padding mode '", name, "'");
          })
      .def_readwrite("pad_value", &ConvParams::pad_value)
      .def_readwrite("groups", &ConvParams::groups)
      .def_readwrite("nhwc", &ConvParams::nhwc)
      .def_readwrite("spatial_dims", &ConvParams::spatial_dims)
      .def_readwrite("op", &ConvParams::op);

  m.def("check_conv", &check_conv, py::arg("input"), py::arg("weight"), py::arg("bias"),
        py::arg("params"));
  m.def("conv2d", &conv2d, py::arg("input"), py::arg("weight"), py::arg("bias"),
        py::arg("params"), py::arg("algorithm") = py::none(), py::arg("out") = py::none());
  m.def("conv2d_backward", &conv2d_backward, py::arg("grad_output"), py::arg("input"),
        py::arg("weight"), py::arg("params"), py::arg("need_input"), py::arg("need_weight"),
        py::arg("need_bias"), py::arg("algorithm") = py::none(),
        py::arg("out_input") = py::none(), py::arg("out_weight") = py::none(),
        py::arg("out_bias") = py::none());
}

}  // namespace convcore::bindings
