// SPDX-License-Identifier: MIT
// cuda::gemm: the tile kernel of cuda/gemm_tile.cuh with strided-matrix
// loaders and an alpha/beta storer.
#include "cuda/gemm.h"

#include "core/error.h"
#include "cuda/gemm_tile.cuh"

namespace convcore::cuda {
namespace {

// c[m * ldc + n] = alpha * acc + beta * c[m * ldc + n]; beta == 0 never reads c.
template <class T>
struct AlphaBetaStore {
  T* c;
  int64_t ldc;
  T alpha, beta;
  template <class Acc>
  __device__ __forceinline__ void operator()(int64_t m, int64_t n, Acc v) const {
    T* p = c + m * ldc + n;
    T r = alpha * static_cast<T>(v);
    if (beta != T(0)) r += beta * *p;
    *p = r;
  }
};

}  // namespace

// Shapes: op(A) M x K read as A(m, k) = a[m * lda + k] (a[k * lda + m] when
// trans_a), op(B) K x N read as B(k, n) = b[k * ldb + n] (b[n * ldb + k] when
// trans_b), C M x N row-major with leading dimension ldc. One launch, no
// split-K; grid = ceil(M / BM) * ceil(N / BN) blocks.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, MathMode mode,
          int device) {
  CC_CHECK_ARG(m >= 0 && n >= 0 && k >= 0, "gemm: negative size");
  if (m == 0 || n == 0) return;
  DeviceGuard guard(device);
  const tile::DenseLoad<T> la{a, trans_a ? 1 : lda, trans_a ? lda : 1};
  const tile::DenseLoad<T> lb{b, trans_b ? 1 : ldb, trans_b ? ldb : 1};
  const AlphaBetaStore<T> st{c, ldc, alpha, beta};
  tile::with_engine<T>(mode, m, n, device, [&](auto engine) {
    using E = decltype(engine);
    tile::launch<E>(m, n, k, k, la, lb, st, "cuda::gemm");
  });
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t, MathMode, int);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t, MathMode, int);

}  // namespace convcore::cuda
