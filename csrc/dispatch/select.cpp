// SPDX-License-Identifier: MIT
#include "dispatch/select.h"

#include "core/error.h"
#include "core/parallel.h"
#include "cpu/conv.h"
#include "cpu/gemm/gemm.h"
#include "dispatch/math_mode.h"

namespace convcore {
namespace {

// Most specialised first; the last one of each device runs every problem.
constexpr Algo kCpuCandidates[] = {Algo::depthwise_direct, Algo::gemm_1x1, Algo::im2col_gemm};
constexpr Algo kCudaCandidates[] = {Algo::depthwise_direct, Algo::gemm_1x1, Algo::implicit_gemm};
constexpr Algo kAll[] = {Algo::depthwise_direct, Algo::gemm_1x1, Algo::im2col_gemm,
                         Algo::implicit_gemm};

// Why `algo` cannot run `prob` on `device`, or an empty string when it can.
std::string why_not(Algo algo, const ConvProblem& prob, Device device) {
  if (algo == Algo::im2col_gemm && device == Device::cuda)
    return "runs on the CPU only (the GPU's general algorithm is implicit_gemm)";
  if (algo == Algo::implicit_gemm && device == Device::cpu)
    return "runs on the GPU only (the CPU's general algorithm is im2col_gemm)";
  switch (algo) {
    case Algo::depthwise_direct:
      if (!prob.is_depthwise())
        return str_cat("not depthwise (groups=", prob.p.groups, ", in_channels=", prob.cin, ")");
      return "";
    case Algo::gemm_1x1:
      if (!prob.is_pointwise()) return "needs a 1x1 kernel with stride 1 and no padding";
      return "";
    case Algo::im2col_gemm:
    case Algo::implicit_gemm:
      return "";
  }
  return "unknown algorithm";
}

// The arithmetic a GPU GEMM-based pass runs in: float64 stays float64, float32
// follows the math mode.
std::string gpu_math(Algo algo, const ConvProblem& prob) {
  if (prob.dtype == DType::f64) return "float64 (SIMT FMA)";
  const MathMode mode = math_mode();
  if (algo == Algo::depthwise_direct || mode == MathMode::fp32) return "float32 (SIMT FMA)";
  return str_cat(math_mode_name(mode), " tensor cores (WMMA), float32 accumulation");
}

std::string why_gpu(Algo algo, const ConvProblem& prob, ConvPass pass) {
  switch (algo) {
    case Algo::depthwise_direct:
      return str_cat("depthwise (groups == in_channels == ", prob.cin, ", channel multiplier ",
                     prob.cout_g(), "): direct kernel, one thread per ",
                     pass == ConvPass::backward_weight ? "weight tap (block reduction)"
                     : pass == ConvPass::backward_input ? "input element (gather)"
                                                        : "output element");
    case Algo::gemm_1x1:
      return "1x1 kernel, stride 1, no padding: a tiled GEMM on the activations as they are";
    default:
      break;
  }
  const bool modes = prob.p.pad_mode != PadMode::constant;
  if (pass == ConvPass::backward_input)
    return str_cat("implicit GEMM of W^T (", prob.k_gemm(), " x ", prob.cout_g(),
                   ") with grad_output gathered per input pixel in shared-memory tiles (no col2im)",
                   modes ? "; the padded gradient is then folded back (padding mode)" : "");
  if (pass == ConvPass::backward_weight)
    return str_cat("implicit GEMM of ", prob.cout_g(), " x ", prob.k_gemm(), " over the ",
                   prob.n * prob.out_pixels(),
                   " output pixels, split along them with a deterministic reduction");
  return str_cat("implicit GEMM of ", prob.cout_g(), " x ", prob.n * prob.out_pixels(), " x ",
                 prob.k_gemm(), " per group: patches gathered into shared-memory tiles, never "
                 "materialized");
}

std::string why(Algo algo, const ConvProblem& prob, ConvPass pass) {
  switch (algo) {
    case Algo::implicit_gemm:
      return why_gpu(algo, prob, pass);
    case Algo::depthwise_direct:
      return str_cat("depthwise (groups == in_channels == ", prob.cin, ", channel multiplier ",
                     prob.cout_g(), "): direct SIMD loops over padded channel planes");
    case Algo::gemm_1x1:
      return "1x1 kernel, stride 1, no padding: the input is already the GEMM operand";
    case Algo::im2col_gemm:
      if (pass == ConvPass::backward_input && cpu::backward_input_as_forward(prob))
        return "stride 1, constant padding: grad_input is the forward convolution of the padded "
               "grad_output with the flipped, channel-swapped kernel (no col2im)";
      if (pass == ConvPass::backward_input)
        return str_cat("GEMM of W^T (", prob.k_gemm(), " x ", prob.cout_g(),
                       ") with grad_output into a cache-sized tile, scattered back (col2im)");
      return str_cat("general case: GEMM of ", prob.cout_g(), " x ", prob.out_pixels(), " x ",
                     prob.k_gemm(), " per image and group (images batched into one GEMM "
                     "per group), patches gathered while packing");
  }
  return "";
}

int64_t workspace_bytes(Algo algo, const ConvProblem& prob, ConvPass pass) {
  const int64_t elem = dtype_size(prob.dtype);
  if (algo == Algo::depthwise_direct) {
    const int64_t plane = (prob.h + prob.p.pad[0] + prob.p.pad[1]) *
                          cpu::depthwise_row_stride(prob.w + prob.p.pad[2] + prob.p.pad[3], elem);
    const int64_t weights = pass == ConvPass::backward_weight ? prob.cout * prob.kh * prob.kw : 0;
    return (plane + prob.ow + weights) * elem;
  }
  int64_t bytes = cpu::gemm_workspace_bytes(elem);
  // Flipped weights (the dual forward), or the packed transposed weights
  // plus the col2im tile.
  if (algo == Algo::im2col_gemm && pass == ConvPass::backward_input)
    bytes += prob.cout * prob.k_gemm() * elem +
             (cpu::backward_input_as_forward(prob) ? 0 : cpu::conv_col_tile_bytes(prob));
  if (pass == ConvPass::backward_weight) bytes += prob.cout * prob.k_gemm() * elem;
  return bytes;
}

}  // namespace

const char* algo_name(Algo algo) {
  switch (algo) {
    case Algo::depthwise_direct: return "depthwise_direct";
    case Algo::gemm_1x1: return "gemm_1x1";
    case Algo::implicit_gemm: return "implicit_gemm";
    default: return "im2col_gemm";
  }
}

Algo parse_algo(const std::string& name) {
  for (Algo a : kAll)
    if (name == algo_name(a)) return a;
  throw_argument_error("algorithm must be one of 'depthwise_direct', 'gemm_1x1', "
                       "'im2col_gemm' (CPU), 'implicit_gemm' (GPU) or None, got '", name, "'");
}

const char* pass_name(ConvPass pass) {
  switch (pass) {
    case ConvPass::forward: return "forward";
    case ConvPass::backward_input: return "backward_input";
    default: return "backward_weight";
  }
}

Choice select_conv(const ConvProblem& prob, ConvPass pass, std::optional<Algo> forced,
                   Device device) {
  const bool gpu = device == Device::cuda;
  const auto reason = [&](Algo a) { return gpu ? why_gpu(a, prob, pass) : why(a, prob, pass); };
  Choice choice;
  choice.threads = gpu ? 0 : get_num_threads();
  if (forced) {
    const std::string no = why_not(*forced, prob, device);
    CC_CHECK_ARG(no.empty(), prob.p.op, ": algorithm='", algo_name(*forced),
                 "' cannot run this problem: ", no);
    choice.algo = *forced;
    choice.reason = str_cat("forced by algorithm='", algo_name(*forced), "'; ", reason(*forced));
  } else {
    const auto& candidates = gpu ? kCudaCandidates : kCpuCandidates;
    for (Algo a : candidates) {
      std::string no = why_not(a, prob, device);
      if (no.empty()) {
        choice.algo = a;
        choice.reason = reason(a);
        break;
      }
      choice.rejected.emplace_back(a, std::move(no));
    }
  }
  // GPU scratch comes from the caching allocator per call, not a held workspace.
  choice.workspace_bytes = gpu ? 0 : workspace_bytes(choice.algo, prob, pass);
  choice.math = gpu ? gpu_math(choice.algo, prob) : dtype_name(prob.dtype);
  return choice;
}

}  // namespace convcore
