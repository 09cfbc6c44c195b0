// SPDX-License-Identifier: MIT
#include "dispatch/math_mode.h"

#include <atomic>

#include "core/error.h"

namespace convcore {
namespace {
std::atomic<MathMode> g_mode{MathMode::fp32};
constexpr MathMode kModes[] = {MathMode::fp32, MathMode::tf32, MathMode::fp16, MathMode::bf16};
}  // namespace

void set_math_mode(MathMode mode) { g_mode.store(mode); }
MathMode math_mode() { return g_mode.load(); }

const char* math_mode_name(MathMode mode) {
  switch (mode) {
    case MathMode::tf32: return "tf32";
    case MathMode::fp16: return "fp16";
    case MathMode::bf16: return "bf16";
    default: return "fp32";
  }
}

MathMode parse_math_mode(const std::string& name) {
  for (MathMode m : kModes)
    if (name == math_mode_name(m)) return m;
  throw_argument_error("math mode must be 'fp32', 'tf32', 'fp16' or 'bf16', got '", name, "'");
}

}  // namespace convcore
