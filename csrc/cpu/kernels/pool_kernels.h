// SPDX-License-Identifier: MIT
// The pool family's entries in the per-ISA kernel table (cpu/kernels/kernels.h).
//
// Note [phase-split rows]: an NCHW row is padded to `phase_len * stride`
// columns and stored as `stride` phase rows of `phase_len` elements, phase q
// holding the padded columns q, q + stride, q + 2 * stride, ... Tap (i, j) of
// output column o then reads phase (j * dw) % stride at offset
// o + (j * dw) / stride: every tap of a whole output row is one contiguous
// vector stream, whatever the stride. Phase q of row r starts at
// r * row_stride + q * phase_stride: rows of phases (row_stride = stride *
// phase_len, phase_stride = phase_len), or, when rows need no padding and
// split exactly, phases of rows (row_stride = phase_len, phase_stride =
// rows * phase_len), which splits the whole plane as one long row.
#pragma once
#include <cstdint>

namespace convcore::cpu {

template <class T>
struct PoolKernels {
  // Splits `rows` rows of x (width w, row stride w) into phase rows (Note above):
  // padded column c holds x[c - pad_left] ** power, `fill` outside the row.
  // power is 1, 2 or any
  // other exponent (std::pow). With `check`, returns whether every x is
  // finite and above the lowest finite value (max pooling's fast path needs
  // that); true otherwise.
  bool (*split_rows)(const T* x, int64_t rows, int64_t w, int64_t stride, int64_t pad_left,
                     int64_t phase_len, int64_t row_stride, int64_t phase_stride, T fill,
                     T power, bool check, T* dst) = nullptr;
  // The inverse: x[r * w + c] = src[padded column c + pad_left of row r].
  void (*merge_rows)(const T* src, int64_t rows, int64_t w, int64_t stride, int64_t pad_left,
                     int64_t phase_len, int64_t row_stride, int64_t phase_stride,
                     T* x) = nullptr;
  // Output rows run over `rows` rows r sharing one tap set; tap t of row r,
  // column o reads x[r * row_step + tap_off[t] + o] (a split plane), and
  // row r's outputs are y[r * width + o], o < width.
  //
  // Max; with index (may be null) also index[r * width + o] =
  // index_base + r * index_row_step + o * stride + tap_rel[t] of the first t
  // reaching the maximum (strict >, t ascending).
  void (*max_rows)(const T* x, const int64_t* tap_off, const T* tap_rel, int ntaps,
                   int64_t rows, int64_t row_step, int64_t width, T* y, int64_t* index,
                   int64_t index_base, int64_t index_row_step, int64_t stride) = nullptr;
  // Scaled sum: y[r * width + o] = scale[r * width + o] * sum_t tap(t, r, o)
  void (*sum_rows)(const T* x, const int64_t* tap_off, int ntaps, int64_t rows,
                   int64_t row_step, int64_t width, const T* scale, T* y) = nullptr;
  // The adjoint of an unscaled sum, g[r * width + o] added to every tap of
  // output (r, o), with the taps factored as tap rows x kernel columns: tap
  // (i, j) of row r, column o is x[r * row_step + row_off[i] + col_phase[j] +
  // col_shift[j] + o] (col_phase: the phase's offset, col_shift grows with
  // j). work: 2 * (width + 2 * col_shift[kw - 1] + 64) elements.
  void (*scatter_rows)(T* x, const int64_t* row_off, int tap_rows, const int64_t* col_phase,
                       const int64_t* col_shift, int kw, int64_t rows, int64_t row_step,
                       int64_t width, const T* g, T* work) = nullptr;

  // NHWC, `pixels` output pixels along a row sharing one tap set, over
  // `channels` contiguous channels: tap t of pixel q reads
  // x + q * pixel_step + off[t] (off already multiplied by the pixel stride);
  // pixel q's outputs are at y + q * y_step.
  //
  // Max; with index (may be null) also index[q * y_step + c] =
  // base + q * index_step + tap_rel[t] of the first maximum. Returns false
  // when a value was not finite (the caller then redoes the pixels with
  // PyTorch's NaN rule).
  bool (*max_pixels)(const T* x, const int64_t* off, const T* tap_rel, int ntaps,
                     int64_t pixels, int64_t pixel_step, int64_t channels, T* y, int64_t y_step,
                     int64_t* index, int64_t base, int64_t index_step) = nullptr;
  // Scaled power sum: y[q * y_step + c] = scale[q] * sum_t x[...] ** power
  void (*sum_pixels)(const T* x, const int64_t* off, int ntaps, int64_t pixels,
                     int64_t pixel_step, int64_t channels, T power, const T* scale, T* y,
                     int64_t y_step) = nullptr;
  // Power-average epilogues, p = norm_type (PyTorch's lp: a = avg(x ** p) * kh * kw):
  // y[i] = y[i] ** (1 / p)
  void (*lp_root)(T* y, int64_t n, T p) = nullptr;
  // coef[i] = g[i] * a[i] ** (1 / p) * scale[i] / a[i], and 0 where a[i] is 0
  void (*lp_coefficients)(const T* g, const T* a, const T* scale, int64_t n, T p,
                          T* coef) = nullptr;
  // g[i] *= x[i] ** (p - 1)
  void (*mul_power)(T* g, const T* x, int64_t n, T p) = nullptr;
  // gx[off[t] + c] += g[c] for every t
  void (*scatter_pixel)(T* gx, const int64_t* off, int ntaps, int64_t channels,
                        const T* g) = nullptr;
};

}  // namespace convcore::cpu
