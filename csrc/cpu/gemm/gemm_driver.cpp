// SPDX-License-Identifier: MIT
// The five GEMM loops (jc: N by NC, pc: K by KC, ic: M by MC, jr: NR, ir: MR)
// around the active ISA's microkernel.
#include <algorithm>
#include <atomic>
#include <exception>

#include "core/parallel.h"
#include "core/workspace.h"
#include "cpu/gemm/gemm.h"
#include "cpu/kernels/kernels.h"

namespace convcore::cpu {
namespace {

struct Blocking {
  int64_t mc, kc, nc;
};

// KC x NR panels of B stay in L1, MC x KC of A in L2, KC x NC of B in L3.
Blocking blocking_for(int mr, int nr, int64_t elem_size) {
  const int64_t kc = 1024 / elem_size;
  const int64_t mc = mr * std::max<int64_t>(1, (192 * 1024) / (kc * elem_size * mr));
  const int64_t nc = nr * std::max<int64_t>(1, (3 * 1024 * 1024) / (kc * elem_size * nr));
  return {mc, kc, nc};
}

template <class T>
int64_t column_offset(const GemmOperands<T>& op, int64_t j) {
  return op.col_offset ? op.col_offset[j] : j * op.csc;
}

// True when columns [j, j + n) of C are consecutive in memory.
template <class T>
bool unit_columns(const GemmOperands<T>& op, int64_t j, int64_t n) {
  if (!op.col_offset) return op.csc == 1;
  return op.col_offset[j + n - 1] - op.col_offset[j] == n - 1;
}

template <class T>
void scale_rows(const GemmOperands<T>& op, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  for (int64_t i = m0; i < m1; ++i) {
    const T add = op.bias ? op.bias[i] : T(0);
    for (int64_t j = n0; j < n1; ++j) {
      T& cij = op.c[i * op.rsc + column_offset(op, j)];
      cij = (op.beta == T(0) ? T(0) : op.beta * cij) + add;
    }
  }
}

int64_t padded_rows(int64_t m, int mr) { return (m + mr - 1) / mr * mr; }

// A rows [ic, ic + mc) x depth [pc, pc + kc) as mr-row panels: packed into
// scratch, or found in A packed whole (pack_gemm_a stores each depth block
// of all rows contiguously, so row ic, a multiple of mr, starts at ic * kc).
template <class T>
const T* packed_a_block(const GemmOperands<T>& op, int64_t ic, int64_t mc, int64_t pc,
                        int64_t kc, T* scratch) {
  const GemmKernel<T>& kern = kernels().gemm<T>();
  if (op.a_packed) return op.a_packed + pc * padded_rows(op.m, kern.mr) + ic * kc;
  if (op.a_packer)
    op.a_packer->pack(ic, mc, pc, kc, kern.mr, scratch);
  else
    kern.pack_a(mc, kc, op.a + ic * op.rsa + pc * op.csa, op.rsa, op.csa, scratch, kc * kern.mr);
  return scratch;
}

// The two inner loops (jr over NR columns, ir over MR rows) over a packed
// A block (mc x kc) and a packed B block (kc x nc) at C(ic, jc).
template <class T>
void macro_kernel(const GemmOperands<T>& op, int64_t ic, int64_t mc, int64_t jc, int64_t nc,
                  int64_t pc, int64_t kc, const T* pack_a, const T* pack_b) {
  const GemmKernel<T>& kern = kernels().gemm<T>();
  const int mr = kern.mr, nr = kern.nr;
  const T beta = pc == 0 ? op.beta : T(1);  // later depth blocks accumulate
  const T* bias = pc == 0 ? op.bias : nullptr;
  alignas(64) T tile[32 * 64];
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int64_t nrr = std::min<int64_t>(nr, nc - jr);
    const T* bp = pack_b + jr * kc;
    const bool direct = nrr == nr && unit_columns(op, jc + jr, nr);
    for (int64_t ir = 0; ir < mc; ir += mr) {
      const int64_t mrr = std::min<int64_t>(mr, mc - ir);
      const T* ap = pack_a + ir * kc;
      const T* bias_i = bias ? bias + ic + ir : nullptr;
      T* ci = op.c + (ic + ir) * op.rsc;
      if (direct && mrr == mr) {
        kern.ukernel(kc, ap, bp, ci + column_offset(op, jc + jr), op.rsc, op.alpha, beta, bias_i);
        continue;
      }
      // Edge tile or scattered columns: compute into a local tile, then merge
      // it run by run of consecutive columns (a tile over small images spans
      // two or three of them).
      kern.ukernel(kc, ap, bp, tile, nr, op.alpha, T(0), nullptr);
      for (int64_t j = 0, len = 1; j < nrr; j += len) {
        const int64_t off = column_offset(op, jc + jr + j);
        for (len = 1; j + len < nrr && column_offset(op, jc + jr + j + len) == off + len;) ++len;
        for (int64_t i = 0; i < mrr; ++i) {
          const T add = bias_i ? bias_i[i] : T(0);
          const T* src = tile + i * nr + j;
          T* dst = ci + i * op.rsc + off;
          if (beta == T(0)) {
            for (int64_t u = 0; u < len; ++u) dst[u] = src[u] + add;
          } else {
            for (int64_t u = 0; u < len; ++u) dst[u] = src[u] + add + beta * dst[u];
          }
        }
      }
    }
  }
}

// One thread's share: rows [m0, m1) x columns [n0, n1) of C, packing its own
// A and B blocks.
template <class T>
void gemm_serial(const GemmOperands<T>& op, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  if (op.k == 0) return scale_rows(op, m0, m1, n0, n1);
  const GemmKernel<T>& kern = kernels().gemm<T>();
  const Blocking blk = blocking_for(kern.mr, kern.nr, sizeof(T));
  T* pack_a = scratch_as<T>(Scratch::pack_a, blk.mc * blk.kc);
  T* pack_b = scratch_as<T>(Scratch::pack_b, blk.kc * blk.nc);
  for (int64_t jc = n0; jc < n1; jc += blk.nc) {
    const int64_t nc = std::min(blk.nc, n1 - jc);
    for (int64_t pc = 0; pc < op.k; pc += blk.kc) {
      const int64_t kc = std::min(blk.kc, op.k - pc);
      op.b->pack(pc, kc, jc, nc, kern.nr, pack_b);
      for (int64_t ic = m0; ic < m1; ic += blk.mc) {
        const int64_t mc = std::min(blk.mc, m1 - ic);
        macro_kernel(op, ic, mc, jc, nc, pc, kc, packed_a_block(op, ic, mc, pc, kc, pack_a),
                     pack_b);
      }
    }
  }
}

// BLIS's parallel scheme for narrow or tall products: the threads pack each
// B block together into one shared buffer, then each multiplies its own rows
// of A by it, so neither A nor B is packed twice. The threads meet at a
// barrier after packing and after multiplying; one that fails (out of
// memory) still meets the others, so none waits forever.
template <class T>
void gemm_shared_b(const GemmOperands<T>& op, int threads) {
  const GemmKernel<T>& kern = kernels().gemm<T>();
  const int mr = kern.mr, nr = kern.nr;
  const Blocking blk = blocking_for(mr, nr, sizeof(T));
  T* shared_b = scratch_as<T>(Scratch::pack_b, blk.kc * blk.nc);
  const int64_t m_panels = (op.m + mr - 1) / mr;
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  auto guarded = [&](auto&& work) {
    if (failed.load(std::memory_order_relaxed)) return;
    try {
      work();
    } catch (...) {
      if (!failed.exchange(true)) error = std::current_exception();
    }
  };
  parallel_region(threads, [&](int t, int nt, SpinBarrier& barrier) {
    if (nt == 1) return gemm_serial(op, 0, op.m, 0, op.n);
    const int64_t m0 = std::min(op.m, m_panels * t / nt * mr);
    const int64_t m1 = std::min(op.m, m_panels * (t + 1) / nt * mr);
    T* pack_a = nullptr;
    guarded([&] { pack_a = scratch_as<T>(Scratch::pack_a, blk.mc * blk.kc); });
    for (int64_t jc = 0; jc < op.n; jc += blk.nc) {
      const int64_t nc = std::min(blk.nc, op.n - jc), panels = (nc + nr - 1) / nr;
      const int64_t q0 = panels * t / nt, q1 = panels * (t + 1) / nt;
      for (int64_t pc = 0; pc < op.k; pc += blk.kc) {
        const int64_t kc = std::min(blk.kc, op.k - pc);
        guarded([&] {
          if (q1 > q0)
            op.b->pack(pc, kc, jc + q0 * nr, std::min(nc, q1 * nr) - q0 * nr, nr,
                       shared_b + q0 * kc * nr);
        });
        barrier.wait();
        guarded([&] {
          for (int64_t ic = m0; ic < m1; ic += blk.mc) {
            const int64_t mc = std::min(blk.mc, m1 - ic);
            macro_kernel(op, ic, mc, jc, nc, pc, kc,
                         packed_a_block(op, ic, mc, pc, kc, pack_a), shared_b);
          }
        });
        barrier.wait();
      }
    }
  });
  if (error) std::rethrow_exception(error);
}

}  // namespace

template <class T>
void StridedB<T>::pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr, T* dst) const {
  (void)nr;
  kernels().gemm<T>().pack_b(kc, nc, data_ + k0 * rs_ + j0 * cs_, rs_, cs_, dst);
}

template <class T>
void gemm(const GemmOperands<T>& op, int threads) {
  if (op.m <= 0 || op.n <= 0) return;
  const GemmKernel<T>& kern = kernels().gemm<T>();
  threads = std::max(1, threads);
  const int64_t n_panels = (op.n + kern.nr - 1) / kern.nr;
  const int64_t m_panels = (op.m + kern.mr - 1) / kern.mr;
  // Wide products split N, each thread packing its own panels; narrow or
  // tall ones share each packed B block and split M. Shares never write the
  // same C element.
  const bool shared = op.m >= op.n || n_panels < 8 * threads;
  if (threads > 1 && op.k > 0 && shared && m_panels >= threads) {
    gemm_shared_b(op, threads);
  } else if (threads > 1 && n_panels >= 2 * threads) {
    parallel_for(n_panels, threads, [&](int64_t b, int64_t e, int) {
      gemm_serial(op, 0, op.m, b * kern.nr, std::min(op.n, e * kern.nr));
    });
  } else {
    gemm_serial(op, 0, op.m, 0, op.n);
  }
}

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, int threads) {
  StridedB<T> packer(b, trans_b ? 1 : ldb, trans_b ? ldb : 1);
  GemmOperands<T> op;
  op.m = m, op.n = n, op.k = k, op.alpha = alpha, op.beta = beta;
  op.a = a, op.rsa = trans_a ? 1 : lda, op.csa = trans_a ? lda : 1;
  op.b = &packer;
  op.c = c, op.rsc = ldc, op.csc = 1;
  gemm(op, threads);
}

template <class T>
int64_t packed_a_size(int64_t m, int64_t k) {
  return padded_rows(m, kernels().gemm<T>().mr) * k;
}

template <class T>
void pack_gemm_a(int64_t m, int64_t k, const T* a, int64_t rsa, int64_t csa, T* dst) {
  const GemmKernel<T>& kern = kernels().gemm<T>();
  const Blocking blk = blocking_for(kern.mr, kern.nr, sizeof(T));
  const int64_t rows = padded_rows(m, kern.mr);
  for (int64_t pc = 0; pc < k; pc += blk.kc) {
    const int64_t kc = std::min(blk.kc, k - pc);
    kern.pack_a(m, kc, a + pc * csa, rsa, csa, dst + pc * rows, kc * kern.mr);
  }
}

int64_t gemm_workspace_bytes(int64_t elem_size) {
  const int mr = elem_size == 4 ? kernels().gemms.f32.mr : kernels().gemms.f64.mr;
  const int nr = elem_size == 4 ? kernels().gemms.f32.nr : kernels().gemms.f64.nr;
  const Blocking blk = blocking_for(mr, nr, elem_size);
  // The scratch slots are sized for full blocks whatever the problem.
  return (blk.mc * blk.kc + blk.kc * blk.nc) * elem_size;
}

template int64_t packed_a_size<float>(int64_t, int64_t);
template int64_t packed_a_size<double>(int64_t, int64_t);
template void pack_gemm_a<float>(int64_t, int64_t, const float*, int64_t, int64_t, float*);
template void pack_gemm_a<double>(int64_t, int64_t, const double*, int64_t, int64_t, double*);
template class StridedB<float>;
template class StridedB<double>;
template void gemm<float>(const GemmOperands<float>&, int);
template void gemm<double>(const GemmOperands<double>&, int);
template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t, int);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                           int64_t, const double*, int64_t, double, double*, int64_t, int);

}  // namespace convcore::cpu
