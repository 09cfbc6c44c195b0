// SPDX-License-Identifier: MIT
#include "ops/norm_params.h"

#include <cmath>

#include "core/error.h"

namespace convcore {

NormShape norm_shape(const TensorView& t, bool channels_last) {
  const int ca = channel_axis(t.ndim, channels_last);
  NormShape s{1, t.sizes[ca], 1};
  for (int i = 0; i < ca; ++i) s.outer *= t.sizes[i];
  for (int i = ca + 1; i < t.ndim; ++i) s.inner *= t.sizes[i];
  return s;
}

void validate(const BatchNormParams& p) {
  CC_CHECK_ARG(std::isfinite(p.eps) && p.eps > 0, p.op, ": eps must be positive and finite, got ",
               p.eps);
  CC_CHECK_ARG(p.momentum >= 0 && p.momentum <= 1, p.op, ": momentum must be in [0, 1], got ",
               p.momentum);
}

void validate(const LrnParams& p) {
  CC_CHECK_ARG(p.size > 0, p.op, ": size must be positive, got ", p.size);
  CC_CHECK_ARG(std::isfinite(p.alpha), p.op, ": alpha must be finite, got ", p.alpha);
  CC_CHECK_ARG(std::isfinite(p.beta), p.op, ": beta must be finite, got ", p.beta);
  CC_CHECK_ARG(std::isfinite(p.k), p.op, ": k must be finite, got ", p.k);
}

void check_batch_norm_count(const BatchNormParams& p, const TensorView& input, int64_t count) {
  if (count != 1 || !p.training) return;
  std::string shape = "[";
  for (int i = 0; i < input.ndim; ++i) shape += str_cat(i ? ", " : "", input.sizes[i]);
  throw_argument_error(p.op, ": Expected more than 1 value per channel when training, got input size ",
                       shape, "]");
}

}  // namespace convcore
