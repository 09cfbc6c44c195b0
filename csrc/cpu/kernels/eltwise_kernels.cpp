// SPDX-License-Identifier: MIT
// Activations, softmax rows/columns and loss inner loops over Vec<T>, one
// template for every ISA.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/kernels/kernels.h"
#include "cpu/simd/vec.h"

namespace convcore::cpu::CC_ISA {
namespace {

// Note [vector exp]: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2 split in
// a short hi part, exact in n*hi, and a lo correction), expm1(r) by its Taylor
// series (truncation < 0.2 ulp on that interval), then exp(x) = 2^n (1 + p)
// and expm1(x) = 2^n p + (2^n - 1), which keeps expm1's relative accuracy
// near 0 (n = 0). Results past the normal range are flushed: 0 (or -1) below
// `lo`, inf above `hi` (chosen so that n stays a normal exponent).
template <class T> struct ExpConst;
template <> struct ExpConst<float> {
  static constexpr float lo = -87.33f, hi = 88.37f, log2e = 1.44269504f;
  static constexpr float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
  static constexpr int degree = 7;
  // log(m) for m in [sqrt(1/2), sqrt(2)]: 2s (1 + s^2/3 + s^4/5 + ...), s = (m-1)/(m+1).
  static constexpr int log_terms = 5;
};
template <> struct ExpConst<double> {
  static constexpr double lo = -708.39, hi = 709.43, log2e = 1.4426950408889634;
  static constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  static constexpr int degree = 14;
  static constexpr int log_terms = 12;
};

template <class T>
constexpr T inv_factorial(int k) {
  T f = 1;
  for (int i = 2; i <= k; ++i) f *= static_cast<T>(i);
  return T(1) / f;
}

template <class T>
struct Math {
  using V = Vec<T>;
  using reg = typename V::reg;
  using K = ExpConst<T>;

  // exp(x) = scale * (1 + p) for x clamped to [lo, hi].
  static void exp_parts(reg x, reg& scale, reg& p) {
    const reg xc = V::min(V::set1(K::hi), V::max(V::set1(K::lo), x));  // NaN stays NaN
    const reg n = V::round(V::mul(xc, V::set1(K::log2e)));
    reg r = V::fmadd(n, V::set1(-K::ln2_hi), xc);
    r = V::fmadd(n, V::set1(-K::ln2_lo), r);
    // p = r (1 + r/2! + ... + r^(degree-1)/degree!), by Horner from the top.
    reg q = V::set1(inv_factorial<T>(K::degree));
    for (int k = K::degree - 1; k >= 1; --k) q = V::fmadd(q, r, V::set1(inv_factorial<T>(k)));
    p = V::mul(q, r);
    scale = V::pow2(n);
  }
  static reg flush(reg x, reg v, T below) {
    v = V::blend_gt(x, V::set1(K::hi), V::set1(std::numeric_limits<T>::infinity()), v);
    return V::blend_gt(V::set1(K::lo), x, V::set1(below), v);
  }
  static reg exp(reg x) {
    reg scale, p;
    exp_parts(x, scale, p);
    return flush(x, V::fmadd(scale, p, scale), T(0));
  }
  static reg expm1(reg x) {
    reg scale, p;
    exp_parts(x, scale, p);
    return flush(x, V::fmadd(scale, p, V::sub(scale, V::set1(T(1)))), T(-1));
  }
  // log(x) for positive normal x (all its callers pass sums >= 1); NaN and
  // inf give NaN.
  static reg log(reg x) {
    reg e = V::exponent(x), m = V::mantissa(x);
    const reg sqrt2 = V::set1(T(1.41421356237309504880));
    e = V::blend_gt(m, sqrt2, V::add(e, V::set1(T(1))), e);
    m = V::blend_gt(m, sqrt2, V::mul(m, V::set1(T(0.5))), m);
    const reg one = V::set1(T(1));
    const reg s = V::div(V::sub(m, one), V::add(m, one));
    const reg s2 = V::mul(s, s);
    reg q = V::set1(T(2) / T(2 * K::log_terms + 1));
    for (int k = K::log_terms - 1; k >= 0; --k) q = V::fmadd(q, s2, V::set1(T(2) / T(2 * k + 1)));
    const reg log_m = V::fmadd(e, V::set1(T(K::ln2_lo)), V::mul(q, s));
    return V::add(V::fmadd(e, V::set1(T(K::ln2_hi)), log_m), V::sub(x, x));
  }
  static reg sigmoid(reg x) {
    const reg one = V::set1(T(1));
    return V::div(one, V::add(one, exp(V::sub(V::zero(), x))));
  }
  // tanh(|x|) = -e / (e + 2), e = expm1(-2|x|) in (-1, 0]: no overflow, and
  // relative accuracy near 0; the sign is restored by a select.
  static reg tanh(reg x) {
    const reg neg = V::sub(V::zero(), x);
    const reg e = expm1(V::mul(V::set1(T(-2)), V::max(x, neg)));
    const reg t = V::div(V::sub(V::zero(), e), V::add(e, V::set1(T(2))));
    return V::blend_gt(x, V::zero(), t, V::sub(V::zero(), t));
  }
};

// Runs body(i, count) for each vector of count <= lanes elements in [0, n).
template <class T, class Body>
void for_each_vector(int64_t n, Body body) {
  constexpr int L = Vec<T>::lanes;
  int64_t i = 0;
  for (; i + L <= n; i += L) body(i, int64_t{L});
  if (i < n) body(i, n - i);
}

template <class T>
typename Vec<T>::reg load_some(const T* p, int64_t count) {
  return count == Vec<T>::lanes ? Vec<T>::load(p) : Vec<T>::load_n(p, count);
}
template <class T>
void store_some(T* p, typename Vec<T>::reg v, int64_t count) {
  if (count == Vec<T>::lanes) Vec<T>::store(p, v);
  else Vec<T>::store_n(p, v, count);
}
// Sum of the first count lanes.
template <class T>
T sum_some(typename Vec<T>::reg v, int64_t count) {
  if (count == Vec<T>::lanes) return Vec<T>::sum(v);
  T lanes[Vec<T>::lanes];
  Vec<T>::store(lanes, v);
  T s = 0;
  for (int64_t l = 0; l < count; ++l) s += lanes[l];
  return s;
}

// Elementwise y = op(x) over n elements (op: reg -> reg).
template <class T, class Op>
void map1(int64_t n, const T* x, T* y, Op op) {
  for_each_vector<T>(n, [&](int64_t i, int64_t k) {
    store_some(y + i, op(load_some(x + i, k)), k);
  });
}
// Elementwise gx = op(g, x, y) (y may be null: op then ignores it).
template <class T, class Op>
void map3(int64_t n, const T* g, const T* x, const T* y, T* gx, Op op) {
  for_each_vector<T>(n, [&](int64_t i, int64_t k) {
    const auto yv = y ? load_some(y + i, k) : Vec<T>::zero();
    store_some(gx + i, op(load_some(g + i, k), load_some(x + i, k), yv), k);
  });
}

template <class T>
void activation_forward(Activation f, int64_t n, const T* x, T* y, T param) {
  using V = Vec<T>;
  using M = Math<T>;
  const auto zero = V::zero(), a = V::set1(param);
  switch (f) {
    case Activation::relu:  // max(0, x) keeps NaN (max returns its second operand)
      return map1(n, x, y, [&](auto v) { return V::max(zero, v); });
    case Activation::leaky_relu:
      return map1(n, x, y, [&](auto v) { return V::blend_gt(v, zero, v, V::mul(v, a)); });
    case Activation::elu:
      return map1(n, x, y, [&](auto v) { return V::blend_gt(v, zero, v, V::mul(a, M::expm1(v))); });
    case Activation::sigmoid: return map1(n, x, y, [&](auto v) { return M::sigmoid(v); });
    case Activation::tanh: return map1(n, x, y, [&](auto v) { return M::tanh(v); });
  }
}

template <class T>
void activation_backward(Activation f, int64_t n, const T* g, const T* x, const T* y, T* gx,
                         T param) {
  using V = Vec<T>;
  using M = Math<T>;
  const auto zero = V::zero(), one = V::set1(T(1)), a = V::set1(param);
  switch (f) {
    case Activation::relu:
      return map3(n, g, x, y, gx, [&](auto gv, auto xv, auto) { return V::blend_gt(xv, zero, gv, zero); });
    case Activation::leaky_relu:
      return map3(n, g, x, y, gx,
                  [&](auto gv, auto xv, auto) { return V::blend_gt(xv, zero, gv, V::mul(gv, a)); });
    case Activation::elu:  // x <= 0: d/dx alpha (e^x - 1) = alpha e^x
      return map3(n, g, x, y, gx, [&](auto gv, auto xv, auto) {
        return V::blend_gt(xv, zero, gv, V::mul(gv, V::mul(a, M::exp(xv))));
      });
    // From x, the derivatives come from e = exp(-k|x|), which keeps their
    // relative accuracy in the tails where s(1 - s) and 1 - t^2 cancel; from
    // the saved output y, as PyTorch, with that cancellation.
    case Activation::sigmoid:
      if (y)
        return map3(n, g, x, y, gx, [&](auto gv, auto, auto yv) { return V::mul(gv, V::mul(yv, V::sub(one, yv))); });
      return map3(n, g, x, y, gx, [&](auto gv, auto xv, auto) {  // e / (1 + e)^2, e = exp(-|x|)
        const auto e = M::exp(V::sub(V::zero(), V::max(xv, V::sub(V::zero(), xv))));
        const auto d = V::add(one, e);
        return V::mul(gv, V::div(e, V::mul(d, d)));
      });
    case Activation::tanh:
      if (y)
        return map3(n, g, x, y, gx, [&](auto gv, auto, auto yv) { return V::mul(gv, V::sub(one, V::mul(yv, yv))); });
      return map3(n, g, x, y, gx, [&](auto gv, auto xv, auto) {  // 4e / (1 + e)^2, e = exp(-2|x|)
        const auto e = M::exp(V::mul(V::set1(T(-2)), V::max(xv, V::sub(V::zero(), xv))));
        const auto d = V::add(one, e);
        return V::mul(gv, V::div(V::mul(V::set1(T(4)), e), V::mul(d, d)));
      });
  }
}

// Note [softmax layouts]: a contiguous row (stride 1) is vectorised along the
// classes; a strided slice is vectorised along positions, a block of them at a
// time, class row by class row: each pass streams contiguous runs of a row
// and the per-position statistics (4 KiB each) stay in L1.
constexpr int64_t kBlock = 1024;

// Per-position max and sum of exp(x - max) over the classes of a block of
// positions (count <= kBlock): m and s hold them afterwards. With y, the
// terms exp(x - max) are also stored there.
template <class T>
void column_stats(int64_t c, int64_t stride, int64_t count, const T* x, T* m, T* s, T* y) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  std::copy(x, x + count, m);
  std::fill(s, s + count, T(0));
  for (int64_t cls = 1; cls < c; ++cls)
    for (int64_t j = 0; j < count; j += L) {
      const int64_t k = std::min<int64_t>(L, count - j);
      store_some(m + j, V::max(load_some(m + j, k), load_some(x + cls * stride + j, k)), k);
    }
  for (int64_t cls = 0; cls < c; ++cls)
    for (int64_t j = 0; j < count; j += L) {
      const int64_t k = std::min<int64_t>(L, count - j);
      const auto e = Math<T>::exp(V::sub(load_some(x + cls * stride + j, k), load_some(m + j, k)));
      store_some(s + j, V::add(load_some(s + j, k), e), k);
      if (y) store_some(y + cls * stride + j, e, k);
    }
}

// Row max and sum of exp(x - max) over c contiguous classes; the terms
// exp(x - max) are stored to y unless it is null.
template <class T>
void row_stats(int64_t c, const T* x, T& max_out, T& sum_out, T* y) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  const int64_t full = c - c % L;
  auto mx = V::set1(-std::numeric_limits<T>::infinity());
  for (int64_t i = 0; i < full; i += L) mx = V::max(mx, V::load(x + i));
  T lanes[L];
  V::store(lanes, mx);
  T m = lanes[0];
  for (int l = 1; l < L; ++l) m = std::max(m, lanes[l]);
  for (int64_t i = full; i < c; ++i) m = std::max(m, x[i]);
  const auto mv = V::set1(m);
  auto acc = V::zero();
  T tail = 0;
  for_each_vector<T>(c, [&](int64_t i, int64_t k) {
    const auto e = Math<T>::exp(V::sub(load_some(x + i, k), mv));
    if (y) store_some(y + i, e, k);
    if (k == L) acc = V::add(acc, e);
    else tail = sum_some<T>(e, k);
  });
  max_out = m;
  sum_out = V::sum(acc) + tail;
}

template <class T>
void softmax_forward(bool log, int64_t c, int64_t stride, int64_t positions, const T* x, T* y) {
  using V = Vec<T>;
  using M = Math<T>;
  if (c == 0 || positions == 0) return;
  if (stride == 1) {
    T m, s;
    row_stats(c, x, m, s, log ? nullptr : y);
    if (log) {  // (x - max) - log(sum): max + log(sum) would round at the scale of max
      const auto mv = V::set1(m), ls = V::set1(std::log(s));
      map1(c, x, y, [&](auto v) { return V::sub(V::sub(v, mv), ls); });
    } else {
      const auto inv = V::set1(T(1) / s);
      map1(c, y, y, [&](auto v) { return V::mul(v, inv); });
    }
    return;
  }
  alignas(64) T m[kBlock], s[kBlock];
  for (int64_t j0 = 0; j0 < positions; j0 += kBlock) {
    const int64_t count = std::min(kBlock, positions - j0);
    const T* xb = x + j0;
    T* yb = y + j0;
    column_stats(c, stride, count, xb, m, s, log ? nullptr : yb);
    for_each_vector<T>(count, [&](int64_t j, int64_t k) {
      const auto sv = load_some(s + j, k);
      store_some(s + j, log ? M::log(sv) : V::div(V::set1(T(1)), sv), k);
    });
    for (int64_t cls = 0; cls < c; ++cls)
      for_each_vector<T>(count, [&](int64_t j, int64_t k) {
        const int64_t at = cls * stride + j;
        const auto sv = load_some(s + j, k);
        store_some(yb + at,
                   log ? V::sub(V::sub(load_some(xb + at, k), load_some(m + j, k)), sv)
                       : V::mul(load_some(yb + at, k), sv),
                   k);
      });
  }
}

template <class T>
void softmax_backward(bool log, int64_t c, int64_t stride, int64_t positions, const T* g,
                      const T* y, T* gx) {
  using V = Vec<T>;
  using M = Math<T>;
  if (c == 0 || positions == 0) return;
  // softmax: gx = y (g - sum g y); log_softmax: gx = g - exp(y) sum g
  auto term = [&](auto gv, auto yv) { return log ? gv : V::mul(gv, yv); };
  auto grad = [&](auto gv, auto yv, auto dot) {
    return log ? V::sub(gv, V::mul(M::exp(yv), dot)) : V::mul(yv, V::sub(gv, dot));
  };
  if (stride == 1) {
    auto acc = V::zero();
    T tail = 0;
    for_each_vector<T>(c, [&](int64_t i, int64_t k) {
      const auto t = term(load_some(g + i, k), load_some(y + i, k));
      if (k == V::lanes) acc = V::add(acc, t);
      else tail = sum_some<T>(t, k);
    });
    const auto dot = V::set1(V::sum(acc) + tail);
    for_each_vector<T>(c, [&](int64_t i, int64_t k) {
      store_some(gx + i, grad(load_some(g + i, k), load_some(y + i, k), dot), k);
    });
    return;
  }
  alignas(64) T dot[kBlock];
  for (int64_t j0 = 0; j0 < positions; j0 += kBlock) {
    const int64_t count = std::min(kBlock, positions - j0);
    std::fill(dot, dot + count, T(0));
    for (int64_t cls = 0; cls < c; ++cls)
      for_each_vector<T>(count, [&](int64_t j, int64_t k) {
        const int64_t at = j0 + cls * stride + j;
        store_some(dot + j, V::add(load_some(dot + j, k), term(load_some(g + at, k), load_some(y + at, k))), k);
      });
    for (int64_t cls = 0; cls < c; ++cls)
      for_each_vector<T>(count, [&](int64_t j, int64_t k) {
        const int64_t at = j0 + cls * stride + j;
        store_some(gx + at, grad(load_some(g + at, k), load_some(y + at, k), load_some(dot + j, k)), k);
      });
  }
}

template <class T>
void softmax_stats(int64_t c, int64_t stride, int64_t positions, const T* x, T* max, T* log_sum) {
  using V = Vec<T>;
  if (stride == 1) {
    T s;
    row_stats(c, x, max[0], s, static_cast<T*>(nullptr));
    log_sum[0] = std::log(s);
    return;
  }
  alignas(64) T s[kBlock];
  for (int64_t j0 = 0; j0 < positions; j0 += kBlock) {
    const int64_t count = std::min(kBlock, positions - j0);
    column_stats(c, stride, count, x + j0, max + j0, s, static_cast<T*>(nullptr));
    for_each_vector<T>(count, [&](int64_t j, int64_t k) {
      store_some(log_sum + j0 + j, Math<T>::log(load_some(s + j, k)), k);
    });
  }
}

template <class T>
void scaled_softmax(int64_t c, int64_t stride, int64_t positions, const T* x, const T* max,
                    const T* log_sum, const T* coef, T* gx) {
  using V = Vec<T>;
  auto term = [](auto xv, auto mv, auto lv, auto av) {
    return V::mul(av, Math<T>::exp(V::sub(V::sub(xv, mv), lv)));
  };
  if (stride == 1) {
    const auto m = V::set1(max[0]), l = V::set1(log_sum[0]), a = V::set1(coef[0]);
    map1(c, x, gx, [&](auto v) { return term(v, m, l, a); });
    return;
  }
  for (int64_t cls = 0; cls < c; ++cls)
    for_each_vector<T>(positions, [&](int64_t j, int64_t k) {
      const int64_t at = cls * stride + j;
      store_some(gx + at, term(load_some(x + at, k), load_some(max + j, k), load_some(log_sum + j, k),
                               load_some(coef + j, k)), k);
    });
}

template <class T>
T squared_error(int64_t n, const T* x, const T* t, T* out) {
  using V = Vec<T>;
  auto acc = V::zero();
  T tail = 0;
  for_each_vector<T>(n, [&](int64_t i, int64_t k) {
    const auto d = V::sub(load_some(x + i, k), load_some(t + i, k));
    const auto sq = V::mul(d, d);
    if (out) store_some(out + i, sq, k);
    if (k == V::lanes) acc = V::add(acc, sq);
    else tail = sum_some<T>(sq, k);
  });
  return V::sum(acc) + tail;
}

template <class T>
void squared_error_backward(int64_t n, const T* g, const T* x, const T* t, T scale, T* gx) {
  using V = Vec<T>;
  const auto a = V::set1(scale);
  for_each_vector<T>(n, [&](int64_t i, int64_t k) {
    auto d = V::mul(a, V::sub(load_some(x + i, k), load_some(t + i, k)));
    if (g) d = V::mul(d, load_some(g + i, k));
    store_some(gx + i, d, k);
  });
}

// A 4 x 4 tile of dot products per pass over k: each loaded vector of x
// feeds 4 FMAs and each of w 4, in 16 accumulators. Edge tiles repeat the last
// row (its results are not stored) rather than branch in the inner loop.
template <class T>
void dot_rows(int64_t rows, int64_t outs, int64_t k, const T* x, int64_t ldx, const T* w,
              int64_t ldw, T* y, int64_t ldy, bool accumulate) {
  using V = Vec<T>;
  using reg = typename V::reg;
  constexpr int R = 4, O = 4;
  for (int64_t o0 = 0; o0 < outs; o0 += O)
    for (int64_t r0 = 0; r0 < rows; r0 += R) {
      const T* xr[R];
      const T* wr[O];
      for (int i = 0; i < R; ++i) xr[i] = x + std::min(r0 + i, rows - 1) * ldx;
      for (int j = 0; j < O; ++j) wr[j] = w + std::min(o0 + j, outs - 1) * ldw;
      reg acc[R][O];
      for (int i = 0; i < R; ++i)
        for (int j = 0; j < O; ++j) acc[i][j] = V::zero();
      for_each_vector<T>(k, [&](int64_t p, int64_t n) {
        reg xv[R], wv[O];
        for (int i = 0; i < R; ++i) xv[i] = load_some(xr[i] + p, n);
        for (int j = 0; j < O; ++j) wv[j] = load_some(wr[j] + p, n);
        for (int i = 0; i < R; ++i)
          for (int j = 0; j < O; ++j) acc[i][j] = V::fmadd(xv[i], wv[j], acc[i][j]);
      });
      for (int64_t i = 0; i < std::min<int64_t>(R, rows - r0); ++i)
        for (int64_t j = 0; j < std::min<int64_t>(O, outs - o0); ++j) {
          T& dst = y[(r0 + i) * ldy + o0 + j];
          dst = (accumulate ? dst : T(0)) + V::sum(acc[i][j]);
        }
    }
}

// Left to the compiler's vectoriser: Vec has no byte lanes.
template <class T>
void masked_scale(int64_t n, const T* x, const uint8_t* keep, T scale, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = keep[i] ? x[i] * scale : T(0);
}

template <class T>
EltwiseKernels<T> eltwise_kernels() {
  EltwiseKernels<T> k;
  k.activation_forward = activation_forward<T>;
  k.activation_backward = activation_backward<T>;
  k.softmax_forward = softmax_forward<T>;
  k.softmax_backward = softmax_backward<T>;
  k.softmax_stats = softmax_stats<T>;
  k.scaled_softmax = scaled_softmax<T>;
  k.squared_error = squared_error<T>;
  k.squared_error_backward = squared_error_backward<T>;
  k.dot_rows = dot_rows<T>;
  k.masked_scale = masked_scale<T>;
  return k;
}

}  // namespace

void register_eltwise_kernels(KernelTable& table) {
  table.eltwises.f32 = eltwise_kernels<float>();
  table.eltwises.f64 = eltwise_kernels<double>();
}

}  // namespace convcore::cpu::CC_ISA
