// SPDX-License-Identifier: MIT
// Threads, ISA, explain(), shape arithmetic and the raw GEMM (for tests and
// benchmarks).
#include <pybind11/stl.h>

#include "bindings/arrays.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/parallel.h"
#include "cpu/gemm/gemm.h"
#include "dispatch/dispatch.h"

namespace convcore::bindings {
namespace {

ConvPass parse_pass(const std::string& pass) {
  if (pass == "backward_input") return ConvPass::backward_input;
  if (pass == "backward_weight") return ConvPass::backward_weight;
  CC_CHECK_ARG(pass == "forward", "explain: pass must be 'forward', 'backward_input' or "
               "'backward_weight', got '", pass, "'");
  return ConvPass::forward;
}

// The convolution pass a transposed convolution's pass runs (dispatch.h).
ConvPass adjoint_pass(ConvPass pass) {
  if (pass == ConvPass::forward) return ConvPass::backward_input;
  if (pass == ConvPass::backward_input) return ConvPass::forward;
  return pass;
}

py::dict explain(const std::array<int64_t, 4>& input_shape,
                 const std::array<int64_t, 4>& weight_shape, bool has_bias, const ConvParams& p,
                 const std::string& dtype, const std::string& pass,
                 const std::optional<std::string>& algorithm, bool transposed, bool gpu) {
  CC_CHECK_ARG(dtype == "float32" || dtype == "float64",
               "explain: dtype must be 'float32' or 'float64', got '", dtype, "'");
  const DType dt = dtype == "float32" ? DType::f32 : DType::f64;
  const ConvProblem prob =
      transposed ? make_conv_transpose_problem(p, dt, input_shape, weight_shape,
                                               has_bias ? weight_shape[1] * p.groups : -1)
                 : make_conv_problem(p, dt, input_shape, weight_shape,
                                     has_bias ? weight_shape[0] : -1);
  const ConvPass which = parse_pass(pass);
  const Choice c = select_conv(prob, transposed ? adjoint_pass(which) : which,
                               algorithm ? std::optional(parse_algo(*algorithm)) : std::nullopt,
                               gpu ? Device::cuda : Device::cpu);
  py::list rejected;
  for (const auto& [algo, why] : c.rejected) rejected.append(py::make_tuple(algo_name(algo), why));
  py::dict d;
  d["op"] = p.op;
  d["pass"] = pass_name(which);
  d["algorithm"] = algo_name(c.algo);
  d["reason"] = c.reason;
  d["rejected"] = rejected;
  d["workspace_bytes"] = c.workspace_bytes;
  d["threads"] = c.threads;
  d["isa"] = isa_name(active_isa());
  d["output_shape"] = transposed ? input_shape_nchw(prob) : output_shape_nchw(prob);
  d["flops"] = prob.flops();
  d["math"] = c.math;
  return d;
}

template <class T>
void run_gemm(const py::array& a, const py::array& b, py::array& c, bool ta, bool tb, double alpha,
              double beta) {
  const int64_t m = c.shape(0), n = c.shape(1), k = ta ? a.shape(0) : a.shape(1);
  py::gil_scoped_release release;
  cpu::gemm<T>(ta, tb, m, n, k, T(alpha), static_cast<const T*>(a.data()), a.shape(1),
               static_cast<const T*>(b.data()), b.shape(1), T(beta), static_cast<T*>(c.mutable_data()),
               n, get_num_threads());
}

// C = alpha * op(A) op(B) + beta * C, in place on c (2-D, C-contiguous).
void gemm(const py::array& a, const py::array& b, py::array& c, bool trans_a, bool trans_b,
          double alpha, double beta) {
  const TensorView av = view_of(a, "gemm", "a"), bv = view_of(b, "gemm", "b");
  const TensorView cv = view_of(c, "gemm", "c");
  CC_CHECK_ARG(av.ndim == 2 && bv.ndim == 2 && cv.ndim == 2, "gemm: a, b and c must be 2-D");
  if (av.dtype != bv.dtype || av.dtype != cv.dtype)
    throw_dtype_error("gemm: a, b and c must have the same dtype");
  const int64_t m = trans_a ? av.sizes[1] : av.sizes[0], ka = trans_a ? av.sizes[0] : av.sizes[1];
  const int64_t kb = trans_b ? bv.sizes[1] : bv.sizes[0], n = trans_b ? bv.sizes[0] : bv.sizes[1];
  CC_CHECK_ARG(ka == kb && cv.sizes[0] == m && cv.sizes[1] == n, "gemm: shapes do not agree: op(a) is ",
               m, " x ", ka, ", op(b) is ", kb, " x ", n, ", c is ", cv.sizes[0], " x ", cv.sizes[1]);
  CC_CHECK_ARG(c.writeable(), "gemm: c is read-only");
  if (av.dtype == DType::f32) run_gemm<float>(a, b, c, trans_a, trans_b, alpha, beta);
  else run_gemm<double>(a, b, c, trans_a, trans_b, alpha, beta);
}

}  // namespace

void bind_runtime(py::module_& m) {
  m.def("get_num_threads", &get_num_threads);
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("detected_isa", [] { return std::string(isa_name(detected_isa())); });
  m.def("active_isa", [] { return std::string(isa_name(active_isa())); });
  m.def("set_isa", [](const std::string& name) { set_isa(parse_isa(name.c_str())); }, py::arg("isa"));
  m.def("conv_output_size", &conv_output_size, py::arg("n"), py::arg("kernel"), py::arg("stride"),
        py::arg("before"), py::arg("after"), py::arg("dilation"));
  m.def("same_padding", &same_padding, py::arg("n"), py::arg("kernel"), py::arg("stride"),
        py::arg("dilation"));
  m.def("explain", &explain, py::arg("input_shape"), py::arg("weight_shape"), py::arg("has_bias"),
        py::arg("params"), py::arg("dtype"), py::arg("pass_"), py::arg("algorithm") = py::none(), py::arg("transposed") = false,
        py::arg("gpu") = false);
  m.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("c"), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0, py::arg("beta") = 0.0);
}

}  // namespace convcore::bindings
