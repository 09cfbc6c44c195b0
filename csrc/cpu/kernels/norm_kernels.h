// SPDX-License-Identifier: MIT
// The norm family's entries in the per-ISA kernel table (cpu/kernels/kernels.h).
//
// Two shapes of loop serve both layouts: a "plane" is one channel's run of
// n contiguous values (channels-first), "rows" are `rows` x `c` values with the
// channels contiguous (channels-last, and (N, C) inputs). Per-channel values
// are arrays indexed by plane or by column.
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
  // Batch-norm statistics over `planes` consecutive planes of n values, plane
  // p belonging to the channel whose values are at index p of the per-channel
  // arrays. Accumulated into float64 sums, shifted by a value near the mean
  // so that a large mean does not cancel the variance away:
  //   sum1[p] += sum_i (x[p*n + i] - shift[p]), sum2[p] += sum_i (...)^2
  void (*planes_shifted_sums)(const T* x, int64_t planes, int64_t n, const T* shift,
                              double* sum1, double* sum2) = nullptr;
  // sum1[p] += sum_i dy[p*n + i], sum2[p] += sum_i dy[p*n + i] * (x[p*n + i] - mean[p])
  void (*planes_grad_sums)(const T* dy, const T* x, int64_t planes, int64_t n, const T* mean,
                           double* sum1, double* sum2) = nullptr;
  // y[p*n + i] = (x[p*n + i] - m[p]) * a[p] + b[p]
  void (*planes_affine)(const T* x, int64_t planes, int64_t n, const T* m, const T* a,
                        const T* b, T* y) = nullptr;
  // dx = dy * a[p] + (x - m[p]) * b[p] + c[p]
  void (*planes_grad_input)(const T* dy, const T* x, int64_t planes, int64_t n, const T* m,
                            const T* a, const T* b, const T* c, T* dx) = nullptr;

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
