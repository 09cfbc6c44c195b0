// SPDX-License-Identifier: MIT
// cuda::gemm: the tile kernel of cuda/gemm_tile.cuh with strided-matrix
// loaders and an alpha/beta storer.
#include "cuda/gemm.h"

#include <algorithm>

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
// trans_b), C M x N row-major with leading dimension ldc. Grid: ceil(M / BM) *
// ceil(N / BN) blocks; when that leaves most of the device idle and K is long
// (a linear layer's weight gradient: K = batch), K is split over gridDim.z
// into a splits x M x N workspace, added up in split order by reduce_splits,
// which applies alpha and beta (deterministic, no atomics).
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
  const int64_t sms = std::max(1, device_info(device).sm_count);
  tile::with_engine<T>(mode, m, n, device, [&](auto engine) {
    using E = decltype(engine);
    const int64_t tiles = tile::ceil_div(m, E::BM) * tile::ceil_div(n, E::BN);
    // Splits: about two waves of blocks, each split at least 512 deep, at most 32.
    const int64_t want = std::min<int64_t>(
        {tile::ceil_div(2 * sms, tiles), k / 512, int64_t(32)});
    if (want <= 1) {
      tile::launch<E>(m, n, k, k, la, lb, st, "cuda::gemm");
      return;
    }
    const int64_t chunk = tile::ceil_div(tile::ceil_div(k, want), E::BK) * E::BK;
    const int64_t splits = tile::ceil_div(k, chunk);
    auto ws = allocate(device, splits * m * n * static_cast<int64_t>(sizeof(T)));
    const tile::SplitStore<T> partial{static_cast<T*>(ws.get()), m, n};
    tile::launch<E>(m, n, k, chunk, la, lb, partial, "cuda::gemm (split-K)");
    tile::reduce_splits<T><<<grid_for(m * n, 256), 256, 0, stream()>>>(
        static_cast<const T*>(ws.get()), static_cast<int>(splits), m, n, st);
    CC_CUDA_CHECK_LAUNCH("cuda::gemm reduce_splits");
  });
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t, MathMode, int);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t, MathMode, int);

}  // namespace convcore::cuda
