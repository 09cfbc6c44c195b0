// SPDX-License-Identifier: MIT
// Bindings of batch norm and local response norm: NumPy arrays or DeviceArrays
// (every array of a call on one device, checked by dispatch/). No algorithms here.
#include <pybind11/stl.h>

#include "bindings/arrays.h"
#include "core/error.h"
#include "dispatch/norm.h"

namespace convcore::bindings {
namespace {

using OptArray = std::optional<py::object>;  // an ndarray or a DeviceArray

std::vector<int64_t> sizes_of(const TensorView& t) {
  return std::vector<int64_t>(t.sizes.begin(), t.sizes.begin() + t.ndim);
}

// Views of the optional per-channel arrays, kept alive with the call.
struct Operands {
  std::optional<TensorView> running_mean, running_var, weight, bias;
  BatchNormOperands ptrs() const {
    return {running_mean ? &*running_mean : nullptr, running_var ? &*running_var : nullptr,
            weight ? &*weight : nullptr, bias ? &*bias : nullptr};
  }
};

std::optional<TensorView> optional_view(const OptArray& a, const std::string& op,
                                        const char* name) {
  if (!a) return std::nullopt;
  return view_of(*a, op, name);
}

Operands operands(const BatchNormParams& p, const OptArray& running_mean,
                  const OptArray& running_var, const OptArray& weight, const OptArray& bias) {
  return {optional_view(running_mean, p.op, "running_mean"),
          optional_view(running_var, p.op, "running_var"), optional_view(weight, p.op, "weight"),
          optional_view(bias, p.op, "bias")};
}

// ndarray.flags.writeable or DeviceArray.flags.writeable.
void check_writeable(const BatchNormParams& p, const OptArray& a, const char* name) {
  CC_CHECK_ARG(!a || a->attr("flags").attr("writeable").cast<bool>(), p.op, ": ", name,
               " is read-only, but training=True updates it in place");
}

py::object batch_norm(const py::object& input, const OptArray& running_mean,
                      const OptArray& running_var, const OptArray& weight, const OptArray& bias,
                      const BatchNormParams& p, bool return_stats, const OptArray& out) {
  const TensorView x = view_of(input, p.op, "input");
  const Operands ops = operands(p, running_mean, running_var, weight, bias);
  const NormShape s = batch_norm_check(p, x, ops.ptrs());
  if (p.training) {
    check_writeable(p, running_mean, "running_mean");
    check_writeable(p, running_var, "running_var");
  }
  py::object y = output_array(p.op, "output", x.dtype, sizes_of(x), out, &x);
  const TensorView yv = view_of(y, p.op, "out");
  std::optional<py::object> mean, invstd;
  std::optional<TensorView> mv, iv;
  if (return_stats) {
    mean = output_array(p.op, "save_mean", x.dtype, {s.channels}, std::nullopt, &x);
    invstd = output_array(p.op, "save_invstd", x.dtype, {s.channels}, std::nullopt, &x);
    mv = view_of(*mean, p.op, "save_mean");
    iv = view_of(*invstd, p.op, "save_invstd");
  }
  {
    py::gil_scoped_release release;
    batch_norm_forward(p, x, ops.ptrs(), yv, mv ? &*mv : nullptr, iv ? &*iv : nullptr);
  }
  if (return_stats) return py::make_tuple(y, *mean, *invstd);
  return y;
}

py::tuple batch_norm_backward(const py::object& grad_output, const py::object& input,
                              const OptArray& running_mean, const OptArray& running_var,
                              const OptArray& weight, const BatchNormParams& p,
                              const OptArray& save_mean, const OptArray& save_invstd,
                              bool need_input, bool need_weight, bool need_bias,
                              const OptArray& out_input) {
  const TensorView gy = view_of(grad_output, p.op, "grad_output");
  const TensorView x = view_of(input, p.op, "input");
  const Operands ops = operands(p, running_mean, running_var, weight, std::nullopt);
  const auto sm = optional_view(save_mean, p.op, "save_mean");
  const auto si = optional_view(save_invstd, p.op, "save_invstd");
  const NormShape s = batch_norm_check(p, x, ops.ptrs());
  py::object gx = py::none(), gw = py::none(), gb = py::none();
  std::optional<TensorView> gxv, gwv, gbv;
  if (need_input) {
    py::object a = output_array(p.op, "grad_input", x.dtype, sizes_of(x), out_input, &x);
    gxv = view_of(a, p.op, "grad_input");
    gx = a;
  }
  if (need_weight) {
    py::object a = output_array(p.op, "grad_weight", x.dtype, {s.channels}, std::nullopt, &x);
    gwv = view_of(a, p.op, "grad_weight");
    gw = a;
  }
  if (need_bias) {
    py::object a = output_array(p.op, "grad_bias", x.dtype, {s.channels}, std::nullopt, &x);
    gbv = view_of(a, p.op, "grad_bias");
    gb = a;
  }
  {
    py::gil_scoped_release release;
    batch_norm_backward(p, gy, x, ops.ptrs(), sm ? &*sm : nullptr, si ? &*si : nullptr,
                        gxv ? &*gxv : nullptr, gwv ? &*gwv : nullptr, gbv ? &*gbv : nullptr);
  }
  return py::make_tuple(gx, gw, gb);
}

py::object local_response_norm(const py::object& input, const LrnParams& p, const OptArray& out) {
  const TensorView x = view_of(input, p.op, "input");
  lrn_check(p, x);
  py::object y = output_array(p.op, "output", x.dtype, sizes_of(x), out, &x);
  const TensorView yv = view_of(y, p.op, "out");
  {
    py::gil_scoped_release release;
    local_response_norm(p, x, yv);
  }
  return y;
}

py::object local_response_norm_backward(const py::object& grad_output, const py::object& input,
                                        const LrnParams& p, const OptArray& out) {
  const TensorView gy = view_of(grad_output, p.op, "grad_output");
  const TensorView x = view_of(input, p.op, "input");
  lrn_check(p, x);
  py::object gx = output_array(p.op, "grad_input", x.dtype, sizes_of(x), out, &x);
  const TensorView gxv = view_of(gx, p.op, "out");
  {
    py::gil_scoped_release release;
    local_response_norm_backward(p, gy, x, gxv);
  }
  return gx;
}

}  // namespace

void bind_norm(py::module_& m) {
  py::class_<BatchNormParams>(m, "BatchNormParams", "Batch-norm options (see normalization.py)")
      .def(py::init<>())
      .def_readwrite("training", &BatchNormParams::training)
      .def_readwrite("momentum", &BatchNormParams::momentum)
      .def_readwrite("eps", &BatchNormParams::eps)
      .def_readwrite("channels_last", &BatchNormParams::channels_last)
      .def_readwrite("op", &BatchNormParams::op);
  py::class_<LrnParams>(m, "LrnParams", "Local-response-norm options (see normalization.py)")
      .def(py::init<>())
      .def_readwrite("size", &LrnParams::size)
      .def_readwrite("alpha", &LrnParams::alpha)
      .def_readwrite("beta", &LrnParams::beta)
      .def_readwrite("k", &LrnParams::k)
      .def_readwrite("channels_last", &LrnParams::channels_last)
      .def_readwrite("op", &LrnParams::op);

  m.def("batch_norm", &batch_norm, py::arg("input"), py::arg("running_mean"),
        py::arg("running_var"), py::arg("weight"), py::arg("bias"), py::arg("params"),
        py::arg("return_stats") = false, py::arg("out") = py::none());
  m.def("batch_norm_backward", &batch_norm_backward, py::arg("grad_output"), py::arg("input"),
        py::arg("running_mean"), py::arg("running_var"), py::arg("weight"), py::arg("params"),
        py::arg("save_mean"), py::arg("save_invstd"), py::arg("need_input"),
        py::arg("need_weight"), py::arg("need_bias"), py::arg("out_input") = py::none());
  m.def("local_response_norm", &local_response_norm, py::arg("input"), py::arg("params"),
        py::arg("out") = py::none());
  m.def("local_response_norm_backward", &local_response_norm_backward, py::arg("grad_output"),
        py::arg("input"), py::arg("params"), py::arg("out") = py::none());
}

}  // namespace convcore::bindings
