// SPDX-License-Identifier: MIT
#include "bindings/arrays.h"

namespace convcore::bindings {

void bind_layers(py::module_& m) { (void)m; }

}  // namespace convcore::bindings
