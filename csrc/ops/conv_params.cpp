// SPDX-License-Identifier: MIT
#include "ops/conv_params.h"

#include <limits>

#include "core/error.h"

namespace convcore {
namespace {

constexpr int64_t kMaxDim = int64_t(1) << 40;  // keeps every product below 2^63

std::string spatial(const ConvParams& p, int64_t h, int64_t w) {
  return p.spatial_dims == 1 ? str_cat(w) : str_cat(h, " x ", w);
}

std::string shape_str(const std::array<int64_t, 4>& s, const ConvParams& p, bool is_input) {
  std::array<int64_t, 4> v = s;
  if (is_input && p.nhwc) v = {s[0], s[3], s[1], s[2]};
  if (p.spatial_dims == 1) return str_cat("[", v[0], ", ", v[1], ", ", v[3], "]");
  if (is_input && p.nhwc) return str_cat("[", s[0], ", ", s[1], ", ", s[2], ", ", s[3], "]");
  return str_cat("[", v[0], ", ", v[1], ", ", v[2], ", ", v[3], "]");
}

void check_params(const ConvParams& p) {
  const char* axes[2] = {"height", "width"};
  for (int a = 2 - p.spatial_dims; a < 2; ++a) {
    CC_CHECK_ARG(p.stride[a] > 0, p.op, ": stride must be positive, got ", p.stride[a], " (",
                 axes[a], ")");
    CC_CHECK_ARG(p.stride[a] <= kMaxDim, p.op, ": stride must be at most 2^40, got ",
                 p.stride[a], " (", axes[a], ")");
    CC_CHECK_ARG(p.dilation[a] > 0, p.op, ": dilation must be positive, got ", p.dilation[a],
                 " (", axes[a], ")");
    CC_CHECK_ARG(p.dilation[a] <= kMaxDim, p.op, ": dilation must be at most 2^40, got ",
                 p.dilation[a], " (", axes[a], ")");
  }
  const char* sides[4] = {"top", "bottom", "left", "right"};
  for (int i = (p.spatial_dims == 1 ? 2 : 0); i < 4; ++i)
    CC_CHECK_ARG(p.pad[i] >= 0 && p.pad[i] <= kMaxDim, p.op, ": padding must be non-negative",
                 p.pad[i] > kMaxDim ? " and below 2^40" : "", ", got ", p.pad[i], " (",
                 sides[i], ")");
  CC_CHECK_ARG(p.groups > 0, p.op, ": groups must be a positive integer, got ", p.groups);
}

void check_pad_mode(const ConvProblem& prob) {
  const ConvParams& p = prob.p;
  if (p.pad_mode == PadMode::constant || p.pad_mode == PadMode::replicate) return;
  const char* sides[4] = {"top", "bottom", "left", "right"};
  const int64_t extent[4] = {prob.h, prob.h, prob.w, prob.w};
  const bool strict = p.pad_mode == PadMode::reflect;
  for (int i = (p.spatial_dims == 1 ? 2 : 0); i < 4; ++i) {
    const bool ok = strict ? p.pad[i] < extent[i] : p.pad[i] <= extent[i];
    CC_CHECK_ARG(ok, p.op, ": padding_mode='", pad_mode_name(p.pad_mode), "' needs padding ",
                 strict ? "smaller than" : "at most", " the input size, got padding ",
                 p.pad[i], " (", sides[i], ") for input size ", extent[i]);
  }
}

void check_sizes(const ConvParams& p, const char* what, const std::array<int64_t, 4>& s,
                 bool is_input) {
  for (int64_t v : s) {
    CC_CHECK_ARG(v >= 0, p.op, ": ", what, " size ", shape_str(s, p, is_input), " is negative");
    CC_CHECK_ARG(v <= kMaxDim, p.op, ": ", what, " size ", shape_str(s, p, is_input),
                 " is too large (a dimension above 2^40)");
  }
}

void check_dilated_kernel(const ConvParams& p, int64_t kh, int64_t kw) {
  for (int a = 0; a < 2; ++a) {
    const int64_t k = a == 0 ? kh : kw;
    CC_CHECK_ARG(static_cast<long double>(p.dilation[a]) * (k - 1) < 0x1p62L, p.op,
                 ": the dilated kernel size dilation * (kernel - 1) + 1 = ", p.dilation[a],
                 " * ", k - 1, " + 1 overflows int64 (above 2^62)");
  }
}

// Everything but check_params: the transposed path hands in negative
// trailing padding of its own making.
ConvProblem conv_problem_of(const ConvParams& params, DType dtype,
                            const std::array<int64_t, 4>& input,
                            const std::array<int64_t, 4>& weight, int64_t bias_len) {
  ConvProblem prob;
  prob.p = params;
  prob.dtype = dtype;
  const ConvParams& p = prob.p;
  if (p.nhwc) {
    prob.n = input[0], prob.h = input[1], prob.w = input[2], prob.cin = input[3];
  } else {
    prob.n = input[0], prob.cin = input[1], prob.h = input[2], prob.w = input[3];
  }
  prob.cout = weight[0], prob.kh = weight[2], prob.kw = weight[3];
  check_sizes(p, "input", input, true);
  check_sizes(p, "weight", weight, false);
  CC_CHECK_ARG(prob.kh >= 1 && prob.kw >= 1, p.op, ": weight of size ",
               shape_str(weight, p, false), " has an empty kernel");
  CC_CHECK_ARG(prob.cout >= p.groups && prob.cout % p.groups == 0, p.op, ": given groups=",
               p.groups, ", expected weight to be divisible by ", p.groups,
               " at dimension 0, but got weight of size ", shape_str(weight, p, false));
  CC_CHECK_ARG(prob.cin == weight[1] * p.groups, p.op, ": given groups=", p.groups,
               ", weight of size ", shape_str(weight, p, false), ", expected input ",
               shape_str(input, p, true), " to have ", weight[1] * p.groups,
               " channels, but got ", prob.cin, " channels instead");
  CC_CHECK_ARG(bias_len < 0 || bias_len == prob.cout, p.op,
               ": expected bias to be 1-dimensional with ", prob.cout,
               " elements (weight has ", prob.cout, " output channels), but got ", bias_len);
  prob.has_bias = bias_len >= 0;

  CC_CHECK_ARG(prob.h >= 1 && prob.w >= 1, p.op, ": input ", shape_str(input, p, true),
               " has a zero-size spatial dimension");
  check_dilated_kernel(p, prob.kh, prob.kw);
  const int64_t keh = effective_kernel(prob.kh, p.dilation[0]);
  const int64_t kew = effective_kernel(prob.kw, p.dilation[1]);
  const int64_t ph = prob.h + p.pad[0] + p.pad[1], pw = prob.w + p.pad[2] + p.pad[3];
  CC_CHECK_ARG(ph >= keh && pw >= kew, p.op,
               ": padded input size per channel (", spatial(p, ph, pw),
               ") is smaller than the dilated kernel size (", spatial(p, keh, kew),
               "); input ", shape_str(input, p, true), ", weight ", shape_str(weight, p, false));
  prob.oh = conv_output_size(prob.h, prob.kh, p.stride[0], p.pad[0], p.pad[1], p.dilation[0]);
  prob.ow = conv_output_size(prob.w, prob.kw, p.stride[1], p.pad[2], p.pad[3], p.dilation[1]);
  check_pad_mode(prob);

  // Every array the problem touches must be addressable in bytes with int64.
  const long double limit = static_cast<long double>(std::numeric_limits<int64_t>::max()) / 8;
  const long double sizes[3] = {
      static_cast<long double>(prob.n) * prob.cin * prob.h * prob.w,
      static_cast<long double>(prob.n) * prob.cout * prob.oh * prob.ow,
      static_cast<long double>(prob.cout) * prob.cin_g() * prob.kh * prob.kw};
  for (long double s : sizes)
    CC_CHECK_ARG(s <= limit, p.op, ": the element count of input ", shape_str(input, p, true),
                 ", weight ", shape_str(weight, p, false), " or output overflows int64");
  return prob;
}

int64_t transposed_output_size(const ConvParams& p, int axis, int64_t n, int64_t k) {
  const long double size = static_cast<long double>(n - 1) * p.stride[axis] -
                           p.pad[2 * axis] - p.pad[2 * axis + 1] +
                           static_cast<long double>(p.dilation[axis]) * (k - 1) +
                           p.output_padding[axis] + 1;
  CC_CHECK_ARG(size <= kMaxDim, p.op, ": the output size (input - 1) * stride + dilation * "
               "(kernel - 1) + output_padding + 1 - padding is too large (above 2^40)");
  return static_cast<int64_t>(size);
}

}  // namespace

bool ConvProblem::is_pointwise() const {
  return kh == 1 && kw == 1 && p.stride[0] == 1 && p.stride[1] == 1 && p.pad[0] == 0 &&
         p.pad[1] == 0 && p.pad[2] == 0 && p.pad[3] == 0;
}

ConvProblem make_conv_problem(const ConvParams& params, DType dtype,
                              const std::array<int64_t, 4>& input,
                              const std::array<int64_t, 4>& weight, int64_t bias_len) {
  check_params(params);
  return conv_problem_of(params, dtype, input, weight, bias_len);
}

ConvProblem make_conv_transpose_problem(const ConvParams& params, DType dtype,
                                        const std::array<int64_t, 4>& input,
                                        const std::array<int64_t, 4>& weight, int64_t bias_len) {
  check_params(params);
  const ConvParams& p = params;
  const char* axes[2] = {"height", "width"};
  for (int a = 2 - p.spatial_dims; a < 2; ++a)
    CC_CHECK_ARG(p.output_padding[a] >= 0 &&
                     (p.output_padding[a] < p.stride[a] || p.output_padding[a] < p.dilation[a]),
                 p.op, ": output_padding must be non-negative and smaller than either stride "
                 "or dilation, got output_padding ", p.output_padding[a], ", stride ",
                 p.stride[a], ", dilation ", p.dilation[a], " (", axes[a], ")");
  check_sizes(p, "input", input, true);
  check_sizes(p, "weight", weight, false);
  const int64_t cin = p.nhwc ? input[3] : input[1];
  const int64_t h = p.nhwc ? input[1] : input[2], w = p.nhwc ? input[2] : input[3];
  CC_CHECK_ARG(weight[0] == cin, p.op, ": weight of size ", shape_str(weight, p, false),
               " (in_channels, out_channels / groups, ...) expects input ",
               shape_str(input, p, true), " to have ", weight[0], " channels, but got ", cin,
               " channels instead");
  CC_CHECK_ARG(cin >= p.groups && cin % p.groups == 0, p.op, ": given groups=", p.groups,
               ", expected weight to be divisible by ", p.groups,
               " at dimension 0, but got weight of size ", shape_str(weight, p, false));
  const int64_t cout = weight[1] * p.groups;
  CC_CHECK_ARG(bias_len < 0 || bias_len == cout, p.op,
               ": expected bias to be 1-dimensional with ", cout, " elements (weight has ",
               weight[1], " x groups=", p.groups, " output channels), but got ", bias_len);
  CC_CHECK_ARG(weight[2] >= 1 && weight[3] >= 1, p.op, ": weight of size ",
               shape_str(weight, p, false), " has an empty kernel");
  CC_CHECK_ARG(h >= 1 && w >= 1, p.op, ": input ", shape_str(input, p, true),
               " has a zero-size spatial dimension");
  check_dilated_kernel(p, weight[2], weight[3]);
  const int64_t oh = transposed_output_size(p, 0, h, weight[2]);
  const int64_t ow = transposed_output_size(p, 1, w, weight[3]);
  CC_CHECK_ARG(oh >= 1 && ow >= 1, p.op, ": given input size per channel (", spatial(p, h, w),
               "), the calculated output size per channel (", spatial(p, oh, ow),
               ") is too small");
  ConvParams conv = p;
  conv.pad = {p.pad[0], p.pad[1] - p.output_padding[0], p.pad[2], p.pad[3] - p.output_padding[1]};
  const std::array<int64_t, 4> conv_input =
      p.nhwc ? std::array<int64_t, 4>{input[0], oh, ow, cout}
             : std::array<int64_t, 4>{input[0], cout, oh, ow};
  return conv_problem_of(conv, dtype, conv_input, weight, -1);
}

std::array<int64_t, 4> input_shape_nchw(const ConvProblem& prob) {
  return {prob.n, prob.cin, prob.h, prob.w};
}
std::array<int64_t, 4> output_shape_nchw(const ConvProblem& prob) {
  return {prob.n, prob.cout, prob.oh, prob.ow};
}
std::array<int64_t, 4> weight_shape(const ConvProblem& prob) {
  return {prob.cout, prob.cin_g(), prob.kh, prob.kw};
}

void check_shape(const ConvProblem& prob, const char* what, const TensorView& t,
                 const std::array<int64_t, 4>& expected_nchw) {
  const bool layout = std::string(what) != "weight" && std::string(what) != "grad_weight";
  Act4 a = layout ? act4_of(t, prob.p.nhwc)
                  : Act4{t.sizes[0], t.sizes[1], t.sizes[2], t.sizes[3], 0, 0, 0, 0};
  const std::array<int64_t, 4> got{a.n, a.c, a.h, a.w};
  CC_CHECK_ARG(t.ndim == 4 && got == expected_nchw, prob.p.op, ": ", what,
               " has shape ", shape_str(t.sizes, prob.p, layout), ", expected ",
               shape_str(layout && prob.p.nhwc
                             ? std::array<int64_t, 4>{expected_nchw[0], expected_nchw[2],
                                                      expected_nchw[3], expected_nchw[1]}
                             : expected_nchw,
                         prob.p, layout));
}

}  // namespace convcore
