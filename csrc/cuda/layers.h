// SPDX-License-Identifier: MIT
// CUDA drivers of the layer operators, the twins of cpu/layers.h for the
// activations, softmax / log-softmax, cross-entropy and the MSE loss: same
// arguments (device pointers) minus `threads`, same semantics. Shapes and
// values come validated from dispatch/; every array is C-contiguous on the
// current device (the caller's DeviceGuard). All launch on convcore's stream
// (cuda/launch.cuh) and return without synchronizing, except
// find_bad_target, which must read its answer back.
#pragma once
#include <cstdint>

#include "cpu/kernels/eltwise_kernels.h"
#include "ops/layers_params.h"

namespace convcore::cuda {

using cpu::Activation;

// y[i] = f(x[i]); y may be x (in place).
template <class T>
void activation_forward(Activation f, int64_t n, const T* x, T* y, T param);
// y: the forward's output or null.
template <class T>
void activation_backward(Activation f, int64_t n, const T* g, const T* x, const T* y, T* gx,
                         T param);

template <class T>
void softmax_forward(bool log, const SoftmaxShape& s, const T* x, T* y);
// y: the forward's output, or null to recompute it from x.
template <class T>
void softmax_backward(bool log, const SoftmaxShape& s, const T* g, const T* x, const T* y, T* gx);

// The first position whose target is neither ignore_index nor in [0, classes),
// found on the device and read back (a synchronizing copy): index -1 when
// every target is valid.
struct BadTarget {
  int64_t index = -1;
  int64_t value = 0;
};
BadTarget find_bad_target(const int64_t* target, int64_t n, int64_t classes, int64_t ignore_index);

// x: [batch, classes, inner]; target: [batch, inner], each in [0, classes)
// or ignore_index (checked by the caller); weight: [classes] or null.
// loss: [batch, inner] for Reduction::none, else one value (on the device).
template <class T>
void cross_entropy_forward(const SoftmaxShape& s, const T* x, const int64_t* target, const T* weight,
                           const CrossEntropyParams& p, T* loss);
// g: [batch, inner] for Reduction::none, else one value (on the device).
template <class T>
void cross_entropy_backward(const SoftmaxShape& s, const T* g, const T* x, const int64_t* target,
                            const T* weight, const CrossEntropyParams& p, T* gx);

// loss: n values for Reduction::none, else one.
template <class T>
void mse_forward(int64_t n, const T* x, const T* t, Reduction r, T* loss);
template <class T>
void mse_backward(int64_t n, const T* g, const T* x, const T* t, Reduction r, T* gx);

}  // namespace convcore::cuda
