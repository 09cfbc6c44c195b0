// SPDX-License-Identifier: MIT
// Fused optimizer steps: one kernel launch updates every parameter of a
// parameter group (a multi-tensor kernel that reads a table of the group's
// pointers and sizes), with exactly the update rules of convcore.optim's CPU
// path (torch.optim's): SGD (momentum, dampening, Nesterov), Adagrad, RMSprop
// (centered, momentum), Adam (AMSGrad) and Adadelta, each with the L2 term
// weight_decay * p added to the gradient first.
#pragma once
#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace convcore::cuda {

enum class OptimKind { sgd, adagrad, rmsprop, adam, adadelta };

// One parameter of the group. All arrays are C-contiguous, `numel` elements of
// the group's dtype, on the group's device. The per-parameter scalars already
// include the parameter's lr_mult / decay_mult and the step-dependent factors:
//   sgd:      state = {momentum_buffer}; aux != 0 on the step that creates the
//             buffer (buf = g), 0 after (buf = momentum buf + (1 - dampening) g)
//   adagrad:  state = {sum}; lr = lr / (1 + (t - 1) lr_decay)
//   rmsprop:  state = {square_avg, grad_avg (centered), momentum_buffer (momentum > 0)}
//   adam:     state = {exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad)};
//             lr = lr / (1 - beta1^t), aux = sqrt(1 - beta2^t)
//   adadelta: state = {square_avg, acc_delta}
// State arrays a rule does not use may be null.
struct OptimTensor {
  void* param = nullptr;
  const void* grad = nullptr;
  void* state[3] = {nullptr, nullptr, nullptr};
  int64_t numel = 0;
  double lr = 0;
  double weight_decay = 0;
  double aux = 0;
};

// The group's hyper-parameters (those a rule does not use are ignored).
struct OptimHyper {
  double momentum = 0, dampening = 0;  // sgd; rmsprop's momentum
  double alpha = 0;                    // rmsprop
  double eps = 0;                      // adagrad, rmsprop, adam, adadelta
  double beta1 = 0, beta2 = 0;         // adam
  double rho = 0;                      // adadelta
  bool nesterov = false, centered = false, amsgrad = false;
};

// Updates every tensor in place, in one launch (none for an empty list).
// dtype f32 or f64 (arithmetic in that type, as the CPU path); on `device`,
// on convcore's stream. The tables go up through pinned buffers with an
// asynchronous copy: the call does not wait for the GPU.
void multi_tensor_step(OptimKind kind, const OptimHyper& hyper,
                       const std::vector<OptimTensor>& tensors, DType dtype, int device);

}  // namespace convcore::cuda
