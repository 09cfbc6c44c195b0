// SPDX-License-Identifier: MIT
// CPU drivers of batch norm and local response norm. Arrays arrive as raw
// pointers to contiguous data of the validated NormShape (dispatch/norm.cpp).
#pragma once
#include "ops/norm_params.h"

namespace convcore::cpu {

template <class T>
struct BatchNormForwardArgs {
  const T* x = nullptr;
  T* y = nullptr;
  T* running_mean = nullptr;  // read in eval, updated in training; null: none
  T* running_var = nullptr;
  const T* weight = nullptr;  // null: 1
  const T* bias = nullptr;    // null: 0
  T* save_mean = nullptr;     // null: not asked for
  T* save_invstd = nullptr;
};

template <class T>
struct BatchNormBackwardArgs {
  const T* dy = nullptr;
  const T* x = nullptr;
  const T* running_mean = nullptr;  // used in eval only
  const T* running_var = nullptr;
  const T* weight = nullptr;       // null: 1
  const T* save_mean = nullptr;    // training: the batch statistics, recomputed when null
  const T* save_invstd = nullptr;
  T* dx = nullptr;                 // each null when not asked for
  T* dweight = nullptr;
  T* dbias = nullptr;
};

template <class T>
void batch_norm_forward(const BatchNormParams& p, const NormShape& s,
                        const BatchNormForwardArgs<T>& a, int threads);
template <class T>
void batch_norm_backward(const BatchNormParams& p, const NormShape& s,
                         const BatchNormBackwardArgs<T>& a, int threads);

template <class T>
void lrn_forward(const LrnParams& p, const NormShape& s, const T* x, T* y, int threads);
template <class T>
void lrn_backward(const LrnParams& p, const NormShape& s, const T* dy, const T* x, T* dx,
                  int threads);

}  // namespace convcore::cpu
