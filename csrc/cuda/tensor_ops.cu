// SPDX-License-Identifier: MIT
// Elementwise and copy kernels of the model code (tensor_ops.h).
#include "core/error.h"
#include "cuda/launch.cuh"
#include "cuda/tensor_ops.h"

namespace convcore::cuda {
namespace {

constexpr int kThreads = 256;

template <class T>
__global__ void axpy_kernel(T* y, const T* x, T alpha, int64_t n) {
  CC_GRID_STRIDE_LOOP(i, n) y[i] += alpha * x[i];
}

template <class T>
__global__ void add_kernel(T* out, const T* a, const T* b, int64_t n) {
  CC_GRID_STRIDE_LOOP(i, n) out[i] = a[i] + b[i];
}

template <class D, class S>
__global__ void cast_kernel(D* dst, const S* src, int64_t n) {
  CC_GRID_STRIDE_LOOP(i, n) dst[i] = static_cast<D>(src[i]);
}

// One thread per element of the block; element i is row i / cols, column i % cols.
template <class T>
__global__ void copy_2d_kernel(T* dst, int64_t dst_ld, const T* src, int64_t src_ld,
                               int64_t cols, int64_t n) {
  CC_GRID_STRIDE_LOOP(i, n) {
    const int64_t r = i / cols, c = i - r * cols;
    dst[r * dst_ld + c] = src[r * src_ld + c];
  }
}

template <class T>
__global__ void add_loss_kernel(double* acc, const T* loss, double scale) {
  if (blockIdx.x == 0 && threadIdx.x == 0) acc[0] += scale * static_cast<double>(loss[0]);
}

// One thread per position (n, s) = (i / inner, i % inner): argmax over the
// classes, compared with the label; each block adds its count once.
template <class T>
__global__ void count_correct_kernel(double* acc, const T* pred, const int64_t* labels,
                                     int64_t classes, int64_t inner, int64_t positions) {
  __shared__ unsigned int block_count;
  if (threadIdx.x == 0) block_count = 0;
  __syncthreads();
  unsigned int mine = 0;
  CC_GRID_STRIDE_LOOP(i, positions) {
    const int64_t n = i / inner, s = i - n * inner;
    const T* row = pred + n * classes * inner + s;
    int64_t best = 0;
    T best_value = row[0];
    bool best_nan = best_value != best_value;
    for (int64_t c = 1; c < classes && !best_nan; ++c) {
      const T v = row[c * inner];
      if (v != v) {  // NaN: numpy.argmax takes the first NaN
        best = c;
        best_nan = true;
      } else if (v > best_value) {
        best = c;
        best_value = v;
      }
    }
    if (labels[i] == best) ++mine;
  }
  if (mine) atomicAdd(&block_count, mine);
  __syncthreads();
  if (threadIdx.x == 0 && block_count) atomicAdd(acc + 1, static_cast<double>(block_count));
}

void check_float(DType dtype, const char* op) {
  CC_CHECK_ARG(dtype == DType::f32 || dtype == DType::f64, op, ": expected float32 or float64, got ",
               dtype_name(dtype));
}

template <class D>
void launch_cast_from(D* dst, const void* src, DType src_dtype, int64_t n) {
  const unsigned grid = grid_for(n, kThreads);
  switch (src_dtype) {
    case DType::f32:
      cast_kernel<<<grid, kThreads, 0, stream()>>>(dst, static_cast<const float*>(src), n);
      break;
    case DType::f64:
      cast_kernel<<<grid, kThreads, 0, stream()>>>(dst, static_cast<const double*>(src), n);
      break;
    case DType::i64:
      cast_kernel<<<grid, kThreads, 0, stream()>>>(dst, static_cast<const int64_t*>(src), n);
      break;
    default: throw_argument_error("astype: cannot convert from ", dtype_name(src_dtype));
  }
  CC_CUDA_CHECK_LAUNCH("cast_kernel");
}

}  // namespace

void axpy(void* y, const void* x, double alpha, DType dtype, int64_t n, int device) {
  check_float(dtype, "axpy");
  if (n == 0) return;
  DeviceGuard guard(device);
  if (dtype == DType::f32)
    axpy_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
        static_cast<float*>(y), static_cast<const float*>(x), static_cast<float>(alpha), n);
  else
    axpy_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
        static_cast<double*>(y), static_cast<const double*>(x), alpha, n);
  CC_CUDA_CHECK_LAUNCH("axpy_kernel");
}

void add(void* out, const void* a, const void* b, DType dtype, int64_t n, int device) {
  check_float(dtype, "add");
  if (n == 0) return;
  DeviceGuard guard(device);
  if (dtype == DType::f32)
    add_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
        static_cast<float*>(out), static_cast<const float*>(a), static_cast<const float*>(b), n);
  else
    add_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(
        static_cast<double*>(out), static_cast<const double*>(a), static_cast<const double*>(b), n);
  CC_CUDA_CHECK_LAUNCH("add_kernel");
}

void cast(void* dst, DType dst_dtype, const void* src, DType src_dtype, int64_t n, int device) {
  if (n == 0) return;
  DeviceGuard guard(device);
  switch (dst_dtype) {
    case DType::f32: launch_cast_from(static_cast<float*>(dst), src, src_dtype, n); break;
    case DType::f64: launch_cast_from(static_cast<double*>(dst), src, src_dtype, n); break;
    case DType::i64: launch_cast_from(static_cast<int64_t*>(dst), src, src_dtype, n); break;
    default: throw_argument_error("astype: cannot convert to ", dtype_name(dst_dtype));
  }
}

void copy_2d(void* dst, int64_t dst_ld, const void* src, int64_t src_ld, int64_t rows,
             int64_t cols, int64_t elem_size, int device) {
  const int64_t n = rows * cols;
  if (n == 0) return;
  DeviceGuard guard(device);
  const unsigned grid = grid_for(n, kThreads);
  switch (elem_size) {
    case 8:
      copy_2d_kernel<<<grid, kThreads, 0, stream()>>>(static_cast<int64_t*>(dst), dst_ld,
                                                      static_cast<const int64_t*>(src), src_ld, cols, n);
      break;
    case 4:
      copy_2d_kernel<<<grid, kThreads, 0, stream()>>>(static_cast<int32_t*>(dst), dst_ld,
                                                      static_cast<const int32_t*>(src), src_ld, cols, n);
      break;
    case 1:
      copy_2d_kernel<<<grid, kThreads, 0, stream()>>>(static_cast<int8_t*>(dst), dst_ld,
                                                      static_cast<const int8_t*>(src), src_ld, cols, n);
      break;
    default: throw_argument_error("copy_2d: unsupported element size ", elem_size);
  }
  CC_CUDA_CHECK_LAUNCH("copy_2d_kernel");
}

void accumulate_metrics(double* acc, const void* loss, DType loss_dtype, double scale,
                        const void* prediction, DType dtype, int64_t outer, int64_t classes, int64_t inner,
                        const int64_t* labels, int device) {
  check_float(dtype, "accumulate_metrics");
  DeviceGuard guard(device);
  if (loss) {
    check_float(loss_dtype, "accumulate_metrics");
    if (loss_dtype == DType::f32)
      add_loss_kernel<<<1, 1, 0, stream()>>>(acc, static_cast<const float*>(loss), scale);
    else
      add_loss_kernel<<<1, 1, 0, stream()>>>(acc, static_cast<const double*>(loss), scale);
    CC_CUDA_CHECK_LAUNCH("add_loss_kernel");
  }
  const int64_t positions = outer * inner;
  if (!labels || positions == 0 || classes == 0) return;
  const unsigned grid = grid_for(positions, kThreads);
  if (dtype == DType::f32)
    count_correct_kernel<<<grid, kThreads, 0, stream()>>>(
        acc, static_cast<const float*>(prediction), labels, classes, inner, positions);
  else
    count_correct_kernel<<<grid, kThreads, 0, stream()>>>(
        acc, static_cast<const double*>(prediction), labels, classes, inner, positions);
  CC_CUDA_CHECK_LAUNCH("count_correct_kernel");
}

}  // namespace convcore::cuda
