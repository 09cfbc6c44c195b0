// SPDX-License-Identifier: MIT
// GEMM microkernel and packers for the ISA this file is compiled for.
#include "cpu/kernels/kernels.h"
#include "cpu/simd/vec.h"

namespace convcore::cpu::CC_ISA {
namespace {

// Accumulates an MR x (NV * lanes) tile of A*B in registers; the caller hands
// packed panels (a: k x MR, b: k x NR, both contiguous).
template <class T, int MR, int NV>
void ukernel(int64_t k, const T* a, const T* b, T* c, int64_t ldc, T alpha, T beta,
             const T* bias) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  typename V::reg acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = V::zero();

  for (int64_t p = 0; p < k; ++p) {
    typename V::reg bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = V::load(b + j * L);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const typename V::reg av = V::set1(a[i]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = V::fmadd(av, bv[j], acc[i][j]);
    }
    a += MR;
    b += NV * L;
  }

  const typename V::reg va = V::set1(alpha), vb = V::set1(beta);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    T* ci = c + i * ldc;
    const typename V::reg vbias = V::set1(bias ? bias[i] : T(0));
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      typename V::reg r = V::fmadd(acc[i][j], va, vbias);
      if (beta != T(0)) r = V::fmadd(V::load(ci + j * L), vb, r);
      V::store(ci + j * L, r);
    }
  }
}

template <class T, int MR>
void pack_a(int64_t m, int64_t k, const T* a, int64_t rs, int64_t cs, T* dst,
            int64_t panel_stride) {
  for (int64_t i0 = 0; i0 < m; i0 += MR) {
    const int64_t rows = m - i0 < MR ? m - i0 : MR;
    const T* src = a + i0 * rs;
    if (cs == 1) {
      for (int64_t p = 0; p < k; ++p) {
        for (int64_t i = 0; i < rows; ++i) dst[p * MR + i] = src[i * rs + p];
        for (int64_t i = rows; i < MR; ++i) dst[p * MR + i] = T(0);
      }
    } else {
      for (int64_t p = 0; p < k; ++p) {
        const T* col = src + p * cs;
        for (int64_t i = 0; i < rows; ++i) dst[p * MR + i] = col[i * rs];
        for (int64_t i = rows; i < MR; ++i) dst[p * MR + i] = T(0);
      }
    }
    dst += panel_stride;
  }
}

template <class T, int NR>
void pack_b(int64_t k, int64_t n, const T* b, int64_t rs, int64_t cs, T* dst) {
  for (int64_t j0 = 0; j0 < n; j0 += NR) {
    const int64_t cols = n - j0 < NR ? n - j0 : NR;
    if (cs == 1 && cols == NR) {
      for (int64_t p = 0; p < k; ++p) {
        const T* row = b + p * rs + j0;
#pragma GCC unroll 8
        for (int j = 0; j < NR; ++j) dst[p * NR + j] = row[j];
      }
    } else {
      for (int64_t p = 0; p < k; ++p) {
        const T* row = b + p * rs + j0 * cs;
        for (int64_t j = 0; j < cols; ++j) dst[p * NR + j] = row[j * cs];
        for (int64_t j = cols; j < NR; ++j) dst[p * NR + j] = T(0);
      }
    }
    dst += k * NR;
  }
}

template <class T>
GemmKernel<T> make_gemm_kernel() {
  constexpr int MR = GemmTile<T>::mr, NV = GemmTile<T>::nv, NR = NV * Vec<T>::lanes;
  GemmKernel<T> g;
  g.mr = MR;
  g.nr = NR;
  g.ukernel = &ukernel<T, MR, NV>;
  g.pack_a = &pack_a<T, MR>;
  g.pack_b = &pack_b<T, NR>;
  return g;
}

}  // namespace

void register_gemm_kernels(KernelTable& table) {
  table.gemms.f32 = make_gemm_kernel<float>();
  table.gemms.f64 = make_gemm_kernel<double>();
}

}  // namespace convcore::cpu::CC_ISA
