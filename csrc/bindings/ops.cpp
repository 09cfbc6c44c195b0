// SPDX-License-Identifier: MIT
// One binding per operator: arrays in (NumPy on the host, DeviceArray on a
// GPU), validated, the GIL released for the compute, arrays out on the
// inputs' device. No algorithms here.
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

// A convolution or a transposed one: the same arrays, validation and passes
// (dispatch.h), with the roles of the activation shapes swapped.
struct ConvKind {
  bool transposed;

  ConvProblem problem(const ConvParams& p, const TensorView& x, const TensorView& w,
                      const TensorView* b) const {
    return transposed ? conv_transpose_problem(p, x, w, b) : conv_problem(p, x, w, b);
  }
  std::array<int64_t, 4> output_nchw(const ConvProblem& prob) const {
    return transposed ? input_shape_nchw(prob) : output_shape_nchw(prob);
  }
  std::array<int64_t, 4> input_nchw(const ConvProblem& prob) const {
    return transposed ? output_shape_nchw(prob) : input_shape_nchw(prob);
  }
  int64_t output_channels(const ConvProblem& prob) const {
    return transposed ? prob.cin : prob.cout;
  }
};

py::object conv_forward(ConvKind kind, const py::object& input, const py::object& weight,
                       const std::optional<py::object>& bias, const ConvParams& p,
                       const std::optional<std::string>& algorithm,
                       const std::optional<py::object>& out) {
  const TensorView x = view_of(input, p.op, "input"), w = view_of(weight, p.op, "weight");
  std::optional<TensorView> b;
  if (bias) b = view_of(*bias, p.op, "bias");
  const ConvProblem prob = kind.problem(p, x, w, b ? &*b : nullptr);
  const std::optional<Algo> algo = algo_of(algorithm);
  py::object y = output_array(p.op, "output", prob.dtype, in_layout(p, kind.output_nchw(prob)),
                              out, &x);
  const TensorView yv = view_of(y, p.op, "out");
  {
    py::gil_scoped_release release;
    if (kind.transposed)
      conv_transpose2d_forward(p, x, w, b ? &*b : nullptr, yv, algo);
    else
      conv2d_forward(p, x, w, b ? &*b : nullptr, yv, algo);
  }
  return y;
}

py::tuple conv_backward(ConvKind kind, const py::object& grad_output, const py::object& input,
                        const py::object& weight, const ConvParams& p, bool need_input,
                        bool need_weight, bool need_bias,
                        const std::optional<std::string>& algorithm,
                        const std::optional<py::object>& out_input,
                        const std::optional<py::object>& out_weight,
                        const std::optional<py::object>& out_bias) {
  const TensorView gy = view_of(grad_output, p.op, "grad_output");
  const TensorView x = view_of(input, p.op, "input"), w = view_of(weight, p.op, "weight");
  const ConvProblem prob = kind.problem(p, x, w, nullptr);
  const std::optional<Algo> algo = algo_of(algorithm);
  if (algo) select_conv(prob, ConvPass::forward, algo);  // rejects a forced misfit up front
  py::object gx = py::none(), gw = py::none(), gb = py::none();
  std::optional<TensorView> gxv, gwv, gbv;
  if (need_input) {
    py::object a = output_array(p.op, "grad_input", prob.dtype,
                                in_layout(p, kind.input_nchw(prob)), out_input, &x);
    gxv = view_of(a, p.op, "grad_input");
    gx = a;
  }
  if (need_weight) {
    const auto ws = weight_shape(prob);
    py::object a = output_array(p.op, "grad_weight", prob.dtype, {ws[0], ws[1], ws[2], ws[3]},
                                out_weight, &x);
    gwv = view_of(a, p.op, "grad_weight");
    gw = a;
  }
  if (need_bias) {
    py::object a = output_array(p.op, "grad_bias", prob.dtype, {kind.output_channels(prob)},
                                out_bias, &x);
    gbv = view_of(a, p.op, "grad_bias");
    gb = a;
  }
  {
    py::gil_scoped_release release;
    const auto run = kind.transposed ? conv_transpose2d_backward : conv2d_backward;
    run(p, gy, x, w, gxv ? &*gxv : nullptr, gwv ? &*gwv : nullptr, gbv ? &*gbv : nullptr, algo);
  }
  return py::make_tuple(gx, gw, gb);
}

// Validates a call's arrays and options without computing anything.
void check_conv(ConvKind kind, const py::object& input, const py::object& weight,
                const std::optional<py::object>& bias, const ConvParams& p) {
  const TensorView x = view_of(input, p.op, "input"), w = view_of(weight, p.op, "weight");
  std::optional<TensorView> b;
  if (bias) b = view_of(*bias, p.op, "bias");
  kind.problem(p, x, w, b ? &*b : nullptr);
}

void def_conv_kind(py::module_& m, ConvKind kind, const char* name) {
  const std::string op = name;
  m.def(("check_" + op).c_str(),
        [kind](const py::object& input, const py::object& weight,
               const std::optional<py::object>& bias, const ConvParams& p) {
          check_conv(kind, input, weight, bias, p);
        },
        py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("params"));
  m.def(name,
        [kind](const py::object& input, const py::object& weight,
               const std::optional<py::object>& bias, const ConvParams& p,
               const std::optional<std::string>& algorithm, const std::optional<py::object>& out) {
          return conv_forward(kind, input, weight, bias, p, algorithm, out);
        },
        py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("params"),
        py::arg("algorithm") = py::none(), py::arg("out") = py::none());
  m.def((op + "_backward").c_str(),
        [kind](const py::object& grad_output, const py::object& input, const py::object& weight,
               const ConvParams& p, bool need_input, bool need_weight, bool need_bias,
               const std::optional<std::string>& algorithm,
               const std::optional<py::object>& out_input,
               const std::optional<py::object>& out_weight,
               const std::optional<py::object>& out_bias) {
          return conv_backward(kind, grad_output, input, weight, p, need_input, need_weight,
                               need_bias, algorithm, out_input, out_weight, out_bias);
        },
        py::arg("grad_output"), py::arg("input"), py::arg("weight"), py::arg("params"),
        py::arg("need_input"), py::arg("need_weight"), py::arg("need_bias"),
        py::arg("algorithm") = py::none(), py::arg("out_input") = py::none(),
        py::arg("out_weight") = py::none(), py::arg("out_bias") = py::none());
}

}  // namespace

void bind_ops(py::module_& m) {
  py::class_<ConvParams>(m, "ConvParams", "Normalised convolution options (see functional.py)")
      .def(py::init<>())
      .def_readwrite("stride", &ConvParams::stride)
      .def_readwrite("dilation", &ConvParams::dilation)
      .def_readwrite("pad", &ConvParams::pad)
      .def_readwrite("output_padding", &ConvParams::output_padding)
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

  def_conv_kind(m, ConvKind{false}, "conv2d");
  def_conv_kind(m, ConvKind{true}, "conv_transpose2d");
}

}  // namespace convcore::bindings
