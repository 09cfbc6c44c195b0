// SPDX-License-Identifier: MIT
// The norm family's entries in the per-ISA kernel table (cpu/kernels/kernels.h).
//
// Two shapes of loop serve both layouts: a "plane" is one channel's run of
// n contiguous values (channels-first), "rows" are `rows` x `c` values with the
// channels contiguous (channels-last, and (N, C) inputs). Per-channel values
// are scalars for a plane and arrays of c for rows.
#pragma once
#include <cstdint>

namespace convcore::cpu {

// Local response norm across channels, with torch's window: channel c sums
// the squares of channels [c - before, c - before + size).
struct LrnCoefs {
  int64_t size, before;
  double alpha_over_size, beta, k;
};

template <class T>
struct NormKernels {
  // Batch-norm statistics, accumulated into float64 sums (shifted by a value
  // near the mean, so a large mean does not cancel the variance away):
  //   sums[0] += sum_i (x[i] - shift), sums[1] += sum_i (x[i] - shift)^2
  void (*plane_shifted_sums)(const T* x, int64_t n, T shift, double* sums) = nullptr;
  // sums[0] += sum_i dy[i], sums[1] += sum_i dy[i] * (x[i] - mean)
  void (*plane_grad_sums)(const T* dy, const T* x, int64_t n, T mean, double* sums) = nullptr;
  // y[i] = (x[i] - m) * a + b
  void (*plane_affine)(const T* x, int64_t n, T m, T a, T b, T* y) = nullptr;
  // dx[i] = dy[i] * a + (x[i] - m) * b + c
  void (*plane_grad_input)(const T* dy, const T* x, int64_t n, T m, T a, T b, T c,
                           T* dx) = nullptr;

  // The same over rows of c channels: sum1[j] / sum2[j] per channel j.
  void (*rows_shifted_sums)(const T* x, int64_t rows, int64_t c, const T* shift, double* sum1,
                            double* sum2) = nullptr;
  void (*rows_grad_sums)(const T* dy, const T* x, int64_t rows, int64_t c, const T* mean,
                         double* sum1, double* sum2) = nullptr;
  void (*rows_affine)(const T* x, int64_t rows, int64_t c, const T* m, const T* a, const T* b,
                      T* y) = nullptr;
  void (*rows_grad_input)(const T* dy, const T* x, int64_t rows, int64_t c, const T* m,
                          const T* a, const T* b, const T* cc, T* dx) = nullptr;

  // LRN over `len` consecutive positions of `c` channel planes `stride` apart
  // (channels-first): y = x / (k + alpha/size * window sum of x^2)^beta.
  // `scratch` holds lrn_plane_scratch(size, len) values of T.
  void (*lrn_planes)(const T* x, int64_t c, int64_t stride, int64_t len, const LrnCoefs& k,
                     T* y, T* scratch) = nullptr;
  void (*lrn_planes_backward)(const T* dy, const T* x, int64_t c, int64_t stride, int64_t len,
                              const LrnCoefs& k, T* dx, T* scratch) = nullptr;
  // LRN over `rows` rows of c contiguous channels (channels-last);
  // `scratch` holds lrn_row_scratch(c, size) values of T.
  void (*lrn_rows)(const T* x, int64_t rows, int64_t c, const LrnCoefs& k, T* y,
                   T* scratch) = nullptr;
  void (*lrn_rows_backward)(const T* dy, const T* x, int64_t rows, int64_t c, const LrnCoefs& k,
                            T* dx, T* scratch) = nullptr;
};

// Scratch sizes of the LRN kernels, in elements (any ISA: 16 lanes at most).
constexpr int64_t kLrnMaxLanes = 16;
constexpr int64_t lrn_plane_scratch(int64_t size, int64_t len) {
  return 3 * size * (len + kLrnMaxLanes);
}
constexpr int64_t lrn_row_scratch(int64_t c, int64_t size) { return 4 * (c + size + kLrnMaxLanes); }

}  // namespace convcore::cpu
