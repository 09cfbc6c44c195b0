// SPDX-License-Identifier: MIT
// The operand loaders and image storers of the GEMM convolutions
// (cuda/conv_gemm.cu) and the padded-gradient fold, host-and-device so that
// their index arithmetic can also be checked on the host.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "ops/shape.h"

// Host-and-device, always inlined into the tile kernel on the device.
#ifdef __CUDACC__
#define CC_CONV_GEMM_FN __host__ __device__ __forceinline__
#else
#define CC_CONV_GEMM_FN inline
#endif

namespace convcore::cuda::conv_gemm {

// --------------------------------------------------------------- loaders --

// An image as a matrix: channel c and column col = (image, i, j) over an
// H x W grid (pixels = H * W), at p[c * sc + image * sn + i * sh + j * sw].
// ChannelRows: the loader's (row, col) is (channel, column), else (column, channel).
template <class T, bool ChannelRows>
struct ImageLoad {
  const T* p;
  int64_t sc, sn, sh, sw, w, pixels;
  bool contiguous;  // whether the loader's col index is unit-stride in memory

  CC_CONV_GEMM_FN T at(int64_t c, int64_t col) const {
    const int64_t img = col / pixels, pix = col - img * pixels;
    const int64_t i = pix / w, j = pix - i * w;
    return p[c * sc + img * sn + i * sh + j * sw];
  }
  CC_CONV_GEMM_FN T operator()(int64_t r, int64_t c) const {
    return ChannelRows ? at(r, c) : at(c, r);
  }
  CC_CONV_GEMM_FN bool cols_contiguous() const { return contiguous; }
};

// The patch matrix of the forward pass: row kk = (ci, a, b) (channel, kernel
// row, kernel column), column col = (image, oh, ow). The element is the
// padded input at row oh * stride_h - pad_top + a * dil_h, column
// ow * stride_w - pad_left + b * dil_w: source_index maps it into the image,
// or to -1 where constant padding reads pad_value.
// TapRows: the loader's (row, col) is (kk, col), else (col, kk).
template <class T, bool TapRows>
struct PatchLoad {
  const T* p;  // channel 0 of the group
  int64_t sc, sn, sh, sw;
  int64_t h, w, ow, pixels;  // input plane, output width, output pixels
  int64_t kh, kw, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  PadMode mode;
  T pad_value;
  bool contiguous;

  CC_CONV_GEMM_FN T at(int64_t kk, int64_t col) const {
    const int64_t taps = kh * kw;
    const int64_t ci = kk / taps, t = kk - ci * taps;
    const int64_t a = t / kw, b = t - a * kw;
    const int64_t img = col / pixels, pix = col - img * pixels;
    const int64_t oh = pix / ow, o_w = pix - oh * ow;
    const int64_t ih = source_index(oh * stride_h - pad_top + a * dil_h, h, mode);
    const int64_t iw = source_index(o_w * stride_w - pad_left + b * dil_w, w, mode);
    if (ih < 0 || iw < 0) return pad_value;
    return p[ci * sc + img * sn + ih * sh + iw * sw];
  }
  CC_CONV_GEMM_FN T operator()(int64_t r, int64_t c) const {
    return TapRows ? at(r, c) : at(c, r);
  }
  CC_CONV_GEMM_FN bool cols_contiguous() const { return contiguous; }
};

// grad_output gathered for the backward-input pass: row kk = (co, a, b),
// column col = (image, i, j) over a target grid of tw columns (tpixels in
// all) whose padded-input coordinates are (i + off_h, j + off_w). Padded row
// r received grad_output row oh from tap a when r = oh * stride_h + a * dil_h:
// the element is gy[co, oh, ow] when both divisions are exact and in range,
// else 0.
template <class T>
struct GradLoad {
  const T* p;  // grad_output channel 0 of the group
  int64_t sc, sn, sh, sw;
  int64_t oh, ow;  // grad_output plane
  int64_t tw, tpixels, off_h, off_w;
  int64_t kh, kw, stride_h, stride_w, dil_h, dil_w;
  bool contiguous;

  CC_CONV_GEMM_FN T operator()(int64_t kk, int64_t col) const {
    const int64_t taps = kh * kw;
    const int64_t co = kk / taps, t = kk - co * taps;
    const int64_t a = t / kw, b = t - a * kw;
    const int64_t img = col / tpixels, pix = col - img * tpixels;
    const int64_t i = pix / tw, j = pix - i * tw;
    const int64_t rh = i + off_h - a * dil_h, rw = j + off_w - b * dil_w;
    if (rh < 0 || rw < 0) return T(0);
    const int64_t qh = rh / stride_h, qw = rw / stride_w;
    if (qh * stride_h != rh || qw * stride_w != rw || qh >= oh || qw >= ow) return T(0);
    return p[co * sc + img * sn + qh * sh + qw * sw];
  }
  CC_CONV_GEMM_FN bool cols_contiguous() const { return contiguous; }
};

// W_g^T with the columns (co, tap): A(ci, kk) = w[co * k_gemm + ci * taps + t],
// kk = co * taps + t, w the group's first filter (Cout_g x Cin_g x KH x KW, contiguous).
template <class T>
struct WeightTLoad {
  const T* p;
  int64_t taps, k_gemm;
  CC_CONV_GEMM_FN T operator()(int64_t ci, int64_t kk) const {
    const int64_t co = kk / taps, t = kk - co * taps;
    return p[co * k_gemm + ci * taps + t];
  }
  // Consecutive taps of one filter are adjacent; consecutive ci are taps apart.
  CC_CONV_GEMM_FN bool cols_contiguous() const { return taps > 1; }
};

// ---------------------------------------------------------------- storers --

// out(m, n): channel m, column n = (image, i, j) over an H x W grid, plus bias[m].
template <class T>
struct ImageStore {
  T* p;  // channel 0 of the group
  int64_t sc, sn, sh, sw, w, pixels;
  const T* bias;  // the group's first channel, or null
  template <class Acc>
  CC_CONV_GEMM_FN void operator()(int64_t m, int64_t n, Acc v) const {
    const int64_t img = n / pixels, pix = n - img * pixels;
    const int64_t i = pix / w, j = pix - i * w;
    T r = static_cast<T>(v);
    if (bias) r += bias[m];
    p[m * sc + img * sn + i * sh + j * sw] = r;
  }
};

// ------------------------------------------------------------------ fold --

// The gradient that input pixel (ih, iw) receives from a padded-plane
// gradient `plane` (HP x WP, contiguous; padded position (r, s) is input
// (r - pad_top, s - pad_left)): the sum over the padded positions whose
// source_index is (ih, iw), in increasing (r, s) order (deterministic). Only
// the padding rows/columns and the interior one can map to a given source.
template <class T>
CC_CONV_GEMM_FN T fold_sum(const T* plane, int64_t h, int64_t w, int64_t hp, int64_t wp,
                                 int64_t pad_top, int64_t pad_left, PadMode mode, int64_t ih,
                                 int64_t iw) {
  const int64_t top_end = pad_top < hp ? pad_top : hp, left_end = pad_left < wp ? pad_left : wp;
  T sum = T(0);
  // Candidate rows in increasing order: top padding, the interior row, bottom padding.
  for (int seg_r = 0; seg_r < 3; ++seg_r) {
    const int64_t r_lo = seg_r == 0 ? 0 : seg_r == 1 ? ih + pad_top : pad_top + h;
    const int64_t r_hi = seg_r == 0 ? top_end : seg_r == 1 ? ih + pad_top + 1 : hp;
    for (int64_t r = r_lo; r < r_hi && r < hp; ++r) {
      if (source_index(r - pad_top, h, mode) != ih) continue;
      const T* row = plane + r * wp;
      for (int seg_s = 0; seg_s < 3; ++seg_s) {
        const int64_t s_lo = seg_s == 0 ? 0 : seg_s == 1 ? iw + pad_left : pad_left + w;
        const int64_t s_hi = seg_s == 0 ? left_end : seg_s == 1 ? iw + pad_left + 1 : wp;
        for (int64_t s = s_lo; s < s_hi && s < wp; ++s)
          if (source_index(s - pad_left, w, mode) == iw) sum += row[s];
      }
    }
  }
  return sum;
}

}  // namespace convcore::cuda::conv_gemm
