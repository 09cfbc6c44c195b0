// SPDX-License-Identifier: MIT
// Our BLIS-style GEMM: C = alpha * A * B + beta * C (+ a bias per row of C).
// A is a strided matrix; B comes through a packer so that a convolution can
// feed image patches straight into the packed panels (im2col fused into
// packing) instead of materialising them.
#pragma once
#include <cstdint>

namespace convcore::cpu {

template <class T>
class BPacker {
 public:
  virtual ~BPacker() = default;
  // Writes B(k0 + p, j0 + j) for p < kc, j < nc as nr-column panels
  // (panel q holds columns q*nr.., element (p, jj) at q*kc*nr + p*nr + jj),
  // zero-filling columns past nc in the last panel. Called concurrently from
  // several threads on disjoint ranges.
  virtual void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr, T* dst) const = 0;
};

template <class T>
class APacker {
 public:
  virtual ~APacker() = default;
  // Writes A(i0 + i, k0 + p) for i < mc, p < kc as mr-row panels (panel q at
  // q*kc*mr, element (p, ii) at p*mr + ii), zero-filling rows past mc.
  virtual void pack(int64_t i0, int64_t mc, int64_t k0, int64_t kc, int mr, T* dst) const = 0;
};

// B(p, j) = data[p * rs + j * cs].
template <class T>
class StridedB final : public BPacker<T> {
 public:
  StridedB(const T* data, int64_t rs, int64_t cs) : data_(data), rs_(rs), cs_(cs) {}
  void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr, T* dst) const override;

 private:
  const T* data_;
  int64_t rs_, cs_;
};

template <class T>
struct GemmOperands {
  int64_t m = 0, n = 0, k = 0;
  T alpha = 1, beta = 0;
  const T* a = nullptr;  // A(i, p) = a[i * rsa + p * csa]
  int64_t rsa = 0, csa = 0;
  const APacker<T>* a_packer = nullptr;  // replaces a/rsa/csa when set
  const T* a_packed = nullptr;  // all of A from pack_gemm_a: replaces a and a_packer
  const BPacker<T>* b = nullptr;
  T* c = nullptr;  // C(i, j) = c[i * rsc + j * csc], or c[i * rsc + col_offset[j]]
  int64_t rsc = 0, csc = 1;
  const int64_t* col_offset = nullptr;  // columns scattered over memory (batched images)
  const T* bias = nullptr;  // added to row i once, or null
};

// Runs on up to `threads` pool threads (splitting N, or M when N is narrow).
template <class T>
void gemm(const GemmOperands<T>& op, int threads);

// BLAS-like convenience over row-major matrices: C[m x n] = alpha * op(A) op(B) + beta * C.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc, int threads);

// A packed once for several GEMMs that share it (the weights of a pass that
// runs one GEMM per tile): A(i, p) = a[i * rsa + p * csa], i < m, p < k, into
// packed_a_size<T>(m, k) elements at dst, for GemmOperands::a_packed.
template <class T>
int64_t packed_a_size(int64_t m, int64_t k);
template <class T>
void pack_gemm_a(int64_t m, int64_t k, const T* a, int64_t rsa, int64_t csa, T* dst);

// Bytes of packing scratch one GEMM thread holds (full A and B blocks).
int64_t gemm_workspace_bytes(int64_t elem_size);

}  // namespace convcore::cpu
