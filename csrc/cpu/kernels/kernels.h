// SPDX-License-Identifier: MIT
// The per-ISA kernel table. Every file in cpu/kernels/ is compiled once per
// ISA into namespace convcore::cpu::<isa> and fills its part of the table;
// drivers (cpu/*.cpp, cpu/gemm/) call kernels only through it. Nothing here
// but declarations and trivial accessors: an inline function with a body,
// compiled into an ISA object, could be the copy the linker keeps for generic
// code.
#pragma once
#include <cstdint>

#include "cpu/kernels/eltwise_kernels.h"
#include "cpu/kernels/norm_kernels.h"
#include "cpu/kernels/pool_kernels.h"

namespace convcore::cpu {

template <class T>
struct GemmKernel {
  int mr = 0, nr = 0;  // register tile
  // c(i, j) = alpha * sum_p a[p*mr + i] * b[p*nr + j] + beta * c(i, j) + bias[i]
  // for the full mr x nr tile at c (row stride ldc, unit column stride).
  // beta == 0 never reads c; bias may be null.
  void (*ukernel)(int64_t k, const T* a, const T* b, T* c, int64_t ldc, T alpha, T beta,
                  const T* bias) = nullptr;
  // Packs A(i, p) = a[i*rs + p*cs], i < m, p < k into mr-row panels: element
  // (p, i % mr) of panel i / mr at dst[(i / mr) * panel_stride + p*mr + i % mr],
  // zero-filling rows m..ceil(m/mr)*mr. panel_stride > k*mr packs a slice of k.
  void (*pack_a)(int64_t m, int64_t k, const T* a, int64_t rs, int64_t cs, T* dst,
                 int64_t panel_stride) = nullptr;
  // Packs B(p, j) = b[p*rs + j*cs], p < k, j < n into nr-column panels, zero-filling.
  void (*pack_b)(int64_t k, int64_t n, const T* b, int64_t rs, int64_t cs, T* dst) = nullptr;
};

// Geometry of one output row of a depthwise convolution over an explicitly
// padded input plane (every padding mode was applied when the plane was built).
// The kernels read whole vectors of the plane past a row's last tap, so
// each padded row must hold at least (kw-1)*dw + (width-1)*stride_w + 1 + 64
// bytes of finite values (cpu/conv.h depthwise_row_stride() gives such a stride).
struct DepthwiseRow {
  int64_t width;       // output columns
  int64_t kh, kw;      // kernel
  int64_t dh, dw;      // dilation
  int64_t stride_w;    // column stride
  int64_t row_stride;  // elements between rows of the padded plane
};

template <class T>
struct DepthwiseKernels {
  // y[i*y_row_stride + j] = sum_{a,b} w[a*kw + b] *
  //     x[(i*stride_h + a*dh)*row_stride + j*stride_w + b*dw]  for i < rows
  void (*forward_plane)(const DepthwiseRow& r, int64_t rows, int64_t stride_h, const T* x,
                        const T* w, T* y, int64_t y_row_stride) = nullptr;
  // gx[a*dh*row_stride + j*stride_w + b*dw] += w[a*kw + b] * gy[j]
  void (*backward_input_row)(const DepthwiseRow& r, const T* gy, const T* w, T* gx) = nullptr;
  // gw[a*kw + b] += sum_{i < rows, j} gy[i*width + j] *
  //                   x[(i*stride_h + a*dh)*row_stride + j*stride_w + b*dw]
  void (*backward_weight_plane)(const DepthwiseRow& r, int64_t rows, int64_t stride_h,
                                const T* gy, const T* x, T* gw) = nullptr;
};

// One family's kernels for both dtypes.
template <template <class> class Family>
struct ForBothDTypes {
  Family<float> f32;
  Family<double> f64;
  template <class T> const Family<T>& get() const;
};
template <template <class> class Family>
template <class T>
const Family<T>& ForBothDTypes<Family>::get() const {
  if constexpr (sizeof(T) == sizeof(float)) return f32;
  else return f64;
}

struct KernelTable {
  const char* isa = "";
  ForBothDTypes<GemmKernel> gemms;
  ForBothDTypes<DepthwiseKernels> depthwises;
  ForBothDTypes<PoolKernels> pools;
  ForBothDTypes<NormKernels> norms;
  ForBothDTypes<EltwiseKernels> eltwises;

  template <class T> const GemmKernel<T>& gemm() const { return gemms.get<T>(); }
  template <class T> const DepthwiseKernels<T>& depthwise() const { return depthwises.get<T>(); }
  template <class T> const PoolKernels<T>& pool() const { return pools.get<T>(); }
  template <class T> const NormKernels<T>& norm() const { return norms.get<T>(); }
  template <class T> const EltwiseKernels<T>& eltwise() const { return eltwises.get<T>(); }
};

// The table of the active ISA (core/cpu_features.h).
const KernelTable& kernels();

#define CC_DECLARE_ISA_REGISTRATION(isa)                 \
  namespace isa {                                       \
  void register_gemm_kernels(KernelTable& table);       \
  void register_conv_kernels(KernelTable& table);       \
  void register_pool_kernels(KernelTable& table);       \
  void register_norm_kernels(KernelTable& table);       \
  void register_eltwise_kernels(KernelTable& table);    \
  }
CC_DECLARE_ISA_REGISTRATION(generic)
CC_DECLARE_ISA_REGISTRATION(avx2)
CC_DECLARE_ISA_REGISTRATION(avx512)
#undef CC_DECLARE_ISA_REGISTRATION

}  // namespace convcore::cpu
