// SPDX-License-Identifier: MIT
// Max / average / power-average pooling on the GPU: the CPU's semantics
// (cpu/pool.cpp) in plain per-element kernels. Forward: one thread per output
// element, which scans its window in row-major order exactly as the CPU's
// scalar path does (same ties, same NaN rule, same indices). Backward of avg
// / lp, and of max without indices: one thread per input element gathering
// the windows that hold it. Backward of max through caller's indices: each
// output's gradient scattered to its index (atomicAdd).
//
// Threads walk the elements in memory order (NHWC: channels fastest), so
// neighbouring threads touch neighbouring addresses.
#include "cuda/pool.h"

#include "core/error.h"
#include "cuda/pool_common.cuh"

namespace convcore::cuda {
namespace {

using namespace pool_common;  // NOLINT: this family's shared helpers

enum Kind : int { kMax = 0, kAvg = 1, kLp = 2 };

// Everything a kernel needs of a PoolProblem, by value.
struct Dims {
  int64_t n, c, h, w, oh, ow;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
  int64_t divisor_override;  // 0: none
  int kind;
  bool nhwc, count_include_pad;
  double norm_type;
};

Dims dims_of(const PoolProblem& prob) {
  const PoolParams& p = prob.p;
  Dims d{};
  d.n = prob.n, d.c = prob.c, d.h = prob.h, d.w = prob.w, d.oh = prob.oh, d.ow = prob.ow;
  d.kh = p.kernel[0], d.kw = p.kernel[1];
  d.sh = p.stride[0], d.sw = p.stride[1];
  d.ph = p.padding[0], d.pw = p.padding[1];
  d.dh = p.dilation[0], d.dw = p.dilation[1];
  d.divisor_override = p.divisor_override;
  d.kind = p.kind == PoolKind::max ? kMax : p.kind == PoolKind::avg ? kAvg : kLp;
  d.nhwc = p.nhwc;
  d.count_include_pad = p.count_include_pad;
  d.norm_type = p.norm_type;
  return d;
}

// Element i (memory order) of an (N, C, rows, cols) array of the layout: its
// (row, col), and where the same image and channel lie in the call's other
// array, of other_rows x other_cols (element (r, s) at base + (r * other_cols + s) * step).
struct PlanePos {
  int64_t base, step, row, col;
};

__device__ PlanePos plane_pos(int64_t i, bool nhwc, int64_t c, int64_t rows, int64_t cols,
                              int64_t other_rows, int64_t other_cols) {
  PlanePos q;
  if (nhwc) {
    const int64_t ch = i % c;
    int64_t r = i / c;
    q.col = r % cols;
    r /= cols;
    q.row = r % rows;
    q.base = (r / rows) * other_rows * other_cols * c + ch;
    q.step = c;
  } else {
    q.col = i % cols;
    const int64_t r = i / cols;
    q.row = r % rows;
    q.base = (r / rows) * other_rows * other_cols;
    q.step = 1;
  }
  return q;
}

// Output element o: its window position (row, col) and its input plane.
__device__ PlanePos out_pos(const Dims& d, int64_t o) {
  return plane_pos(o, d.nhwc, d.c, d.oh, d.ow, d.h, d.w);
}

// Input element i: its position (row, col) and its output plane.
__device__ PlanePos in_pos(const Dims& d, int64_t i) {
  return plane_pos(i, d.nhwc, d.c, d.h, d.w, d.oh, d.ow);
}

__device__ inline float power(float a, float b) { return powf(a, b); }
__device__ inline double power(double a, double b) { return pow(a, b); }
__device__ inline float root2(float a) { return sqrtf(a); }
__device__ inline double root2(double a) { return sqrt(a); }

// x ** p as the CPU computes it (cpu/kernels/pool_kernels.cpp raise).
template <class T>
__device__ T raise(T v, T p) {
  return p == T(1) ? v : p == T(2) ? v * v : power(v, p);
}

// a ** (1 / p) (lp_root: sqrt for p = 2).
template <class T>
__device__ T root(T a, T p) {
  return p == T(1) ? a : p == T(2) ? root2(a) : power(a, T(1) / p);
}

// lp_coefficients: g * a ** (1 / p) * scale / a; where a is 0: 0 (p = 2: g * 0 * a).
template <class T>
__device__ T lp_coefficient(T g, T a, T scale, T p) {
  if (p == T(2)) return a > T(0) ? g * root2(a) * scale / a : g * T(0) * a;
  return a != T(0) ? g * root(a, p) * scale / a : T(0);
}

// mul_power: g * x ** (p - 1).
template <class T>
__device__ T mul_power(T g, T x, T p) {
  return p == T(1) ? g : p == T(2) ? g * x : g * power(x, p - T(1));
}

// ops/pool_params.cpp avg_pool_divisor.
__device__ int64_t avg_divisor(const Dims& d, int64_t oh, int64_t ow) {
  if (d.divisor_override != 0) return d.divisor_override;
  const int64_t h0 = oh * d.sh - d.ph, w0 = ow * d.sw - d.pw;
  const int64_t h1 = min(h0 + d.kh, d.h + d.ph), w1 = min(w0 + d.kw, d.w + d.pw);
  if (d.count_include_pad) return (h1 - h0) * (w1 - w0);
  return (min(h1, d.h) - max(h0, int64_t{0})) * (min(w1, d.w) - max(w0, int64_t{0}));
}

// cpu/pool.cpp output_scales: avg 1 / divisor, lp kh * kw / divisor; 0 for an empty window.
template <class T>
__device__ T out_scale(const Dims& d, int64_t oh, int64_t ow) {
  const int64_t h0 = oh * d.sh - d.ph, w0 = ow * d.sw - d.pw;
  const TapRange rows = valid_taps(h0, d.h, d.kh, d.dh), cols = valid_taps(w0, d.w, d.kw, d.dw);
  if (rows.begin == rows.end || cols.begin == cols.end) return T(0);
  const double num = d.kind == kLp ? static_cast<double>(d.kh * d.kw) : 1.0;
  return static_cast<T>(num / static_cast<double>(avg_divisor(d, oh, ow)));
}

// The max of output q's window and its flat position in the plane (cpu exact_max,
// including the position an empty dilated window reports).
template <class T>
__device__ void window_max(const Dims& d, const T* x, const PlanePos& q, T* best, int64_t* at) {
  const int64_t h0 = q.row * d.sh - d.ph, w0 = q.col * d.sw - d.pw;
  const TapRange rows = valid_taps(h0, d.h, d.kh, d.dh), cols = valid_taps(w0, d.w, d.kw, d.dw);
  MaxChain<T> m((h0 + rows.begin * d.dh) * d.w + w0 + cols.begin * d.dw);
  for (int64_t i = rows.begin; i < rows.end; ++i) {
    const int64_t row = (h0 + i * d.dh) * d.w + w0;
    for (int64_t j = cols.begin; j < cols.end; ++j) {
      const int64_t flat = row + j * d.dw;
      m.add(x[q.base + flat * q.step], flat);
    }
  }
  *best = m.best;
  *at = m.at;
}

// The sum of x ** p over output q's window, in row-major tap order.
template <class T>
__device__ T window_sum(const Dims& d, const T* x, const PlanePos& q, T p) {
  const int64_t h0 = q.row * d.sh - d.ph, w0 = q.col * d.sw - d.pw;
  const TapRange rows = valid_taps(h0, d.h, d.kh, d.dh), cols = valid_taps(w0, d.w, d.kw, d.dw);
  T s = T(0);
  for (int64_t i = rows.begin; i < rows.end; ++i) {
    const int64_t row = (h0 + i * d.dh) * d.w + w0;
    for (int64_t j = cols.begin; j < cols.end; ++j)
      s += raise(x[q.base + (row + j * d.dw) * q.step], p);
  }
  return s;
}

template <class T>
__global__ void pool_forward_kernel(Dims d, const T* x, T* y, int64_t* index, int64_t total) {
  const T p = static_cast<T>(d.norm_type);
  CC_GRID_STRIDE_LOOP(o, total) {
    const PlanePos q = out_pos(d, o);
    if (d.kind == kMax) {
      T best;
      int64_t at;
      window_max(d, x, q, &best, &at);
      y[o] = best;
      if (index) index[o] = at;
      continue;
    }
    const T v = out_scale<T>(d, q.row, q.col) * window_sum(d, x, q, d.kind == kLp ? p : T(1));
    y[o] = d.kind == kLp ? root(v, p) : v;
  }
}

template <class T>
__global__ void argmax_kernel(Dims d, const T* x, int64_t* index, int64_t total) {
  CC_GRID_STRIDE_LOOP(o, total) {
    T best;
    window_max(d, x, out_pos(d, o), &best, &index[o]);
  }
}

// gx[argmax of o] += gy[o]; an index outside the plane is skipped, and
// reported when it came from the caller (`bad` not null).
template <class T>
__global__ void max_scatter_kernel(Dims d, const T* gy, const int64_t* index, T* gx,
                                   BadIndex* bad, int64_t total) {
  const int64_t plane = d.h * d.w;
  CC_GRID_STRIDE_LOOP(o, total) {
    const int64_t at = index[o];
    const PlanePos q = out_pos(d, o);
    if (at >= 0 && at < plane)
      add_to(gx + q.base + at * q.step, gy[o]);
    else if (bad)
      report_bad_index(bad, at);
  }
}

// Max without indices: gx[i] = the sum of gy[o] over the windows o holding
// tap i whose argmax (recomputed into `index`) is i, in ascending o as the
// CPU adds them. Only when no window is empty (an empty dilated window's
// argmax lies outside it, which only the scatter routes).
template <class T>
__global__ void max_gather_kernel(Dims d, const T* gy, const int64_t* index, T* gx,
                                  int64_t total) {
  CC_GRID_STRIDE_LOOP(i, total) {
    const PlanePos q = in_pos(d, i);
    const int64_t flat = q.row * d.w + q.col;
    T acc = T(0);
    // Tap a of window oh sits at oh * sh - ph + a * dh: a descending gives oh ascending.
    for (int64_t a = d.kh - 1; a >= 0; --a) {
      const int64_t t = q.row + d.ph - a * d.dh;
      if (t < 0 || t % d.sh != 0 || t / d.sh >= d.oh) continue;
      const int64_t oh = t / d.sh;
      for (int64_t b = d.kw - 1; b >= 0; --b) {
        const int64_t u = q.col + d.pw - b * d.dw;
        if (u < 0 || u % d.sw != 0 || u / d.sw >= d.ow) continue;
        const int64_t o = q.base + (oh * d.ow + u / d.sw) * q.step;
        if (index[o] == flat) acc += gy[o];
      }
    }
    gx[i] = acc;
  }
}

// lp: coef[o] = the coefficient of output o (a = scale * sum x ** p).
template <class T>
__global__ void lp_coefficient_kernel(Dims d, const T* x, const T* gy, T* coef, int64_t total) {
  const T p = static_cast<T>(d.norm_type);
  CC_GRID_STRIDE_LOOP(o, total) {
    const PlanePos q = out_pos(d, o);
    const T scale = out_scale<T>(d, q.row, q.col);
    coef[o] = lp_coefficient(gy[o], scale * window_sum(d, x, q, p), scale, p);
  }
}

// avg: gx[i] = sum of gy[o] * scale[o] over the windows o holding i; lp: the
// sum of coef[o] (g) times x[i] ** (p - 1). No dilation here (avg / lp have none).
template <class T>
__global__ void sum_gather_kernel(Dims d, const T* g, const T* x, T* gx, int64_t total) {
  const T p = static_cast<T>(d.norm_type);
  CC_GRID_STRIDE_LOOP(i, total) {
    const PlanePos q = in_pos(d, i);
    // Windows oh with oh * sh - ph <= ih < oh * sh - ph + kh.
    const int64_t top = q.row + d.ph, left = q.col + d.pw;
    const int64_t oh0 = top - d.kh + 1 <= 0 ? 0 : (top - d.kh + 1 + d.sh - 1) / d.sh;
    const int64_t oh1 = min(d.oh - 1, top / d.sh);
    const int64_t ow0 = left - d.kw + 1 <= 0 ? 0 : (left - d.kw + 1 + d.sw - 1) / d.sw;
    const int64_t ow1 = min(d.ow - 1, left / d.sw);
    T acc = T(0);
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const T v = g[q.base + (oh * d.ow + ow) * q.step];
        acc += d.kind == kLp ? v : v * out_scale<T>(d, oh, ow);
      }
    gx[i] = d.kind == kLp ? mul_power(acc, x[i], p) : acc;
  }
}

constexpr int kThreads = 256;

}  // namespace

template <class T>
void pool_forward(const PoolProblem& prob, const TensorView& x, const TensorView& y,
                  int64_t* indices) {
  if (prob.n == 0) return;
  const Dims d = dims_of(prob);
  const int64_t total = prob.n * prob.c * prob.oh * prob.ow;
  pool_forward_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
      d, x.ptr<T>(), y.ptr<T>(), prob.p.kind == PoolKind::max ? indices : nullptr, total);
  CC_CUDA_CHECK_LAUNCH("pool_forward_kernel");
}

template <class T>
void pool_backward(const PoolProblem& prob, const TensorView& gy, const TensorView& x,
                   const int64_t* indices, const TensorView& gx) {
  if (prob.n == 0) return;
  const Dims d = dims_of(prob);
  const int64_t outs = prob.n * prob.c * prob.oh * prob.ow;
  const int64_t ins = prob.n * prob.c * prob.h * prob.w;
  const int device = current_device();
  if (prob.p.kind == PoolKind::max) {
    std::shared_ptr<void> scratch, bad;
    const int64_t* index = indices;
    if (!index) {
      scratch = allocate(device, outs * static_cast<int64_t>(sizeof(int64_t)));
      argmax_kernel<T><<<grid_for(outs, kThreads), kThreads, 0, stream()>>>(
          d, x.ptr<T>(), static_cast<int64_t*>(scratch.get()), outs);
      CC_CUDA_CHECK_LAUNCH("argmax_kernel");
      index = static_cast<const int64_t*>(scratch.get());
      if (!has_empty_window(prob)) {  // deterministic, the CPU's order of adds
        max_gather_kernel<T><<<grid_for(ins, kThreads), kThreads, 0, stream()>>>(
            d, gy.ptr<T>(), index, gx.ptr<T>(), ins);
        CC_CUDA_CHECK_LAUNCH("max_gather_kernel");
        return;
      }
    } else {
      bad = new_bad_index();
    }
    zero_fill(gx.data, ins, sizeof(T));
    max_scatter_kernel<T><<<grid_for(outs, kThreads), kThreads, 0, stream()>>>(
        d, gy.ptr<T>(), index, gx.ptr<T>(), static_cast<BadIndex*>(bad.get()), outs);
    CC_CUDA_CHECK_LAUNCH("max_scatter_kernel");
    int64_t value = 0;
    if (bad && read_bad_index(bad, &value))
      throw_argument_error(prob.p.op, "_backward: indices holds ", value,
                           ", outside the input plane [0, ", prob.h * prob.w, ")");
    return;
  }
  const T* g = gy.ptr<T>();
  std::shared_ptr<void> coef;
  if (prob.p.kind == PoolKind::lp) {
    coef = allocate(device, outs * static_cast<int64_t>(sizeof(T)));
    lp_coefficient_kernel<T><<<grid_for(outs, kThreads), kThreads, 0, stream()>>>(
        d, x.ptr<T>(), gy.ptr<T>(), static_cast<T*>(coef.get()), outs);
    CC_CUDA_CHECK_LAUNCH("lp_coefficient_kernel");
    g = static_cast<const T*>(coef.get());
  }
  sum_gather_kernel<T><<<grid_for(ins, kThreads), kThreads, 0, stream()>>>(
      d, g, x.ptr<T>(), gx.ptr<T>(), ins);
  CC_CUDA_CHECK_LAUNCH("sum_gather_kernel");
}

#define CC_INSTANTIATE(T)                                                                   \
  template void pool_forward<T>(const PoolProblem&, const TensorView&, const TensorView&,  \
                                int64_t*);                                                 \
  template void pool_backward<T>(const PoolProblem&, const TensorView&, const TensorView&, \
                                 const int64_t*, const TensorView&);
CC_INSTANTIATE(float)
CC_INSTANTIATE(double)
#undef CC_INSTANTIATE

}  // namespace convcore::cuda
