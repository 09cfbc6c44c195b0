// SPDX-License-Identifier: MIT
// linear on the GPU: y = x w^T on cuda::gemm with w read transposed in place,
// then the bias added row by row; the backward's two products are GEMMs too
// and the bias gradient is a column sum, one thread per column adding the
// rows in order (deterministic, and the same additions as the CPU's).
#include "cuda/gemm.h"
#include "cuda/launch.cuh"
#include "cuda/linear.h"

namespace convcore::cuda {
namespace {

constexpr int kThreads = 256;

// y[r, o] += bias[o] (accumulate) or y[r, o] = bias ? bias[o] : 0.
template <class T>
__global__ void bias_rows_kernel(int64_t rows, int64_t out, const T* bias, bool accumulate, T* y) {
  const int64_t total = rows * out;
  CC_GRID_STRIDE_LOOP(i, total) {
    const T b = bias ? bias[i % out] : T(0);
    y[i] = accumulate ? y[i] + b : b;
  }
}

// gb[o] = sum over r in order of gy[r, o].
template <class T>
__global__ void column_sums_kernel(int64_t rows, int64_t out, const T* gy, T* gb) {
  CC_GRID_STRIDE_LOOP(o, out) {
    T s = T(0);
    for (int64_t r = 0; r < rows; ++r) s += gy[r * out + o];
    gb[o] = s;
  }
}

template <class T>
__global__ void zero_kernel(int64_t n, T* p) {
  CC_GRID_STRIDE_LOOP(i, n) p[i] = T(0);
}

template <class T>
void zero(int64_t n, T* p) {
  if (n == 0) return;
  zero_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(n, p);
  CC_CUDA_CHECK_LAUNCH("zero_kernel");
}

}  // namespace

template <class T>
void linear_forward(const LinearShape& s, const T* x, const T* w, const T* bias, T* y,
                    MathMode mode, int device) {
  const int64_t rows = s.rows, in = s.in_features, out = s.out_features;
  if (rows == 0 || out == 0) return;
  const bool product = in > 0;  // else an empty sum: only the bias
  if (product)  // y (rows x out) = x (rows x in) * w^T, w stored (out x in)
    gemm<T>(false, true, rows, out, in, T(1), x, in, w, in, T(0), y, out, mode, device);
  if (product && !bias) return;
  bias_rows_kernel<T><<<grid_for(rows * out, kThreads), kThreads, 0, stream()>>>(rows, out, bias,
                                                                                 product, y);
  CC_CUDA_CHECK_LAUNCH("bias_rows_kernel");
}

template <class T>
void linear_backward(const LinearShape& s, const T* gy, const T* x, const T* w, T* gx, T* gw,
                     T* gb, MathMode mode, int device) {
  const int64_t rows = s.rows, in = s.in_features, out = s.out_features;
  if (gx && rows > 0 && in > 0) {
    if (out == 0) zero(rows * in, gx);
    else  // gx (rows x in) = gy (rows x out) * w (out x in)
      gemm<T>(false, false, rows, in, out, T(1), gy, out, w, in, T(0), gx, in, mode, device);
  }
  if (gw && out > 0 && in > 0) {
    if (rows == 0) zero(out * in, gw);
    else  // gw (out x in) = gy^T (out x rows) * x (rows x in)
      gemm<T>(true, false, out, in, rows, T(1), gy, out, x, in, T(0), gw, in, mode, device);
  }
  if (gb && out > 0) {
    column_sums_kernel<T><<<grid_for(out, kThreads), kThreads, 0, stream()>>>(rows, out, gy, gb);
    CC_CUDA_CHECK_LAUNCH("column_sums_kernel");
  }
}

template void linear_forward<float>(const LinearShape&, const float*, const float*, const float*,
                                    float*, MathMode, int);
template void linear_forward<double>(const LinearShape&, const double*, const double*,
                                     const double*, double*, MathMode, int);
template void linear_backward<float>(const LinearShape&, const float*, const float*, const float*,
                                     float*, float*, float*, MathMode, int);
template void linear_backward<double>(const LinearShape&, const double*, const double*,
                                      const double*, double*, double*, double*, MathMode, int);

}  // namespace convcore::cuda
