// SPDX-License-Identifier: MIT
// Strided-to-contiguous copies and fills: what a foreign (DLPack, CUDA array
// interface) array needs before our kernels read it.
#include <vector>

#include "core/error.h"
#include "cuda/launch.cuh"

namespace convcore::cuda {
namespace {

constexpr int kMaxRank = 8;

struct StridedLayout {
  int rank;
  int64_t sizes[kMaxRank];
  int64_t strides[kMaxRank];  // source strides, elements
};

// One thread per destination element: unravel its C-order index into the
// source's strided offset.
template <class T>
__global__ void copy_strided_kernel(T* dst, const T* src, StridedLayout layout, int64_t n) {
  CC_GRID_STRIDE_LOOP(i, n) {
    int64_t rest = i, offset = 0;
    for (int d = layout.rank - 1; d >= 0; --d) {
      offset += (rest % layout.sizes[d]) * layout.strides[d];
      rest /= layout.sizes[d];
    }
    dst[i] = src[offset];
  }
}

template <class T>
__global__ void fill_kernel(T* dst, T value, int64_t n) {
  CC_GRID_STRIDE_LOOP(i, n) dst[i] = value;
}

template <class T>
void launch_copy(void* dst, const void* src, const StridedLayout& layout, int64_t n) {
  constexpr int threads = 256;
  copy_strided_kernel<T><<<grid_for(n, threads), threads, 0, stream()>>>(
      static_cast<T*>(dst), static_cast<const T*>(src), layout, n);
  CC_CUDA_CHECK_LAUNCH("copy_strided_kernel");
}

template <class T>
void launch_fill(void* dst, T value, int64_t n) {
  constexpr int threads = 256;
  fill_kernel<T><<<grid_for(n, threads), threads, 0, stream()>>>(static_cast<T*>(dst), value, n);
  CC_CUDA_CHECK_LAUNCH("fill_kernel");
}

}  // namespace

void copy_strided(void* dst, const void* src, int64_t elem_size, const std::vector<int64_t>& shape,
                  const std::vector<int64_t>& src_strides, int device) {
  CC_CHECK_ARG(shape.size() <= kMaxRank, "copy_strided: at most ", kMaxRank,
               " dimensions are supported, got ", shape.size());
  StridedLayout layout{};
  layout.rank = static_cast<int>(shape.size());
  int64_t n = 1;
  for (int d = 0; d < layout.rank; ++d) {
    layout.sizes[d] = shape[d];
    layout.strides[d] = src_strides[d];
    n *= shape[d];
  }
  if (n == 0) return;
  DeviceGuard guard(device);
  switch (elem_size) {
    case 8: launch_copy<int64_t>(dst, src, layout, n); break;
    case 4: launch_copy<int32_t>(dst, src, layout, n); break;
    case 2: launch_copy<int16_t>(dst, src, layout, n); break;
    case 1: launch_copy<int8_t>(dst, src, layout, n); break;
    default: throw_argument_error("copy_strided: unsupported element size ", elem_size);
  }
}

void fill(void* dst, double value, DType dtype, int64_t n, int device) {
  if (n == 0) return;
  DeviceGuard guard(device);
  if (dtype == DType::f32)
    launch_fill<float>(dst, static_cast<float>(value), n);
  else if (dtype == DType::f64)
    launch_fill<double>(dst, value, n);
  else if (dtype == DType::b8)
    launch_fill<uint8_t>(dst, static_cast<uint8_t>(value != 0.0), n);
  else
    launch_fill<int64_t>(dst, static_cast<int64_t>(value), n);
}

}  // namespace convcore::cuda
