// SPDX-License-Identifier: MIT
// ISA-agnostic drivers of the layer operators: threading and blocking around
// the eltwise kernels (cpu/kernels/eltwise_kernels.h) and the GEMM.
#pragma once
#include <cstdint>

#include "cpu/kernels/eltwise_kernels.h"
#include "ops/layers_params.h"

namespace convcore::cpu {

template <class T>
void activation_forward(Activation f, int64_t n, const T* x, T* y, T param, int threads);
// y: the forward's output or null.
template <class T>
void activation_backward(Activation f, int64_t n, const T* g, const T* x, const T* y, T* gx,
                         T param, int threads);

template <class T>
void softmax_forward(bool log, const SoftmaxShape& s, const T* x, T* y, int threads);
// y: the forward's output, or null to recompute it from x.
template <class T>
void softmax_backward(bool log, const SoftmaxShape& s, const T* g, const T* x, const T* y, T* gx,
                      int threads);

// x: [batch, classes, inner]; target: [batch, inner], each in [0, classes)
// or ignore_index (checked by the caller); weight: [classes] or null.
// loss: [batch, inner] for Reduction::none, else one value.
template <class T>
void cross_entropy_forward(const SoftmaxShape& s, const T* x, const int64_t* target, const T* weight,
                           const CrossEntropyParams& p, T* loss, int threads);
// g: [batch, inner] for Reduction::none, else one value.
template <class T>
void cross_entropy_backward(const SoftmaxShape& s, const T* g, const T* x, const int64_t* target,
                            const T* weight, const CrossEntropyParams& p, T* gx, int threads);

// loss: n values for Reduction::none, else one.
template <class T>
void mse_forward(int64_t n, const T* x, const T* t, Reduction r, T* loss, int threads);
template <class T>
void mse_backward(int64_t n, const T* g, const T* x, const T* t, Reduction r, T* gx, int threads);

// Note [dropout mask]: element i is kept when the 32-bit half (i % 2) of
// splitmix64(key(seed) + (i / 2 + 1) * golden) is below (1 - p) * 2^32: a
// counter-based stream, so the mask depends on (seed, i) only, whatever the
// thread count or blocking. keep (may be null) receives the mask as bytes.
template <class T>
void dropout_forward(int64_t n, const T* x, double p, uint64_t seed, T* y, uint8_t* keep,
                     int threads);
// keep: the forward's mask, or null to regenerate it from seed.
template <class T>
void dropout_backward(int64_t n, const T* g, const uint8_t* keep, double p, uint64_t seed, T* gx,
                      int threads);

// y[rows, out] = x[rows, in] w[out, in]^T + bias.
template <class T>
void linear_forward(const LinearShape& s, const T* x, const T* w, const T* bias, T* y, int threads);
// Any of gx, gw, gb may be null (not asked for).
template <class T>
void linear_backward(const LinearShape& s, const T* gy, const T* x, const T* w, T* gx, T* gw, T* gb,
                     int threads);

}  // namespace convcore::cpu
