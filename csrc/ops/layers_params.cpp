// SPDX-License-Identifier: MIT
#include "ops/layers_params.h"

#include <cmath>

#include "core/error.h"

namespace convcore {
namespace {

int64_t product(std::vector<int64_t>::const_iterator begin, std::vector<int64_t>::const_iterator end) {
  int64_t n = 1;
  for (auto it = begin; it != end; ++it) n *= *it;
  return n;
}

}  // namespace

std::string shape_string(const std::vector<int64_t>& sizes) {
  std::string s = "(";
  for (size_t i = 0; i < sizes.size(); ++i) s += str_cat(i ? ", " : "", sizes[i]);
  return s + (sizes.size() == 1 ? ",)" : ")");
}

Reduction parse_reduction(const std::string& op, const std::string& name) {
  if (name == "none") return Reduction::none;
  if (name == "mean") return Reduction::mean;
  if (name == "sum") return Reduction::sum;
  throw_argument_error(op, ": reduction must be 'none', 'mean' or 'sum', got '", name, "'");
}

SoftmaxShape softmax_shape(const std::string& op, const std::vector<int64_t>& sizes, int64_t dim) {
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(sizes.size()));
  CC_CHECK_ARG(dim >= -rank && dim < rank, op, ": dim ", dim, " is out of range for an input of ",
               sizes.size(), " dimensions (shape ", shape_string(sizes), "); expected -", rank,
               " <= dim < ", rank);
  if (sizes.empty()) return {};
  const auto d = dim < 0 ? dim + rank : dim;
  return {product(sizes.begin(), sizes.begin() + d), sizes[d],
          product(sizes.begin() + d + 1, sizes.end())};
}

SoftmaxShape cross_entropy_shape(const std::string& op, const std::vector<int64_t>& logits,
                                 const std::vector<int64_t>& target,
                                 const std::vector<int64_t>* weight, bool channels_last) {
  CC_CHECK_ARG(!logits.empty(), op, ": input must have at least 1 dimension (C,) or (N, C, ...), got shape ",
               shape_string(logits));
  SoftmaxShape s;
  if (logits.size() == 1) {
    CC_CHECK_ARG(target.empty(), op, ": an unbatched input of shape ", shape_string(logits),
                 " needs a 0-d target, got shape ", shape_string(target));
    s.classes = logits[0];
  } else if (channels_last && logits.size() > 2) {
    const std::vector<int64_t> expect(logits.begin(), logits.end() - 1);
    CC_CHECK_ARG(target == expect, op, ": target has shape ", shape_string(target), ", expected ",
                 shape_string(expect), " for channels-last input of shape ", shape_string(logits));
    s = {product(expect.begin(), expect.end()), logits.back(), 1};
  } else {
    std::vector<int64_t> expect{logits[0]};
    expect.insert(expect.end(), logits.begin() + 2, logits.end());
    CC_CHECK_ARG(target == expect, op, ": target has shape ", shape_string(target), ", expected ",
                 shape_string(expect), " for input of shape ", shape_string(logits));
    s = {logits[0], logits[1], product(logits.begin() + 2, logits.end())};
  }
  CC_CHECK_ARG(s.classes > 0, op, ": input has no classes (shape ", shape_string(logits), ")");
  if (weight)
    CC_CHECK_ARG(weight->size() == 1 && (*weight)[0] == s.classes, op, ": weight has shape ",
                 shape_string(*weight), ", expected (", s.classes, ",) for input of shape ",
                 shape_string(logits));
  return s;
}

void check_label_smoothing(const std::string& op, double label_smoothing) {
  CC_CHECK_ARG(label_smoothing >= 0.0 && label_smoothing <= 1.0, op,
               ": label_smoothing must be in [0, 1], got ", label_smoothing);
}

void check_same_shape(const std::string& op, const char* a_name, const std::vector<int64_t>& a,
                      const char* b_name, const std::vector<int64_t>& b) {
  CC_CHECK_ARG(a == b, op, ": ", a_name, " has shape ", shape_string(a), " but ", b_name,
               " has shape ", shape_string(b), "; they must be equal");
}

void check_dropout_p(const std::string& op, double p) {
  CC_CHECK_ARG(p >= 0.0 && p <= 1.0, op, ": dropout probability p must be in [0, 1], got ", p);
}

LinearShape linear_shape(const std::string& op, const std::vector<int64_t>& input,
                         const std::vector<int64_t>& weight, const std::vector<int64_t>* bias) {
  CC_CHECK_ARG(weight.size() == 2, op, ": weight must be 2-D (out_features, in_features), got shape ",
               shape_string(weight));
  CC_CHECK_ARG(!input.empty() && input.back() == weight[1], op, ": input has shape ",
               shape_string(input), " but weight has shape ", shape_string(weight),
               "; input's last dimension must equal weight's in_features (", weight[1], ")");
  if (bias)
    CC_CHECK_ARG(bias->size() == 1 && (*bias)[0] == weight[0], op, ": bias has shape ",
                 shape_string(*bias), ", expected (", weight[0], ",) for weight of shape ",
                 shape_string(weight));
  return {product(input.begin(), input.end() - 1), weight[1], weight[0]};
}

}  // namespace convcore
