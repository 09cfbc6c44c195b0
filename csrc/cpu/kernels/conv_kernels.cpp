// SPDX-License-Identifier: MIT
// Depthwise convolution inner loops for the ISA this file is compiled for.
// Rows with unit column stride run on full vectors with a masked tail; other
// strides run the scalar loop, which the compiler vectorizes as it can.
#include "cpu/kernels/kernels.h"
#include "cpu/simd/vec.h"

namespace convcore::cpu::CC_ISA {
namespace {

// U vectors of outputs starting at y[j]; n < lanes means one masked vector.
template <class T, int U>
void forward_vectors(const DepthwiseRow& r, const T* x, const T* w, T* y, int64_t j,
                     int64_t n) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  typename V::reg acc[U];
  for (int u = 0; u < U; ++u) acc[u] = V::zero();
  for (int64_t a = 0; a < r.kh; ++a) {
    const T* xa = x + a * r.dh * r.row_stride + j;
    for (int64_t b = 0; b < r.kw; ++b) {
      const typename V::reg wv = V::set1(w[a * r.kw + b]);
      const T* xb = xa + b * r.dw;
      for (int u = 0; u < U; ++u) acc[u] = V::fmadd(wv, V::load(xb + u * L), acc[u]);
    }
  }
  if (n < L) {
    V::store_n(y + j, acc[0], n);
  } else {
    for (int u = 0; u < U; ++u) V::store(y + j + u * L, acc[u]);
  }
}

template <class T>
void forward_row(const DepthwiseRow& r, const T* x, const T* w, T* y) {
  constexpr int L = Vec<T>::lanes;
  if (r.stride_w == 1) {
    int64_t j = 0;
    for (; j + 4 * L <= r.width; j += 4 * L) forward_vectors<T, 4>(r, x, w, y, j, L);
    for (; j + L <= r.width; j += L) forward_vectors<T, 1>(r, x, w, y, j, L);
    if (j < r.width) forward_vectors<T, 1>(r, x, w, y, j, r.width - j);
    return;
  }
  for (int64_t j = 0; j < r.width; ++j) {
    T acc = 0;
    for (int64_t a = 0; a < r.kh; ++a) {
      const T* xa = x + a * r.dh * r.row_stride + j * r.stride_w;
      for (int64_t b = 0; b < r.kw; ++b) acc += w[a * r.kw + b] * xa[b * r.dw];
    }
    y[j] = acc;
  }
}

// 3x3 stride-1 rows dominate depthwise networks: their taps stay in registers.
template <class T>
void forward_row_3x3(const DepthwiseRow& r, const T* x, const typename Vec<T>::reg* wv, T* y) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  const T* x0 = x;
  const T* x1 = x + r.dh * r.row_stride;
  const T* x2 = x + 2 * r.dh * r.row_stride;
  const int64_t d = r.dw;
  for (int64_t j = 0; j < r.width; j += L) {
    const int64_t n = r.width - j < L ? r.width - j : L;
    auto ld = [&](const T* p) { return V::load(p + j); };
    typename V::reg acc = V::mul(wv[0], ld(x0));
    acc = V::fmadd(wv[1], ld(x0 + d), acc);
    acc = V::fmadd(wv[2], ld(x0 + 2 * d), acc);
    acc = V::fmadd(wv[3], ld(x1), acc);
    acc = V::fmadd(wv[4], ld(x1 + d), acc);
    acc = V::fmadd(wv[5], ld(x1 + 2 * d), acc);
    acc = V::fmadd(wv[6], ld(x2), acc);
    acc = V::fmadd(wv[7], ld(x2 + d), acc);
    acc = V::fmadd(wv[8], ld(x2 + 2 * d), acc);
    if (n == L) V::store(y + j, acc);
    else V::store_n(y + j, acc, n);
  }
}

template <class T>
void forward_plane(const DepthwiseRow& r, int64_t rows, int64_t stride_h, const T* x, const T* w,
                   T* y, int64_t y_row_stride) {
  if (r.kh == 3 && r.kw == 3 && r.stride_w == 1) {
    typename Vec<T>::reg wv[9];
    for (int t = 0; t < 9; ++t) wv[t] = Vec<T>::set1(w[t]);
    for (int64_t i = 0; i < rows; ++i)
      forward_row_3x3(r, x + i * stride_h * r.row_stride, wv, y + i * y_row_stride);
    return;
  }
  for (int64_t i = 0; i < rows; ++i)
    forward_row(r, x + i * stride_h * r.row_stride, w, y + i * y_row_stride);
}

template <class T>
void backward_input_row(const DepthwiseRow& r, const T* gy, const T* w, T* gx) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  for (int64_t a = 0; a < r.kh; ++a) {
    for (int64_t b = 0; b < r.kw; ++b) {
      T* dst = gx + a * r.dh * r.row_stride + b * r.dw;
      const T wab = w[a * r.kw + b];
      if (r.stride_w != 1) {
        for (int64_t j = 0; j < r.width; ++j) dst[j * r.stride_w] += wab * gy[j];
        continue;
      }
      const typename V::reg wv = V::set1(wab);
      int64_t j = 0;
      for (; j + L <= r.width; j += L)
        V::store(dst + j, V::fmadd(wv, V::load(gy + j), V::load(dst + j)));
      if (j < r.width) {
        const int64_t n = r.width - j;
        V::store_n(dst + j, V::fmadd(wv, V::load_n(gy + j, n), V::load_n(dst + j, n)), n);
      }
    }
  }
}

// One accumulator per tap, taps innermost: the taps' FMA chains are
// independent, so the loop runs at FMA throughput rather than latency.
template <class T, int Taps>
void backward_weight_taps(const DepthwiseRow& r, int64_t rows, int64_t stride_h, const T* gy,
                          const T* x, T* gw) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  typename V::reg acc[Taps];
  int64_t offset[Taps];
  for (int t = 0; t < Taps; ++t) {
    acc[t] = V::zero();
    offset[t] = (t / r.kw) * r.dh * r.row_stride + (t % r.kw) * r.dw;
  }
  for (int64_t i = 0; i < rows; ++i) {
    const T* g = gy + i * r.width;
    const T* src = x + i * stride_h * r.row_stride;
    for (int64_t j = 0; j < r.width; j += L) {
      const int64_t n = r.width - j < L ? r.width - j : L;
      const typename V::reg gv = n == L ? V::load(g + j) : V::load_n(g + j, n);
#pragma GCC unroll 25
      for (int t = 0; t < Taps; ++t) acc[t] = V::fmadd(gv, V::load(src + offset[t] + j), acc[t]);
    }
  }
  for (int t = 0; t < Taps; ++t) gw[t] += V::sum(acc[t]);
}

template <class T>
void backward_weight_plane(const DepthwiseRow& r, int64_t rows, int64_t stride_h, const T* gy,
                           const T* x, T* gw) {
  if (r.stride_w == 1 && r.kh * r.kw == 9) return backward_weight_taps<T, 9>(r, rows, stride_h, gy, x, gw);
  if (r.stride_w == 1 && r.kh * r.kw == 25) return backward_weight_taps<T, 25>(r, rows, stride_h, gy, x, gw);
  for (int64_t a = 0; a < r.kh; ++a) {
    for (int64_t b = 0; b < r.kw; ++b) {
      T acc = 0;
      for (int64_t i = 0; i < rows; ++i) {
        const T* g = gy + i * r.width;
        const T* src = x + (i * stride_h + a * r.dh) * r.row_stride + b * r.dw;
        for (int64_t j = 0; j < r.width; ++j) acc += g[j] * src[j * r.stride_w];
      }
      gw[a * r.kw + b] += acc;
    }
  }
}

template <class T>
DepthwiseKernels<T> make_depthwise_kernels() {
  DepthwiseKernels<T> k;
  k.forward_plane = &forward_plane<T>;
  k.backward_input_row = &backward_input_row<T>;
  k.backward_weight_plane = &backward_weight_plane<T>;
  return k;
}

}  // namespace

void register_conv_kernels(KernelTable& table) {
  table.depthwises.f32 = make_depthwise_kernels<float>();
  table.depthwises.f64 = make_depthwise_kernels<double>();
}

}  // namespace convcore::cpu::CC_ISA
