// SPDX-License-Identifier: MIT
#include "dispatch/select.h"

#include "core/error.h"
#include "core/parallel.h"
#include "cpu/conv.h"
#include "cpu/gemm/gemm.h"

namespace convcore {
namespace {

constexpr Algo kCandidates[] = {Algo::depthwise_direct, Algo::gemm_1x1, Algo::im2col_gemm};

// Why `algo` cannot run `prob`, or an empty string when it can.
std::string why_not(Algo algo, const ConvProblem& prob) {
  switch (algo) {
    case Algo::depthwise_direct:
      if (!prob.is_depthwise())
        return str_cat("not depthwise (groups=", prob.p.groups, ", in_channels=", prob.cin, ")");
      return "";
    case Algo::gemm_1x1:
      if (!prob.is_pointwise()) return "needs a 1x1 kernel with stride 1 and no padding";
      return "";
    case Algo::im2col_gemm:
      return "";
  }
  return "unknown algorithm";
}

std::string why(Algo algo, const ConvProblem& prob, ConvPass pass) {
  switch (algo) {
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
    default: return "im2col_gemm";
  }
}

Algo parse_algo(const std::string& name) {
  for (Algo a : kCandidates)
    if (name == algo_name(a)) return a;
  throw_argument_error("algorithm must be one of 'depthwise_direct', 'gemm_1x1', "
                       "'im2col_gemm' or None, got '", name, "'");
}

const char* pass_name(ConvPass pass) {
  switch (pass) {
    case ConvPass::forward: return "forward";
    case ConvPass::backward_input: return "backward_input";
    default: return "backward_weight";
  }
}

Choice select_conv(const ConvProblem& prob, ConvPass pass, std::optional<Algo> forced) {
  Choice choice;
  choice.threads = get_num_threads();
  if (forced) {
    const std::string no = why_not(*forced, prob);
    CC_CHECK_ARG(no.empty(), prob.p.op, ": algorithm='", algo_name(*forced),
                 "' cannot run this problem: ", no);
    choice.algo = *forced;
    choice.reason = str_cat("forced by algorithm='", algo_name(*forced), "'; ", why(*forced, prob, pass));
  } else {
    for (Algo a : kCandidates) {
      std::string no = why_not(a, prob);
      if (no.empty()) {
        choice.algo = a;
        choice.reason = why(a, prob, pass);
        break;
      }
      choice.rejected.emplace_back(a, std::move(no));
    }
  }
  choice.workspace_bytes = workspace_bytes(choice.algo, prob, pass);
  return choice;
}

}  // namespace convcore
