// SPDX-License-Identifier: MIT
// The precision float32 convolutions and GEMMs run at on the GPU (the CPU
// always computes in the array's dtype). Anything but fp32 rounds the inputs
// to TF32 / FP16 / BF16 for the tensor cores and accumulates in float32;
// float64 always runs in float64.
#pragma once
#include <string>

namespace convcore {

enum class MathMode { fp32, tf32, fp16, bf16 };

void set_math_mode(MathMode mode);
MathMode math_mode();
const char* math_mode_name(MathMode mode);
MathMode parse_math_mode(const std::string& name);  // ArgumentError naming the choices

}  // namespace convcore
