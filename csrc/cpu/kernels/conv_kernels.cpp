// SPDX-License-Identifier: MIT
// Depthwise convolution inner loops for the ISA this file is compiled for.
// Rows with unit column stride run on full vectors; other strides run the
// scalar loop, which the compiler vectorizes as it can.
#include "cpu/kernels/kernels.h"
#include "cpu/simd/vec.h"

namespace convcore::cpu::CC_ISA {
namespace {

template <class T>
void forward_row(const DepthwiseRow& r, const T* x, const T* w, T* y) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  int64_t j = 0;
  if (r.stride_w == 1) {
    for (; j + 2 * L <= r.width; j += 2 * L) {
      typename V::reg acc0 = V::zero(), acc1 = V::zero();
      for (int64_t a = 0; a < r.kh; ++a) {
        const T* xa = x + a * r.dh * r.row_stride + j;
        for (int64_t b = 0; b < r.kw; ++b) {
          const typename V::reg wv = V::set1(w[a * r.kw + b]);
          acc0 = V::fmadd(wv, V::load(xa + b * r.dw), acc0);
          acc1 = V::fmadd(wv, V::load(xa + b * r.dw + L), acc1);
        }
      }
      V::store(y + j, acc0);
      V::store(y + j + L, acc1);
    }
  }
  for (; j < r.width; ++j) {
    T acc = 0;
    for (int64_t a = 0; a < r.kh; ++a) {
      const T* xa = x + a * r.dh * r.row_stride + j * r.stride_w;
      for (int64_t b = 0; b < r.kw; ++b) acc += w[a * r.kw + b] * xa[b * r.dw];
    }
    y[j] = acc;
  }
}

template <class T>
void backward_input_row(const DepthwiseRow& r, const T* gy, const T* w, T* gx) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  for (int64_t a = 0; a < r.kh; ++a) {
    for (int64_t b = 0; b < r.kw; ++b) {
      T* dst = gx + a * r.dh * r.row_stride + b * r.dw;
      const T wab = w[a * r.kw + b];
      int64_t j = 0;
      if (r.stride_w == 1) {
        const typename V::reg wv = V::set1(wab);
        for (; j + L <= r.width; j += L) V::store(dst + j, V::fmadd(wv, V::load(gy + j), V::load(dst + j)));
      }
      for (; j < r.width; ++j) dst[j * r.stride_w] += wab * gy[j];
    }
  }
}

template <class T>
void backward_weight_row(const DepthwiseRow& r, const T* gy, const T* x, T* gw) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  for (int64_t a = 0; a < r.kh; ++a) {
    for (int64_t b = 0; b < r.kw; ++b) {
      const T* src = x + a * r.dh * r.row_stride + b * r.dw;
      int64_t j = 0;
      T acc = 0;
      if (r.stride_w == 1) {
        typename V::reg va = V::zero();
        for (; j + L <= r.width; j += L) va = V::fmadd(V::load(gy + j), V::load(src + j), va);
        acc = V::sum(va);
      }
      for (; j < r.width; ++j) acc += gy[j] * src[j * r.stride_w];
      gw[a * r.kw + b] += acc;
    }
  }
}

template <class T>
DepthwiseKernels<T> make_depthwise_kernels() {
  DepthwiseKernels<T> k;
  k.forward_row = &forward_row<T>;
  k.backward_input_row = &backward_input_row<T>;
  k.backward_weight_row = &backward_weight_row<T>;
  return k;
}

}  // namespace

void register_conv_kernels(KernelTable& table) {
  table.sdepthwise = make_depthwise_kernels<float>();
  table.ddepthwise = make_depthwise_kernels<double>();
}

}  // namespace convcore::cpu::CC_ISA
