// SPDX-License-Identifier: MIT
// What the layer operators mean: activations, softmax, losses, dropout and
// linear. Options, validation (ArgumentError naming the argument and its
// values) and shape arithmetic; no device, no ISA.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace convcore {

enum class Reduction { none, mean, sum };

// "none" | "mean" | "sum"; ArgumentError naming `reduction` otherwise.
Reduction parse_reduction(const std::string& op, const std::string& name);

// An array of any rank seen as [outer, classes, inner] around `dim`
// (negative dims count from the end; a 0-d array has one dim of size 1).
struct SoftmaxShape {
  int64_t outer = 1, classes = 1, inner = 1;
};
SoftmaxShape softmax_shape(const std::string& op, const std::vector<int64_t>& sizes, int64_t dim);

struct CrossEntropyParams {
  int64_t ignore_index = -100;
  Reduction reduction = Reduction::mean;
  double label_smoothing = 0.0;
};

// logits (C,) with a 0-d target, or (N, C, d1, ...) with target (N, d1, ...):
// [batch, classes, inner]; channels_last: logits (N, d1, ..., C) with target
// (N, d1, ...): [N*d1*..., classes, 1]. weight (C,) unless null.
SoftmaxShape cross_entropy_shape(const std::string& op, const std::vector<int64_t>& logits,
                                 const std::vector<int64_t>& target,
                                 const std::vector<int64_t>* weight, bool channels_last);
void check_label_smoothing(const std::string& op, double label_smoothing);

// Both shapes equal; ArgumentError naming both otherwise.
void check_same_shape(const std::string& op, const char* a_name, const std::vector<int64_t>& a,
                      const char* b_name, const std::vector<int64_t>& b);

// p in [0, 1].
void check_dropout_p(const std::string& op, double p);

// input (..., in_features), weight (out_features, in_features), bias (out_features):
// [rows, in_features, out_features].
struct LinearShape {
  int64_t rows = 0, in_features = 0, out_features = 0;
};
LinearShape linear_shape(const std::string& op, const std::vector<int64_t>& input,
                         const std::vector<int64_t>& weight, const std::vector<int64_t>* bias);

std::string shape_string(const std::vector<int64_t>& sizes);

}  // namespace convcore
