// SPDX-License-Identifier: MIT
// linear on convcore's GEMM. Note [linear orientation]: the forward computes
// y^T = w x^T, so that out_features is GEMM's M dimension: the bias then is
// the GEMM's per-row epilogue, and the small batch of a fully connected
// layer is the narrow N that the driver parallelises across M. y^T lands in
// a contiguous scratch and is transposed into y: the GEMM is several times
// slower writing a C with non-unit column stride directly.
#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "cpu/gemm/gemm.h"
#include "cpu/kernels/kernels.h"
#include "cpu/layers.h"

namespace convcore::cpu {
namespace {

// Note [small-batch linear]: with a handful of rows, the packed GEMM spends
// its time packing w (each weight is used only `rows` times) and runs
// mostly-empty register tiles; dot products of x's rows with w's rows
// (kernels' dot_rows) read w once, straight from memory, while a k-run of
// x stays in L2.
constexpr int64_t kSmallBatch = 32;
constexpr int64_t kDotRun = 2048;

template <class T>
void linear_small_batch(const LinearShape& s, const T* x, const T* w, const T* bias, T* y,
                        int threads) {
  const auto& k = kernels().eltwise<T>();
  const int64_t in = s.in_features, out = s.out_features;
  const int64_t tiles = (out + 3) / 4;  // dot_rows' tile is 4 outputs wide
  const bool parallel = s.rows * in * out > (int64_t{1} << 18);
  parallel_for(tiles, parallel ? threads : 1, [&](int64_t b, int64_t e, int) {
    const int64_t o0 = b * 4, o1 = std::min(out, e * 4);
    for (int64_t p0 = 0; p0 < in; p0 += kDotRun)
      k.dot_rows(s.rows, o1 - o0, std::min(kDotRun, in - p0), x + p0, in, w + o0 * in + p0, in,
                 y + o0, out, p0 > 0);
    for (int64_t r = 0; bias && r < s.rows; ++r)
      for (int64_t o = o0; o < o1; ++o) y[r * out + o] += bias[o];
  });
}

}  // namespace

template <class T>
void linear_forward(const LinearShape& s, const T* x, const T* w, const T* bias, T* y, int threads) {
  if (s.in_features == 0) {  // an empty sum: only the bias
    for (int64_t r = 0; r < s.rows; ++r)
      for (int64_t o = 0; o < s.out_features; ++o) y[r * s.out_features + o] = bias ? bias[o] : T(0);
    return;
  }
  if (s.rows <= kSmallBatch) return linear_small_batch(s, x, w, bias, y, threads);
  const StridedB<T> xt(x, 1, s.in_features);  // B(p, j) = x[j, p]
  std::vector<T> yt(static_cast<size_t>(s.rows == 1 ? 0 : s.out_features * s.rows));
  GemmOperands<T> op;
  op.m = s.out_features, op.n = s.rows, op.k = s.in_features;
  op.a = w, op.rsa = s.in_features, op.csa = 1;
  op.b = &xt;
  op.c = s.rows == 1 ? y : yt.data(), op.rsc = s.rows, op.csc = 1;
  op.bias = bias;
  gemm(op, threads);
  if (s.rows == 1) return;  // y^T is y
  for (int64_t r = 0; r < s.rows; ++r)
    for (int64_t o = 0; o < s.out_features; ++o) y[r * s.out_features + o] = yt[o * s.rows + r];
}

template <class T>
void linear_backward(const LinearShape& s, const T* gy, const T* x, const T* w, T* gx, T* gw, T* gb,
                     int threads) {
  const int64_t in = s.in_features, out = s.out_features;
  if (gx) {
    if (out == 0) std::fill(gx, gx + s.rows * in, T(0));
    else gemm<T>(false, false, s.rows, in, out, T(1), gy, out, w, in, T(0), gx, in, threads);
  }
  if (gw) {
    if (s.rows == 0) std::fill(gw, gw + out * in, T(0));
    else gemm<T>(true, false, out, in, s.rows, T(1), gy, out, x, in, T(0), gw, in, threads);
  }
  if (gb) {
    // column sums of gy, split over columns so that threads never share one
    parallel_for(out, out * s.rows > 65536 ? threads : 1, [&](int64_t b, int64_t e, int) {
      std::fill(gb + b, gb + e, T(0));
      for (int64_t r = 0; r < s.rows; ++r)
        for (int64_t o = b; o < e; ++o) gb[o] += gy[r * out + o];
    });
  }
}

template void linear_forward<float>(const LinearShape&, const float*, const float*, const float*,
                                     float*, int);
template void linear_forward<double>(const LinearShape&, const double*, const double*,
                                     const double*, double*, int);
template void linear_backward<float>(const LinearShape&, const float*, const float*, const float*,
                                     float*, float*, float*, int);
template void linear_backward<double>(const LinearShape&, const double*, const double*,
                                      const double*, double*, double*, double*, int);

}  // namespace convcore::cpu
