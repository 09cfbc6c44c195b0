// SPDX-License-Identifier: MIT
// Our own CUDA GEMM (no cuBLAS), the engine under the implicit-GEMM
// convolutions and linear: shared-memory tiles, SIMT FMA for fp32/fp64 and
// WMMA tensor cores for the TF32/FP16/BF16 math modes.
#pragma once
#include <cstdint>

#include "dispatch/math_mode.h"

namespace convcore::cuda {

// C (m x n) = alpha * op(A) * op(B) + beta * C; row-major, leading dimensions
// in elements; op(A) is m x k (A^T stored when trans_a), op(B) is k x n.
// beta == 0 never reads C. Runs on `device`, on convcore's stream.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, MathMode mode,
          int device);

}  // namespace convcore::cuda
