// SPDX-License-Identifier: MIT
// The one place that chooses a convolution algorithm: an ordered list of
// candidates, most specialised first, each able to say why it does not apply.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "dispatch/algorithm.h"
#include "ops/conv_params.h"

namespace convcore {

struct Choice {
  Algo algo = Algo::im2col_gemm;
  std::string reason;
  int64_t workspace_bytes = 0;  // scratch per thread, held and reused across calls
  int threads = 1;             // CPU worker threads (0 on the GPU)
  std::string math;            // the arithmetic it runs: "float32", "tf32 tensor cores", ...
  std::vector<std::pair<Algo, std::string>> rejected;  // earlier candidates and why not
};

// Throws ArgumentError when `forced` cannot run this problem on `device`.
// On the GPU the choice also depends on the math mode (dispatch/math_mode.h).
Choice select_conv(const ConvProblem& prob, ConvPass pass, std::optional<Algo> forced,
                   Device device = Device::cpu);

}  // namespace convcore
