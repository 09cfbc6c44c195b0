// SPDX-License-Identifier: MIT
#pragma once
#include <optional>
#include <string>

namespace convcore {

// im2col_gemm runs on the CPU only, implicit_gemm on the GPU only.
enum class Algo { depthwise_direct, gemm_1x1, im2col_gemm, implicit_gemm };

// The direction of a convolution pass; the bias gradient needs no algorithm.
enum class ConvPass { forward, backward_input, backward_weight };

const char* algo_name(Algo algo);
Algo parse_algo(const std::string& name);  // throws ArgumentError naming the choices
const char* pass_name(ConvPass pass);

}  // namespace convcore
