// SPDX-License-Identifier: MIT
// Options and shape arithmetic of the normalization family: batch norm and
// local response norm (across channels).
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace convcore {

struct BatchNormParams {
  bool training = false;
  double momentum = 0.1;
  double eps = 1e-5;
  bool channels_last = false;  // (N, ..., C) instead of (N, C, ...)
  std::string op = "batch_norm";
};

struct LrnParams {
  int64_t size = 1;
  double alpha = 1e-4, beta = 0.75, k = 1.0;
  bool channels_last = false;
  std::string op = "local_response_norm";
};

// An activation viewed as [outer, channels, inner] with inner contiguous:
// (N, C, *S) is [N, C, prod(S)]; channels-last (N, *S, C) is [N*prod(S), C, 1].
struct NormShape {
  int64_t outer = 0, channels = 0, inner = 0;
  int64_t per_channel() const { return outer * inner; }  // values of one channel
  int64_t numel() const { return outer * channels * inner; }
};

NormShape norm_shape(const TensorView& t, bool channels_last);

// ArgumentError naming the option and its value.
void validate(const BatchNormParams& p);
void validate(const LrnParams& p);

// Batch statistics need two values per channel: torch's message.
void check_batch_norm_count(const BatchNormParams& p, const TensorView& input, int64_t count);

// Channels of an `ndim`-D activation tensor (rank already checked).
inline int channel_axis(int ndim, bool channels_last) { return channels_last ? ndim - 1 : 1; }

}  // namespace convcore
