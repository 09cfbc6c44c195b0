// SPDX-License-Identifier: MIT
// Pooling inner loops for the ISA this file is compiled for: NCHW rows as
// vector streams over phase-split rows (Note [phase-split rows] in
// pool_kernels.h), NHWC pixels as vectors over the contiguous channels.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/kernels/kernels.h"
#include "cpu/simd/vec.h"

namespace convcore::cpu::CC_ISA {
namespace {

// x ** power with the two common exponents as plain arithmetic.
enum class Power { one, two, any };

template <class T>
Power power_of(T p) {
  return p == T(1) ? Power::one : p == T(2) ? Power::two : Power::any;
}

template <Power P, class T>
T raise(T v, T p) {
  if constexpr (P == Power::one) return v;
  else if constexpr (P == Power::two) return v * v;
  else return std::pow(v, p);
}

template <Power P, class T>
typename Vec<T>::reg raise_vec(typename Vec<T>::reg v, T p) {
  using V = Vec<T>;
  if constexpr (P == Power::one) {
    return v;
  } else if constexpr (P == Power::two) {
    return V::mul(v, v);
  } else {
    T lanes[V::lanes];
    V::store(lanes, v);
    for (T& l : lanes) l = std::pow(l, p);
    return V::load(lanes);
  }
}

// Whether every value added is finite and above the lowest finite value.
// v * 0 is NaN exactly when v is not finite; four independent chains keep
// the loop at load speed, and the lanes are reduced once at the end.
template <class T>
class PlainCheck {
  using V = Vec<T>;
  static constexpr int L = V::lanes;
  typename V::reg check_[4], low_[4];

 public:
  PlainCheck() {
    for (int u = 0; u < 4; ++u) check_[u] = V::zero(), low_[u] = V::set1(std::numeric_limits<T>::max());
  }
  void add(const T* x, int64_t w) {
    const typename V::reg zero = V::zero();
    int64_t c = 0;
    for (; c + 4 * L <= w; c += 4 * L)
      for (int u = 0; u < 4; ++u) {
        const typename V::reg v = V::load(x + c + u * L);
        check_[u] = V::fmadd(v, zero, check_[u]);
        low_[u] = V::min(v, low_[u]);
      }
    for (; c < w; c += L) {  // load_n's zero-filled lanes are plain
      const typename V::reg v = c + L <= w ? V::load(x + c) : V::load_n(x + c, w - c);
      check_[0] = V::fmadd(v, zero, check_[0]);
      low_[0] = V::min(v, low_[0]);
    }
  }
  bool ok() const {
    T lanes[L];
    V::store(lanes, V::min(V::min(low_[0], low_[1]), V::min(low_[2], low_[3])));
    T lowest = lanes[0];
    for (T l : lanes) lowest = l < lowest ? l : lowest;
    const T s = V::sum(V::add(V::add(check_[0], check_[1]), V::add(check_[2], check_[3])));
    return s == s && lowest > std::numeric_limits<T>::lowest();
  }
};

// Phase q of one padded row: dst[k] = x[k * S + q - pad] ** p inside the row,
// `fill` outside. S = 0 means the runtime stride s; 1 and 2 are compiled in
// so the interior loop vectorizes.
template <int S, Power P, class T>
void split_phase(const T* x, int64_t w, int64_t s, int64_t q, int64_t pad, int64_t len, T fill,
                 T p, T* dst) {
  const int64_t st = S ? S : s;
  // interior: 0 <= k * st + q - pad < w
  int64_t lo = pad - q <= 0 ? 0 : (pad - q + st - 1) / st;
  int64_t hi = w + pad - q <= 0 ? 0 : (w + pad - q + st - 1) / st;
  lo = std::min(lo, len);
  hi = std::max(lo, std::min(hi, len));
  for (int64_t k = 0; k < lo; ++k) dst[k] = fill;
  const T* __restrict src = x + q - pad;
  T* __restrict out = dst;
  for (int64_t k = lo; k < hi; ++k) out[k] = raise<P>(src[k * st], p);
  for (int64_t k = hi; k < len; ++k) dst[k] = fill;
}

// Rows need no padding and split exactly: the plane is one long row.
inline bool is_long_row(int64_t w, int64_t s, int64_t pad, int64_t len, int64_t row_stride) {
  return pad == 0 && w == s * len && row_stride == len;
}

template <int S, Power P, class T>
bool split_rows_as(const T* x, int64_t rows, int64_t w, int64_t s, int64_t pad, int64_t len,
                   int64_t row_stride, int64_t phase_stride, T fill, T p, bool check, T* dst) {
  PlainCheck<T> plain;
  if (is_long_row(w, s, pad, len, row_stride)) {
    if (check) plain.add(x, rows * w);
    for (int64_t q = 0; q < s; ++q)
      split_phase<S, P>(x, rows * w, s, q, 0, rows * len, fill, p, dst + q * phase_stride);
    return !check || plain.ok();
  }
  for (int64_t r = 0; r < rows; ++r) {
    if (check) plain.add(x + r * w, w);
    for (int64_t q = 0; q < s; ++q)
      split_phase<S, P>(x + r * w, w, s, q, pad, len, fill, p,
                        dst + r * row_stride + q * phase_stride);
  }
  return !check || plain.ok();
}

template <Power P, class T>
bool split_rows_power(const T* x, int64_t rows, int64_t w, int64_t s, int64_t pad, int64_t len,
                      int64_t rs, int64_t ps, T fill, T p, bool check, T* dst) {
  if (s == 1) return split_rows_as<1, P>(x, rows, w, s, pad, len, rs, ps, fill, p, check, dst);
  if (s == 2) return split_rows_as<2, P>(x, rows, w, s, pad, len, rs, ps, fill, p, check, dst);
  return split_rows_as<0, P>(x, rows, w, s, pad, len, rs, ps, fill, p, check, dst);
}

template <class T>
bool split_rows(const T* x, int64_t rows, int64_t w, int64_t s, int64_t pad, int64_t len,
                int64_t rs, int64_t ps, T fill, T p, bool check, T* dst) {
  switch (power_of(p)) {
    case Power::one:
      return split_rows_power<Power::one>(x, rows, w, s, pad, len, rs, ps, fill, p, check, dst);
    case Power::two:
      return split_rows_power<Power::two>(x, rows, w, s, pad, len, rs, ps, fill, p, check, dst);
    default:
      return split_rows_power<Power::any>(x, rows, w, s, pad, len, rs, ps, fill, p, check, dst);
  }
}

// The inverse of split_phase's interior: x[k * S + q - pad] = src[k] for the
// k whose column lies in the row.
template <int S, class T>
void merge_phase(const T* src, int64_t w, int64_t s, int64_t q, int64_t pad, int64_t len, T* x) {
  const int64_t st = S ? S : s;
  int64_t lo = pad - q <= 0 ? 0 : (pad - q + st - 1) / st;
  int64_t hi = w + pad - q <= 0 ? 0 : (w + pad - q + st - 1) / st;
  lo = std::min(lo, len);
  hi = std::max(lo, std::min(hi, len));
  T* __restrict dst = x + q - pad;
  const T* __restrict in = src;
  for (int64_t k = lo; k < hi; ++k) dst[k * st] = in[k];
}

template <int S, class T>
void merge_rows_as(const T* src, int64_t rows, int64_t w, int64_t s, int64_t pad, int64_t len,
                   int64_t row_stride, int64_t phase_stride, T* x) {
  if (is_long_row(w, s, pad, len, row_stride)) {
    for (int64_t q = 0; q < s; ++q)
      merge_phase<S>(src + q * phase_stride, rows * w, s, q, 0, rows * len, x);
    return;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t q = 0; q < s; ++q)
      merge_phase<S>(src + r * row_stride + q * phase_stride, w, s, q, pad, len, x + r * w);
}

template <class T>
void merge_rows(const T* src, int64_t rows, int64_t w, int64_t s, int64_t pad, int64_t len,
                int64_t rs, int64_t ps, T* x) {
  if (s == 1) return merge_rows_as<1>(src, rows, w, s, pad, len, rs, ps, x);
  if (s == 2) return merge_rows_as<2>(src, rows, w, s, pad, len, rs, ps, x);
  merge_rows_as<0>(src, rows, w, s, pad, len, rs, ps, x);
}

// index[i] = base + i * stride + rel[i] for i < n (rel: one vector's lanes).
template <class T>
void write_indices(const T* rel, int64_t n, int64_t base, int64_t stride, int64_t* index) {
  for (int64_t i = 0; i < n; ++i) index[i] = base + i * stride + static_cast<int64_t>(rel[i]);
}

// One vector of n (<= lanes) outputs at column o of one row.
template <class T, bool Full, bool WithIndex>
void max_vector(const T* x, const int64_t* tap_off, const T* tap_rel, int ntaps, int64_t o,
                int64_t n, T* y, int64_t* index, int64_t base, int64_t stride) {
  using V = Vec<T>;
  auto load = [&](int t) {
    return Full ? V::load(x + tap_off[t] + o) : V::load_n(x + tap_off[t] + o, n);
  };
  typename V::reg best = load(0);
  typename V::reg r = V::set1(WithIndex ? tap_rel[0] : T(0));
  for (int t = 1; t < ntaps; ++t) {
    const typename V::reg v = load(t);
    if constexpr (WithIndex) r = V::blend_gt(v, best, V::set1(tap_rel[t]), r);
    best = V::max(v, best);
  }
  if constexpr (Full) V::store(y + o, best);
  else V::store_n(y + o, best, n);
  if constexpr (WithIndex) {
    T rel[V::lanes];
    V::store(rel, r);
    write_indices(rel, Full ? V::lanes : n, base + o * stride, stride, index + o);
  }
}

template <class T, bool WithIndex>
void max_rows_as(const T* x, const int64_t* tap_off, const T* tap_rel, int ntaps, int64_t rows,
                 int64_t row_step, int64_t width, T* y, int64_t* index, int64_t index_base,
                 int64_t index_row_step, int64_t stride) {
  constexpr int L = Vec<T>::lanes;
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * row_step;
    T* yr = y + r * width;
    int64_t* ir = WithIndex ? index + r * width : nullptr;
    const int64_t base = index_base + r * index_row_step;
    int64_t o = 0;
    for (; o + L <= width; o += L)
      max_vector<T, true, WithIndex>(xr, tap_off, tap_rel, ntaps, o, L, yr, ir, base, stride);
    if (o < width)
      max_vector<T, false, WithIndex>(xr, tap_off, tap_rel, ntaps, o, width - o, yr, ir, base,
                                      stride);
  }
}

template <class T>
void max_rows(const T* x, const int64_t* tap_off, const T* tap_rel, int ntaps, int64_t rows,
              int64_t row_step, int64_t width, T* y, int64_t* index, int64_t index_base,
              int64_t index_row_step, int64_t stride) {
  if (index)
    max_rows_as<T, true>(x, tap_off, tap_rel, ntaps, rows, row_step, width, y, index, index_base,
                         index_row_step, stride);
  else
    max_rows_as<T, false>(x, tap_off, tap_rel, ntaps, rows, row_step, width, y, nullptr, 0, 0, 0);
}

template <class T>
void sum_rows(const T* x, const int64_t* tap_off, int ntaps, int64_t rows, int64_t row_step,
              int64_t width, const T* scale, T* y) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * row_step;
    const T* sr = scale + r * width;
    T* yr = y + r * width;
    int64_t o = 0;
    for (; o + L <= width; o += L) {
      typename V::reg acc = V::load(xr + tap_off[0] + o);
      for (int t = 1; t < ntaps; ++t) acc = V::add(acc, V::load(xr + tap_off[t] + o));
      V::store(yr + o, V::mul(acc, V::load(sr + o)));
    }
    if (o < width) {
      const int64_t n = width - o;
      typename V::reg acc = V::load_n(xr + tap_off[0] + o, n);
      for (int t = 1; t < ntaps; ++t) acc = V::add(acc, V::load_n(xr + tap_off[t] + o, n));
      V::store_n(yr + o, V::mul(acc, V::load_n(sr + o, n)), n);
    }
  }
}

// dst[k] += h[k], k < n
template <class T>
void add_row(T* dst, const T* h, int64_t n) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  int64_t k = 0;
  for (; k + L <= n; k += L) V::store(dst + k, V::add(V::load(dst + k), V::load(h + k)));
  if (k < n) V::store_n(dst + k, V::add(V::load_n(dst + k, n - k), V::load_n(h + k, n - k)), n - k);
}

// As a gather: the columns j of one phase add the gradient row shifted by
// col_shift[j], so per output row and phase h[k] = sum_j g[k - col_shift[j]]
// is built once and added to each tap row. Adding g tap by tap instead would
// load right after overlapping stores (taps one column apart), which stalls
// store-to-load forwarding.
template <class T>
void scatter_rows(T* x, const int64_t* row_off, int tap_rows, const int64_t* col_phase,
                  const int64_t* col_shift, int kw, int64_t rows, int64_t row_step,
                  int64_t width, const T* g, T* work) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  bool one_column_per_phase = true;
  for (int j = 1; j < kw; ++j)
    for (int i = 0; i < j; ++i) one_column_per_phase &= col_phase[i] != col_phase[j];
  if (one_column_per_phase) {  // no two taps of a tap row overlap: add g directly
    for (int64_t r = 0; r < rows; ++r)
      for (int i = 0; i < tap_rows; ++i)
        for (int j = 0; j < kw; ++j)
          add_row(x + r * row_step + row_off[i] + col_phase[j] + col_shift[j], g + r * width,
                  width);
    return;
  }
  const int64_t pad = col_shift[kw - 1];
  T* gp = work;  // [pad zeros][g row][pad + L zeros]: g[m] at gp[pad + m]
  T* h = work + width + 2 * pad + L;
  std::fill(gp, gp + pad, T(0));
  std::fill(gp + pad + width, gp + width + 2 * pad + L, T(0));
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(g + r * width, g + (r + 1) * width, gp + pad);
    for (int j0 = 0; j0 < kw; ++j0) {
      bool seen = false;  // j0's phase was handled with an earlier column
      for (int j = 0; j < j0 && !seen; ++j) seen = col_phase[j] == col_phase[j0];
      if (seen) continue;
      int64_t span = 0;
      for (int j = j0; j < kw; ++j)
        if (col_phase[j] == col_phase[j0]) span = width + col_shift[j];
      for (int64_t k = 0; k < span; k += L) {
        typename V::reg acc = V::zero();
        for (int j = j0; j < kw; ++j)
          if (col_phase[j] == col_phase[j0]) acc = V::add(acc, V::load(gp + pad - col_shift[j] + k));
        V::store(h + k, acc);
      }
      for (int i = 0; i < tap_rows; ++i)
        add_row(x + r * row_step + row_off[i] + col_phase[j0], h, span);
    }
  }
}

// NHWC: one vector of n channels at c. v * 0 is NaN exactly when v is not
// finite, so `check` stays finite unless a value was NaN or infinite.
template <class T, bool Full, bool WithIndex>
void max_channels(const T* x, const int64_t* off, const T* tap_rel, int ntaps, int64_t c,
                  int64_t n, T* y, int64_t* index, int64_t base, typename Vec<T>::reg& check) {
  using V = Vec<T>;
  auto load = [&](int t) { return Full ? V::load(x + off[t] + c) : V::load_n(x + off[t] + c, n); };
  const typename V::reg zero = V::zero();
  typename V::reg best = load(0);
  typename V::reg r = V::set1(tap_rel[0]);
  check = V::fmadd(best, zero, check);
  for (int t = 1; t < ntaps; ++t) {
    const typename V::reg v = load(t);
    check = V::fmadd(v, zero, check);
    if constexpr (WithIndex) r = V::blend_gt(v, best, V::set1(tap_rel[t]), r);
    best = V::max(v, best);
  }
  if constexpr (Full) V::store(y + c, best);
  else V::store_n(y + c, best, n);
  if constexpr (WithIndex) {
    T rel[V::lanes];
    V::store(rel, r);
    write_indices(rel, Full ? V::lanes : n, base, 0, index + c);
  }
}

template <class T, bool WithIndex>
bool max_pixel_as(const T* x, const int64_t* off, const T* tap_rel, int ntaps, int64_t channels,
                  T* y, int64_t* index, int64_t base) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  typename V::reg check = V::zero();
  int64_t c = 0;
  for (; c + L <= channels; c += L)
    max_channels<T, true, WithIndex>(x, off, tap_rel, ntaps, c, L, y, index, base, check);
  if (c < channels)
    max_channels<T, false, WithIndex>(x, off, tap_rel, ntaps, c, channels - c, y, index, base,
                                      check);
  const T s = V::sum(check);
  return s == s;
}

template <class T>
bool max_pixels(const T* x, const int64_t* off, const T* tap_rel, int ntaps, int64_t pixels,
                int64_t pixel_step, int64_t channels, T* y, int64_t y_step, int64_t* index,
                int64_t base, int64_t index_step) {
  bool ok = true;
  for (int64_t q = 0; q < pixels; ++q) {
    const T* xq = x + q * pixel_step;
    if (index)
      ok &= max_pixel_as<T, true>(xq, off, tap_rel, ntaps, channels, y + q * y_step,
                                  index + q * y_step, base + q * index_step);
    else
      ok &= max_pixel_as<T, false>(xq, off, tap_rel, ntaps, channels, y + q * y_step, nullptr, 0);
  }
  return ok;
}

template <Power P, class T>
void sum_pixel_as(const T* x, const int64_t* off, int ntaps, int64_t channels, T p, T scale,
                  T* y) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  const typename V::reg sv = V::set1(scale);
  int64_t c = 0;
  for (; c + L <= channels; c += L) {
    typename V::reg acc = V::zero();
    for (int t = 0; t < ntaps; ++t) acc = V::add(acc, raise_vec<P>(V::load(x + off[t] + c), p));
    V::store(y + c, V::mul(acc, sv));
  }
  if (c < channels) {
    const int64_t n = channels - c;
    typename V::reg acc = V::zero();
    for (int t = 0; t < ntaps; ++t)
      acc = V::add(acc, raise_vec<P>(V::load_n(x + off[t] + c, n), p));
    V::store_n(y + c, V::mul(acc, sv), n);
  }
}

template <Power P, class T>
void sum_pixels_as(const T* x, const int64_t* off, int ntaps, int64_t pixels, int64_t pixel_step,
                   int64_t channels, T p, const T* scale, T* y, int64_t y_step) {
  for (int64_t q = 0; q < pixels; ++q)
    sum_pixel_as<P>(x + q * pixel_step, off, ntaps, channels, p, scale[q], y + q * y_step);
}

template <class T>
void sum_pixels(const T* x, const int64_t* off, int ntaps, int64_t pixels, int64_t pixel_step,
                int64_t channels, T p, const T* scale, T* y, int64_t y_step) {
  switch (power_of(p)) {
    case Power::one:
      return sum_pixels_as<Power::one>(x, off, ntaps, pixels, pixel_step, channels, p, scale, y,
                                       y_step);
    case Power::two:
      return sum_pixels_as<Power::two>(x, off, ntaps, pixels, pixel_step, channels, p, scale, y,
                                       y_step);
    default:
      return sum_pixels_as<Power::any>(x, off, ntaps, pixels, pixel_step, channels, p, scale, y,
                                       y_step);
  }
}

template <class T>
void scatter_pixel(T* gx, const int64_t* off, int ntaps, int64_t channels, const T* g) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  for (int t = 0; t < ntaps; ++t) {
    T* dst = gx + off[t];
    int64_t c = 0;
    for (; c + L <= channels; c += L) V::store(dst + c, V::add(V::load(dst + c), V::load(g + c)));
    if (c < channels) {
      const int64_t n = channels - c;
      V::store_n(dst + c, V::add(V::load_n(dst + c, n), V::load_n(g + c, n)), n);
    }
  }
}

// The scalar forms (any p) of the power-average epilogues; p = 2, the common
// case, runs on vectors below.
template <class T>
T root_of(T a, T p) {
  return p == T(1) ? a : std::pow(a, T(1) / p);
}

template <class T>
void lp_root(T* y, int64_t n, T p) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  if (p != T(2)) {
    for (int64_t i = 0; i < n; ++i) y[i] = root_of(y[i], p);
    return;
  }
  int64_t i = 0;
  for (; i + L <= n; i += L) V::store(y + i, V::sqrt(V::load(y + i)));
  if (i < n) V::store_n(y + i, V::sqrt(V::load_n(y + i, n - i)), n - i);
}

template <class T>
void lp_coefficients(const T* g, const T* a, const T* scale, int64_t n, T p, T* coef) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  if (p != T(2)) {
    for (int64_t i = 0; i < n; ++i)
      coef[i] = a[i] != T(0) ? g[i] * root_of(a[i], p) * scale[i] / a[i] : T(0);
    return;
  }
  // a = sum x^2 * scale >= 0: where it is not > 0 (0, or NaN) give g * 0 * a (0, or NaN).
  auto one = [&](int64_t i, int64_t m) {
    auto load = [&](const T* q) { return m == L ? V::load(q + i) : V::load_n(q + i, m); };
    const typename V::reg av = load(a), gv = load(g), zero = V::zero();
    const typename V::reg c = V::div(V::mul(V::mul(gv, V::sqrt(av)), load(scale)), av);
    const typename V::reg r = V::blend_gt(av, zero, c, V::mul(V::mul(gv, zero), av));
    if (m == L) V::store(coef + i, r);
    else V::store_n(coef + i, r, m);
  };
  int64_t i = 0;
  for (; i + L <= n; i += L) one(i, L);
  if (i < n) one(i, n - i);
}

template <class T>
void mul_power(T* g, const T* x, int64_t n, T p) {
  using V = Vec<T>;
  constexpr int L = V::lanes;
  if (p == T(1)) return;
  if (p != T(2)) {
    for (int64_t i = 0; i < n; ++i) g[i] *= std::pow(x[i], p - T(1));
    return;
  }
  int64_t i = 0;
  for (; i + L <= n; i += L) V::store(g + i, V::mul(V::load(g + i), V::load(x + i)));
  if (i < n) V::store_n(g + i, V::mul(V::load_n(g + i, n - i), V::load_n(x + i, n - i)), n - i);
}

template <class T>
PoolKernels<T> make_pool_kernels() {
  PoolKernels<T> k;
  k.split_rows = split_rows<T>;
  k.merge_rows = merge_rows<T>;
  k.max_rows = max_rows<T>;
  k.sum_rows = sum_rows<T>;
  k.scatter_rows = scatter_rows<T>;
  k.max_pixels = max_pixels<T>;
  k.sum_pixels = sum_pixels<T>;
  k.scatter_pixel = scatter_pixel<T>;
  k.lp_root = lp_root<T>;
  k.lp_coefficients = lp_coefficients<T>;
  k.mul_power = mul_power<T>;
  return k;
}

}  // namespace

void register_pool_kernels(KernelTable& table) {
  table.pools.f32 = make_pool_kernels<float>();
  table.pools.f64 = make_pool_kernels<double>();
}

}  // namespace convcore::cpu::CC_ISA
