// SPDX-License-Identifier: MIT
// Binding of the fused optimizer step (cuda/optim.h): convcore.optim calls it
// once per parameter group (and dtype) when the group's parameters are on a
// GPU; the CPU path stays in Python.
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "bindings/arrays.h"
#include "core/error.h"
#if CONVCORE_WITH_CUDA
#include "cuda/optim.h"
#endif

namespace convcore::bindings {
namespace {

using OptionalArray = std::optional<py::object>;

#if CONVCORE_WITH_CUDA
cuda::OptimKind parse_kind(const std::string& kind) {
  if (kind == "sgd") return cuda::OptimKind::sgd;
  if (kind == "adagrad") return cuda::OptimKind::adagrad;
  if (kind == "rmsprop") return cuda::OptimKind::rmsprop;
  if (kind == "adam") return cuda::OptimKind::adam;
  CC_CHECK_ARG(kind == "adadelta", "optim_step: unknown optimizer '", kind, "'");
  return cuda::OptimKind::adadelta;
}

double hyper_of(const py::dict& hyper, const char* name) {
  return hyper.contains(name) ? py::cast<double>(hyper[name]) : 0.0;
}
#endif

// One fused step over parallel lists: params[i], grads[i], states[i] (up to 3
// arrays or None, per optim.h), lrs[i], weight_decays[i], aux[i]; hyper holds
// the group's momentum, dampening, alpha, eps, beta1, beta2, rho, nesterov,
// centered, amsgrad (missing ones are 0 / False).
void optim_step(const std::string& kind, const std::vector<py::object>& params,
                const std::vector<py::object>& grads,
                const std::vector<std::vector<OptionalArray>>& states,
                const std::vector<double>& lrs, const std::vector<double>& weight_decays,
                const std::vector<double>& aux, const py::dict& hyper) {
  const char* op = "optim_step";
  const size_t n = params.size();
  CC_CHECK_ARG(grads.size() == n && states.size() == n && lrs.size() == n &&
                   weight_decays.size() == n && aux.size() == n,
               op, ": the per-parameter lists must have the same length");
  if (n == 0) return;
  const TensorView first = view_of(params[0], op, "params[0]");
  CC_CHECK_ARG(on_cuda(first), op, ": parameters must be on a CUDA device");
#if CONVCORE_WITH_CUDA
  std::vector<cuda::OptimTensor> tensors(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string pname = "params[" + std::to_string(i) + "]";
    const std::string gname = "grads[" + std::to_string(i) + "]";
    const TensorView p = view_of(params[i], op, pname.c_str());
    const TensorView g = view_of(grads[i], op, gname.c_str());
    check_same_device(op, {{"params[0]", &first}, {pname.c_str(), &p}, {gname.c_str(), &g}});
    if (p.dtype != first.dtype || g.dtype != first.dtype)
      throw_dtype_error(op, ": ", pname, " and its gradient must be ", dtype_name(first.dtype));
    CC_CHECK_ARG(g.numel() == p.numel(), op, ": ", gname, " has ", g.numel(), " elements, ",
                 pname, " ", p.numel());
    CC_CHECK_ARG(states[i].size() <= 3, op, ": at most 3 state arrays per parameter");
    cuda::OptimTensor& t = tensors[i];
    t.param = p.data;
    t.grad = g.data;
    t.numel = p.numel();
    t.lr = lrs[i];
    t.weight_decay = weight_decays[i];
    t.aux = aux[i];
    for (size_t s = 0; s < states[i].size(); ++s) {
      if (!states[i][s] || states[i][s]->is_none()) continue;
      const std::string sname = "state " + std::to_string(s) + " of " + pname;
      const TensorView sv = view_of(*states[i][s], op, sname.c_str());
      check_same_device(op, {{pname.c_str(), &p}, {sname.c_str(), &sv}});
      if (sv.dtype != p.dtype) throw_dtype_error(op, ": ", sname, " must be ", dtype_name(p.dtype));
      CC_CHECK_ARG(sv.numel() == p.numel(), op, ": ", sname, " has ", sv.numel(), " elements, ",
                   pname, " ", p.numel());
      t.state[s] = sv.data;
    }
  }
  cuda::OptimHyper h;
  h.momentum = hyper_of(hyper, "momentum");
  h.dampening = hyper_of(hyper, "dampening");
  h.alpha = hyper_of(hyper, "alpha");
  h.eps = hyper_of(hyper, "eps");
  h.beta1 = hyper_of(hyper, "beta1");
  h.beta2 = hyper_of(hyper, "beta2");
  h.rho = hyper_of(hyper, "rho");
  h.nesterov = hyper_of(hyper, "nesterov") != 0;
  h.centered = hyper_of(hyper, "centered") != 0;
  h.amsgrad = hyper_of(hyper, "amsgrad") != 0;
  cuda::multi_tensor_step(parse_kind(kind), h, tensors, first.dtype, first.device_index);
#else
  (void)kind; (void)hyper;
  throw_argument_error(op, ": this convcore was built without CUDA");
#endif
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("optim_step", &optim_step, py::arg("kind"), py::arg("params"), py::arg("grads"),
        py::arg("states"), py::arg("lrs"), py::arg("weight_decays"), py::arg("aux"),
        py::arg("hyper"));
}

}  // namespace convcore::bindings
