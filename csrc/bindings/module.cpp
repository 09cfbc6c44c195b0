// SPDX-License-Identifier: MIT
#include <pybind11/pybind11.h>

#include "core/error.h"
#include "cuda/runtime.h"

namespace py = pybind11;

namespace convcore::bindings {
void bind_ops(py::module_& m);
void bind_pool(py::module_& m);
void bind_adaptive_pool(py::module_& m);
void bind_norm(py::module_& m);
void bind_layers(py::module_& m);
void bind_runtime(py::module_& m);
void bind_device_array(py::module_& m);
void bind_tensor_ops(py::module_& m);
void bind_optim(py::module_& m);
}  // namespace convcore::bindings

PYBIND11_MODULE(_C, m) {
  m.doc() = "convcore native core: dispatcher, CPU kernels, GEMM";
  m.attr("__version__") = CONVCORE_VERSION;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const convcore::DTypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const convcore::ArgumentError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const convcore::cuda::CudaError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });
  convcore::bindings::bind_device_array(m);
  convcore::bindings::bind_ops(m);
  convcore::bindings::bind_pool(m);
  convcore::bindings::bind_adaptive_pool(m);
  convcore::bindings::bind_norm(m);
  convcore::bindings::bind_layers(m);
  convcore::bindings::bind_runtime(m);
  convcore::bindings::bind_tensor_ops(m);
  convcore::bindings::bind_optim(m);
}
