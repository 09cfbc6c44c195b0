// SPDX-License-Identifier: MIT
#include "bindings/arrays.h"

namespace convcore::bindings {

void bind_norm(py::module_& m) { (void)m; }

}  // namespace convcore::bindings
