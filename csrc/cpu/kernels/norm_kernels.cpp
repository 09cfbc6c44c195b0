// SPDX-License-Identifier: MIT
// Batch-norm and LRN inner loops for the ISA this file is compiled for.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/kernels/kernels.h"
#include "cpu/simd/vec.h"

namespace convcore::cpu::CC_ISA {
namespace {

// Values a vector lane sums in T before its partial sum moves to float64:
// few enough that float32 lane sums of shifted data stay accurate.
constexpr int64_t kLaneRun = 32;

template <class T>
typename Vec<T>::reg load_upto(const T* p, int64_t n) {
  return n >= Vec<T>::lanes ? Vec<T>::load(p) : Vec<T>::load_n(p, n);
}

template <class T>
void store_upto(T* p, typename Vec<T>::reg v, int64_t n) {
  if (n >= Vec<T>::lanes) Vec<T>::store(p, v);
  else Vec<T>::store_n(p, v, n);
}

// ---------------------------------------------------------------- batch norm

template <class T>
void plane_shifted_sums(const T* x, int64_t n, T shift, double* sum1, double* sum2) {
  using V = Vec<T>;
  constexpr int64_t L = V::lanes, block = 2 * L * kLaneRun;
  const auto k = V::set1(shift);
  T shifts[L];  // masked loads of it give 0 - 0 in the lanes past n
  V::store(shifts, k);
  for (int64_t i = 0; i < n;) {
    const int64_t e = std::min(n, i + block);
    auto s0 = V::zero(), s1 = V::zero(), q0 = V::zero(), q1 = V::zero();
    for (; i + 2 * L <= e; i += 2 * L) {
      const auto d0 = V::sub(V::load(x + i), k), d1 = V::sub(V::load(x + i + L), k);
      s0 = V::add(s0, d0);
      s1 = V::add(s1, d1);
      q0 = V::fmadd(d0, d0, q0);
      q1 = V::fmadd(d1, d1, q1);
    }
    for (; i < e; i += L) {
      const auto d = V::sub(load_upto(x + i, e - i), load_upto(shifts, e - i));
      s0 = V::add(s0, d);
      q0 = V::fmadd(d, d, q0);
    }
    *sum1 += V::sum(V::add(s0, s1));
    *sum2 += V::sum(V::add(q0, q1));
  }
}

template <class T>
void plane_grad_sums(const T* dy, const T* x, int64_t n, T mean, double* sum1, double* sum2) {
  using V = Vec<T>;
  constexpr int64_t L = V::lanes, block = 2 * L * kLaneRun;
  const auto m = V::set1(mean);
  for (int64_t i = 0; i < n;) {
    const int64_t e = std::min(n, i + block);
    auto s0 = V::zero(), s1 = V::zero(), p0 = V::zero(), p1 = V::zero();
    for (; i + 2 * L <= e; i += 2 * L) {
      const auto g0 = V::load(dy + i), g1 = V::load(dy + i + L);
      s0 = V::add(s0, g0);
      s1 = V::add(s1, g1);
      p0 = V::fmadd(g0, V::sub(V::load(x + i), m), p0);
      p1 = V::fmadd(g1, V::sub(V::load(x + i + L), m), p1);
    }
    for (; i < e; i += L) {  // masked dy lanes are 0 and add nothing
      const auto g = load_upto(dy + i, e - i);
      s0 = V::add(s0, g);
      p0 = V::fmadd(g, V::sub(load_upto(x + i, e - i), m), p0);
    }
    *sum1 += V::sum(V::add(s0, s1));
    *sum2 += V::sum(V::add(p0, p1));
  }
}

template <class T>
void plane_affine(const T* x, int64_t n, T m, T a, T b, T* y) {
  using V = Vec<T>;
  constexpr int64_t L = V::lanes;
  const auto mv = V::set1(m), av = V::set1(a), bv = V::set1(b);
  int64_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    V::store(y + i, V::fmadd(V::sub(V::load(x + i), mv), av, bv));
    V::store(y + i + L, V::fmadd(V::sub(V::load(x + i + L), mv), av, bv));
  }
  for (; i < n; i += L)
    store_upto(y + i, V::fmadd(V::sub(load_upto(x + i, n - i), mv), av, bv), n - i);
}

template <class T>
void plane_grad_input(const T* dy, const T* x, int64_t n, T m, T a, T b, T c, T* dx) {
  using V = Vec<T>;
  constexpr int64_t L = V::lanes;
  const auto mv = V::set1(m), av = V::set1(a), bv = V::set1(b), cv = V::set1(c);
  for (int64_t i = 0; i < n; i += L) {
    const auto xm = V::sub(load_upto(x + i, n - i), mv);
    store_upto(dx + i, V::fmadd(load_upto(dy + i, n - i), av, V::fmadd(xm, bv, cv)), n - i);
  }
}

template <class T>
void planes_shifted_sums(const T* x, int64_t planes, int64_t n, const T* shift, double* sum1,
                         double* sum2) {
  for (int64_t p = 0; p < planes; ++p) plane_shifted_sums(x + p * n, n, shift[p], sum1 + p, sum2 + p);
}

template <class T>
void planes_grad_sums(const T* dy, const T* x, int64_t planes, int64_t n, const T* mean,
                      double* sum1, double* sum2) {
  for (int64_t p = 0; p < planes; ++p)
    plane_grad_sums(dy + p * n, x + p * n, n, mean[p], sum1 + p, sum2 + p);
}

template <class T>
void planes_affine(const T* x, int64_t planes, int64_t n, const T* m, const T* a, const T* b,
                   T* y) {
  for (int64_t p = 0; p < planes; ++p) plane_affine(x + p * n, n, m[p], a[p], b[p], y + p * n);
}

template <class T>
void planes_grad_input(const T* dy, const T* x, int64_t planes, int64_t n, const T* m,
                       const T* a, const T* b, const T* c, T* dx) {
  for (int64_t p = 0; p < planes; ++p)
    plane_grad_input(dy + p * n, x + p * n, n, m[p], a[p], b[p], c[p], dx + p * n);
}

// Column sums of a [rows, c] array: sum1[j] += sum_r f1, sum2[j] += sum_r f2,
// with term(offset, j, lanes, f1 accumulator, f2 accumulator) adding the
// vector of columns j.. of one row. The rows stream in memory order into
// T accumulators of one row (in L1), flushed to float64 every kLaneRun rows.
template <class T, class Term>
void column_sums(int64_t rows, int64_t c, double* sum1, double* sum2, const Term& term) {
  using V = Vec<T>;
  constexpr int64_t L = V::lanes;
  const int64_t cp = (c + L - 1) / L * L;
  std::vector<T> acc(2 * cp);
  T* a1 = acc.data();
  T* a2 = a1 + cp;
  for (int64_t r0 = 0; r0 < rows; r0 += kLaneRun) {
    const int64_t r1 = std::min(rows, r0 + kLaneRun);
    std::fill(acc.begin(), acc.end(), T(0));
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < c; j += L) {
        auto v1 = V::load(a1 + j), v2 = V::load(a2 + j);
        term(r * c + j, j, std::min(L, c - j), v1, v2);
        V::store(a1 + j, v1);
        V::store(a2 + j, v2);
      }
    for (int64_t j = 0; j < c; ++j) {
      sum1[j] += a1[j];
      sum2[j] += a2[j];
    }
  }
}

template <class T>
void rows_shifted_sums(const T* x, int64_t rows, int64_t c, const T* shift, double* sum1,
                       double* sum2) {
  using V = Vec<T>;
  column_sums<T>(rows, c, sum1, sum2,
                 [&](int64_t o, int64_t j, int64_t nl, typename V::reg& s, typename V::reg& q) {
                   const auto d = V::sub(load_upto(x + o, nl), load_upto(shift + j, nl));
                   s = V::add(s, d);  // masked lanes are never read back
                   q = V::fmadd(d, d, q);
                 });
}

template <class T>
void rows_grad_sums(const T* dy, const T* x, int64_t rows, int64_t c, const T* mean,
                    double* sum1, double* sum2) {
  using V = Vec<T>;
  column_sums<T>(rows, c, sum1, sum2,
                 [&](int64_t o, int64_t j, int64_t nl, typename V::reg& s, typename V::reg& p) {
                   const auto g = load_upto(dy + o, nl);
                   s = V::add(s, g);
                   p = V::fmadd(g, V::sub(load_upto(x + o, nl), load_upto(mean + j, nl)), p);
                 });
}

template <class T>
void rows_affine(const T* x, int64_t rows, int64_t c, const T* m, const T* a, const T* b,
                 T* y) {
  using V = Vec<T>;
  constexpr int64_t L = V::lanes;
  for (int64_t r = 0; r < rows; ++r, x += c, y += c)
    for (int64_t j = 0; j < c; j += L) {
      const int64_t nl = std::min(L, c - j);
      const auto xm = V::sub(load_upto(x + j, nl), load_upto(m + j, nl));
      store_upto(y + j, V::fmadd(xm, load_upto(a + j, nl), load_upto(b + j, nl)), nl);
    }
}

template <class T>
void rows_grad_input(const T* dy, const T* x, int64_t rows, int64_t c, const T* m, const T* a,
                     const T* b, const T* cc, T* dx) {
  using V = Vec<T>;
  constexpr int64_t L = V::lanes;
  for (int64_t r = 0; r < rows; ++r, x += c, dy += c, dx += c)
    for (int64_t j = 0; j < c; j += L) {
      const int64_t nl = std::min(L, c - j);
      const auto xm = V::sub(load_upto(x + j, nl), load_upto(m + j, nl));
      const auto rest = V::fmadd(xm, load_upto(b + j, nl), load_upto(cc + j, nl));
      store_upto(dx + j, V::fmadd(load_upto(dy + j, nl), load_upto(a + j, nl), rest), nl);
    }
}

// ---------------------------------------------------------------- LRN

// d^-beta; the common betas without a scalar pow.
template <class T>
typename Vec<T>::reg pow_neg_beta(typename Vec<T>::reg d, double beta) {
  using V = Vec<T>;
  if (beta == 0.75) {
    const auto r = V::sqrt(d);
    return V::div(V::set1(T(1)), V::mul(r, V::sqrt(r)));
  }
  if (beta == 0.5) return V::div(V::set1(T(1)), V::sqrt(d));
  if (beta == 1.0) return V::div(V::set1(T(1)), d);
  T lanes[V::lanes];
  V::store(lanes, d);
  const T exponent = static_cast<T>(-beta);  // powf for float
  for (T& v : lanes) v = std::pow(v, exponent);
  return V::load(lanes);
}

// Window sum of `size` entries `step` apart.
template <class T>
typename Vec<T>::reg window_sum(const T* p, int64_t size, int64_t step) {
  auto s = Vec<T>::zero();
  for (int64_t t = 0; t < size; ++t) s = Vec<T>::add(s, Vec<T>::load(p + t * step));
  return s;
}

// Channels-first: the kernels walk the channels in order, streaming one
// row of `len` positions of a plane at a time, and keep the last `size` rows
// of squares (and, backward, of t and e) in rings of rows; channels outside
// [0, c) are zero rows, as torch pads.
template <class T>
int64_t tile_row(int64_t len) {
  constexpr int64_t L = Vec<T>::lanes;
  return (len + L - 1) / L * L;
}

inline int64_t ring_slot(int64_t j, int64_t size) { return ((j % size) + size) % size; }

// ring[slot(j)] = x[j]^2 over the row, or zeros outside the channels.
template <class T>
void ring_squares(const T* x, int64_t j, int64_t c, int64_t stride, int64_t len, int64_t size,
                  T* ring, int64_t lp) {
  using V = Vec<T>;
  T* row = ring + ring_slot(j, size) * lp;
  if (j < 0 || j >= c) {
    std::fill(row, row + lp, T(0));
    return;
  }
  for (int64_t p = 0; p < len; p += V::lanes) {  // lanes past len store 0
    const auto v = load_upto(x + j * stride + p, len - p);
    V::store(row + p, V::mul(v, v));
  }
}

template <class T>
void lrn_planes(const T* x, int64_t c, int64_t stride, int64_t len, const LrnCoefs& k, T* y,
                T* scratch) {
  using V = Vec<T>;
  const int64_t lp = tile_row<T>(len), after = k.size - 1 - k.before;
  T* sq = scratch;
  for (int64_t j = -k.before; j < after; ++j) ring_squares(x, j, c, stride, len, k.size, sq, lp);
  const auto kv = V::set1(static_cast<T>(k.k)), av = V::set1(static_cast<T>(k.alpha_over_size));
  for (int64_t ch = 0; ch < c; ++ch) {
    ring_squares(x, ch + after, c, stride, len, k.size, sq, lp);
    for (int64_t p = 0; p < len; p += V::lanes) {
      const auto d = V::fmadd(window_sum<T>(sq + p, k.size, lp), av, kv);
      const auto v = load_upto(x + ch * stride + p, len - p);
      store_upto(y + ch * stride + p, V::mul(v, pow_neg_beta<T>(d, k.beta)), len - p);
    }
  }
}

// dx_j = dy_j e_j - 2 alpha/size beta x_j sum_{m: j in window(m)} t_m,
// e = d^-beta, t_m = dy_m x_m e_m / d_m: channel m's t is made once its
// squares' window is in the ring, channel j = m - before's dx once the t of
// channels j - after .. j + before = m are.
template <class T>
void lrn_planes_backward(const T* dy, const T* x, int64_t c, int64_t stride, int64_t len,
                         const LrnCoefs& k, T* dx, T* scratch) {
  using V = Vec<T>;
  const int64_t lp = tile_row<T>(len), after = k.size - 1 - k.before;
  T* sq = scratch;
  T* t = sq + k.size * lp;
  T* e = t + k.size * lp;
  for (int64_t j = -k.before; j < after; ++j) ring_squares(x, j, c, stride, len, k.size, sq, lp);
  const auto kv = V::set1(static_cast<T>(k.k)), av = V::set1(static_cast<T>(k.alpha_over_size));
  const auto coef = V::set1(static_cast<T>(-2 * k.alpha_over_size * k.beta));
  for (int64_t m = -after; m < c + k.before; ++m) {
    T* tm = t + ring_slot(m, k.size) * lp;
    if (m < 0 || m >= c) {
      std::fill(tm, tm + lp, T(0));
    } else {
      ring_squares(x, m + after, c, stride, len, k.size, sq, lp);
      T* em = e + ring_slot(m, k.size) * lp;
      for (int64_t p = 0; p < len; p += V::lanes) {
        const int64_t o = m * stride + p;
        const auto d = V::fmadd(window_sum<T>(sq + p, k.size, lp), av, kv);
        const auto ev = pow_neg_beta<T>(d, k.beta);
        const auto gx = V::mul(load_upto(dy + o, len - p), load_upto(x + o, len - p));
        V::store(em + p, ev);
        V::store(tm + p, V::div(V::mul(gx, ev), d));
      }
    }
    const int64_t j = m - k.before;
    if (j < 0 || j >= c) continue;
    const T* ej = e + ring_slot(j, k.size) * lp;
    for (int64_t p = 0; p < len; p += V::lanes) {
      const int64_t o = j * stride + p;
      const auto cross = V::mul(V::mul(coef, load_upto(x + o, len - p)),
                                window_sum<T>(t + p, k.size, lp));
      store_upto(dx + o, V::fmadd(load_upto(dy + o, len - p), V::load(ej + p), cross), len - p);
    }
  }
}

// Channels-last: the padded squares of one row, read at unit-step windows.
template <class T>
void lrn_rows(const T* x, int64_t rows, int64_t c, const LrnCoefs& k, T* y, T* scratch) {
  using V = Vec<T>;
  constexpr int64_t L = V::lanes;
  T* sq = scratch;  // before zeros | c squares | zeros to c + size + L
  std::fill(sq, sq + c + k.size + L, T(0));
  const auto kv = V::set1(static_cast<T>(k.k)), av = V::set1(static_cast<T>(k.alpha_over_size));
  for (int64_t r = 0; r < rows; ++r, x += c, y += c) {
    for (int64_t j = 0; j < c; j += L) {
      const auto v = load_upto(x + j, c - j);
      store_upto(sq + k.before + j, V::mul(v, v), c - j);
    }
    for (int64_t j = 0; j < c; j += L) {
      const auto d = V::fmadd(window_sum<T>(sq + j, k.size, 1), av, kv);
      store_upto(y + j, V::mul(load_upto(x + j, c - j), pow_neg_beta<T>(d, k.beta)), c - j);
    }
  }
}

template <class T>
void lrn_rows_backward(const T* dy, const T* x, int64_t rows, int64_t c, const LrnCoefs& k,
                       T* dx, T* scratch) {
  using V = Vec<T>;
  constexpr int64_t L = V::lanes;
  const int64_t padded = c + k.size + L, after = k.size - 1 - k.before;
  T* sq = scratch;
  T* t = sq + padded;
  T* e = t + padded;
  std::fill(sq, sq + 2 * padded, T(0));
  const auto kv = V::set1(static_cast<T>(k.k)), av = V::set1(static_cast<T>(k.alpha_over_size));
  const auto coef = V::set1(static_cast<T>(-2 * k.alpha_over_size * k.beta));
  for (int64_t r = 0; r < rows; ++r, x += c, dy += c, dx += c) {
    for (int64_t j = 0; j < c; j += L) {
      const auto v = load_upto(x + j, c - j);
      store_upto(sq + k.before + j, V::mul(v, v), c - j);
    }
    for (int64_t j = 0; j < c; j += L) {
      const auto d = V::fmadd(window_sum<T>(sq + j, k.size, 1), av, kv);
      const auto ev = pow_neg_beta<T>(d, k.beta);
      const auto gx = V::mul(load_upto(dy + j, c - j), load_upto(x + j, c - j));
      store_upto(e + j, ev, c - j);
      store_upto(t + after + j, V::div(V::mul(gx, ev), d), c - j);
    }
    for (int64_t j = 0; j < c; j += L) {
      const int64_t nl = std::min(L, c - j);
      const auto cross = V::mul(V::mul(coef, load_upto(x + j, nl)), window_sum<T>(t + j, k.size, 1));
      store_upto(dx + j, V::fmadd(load_upto(dy + j, nl), load_upto(e + j, nl), cross), nl);
    }
  }
}

template <class T>
NormKernels<T> make_norm_kernels() {
  NormKernels<T> k;
  k.planes_shifted_sums = planes_shifted_sums<T>;
  k.planes_grad_sums = planes_grad_sums<T>;
  k.planes_affine = planes_affine<T>;
  k.planes_grad_input = planes_grad_input<T>;
  k.rows_shifted_sums = rows_shifted_sums<T>;
  k.rows_grad_sums = rows_grad_sums<T>;
  k.rows_affine = rows_affine<T>;
  k.rows_grad_input = rows_grad_input<T>;
  k.lrn_planes = lrn_planes<T>;
  k.lrn_planes_backward = lrn_planes_backward<T>;
  k.lrn_rows = lrn_rows<T>;
  k.lrn_rows_backward = lrn_rows_backward<T>;
  return k;
}

}  // namespace

void register_norm_kernels(KernelTable& table) {
  table.norms.f32 = make_norm_kernels<float>();
  table.norms.f64 = make_norm_kernels<double>();
}

}  // namespace convcore::cpu::CC_ISA
