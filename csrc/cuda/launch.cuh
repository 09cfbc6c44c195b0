// SPDX-License-Identifier: MIT
// What every kernel file needs: the stream, error checks after launches,
// grid sizes, and the current-device guard. Included by .cu files only.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "cuda/runtime.h"

namespace convcore::cuda {

// Throws CudaError "<what>: <CUDA's message>" unless status is cudaSuccess.
void check(cudaError_t status, const char* what);

#define CC_CUDA_CHECK(expr) ::convcore::cuda::check((expr), #expr)
// After a launch: a bad configuration or an earlier asynchronous fault surfaces here.
#define CC_CUDA_CHECK_LAUNCH(kernel_name) ::convcore::cuda::check(cudaGetLastError(), kernel_name)

// All convcore work is ordered on the legacy default stream, which also
// orders against the blocking streams of other libraries (the default streams
// of PyTorch and CuPy), so arrays pass between them without explicit syncs.
inline cudaStream_t stream() { return nullptr; }

// Blocks for a grid-stride loop over n items: enough to fill the device,
// never more than the items need.
inline unsigned grid_for(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(blocks, 65535LL * 8)));
}

// for (i = global thread; i < n; i += grid size), in 64-bit.
#define CC_GRID_STRIDE_LOOP(i, n)                                                        \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

}  // namespace convcore::cuda
