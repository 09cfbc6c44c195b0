// SPDX-License-Identifier: MIT
// The single entry of the layer operators (activations, softmax, losses,
// dropout, linear): check dtypes, sizes and values, then run for float or
// double. Shapes come validated from ops/layers_params.h; every view is
// C-contiguous.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "cpu/kernels/eltwise_kernels.h"
#include "ops/layers_params.h"

namespace convcore {

using cpu::Activation;

// Elementwise over numel; y may be x (in place). param: slope or alpha.
void activation_forward(const char* op, Activation f, const TensorView& x, const TensorView& y,
                        double param);
// output: the forward's result, or null.
void activation_backward(const char* op, Activation f, const TensorView& grad_output,
                         const TensorView& x, const TensorView* output,
                         const TensorView& grad_input, double param);

void softmax_forward(const char* op, bool log, const SoftmaxShape& s, const TensorView& x,
                     const TensorView& y);
void softmax_backward(const char* op, bool log, const SoftmaxShape& s,
                      const TensorView& grad_output, const TensorView& x, const TensorView* output,
                      const TensorView& grad_input);

// target: int64 class indices, checked against [0, classes) and ignore_index.
void cross_entropy_forward(const char* op, const SoftmaxShape& s, const TensorView& logits,
                           const TensorView& target, const TensorView* weight,
                           const CrossEntropyParams& p, const TensorView& loss);
void cross_entropy_backward(const char* op, const SoftmaxShape& s, const TensorView& grad_output,
                            const TensorView& logits, const TensorView& target,
                            const TensorView* weight, const CrossEntropyParams& p,
                            const TensorView& grad_logits);

void mse_forward(const char* op, const TensorView& input, const TensorView& target, Reduction r,
                 const TensorView& loss);
void mse_backward(const char* op, const TensorView& grad_output, const TensorView& input,
                  const TensorView& target, Reduction r, const TensorView& grad_input);

// keep: numel bytes receiving the mask, or null. y may be x.
void dropout_forward(const char* op, const TensorView& x, double p, uint64_t seed,
                     const TensorView& y, uint8_t* keep);
// keep: the forward's mask, or null to regenerate it from seed.
void dropout_backward(const char* op, const TensorView& grad_output, const uint8_t* keep, double p,
                      uint64_t seed, const TensorView& grad_input);

void linear_forward(const char* op, const LinearShape& s, const TensorView& input,
                    const TensorView& weight, const TensorView* bias, const TensorView& output);
// Any gradient may be null (not asked for).
void linear_backward(const char* op, const LinearShape& s, const TensorView& grad_output,
                     const TensorView& input, const TensorView& weight,
                     const TensorView* grad_input, const TensorView* grad_weight,
                     const TensorView* grad_bias);

}  // namespace convcore
