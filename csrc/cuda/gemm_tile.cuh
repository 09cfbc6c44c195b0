// SPDX-License-Identifier: MIT
// The one tiled GEMM kernel under cuda::gemm and the GEMM convolutions.
//
//   C(m, n) = sum over k in [kb, ke) of A(m, k) * B(k, n),  0 <= m < M, 0 <= n < N
//
// The kernel never sees memory layouts: operands come from "loaders",
// functors `T operator()(int64_t row, int64_t col) const` (A is read as
// (m, k), B as (k, n)) plus `bool cols_contiguous() const`, which tells the
// kernel which tile index to give consecutive threads so that global reads
// coalesce. The kernel only calls a loader inside [0, M) x [0, K) (resp.
// [0, K) x [0, N)) and puts zeros in the rest of a partial tile. Results go
// to a "storer", `void operator()(int64_t m, int64_t n, Acc v) const`, called
// once per (m, n) inside [0, M) x [0, N): it applies alpha/beta, a bias, or
// the layout of an image. Plain GEMM, implicit-GEMM convolution and 1x1
// convolution are this kernel with different functors.
//
// Tiling, common to every engine: a block owns a BM x BN tile of C and walks
// K in steps of BK. Each step's A and B tiles are fetched from global memory
// into registers (the next step's fetch overlaps the current step's math),
// converted to the engine's shared type and stored in shared memory as
// As[k][m] (row stride LDA) and Bs[k][n] (row stride LDB). Split-K: blockIdx.z
// picks the K range [z * k_chunk, (z + 1) * k_chunk); a split storer puts each
// range's partial sums in a workspace that reduce_splits adds up in z order
// (deterministic, no atomics).
//
// Engines (the math on the shared tiles and the epilogue):
//   Simt<T, BM, BN, BK, TM, TN>: FMA in T (float or double); (BM/TM) x
//     (BN/TN) threads, each owning a TM x TN register micro-tile whose rows
//     are ty + i * (BM/TM) and columns tx + j * (BN/TN) (strided, so that a
//     warp's shared-memory reads and global stores hit consecutive addresses).
//   Wmma<S, BM, BN, BK, WARPS_M, WARPS_N>: tensor cores through nvcuda::wmma,
//     S = float (TF32, m16n16k8), __half or __nv_bfloat16 (m16n16k16), float
//     accumulators; each warp owns a (BM/WARPS_M) x (BN/WARPS_N) block of
//     16 x 16 fragments; accumulators go to the storer through a per-warp
//     16 x 16 float staging buffer in shared memory.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "cuda/launch.cuh"
#include "cuda/runtime.h"
#include "dispatch/math_mode.h"

namespace convcore::cuda::tile {

constexpr int round_up_bytes(int bytes) { return (bytes + 127) / 128 * 128; }

// ---------------------------------------------------------------- engines --

template <class T, int BM_, int BN_, int BK_, int TM_, int TN_>
struct Simt {
  using Input = T;  // what the loaders return
  using Smem = T;   // element type of the shared tiles
  static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = TM_, TN = TN_;
  static constexpr int kRowsT = BM / TM, kColsT = BN / TN;  // thread grid
  static constexpr int kThreads = kRowsT * kColsT;
  // +4: k-major stores by consecutive threads (stride LDA) spread over banks.
  static constexpr int LDA = BM + 4, LDB = BN + 4;
  static constexpr int kABytes = round_up_bytes(BK * LDA * int(sizeof(T)));
  static constexpr int kBBytes = round_up_bytes(BK * LDB * int(sizeof(T)));
  static constexpr int kScratchBytes = 0;
  static_assert(BM % TM == 0 && BN % TN == 0, "micro-tile must divide the tile");

  struct Accum {
    T v[TM][TN];
  };

  static __device__ __forceinline__ Smem convert(T x) { return x; }

  static __device__ __forceinline__ void zero(Accum& acc) {
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TN; ++j) acc.v[i][j] = T(0);
  }

  // acc += As^T(:, own rows) * Bs(:, own columns) over one BK step.
  static __device__ __forceinline__ void compute(const Smem* As, const Smem* Bs, Accum& acc) {
    const int ty = threadIdx.x / kColsT, tx = threadIdx.x % kColsT;
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      T av[TM], bv[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) av[i] = As[kk * LDA + ty + i * kRowsT];
#pragma unroll
      for (int j = 0; j < TN; ++j) bv[j] = Bs[kk * LDB + tx + j * kColsT];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc.v[i][j] = fma(av[i], bv[j], acc.v[i][j]);
    }
  }

  template <class Store>
  static __device__ __forceinline__ void store(Accum& acc, unsigned char* /*scratch*/, int64_t m0,
                                               int64_t n0, int64_t M, int64_t N,
                                               const Store& st) {
    const int ty = threadIdx.x / kColsT, tx = threadIdx.x % kColsT;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      const int64_t m = m0 + ty + i * kRowsT;
      if (m >= M) continue;
#pragma unroll
      for (int j = 0; j < TN; ++j) {
        const int64_t n = n0 + tx + j * kColsT;
        if (n < N) st(m, n, acc.v[i][j]);
      }
    }
  }
};

template <class S>
struct WmmaTypes;
template <>
struct WmmaTypes<float> {  // TF32: float storage, operands rounded to TF32
  using Precision = nvcuda::wmma::precision::tf32;
  static constexpr int kK = 8;
  static __device__ __forceinline__ float convert(float x) {
    return nvcuda::wmma::__float_to_tf32(x);
  }
};
template <>
struct WmmaTypes<__half> {
  using Precision = __half;
  static constexpr int kK = 16;
  static __device__ __forceinline__ __half convert(float x) { return __float2half_rn(x); }
};
template <>
struct WmmaTypes<__nv_bfloat16> {
  using Precision = __nv_bfloat16;
  static constexpr int kK = 16;
  static __device__ __forceinline__ __nv_bfloat16 convert(float x) {
    return __float2bfloat16_rn(x);
  }
};

template <class S, int BM_, int BN_, int BK_, int WARPS_M, int WARPS_N>
struct Wmma {
  using Input = float;
  using Smem = S;
  using Types = WmmaTypes<S>;
  static constexpr int BM = BM_, BN = BN_, BK = BK_;
  static constexpr int FK = Types::kK;
  static constexpr int kWarps = WARPS_M * WARPS_N, kThreads = 32 * kWarps;
  static constexpr int WTM = BM / WARPS_M, WTN = BN / WARPS_N;  // a warp's block of C
  static constexpr int FM = WTM / 16, FN = WTN / 16;           // its 16 x 16 fragments
  // Row strides: 16 bytes of padding (the multiple of 8 halves / 4 floats
  // that wmma needs for ldm); fragment pointers stay 32-byte aligned because
  // they start at rows that are multiples of FK and columns that are
  // multiples of 16.
  static constexpr int kPad = 16 / int(sizeof(S));
  static constexpr int LDA = BM + kPad, LDB = BN + kPad;
  static constexpr int kABytes = round_up_bytes(BK * LDA * int(sizeof(S)));
  static constexpr int kBBytes = round_up_bytes(BK * LDB * int(sizeof(S)));
  static constexpr int kScratchBytes = kWarps * 256 * int(sizeof(float));
  static_assert(WTM % 16 == 0 && WTN % 16 == 0 && BK % FK == 0, "bad WMMA tiling");
  static_assert((FK * LDA * int(sizeof(S))) % 32 == 0 && (FK * LDB * int(sizeof(S))) % 32 == 0,
                "fragment rows must stay 32-byte aligned");

  using FragA = nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, FK,
                                       typename Types::Precision, nvcuda::wmma::col_major>;
  using FragB = nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, FK,
                                       typename Types::Precision, nvcuda::wmma::row_major>;
  using FragC = nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, FK, float>;

  struct Accum {
    FragC f[FM][FN];
  };

  static __device__ __forceinline__ Smem convert(float x) { return Types::convert(x); }

  static __device__ __forceinline__ void zero(Accum& acc) {
#pragma unroll
    for (int i = 0; i < FM; ++i)
#pragma unroll
      for (int j = 0; j < FN; ++j) nvcuda::wmma::fill_fragment(acc.f[i][j], 0.0f);
  }

  // As holds A(m, k) at [k * LDA + m]: a column-major m x k operand.
  static __device__ __forceinline__ void compute(const Smem* As, const Smem* Bs, Accum& acc) {
    const int warp = threadIdx.x / 32;
    const int wm = warp / WARPS_N, wn = warp % WARPS_N;
#pragma unroll
    for (int kk = 0; kk < BK; kk += FK) {
      FragA fa[FM];
      FragB fb[FN];
#pragma unroll
      for (int i = 0; i < FM; ++i)
        nvcuda::wmma::load_matrix_sync(fa[i], As + kk * LDA + wm * WTM + i * 16, LDA);
#pragma unroll
      for (int j = 0; j < FN; ++j)
        nvcuda::wmma::load_matrix_sync(fb[j], Bs + kk * LDB + wn * WTN + j * 16, LDB);
#pragma unroll
      for (int i = 0; i < FM; ++i)
#pragma unroll
        for (int j = 0; j < FN; ++j)
          nvcuda::wmma::mma_sync(acc.f[i][j], fa[i], fb[j], acc.f[i][j]);
    }
  }

  template <class Store>
  static __device__ __forceinline__ void store(Accum& acc, unsigned char* scratch, int64_t m0,
                                               int64_t n0, int64_t M, int64_t N,
                                               const Store& st) {
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wm = warp / WARPS_N, wn = warp % WARPS_N;
    float* stage = reinterpret_cast<float*>(scratch) + warp * 256;
#pragma unroll
    for (int i = 0; i < FM; ++i)
#pragma unroll
      for (int j = 0; j < FN; ++j) {
        nvcuda::wmma::store_matrix_sync(stage, acc.f[i][j], 16, nvcuda::wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 256; e += 32) {
          const int64_t m = m0 + wm * WTM + i * 16 + e / 16;
          const int64_t n = n0 + wn * WTN + j * 16 + e % 16;
          if (m < M && n < N) st(m, n, stage[e]);
        }
        __syncwarp();  // the next fragment overwrites the staging buffer
      }
  }
};

// The engines the drivers choose from (see with_engine).
using SimtF32Big = Simt<float, 128, 128, 8, 8, 8>;   // 256 threads, 8.25 KB shared
using SimtF32Small = Simt<float, 64, 64, 8, 4, 4>;   // 256 threads, 4.25 KB shared
using SimtF64 = Simt<double, 64, 64, 8, 4, 4>;       // 256 threads, 8.5 KB shared
// WMMA: BK = 16 for every input type (one k16 step, or two TF32 k8 steps, per
// tile): BK = 32 doubles the registers of the prefetch and made ptxas spill.
// Shared memory: A + B tiles (16 x (BM + pad) and 16 x (BN + pad)) + 1 KB of
// staging per warp: big 24.5 KB (TF32) / 16.5 KB (FP16, BF16), small 12.5 / 8.5 KB.
template <class S>
using WmmaBig = Wmma<S, 128, 128, 16, 2, 4>;  // 256 threads, warp tile 64 x 32
template <class S>
using WmmaSmall = Wmma<S, 64, 64, 16, 2, 2>;  // 128 threads, warp tile 32 x 32

// ----------------------------------------------------------------- kernel --

template <class E, class LoadA, class LoadB, class Store>
__global__ void __launch_bounds__(E::kThreads)
    gemm_tiles(int64_t M, int64_t N, int64_t K, int64_t k_chunk, int64_t tiles_n, LoadA a,
               LoadB b, Store st) {
  using In = typename E::Input;
  using S = typename E::Smem;
  constexpr int BM = E::BM, BN = E::BN, BK = E::BK, NT = E::kThreads;
  constexpr int kAPer = BM * BK / NT, kBPer = BK * BN / NT;  // elements per thread and step
  static_assert(BM * BK % NT == 0 && BK * BN % NT == 0, "tile loads must split evenly");

  __shared__ __align__(128) unsigned char smem[E::kABytes + E::kBBytes + E::kScratchBytes];
  S* As = reinterpret_cast<S*>(smem);
  S* Bs = reinterpret_cast<S*>(smem + E::kABytes);
  unsigned char* scratch = smem + E::kABytes + E::kBBytes;

  const int64_t tile = blockIdx.x;
  const int64_t m0 = (tile / tiles_n) * BM, n0 = (tile % tiles_n) * BN;
  const int64_t kb = static_cast<int64_t>(blockIdx.z) * k_chunk;
  const int64_t ke = kb + k_chunk < K ? kb + k_chunk : K;
  const int tid = threadIdx.x;
  // Consecutive threads walk the index that is contiguous in memory.
  const bool a_k_fast = a.cols_contiguous(), b_n_fast = b.cols_contiguous();

  // Position (row in k, column in m or n) of a thread's e-th element of a tile.
  auto a_pos = [&](int e, int& kk, int& mm) {
    const int lin = tid + e * NT;
    if (a_k_fast) kk = lin % BK, mm = lin / BK;
    else mm = lin % BM, kk = lin / BM;
  };
  auto b_pos = [&](int e, int& kk, int& nn) {
    const int lin = tid + e * NT;
    if (b_n_fast) nn = lin % BN, kk = lin / BN;
    else kk = lin % BK, nn = lin / BK;
  };

  In ra[kAPer], rb[kBPer];
  auto fetch = [&](int64_t k0) {
#pragma unroll
    for (int e = 0; e < kAPer; ++e) {
      int kk, mm;
      a_pos(e, kk, mm);
      const int64_t m = m0 + mm, k = k0 + kk;
      ra[e] = (m < M && k < ke) ? a(m, k) : In(0);
    }
#pragma unroll
    for (int e = 0; e < kBPer; ++e) {
      int kk, nn;
      b_pos(e, kk, nn);
      const int64_t k = k0 + kk, n = n0 + nn;
      rb[e] = (k < ke && n < N) ? b(k, n) : In(0);
    }
  };
  auto stash = [&]() {
#pragma unroll
    for (int e = 0; e < kAPer; ++e) {
      int kk, mm;
      a_pos(e, kk, mm);
      As[kk * E::LDA + mm] = E::convert(ra[e]);
    }
#pragma unroll
    for (int e = 0; e < kBPer; ++e) {
      int kk, nn;
      b_pos(e, kk, nn);
      Bs[kk * E::LDB + nn] = E::convert(rb[e]);
    }
  };

  typename E::Accum acc;
  E::zero(acc);
  if (kb < ke) {
    fetch(kb);
    for (int64_t k0 = kb; k0 < ke; k0 += BK) {
      stash();
      __syncthreads();
      if (k0 + BK < ke) fetch(k0 + BK);  // in flight while this step computes
      E::compute(As, Bs, acc);
      __syncthreads();  // before the next stash overwrites the tiles
    }
  }
  E::store(acc, scratch, m0, n0, M, N, st);
}

// out(m, n) = sum over z < splits of ws[(z * M + m) * N + n], in z order.
template <class T, class Store>
__global__ void reduce_splits(const T* ws, int splits, int64_t M, int64_t N, Store st) {
  const int64_t total = M * N;
  CC_GRID_STRIDE_LOOP(i, total) {
    T s = T(0);
    for (int z = 0; z < splits; ++z) s += ws[z * total + i];
    st(i / N, i % N, s);
  }
}

// ---------------------------------------------------------- common functors --

// A(row, col) = p[row * rs + col * cs]: a strided matrix.
template <class T>
struct DenseLoad {
  const T* p;
  int64_t rs, cs;
  __device__ __forceinline__ T operator()(int64_t r, int64_t c) const { return p[r * rs + c * cs]; }
  __device__ __forceinline__ bool cols_contiguous() const { return cs == 1; }
};

// p[m * ld + n] = v.
template <class T>
struct MatrixStore {
  T* p;
  int64_t ld;
  template <class Acc>
  __device__ __forceinline__ void operator()(int64_t m, int64_t n, Acc v) const {
    p[m * ld + n] = static_cast<T>(v);
  }
};

// Split-K partial sums: ws[(blockIdx.z * M + m) * N + n] = v (read back by reduce_splits).
template <class T>
struct SplitStore {
  T* ws;
  int64_t M, N;
  template <class Acc>
  __device__ __forceinline__ void operator()(int64_t m, int64_t n, Acc v) const {
    ws[(static_cast<int64_t>(blockIdx.z) * M + m) * N + n] = static_cast<T>(v);
  }
};

// ------------------------------------------------------------------- host --

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Launches E's kernel over an M x N x K product, K cut into ranges of
// k_chunk (a multiple of E::BK, or K itself) along gridDim.z.
template <class E, class LoadA, class LoadB, class Store>
void launch(int64_t M, int64_t N, int64_t K, int64_t k_chunk, const LoadA& a, const LoadB& b,
            const Store& st, const char* name) {
  if (M <= 0 || N <= 0) return;
  const int64_t tiles_n = ceil_div(N, E::BN), tiles = ceil_div(M, E::BM) * tiles_n;
  if (k_chunk <= 0) k_chunk = std::max<int64_t>(K, 1);
  const int64_t splits = std::max<int64_t>(1, ceil_div(K, k_chunk));
  if (tiles > 0x7fffffffLL || splits > 65535)
    throw CudaError(std::string(name) + ": problem too large for one launch");
  const dim3 grid(static_cast<unsigned>(tiles), 1, static_cast<unsigned>(splits));
  gemm_tiles<E, LoadA, LoadB, Store><<<grid, E::kThreads, 0, stream()>>>(M, N, K, k_chunk,
                                                                         tiles_n, a, b, st);
  CC_CUDA_CHECK_LAUNCH(name);
}

// Calls f(E{}) with the engine for T and `mode` (float32 only; float64 is
// always SIMT FMA), the small tile when the big one would leave most of the
// device idle.
template <class T, class F>
void with_engine(MathMode mode, int64_t M, int64_t N, int device, F&& f) {
  if constexpr (std::is_same_v<T, double>) {
    (void)mode, (void)M, (void)N, (void)device;
    f(SimtF64{});
  } else {
    static_assert(std::is_same_v<T, float>, "float32 or float64 only");
    const int64_t sms = std::max(1, device_info(device).sm_count);
    const bool big = ceil_div(M, 128) * ceil_div(N, 128) >= sms;
    switch (mode) {
      case MathMode::tf32:
        big ? f(WmmaBig<float>{}) : f(WmmaSmall<float>{});
        break;
      case MathMode::fp16:
        big ? f(WmmaBig<__half>{}) : f(WmmaSmall<__half>{});
        break;
      case MathMode::bf16:
        big ? f(WmmaBig<__nv_bfloat16>{}) : f(WmmaSmall<__nv_bfloat16>{});
        break;
      default:
        big ? f(SimtF32Big{}) : f(SimtF32Small{});
        break;
    }
  }
}

}  // namespace convcore::cuda::tile
