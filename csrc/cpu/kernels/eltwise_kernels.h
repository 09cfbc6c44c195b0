// SPDX-License-Identifier: MIT
// The eltwise family's entries in the per-ISA kernel table (cpu/kernels/kernels.h):
// activations, softmax / log-softmax and the loss and dropout inner loops.
#pragma once
#include <cstdint>

namespace convcore::cpu {

enum class Activation { relu, leaky_relu, elu, sigmoid, tanh };

// Softmax-like kernels work on a [c, positions] slice of a row-major array
// whose rows are `stride` elements apart: element (k, j) is at p[k*stride + j]
// for j < positions <= stride. stride == 1 (so positions == 1) is one
// contiguous row of c classes.
template <class T>
struct EltwiseKernels {
  // y[i] = f(x[i]); param is leaky_relu's negative slope or elu's alpha. y may be x.
  void (*activation_forward)(Activation f, int64_t n, const T* x, T* y, T param) = nullptr;
  // gx[i] = g[i] * f'(x[i]), f'(0) taken from the left for relu and leaky_relu
  // (as PyTorch). y, the forward's output or null, spares sigmoid and tanh
  // the recomputation. gx may be g.
  void (*activation_backward)(Activation f, int64_t n, const T* g, const T* x, const T* y, T* gx,
                              T param) = nullptr;
  // y = softmax(x) over k (log: log_softmax), max-subtracted. y may be x.
  void (*softmax_forward)(bool log, int64_t c, int64_t stride, int64_t positions, const T* x,
                          T* y) = nullptr;
  // From y = the forward's output: softmax gx = y * (g - sum_k g*y);
  // log_softmax gx = g - exp(y) * sum_k g. gx may be y or g.
  void (*softmax_backward)(bool log, int64_t c, int64_t stride, int64_t positions, const T* g,
                           const T* y, T* gx) = nullptr;
  // max[j] = max_k x(k, j), log_sum[j] = log sum_k exp(x(k, j) - max[j]): the
  // log-sum-exp in two parts, so that x - lse = (x - max) - log_sum keeps the
  // precision that rounding max + log_sum at the scale of max would lose.
  void (*softmax_stats)(int64_t c, int64_t stride, int64_t positions, const T* x, T* max,
                        T* log_sum) = nullptr;
  // gx(k, j) = coef[j] * exp((x(k, j) - max[j]) - log_sum[j]).
  void (*scaled_softmax)(int64_t c, int64_t stride, int64_t positions, const T* x, const T* max,
                         const T* log_sum, const T* coef, T* gx) = nullptr;
  // Returns sum_i (x[i] - t[i])^2; writes the terms to out unless it is null.
  T (*squared_error)(int64_t n, const T* x, const T* t, T* out) = nullptr;
  // gx[i] = scale * (x[i] - t[i]) * (g ? g[i] : 1).
  void (*squared_error_backward)(int64_t n, const T* g, const T* x, const T* t, T scale,
                                 T* gx) = nullptr;
  // Dot products of rows (a small-batch linear layer, no packing):
  // y[r*ldy + o] (+ y[r*ldy + o] when accumulate) = sum_{p < k} x[r*ldx + p] * w[o*ldw + p]
  // for r < rows, o < outs.
  void (*dot_rows)(int64_t rows, int64_t outs, int64_t k, const T* x, int64_t ldx, const T* w,
                   int64_t ldw, T* y, int64_t ldy, bool accumulate) = nullptr;
  // y[i] = keep[i] ? x[i] * scale : 0. y may be x.
  void (*masked_scale)(int64_t n, const T* x, const uint8_t* keep, T scale, T* y) = nullptr;
};

}  // namespace convcore::cpu
