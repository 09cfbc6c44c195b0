// SPDX-License-Identifier: MIT
// Pooling drivers. NCHW runs plane by plane on the thread pool: the plane is
// phase-split once into scratch (Note [phase-split rows], pool_kernels.h) and
// every output row is then a handful of contiguous vector streams. NHWC runs
// pixel by pixel with vectors over the channels. Windows that need PyTorch's
// exact NaN rule, or indices a float cannot hold, take the scalar path.
#include "cpu/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "core/workspace.h"
#include "cpu/kernels/kernels.h"

namespace convcore::cpu {
namespace {

// The vector max paths carry a tap's offset from the window's top-left as T.
template <class T>
bool offsets_exact_in(const PoolProblem& prob) {
  const PoolParams& p = prob.p;
  const long double span = static_cast<long double>(p.kernel[0] - 1) * p.dilation[0] * prob.w +
                           static_cast<long double>(p.kernel[1] - 1) * p.dilation[1];
  return span < std::ldexp(1.0L, std::numeric_limits<T>::digits);
}

// PyTorch's max window loop (aten/src/ATen/native/cpu/MaxPoolKernel.cpp): the
// first maximum in row-major order wins, a NaN always replaces (so the last
// NaN wins). Element (ih, iw) of the plane is x[(ih * W + iw) * cs].
template <class T>
void exact_max(const PoolProblem& prob, const T* x, int64_t cs, int64_t oh, int64_t ow, T* y,
               int64_t* index) {
  const PoolWindow win = pool_window(prob, oh, ow);
  const int64_t dh = prob.p.dilation[0], dw = prob.p.dilation[1];
  T best = -std::numeric_limits<T>::infinity();
  int64_t at = (win.h0 + win.rows.begin * dh) * prob.w + win.w0 + win.cols.begin * dw;
  for (int64_t i = win.rows.begin; i < win.rows.end; ++i)
    for (int64_t j = win.cols.begin; j < win.cols.end; ++j) {
      const int64_t flat = (win.h0 + i * dh) * prob.w + win.w0 + j * dw;
      const T v = x[flat * cs];
      if (v > best || std::isnan(v)) best = v, at = flat;
    }
  *y = best;
  if (index) *index = at;
}

// Per output (oh, ow): avg: 1 / divisor; lp: kh * kw / divisor (PyTorch's lp
// is avg_pool(x ** p) * kh * kw). 0 for an empty window (its output is 0).
template <class T>
std::vector<T> output_scales(const PoolProblem& prob) {
  std::vector<T> s(static_cast<size_t>(prob.oh * prob.ow));
  const double num = prob.p.kind == PoolKind::lp
                         ? static_cast<double>(prob.p.kernel[0] * prob.p.kernel[1]) : 1.0;
  for (int64_t oh = 0; oh < prob.oh; ++oh)
    for (int64_t ow = 0; ow < prob.ow; ++ow) {
      const PoolWindow w = pool_window(prob, oh, ow);
      const bool empty = w.rows.begin == w.rows.end || w.cols.begin == w.cols.end;
      const int64_t d = avg_pool_divisor(prob, oh, ow);
      s[oh * prob.ow + ow] = empty ? T(0) : static_cast<T>(num / static_cast<double>(d));
    }
  return s;
}

// ---- NCHW ----------------------------------------------------------------

// The layout of a phase-split plane (Note [phase-split rows], pool_kernels.h).
struct Split {
  int64_t stride, pad_left, phase_len, row_stride, phase_stride;
  int64_t plane_size(int64_t rows) const { return rows * stride * phase_len; }
};

Split split_of(const PoolProblem& prob) {
  const PoolParams& p = prob.p;
  const int64_t s = p.stride[1];
  const int64_t reach = (prob.ow - 1) * s + (p.kernel[1] - 1) * p.dilation[1] + 1;
  const int64_t padded = std::max(reach, prob.w + p.padding[1]);
  const int64_t len = (padded + s - 1) / s;
  if (p.padding[1] == 0 && prob.w == s * len) return {s, 0, len, len, prob.h * len};
  return {s, p.padding[1], len, s * len, len};
}

// A run of output rows [oh0, oh1) whose windows hold the same tap rows (all
// interior rows form one run): tap t's offset in a split plane for row oh0
// (row oh0 + r adds r * row_step), and its offset from the window's top-left
// in the input plane.
template <class T>
struct RowRun {
  int64_t oh0 = 0, oh1 = 0;
  std::vector<int64_t> off;
  std::vector<T> rel;
  std::vector<int64_t> row_off;  // of each tap row: off = row_off[i] + col_phase[j] + col_shift[j]
  int ntaps() const { return static_cast<int>(off.size()); }
  int64_t rows() const { return oh1 - oh0; }
};

// Output rows grouped into runs, so that a kernel call covers many rows.
template <class T>
struct RowPlan {
  Split sp;
  int64_t row_step = 0;  // split-plane elements between consecutive output rows
  std::vector<RowRun<T>> runs;
  std::vector<int64_t> col_phase, col_shift;  // of each kernel column
};

template <class T>
RowPlan<T> row_plan(const PoolProblem& prob) {
  const PoolParams& p = prob.p;
  RowPlan<T> plan;
  plan.sp = split_of(prob);
  const Split& sp = plan.sp;
  plan.row_step = p.stride[0] * sp.row_stride;
  for (int64_t j = 0; j < p.kernel[1]; ++j) {
    const int64_t c = j * p.dilation[1];
    plan.col_phase.push_back((c % sp.stride) * sp.phase_stride);
    plan.col_shift.push_back(c / sp.stride);
  }
  TapRange last{-1, -1};
  for (int64_t oh = 0; oh < prob.oh; ++oh) {
    const PoolWindow win = pool_window(prob, oh, 0);
    if (!plan.runs.empty() && win.rows.begin == last.begin && win.rows.end == last.end) {
      plan.runs.back().oh1 = oh + 1;
      continue;
    }
    last = win.rows;
    RowRun<T> run;
    run.oh0 = oh, run.oh1 = oh + 1;
    for (int64_t i = win.rows.begin; i < win.rows.end; ++i) {
      run.row_off.push_back((win.h0 + i * p.dilation[0]) * sp.row_stride);
      for (int64_t j = 0; j < p.kernel[1]; ++j) {
        run.off.push_back(run.row_off.back() + plan.col_phase[j] + plan.col_shift[j]);
        run.rel.push_back(static_cast<T>(i * p.dilation[0] * prob.w + j * p.dilation[1]));
      }
    }
    plan.runs.push_back(std::move(run));
  }
  return plan;
}

// Per-thread scratch of the NCHW paths.
template <class T>
struct PlaneScratch {
  std::vector<T> values, sums;  // output planes: a recomputed max / lp's sums
  std::vector<T> work;          // scatter_rows' row buffers
  std::vector<int64_t> argmax;  // a recomputed max's indices
  T* plane = nullptr;           // a split plane (input, or input ** p)
  T* grad = nullptr;            // a split plane of gradients
  PlaneScratch(const PoolProblem& prob, const Split& sp, bool need_grad, bool need_outputs)
      : values(need_outputs ? static_cast<size_t>(prob.oh * prob.ow) : 0),
        sums(values.size()),
        work(need_grad ? static_cast<size_t>(2 * (prob.ow + 2 * (prob.p.kernel[1] - 1) *
                                                                  prob.p.dilation[1] + 64))
                       : 0),
        argmax(values.size()) {
    plane = scratch_as<T>(Scratch::plane, sp.plane_size(prob.h));
    if (need_grad) grad = scratch_as<T>(Scratch::plane_grad, sp.plane_size(prob.h));
  }
};

template <class T>
void max_plane(const PoolProblem& prob, const RowPlan<T>& plan, bool vector_ok, const T* x, T* y,
               int64_t* index, PlaneScratch<T>& s) {
  const PoolKernels<T>& k = kernels().pool<T>();
  const Split& sp = plan.sp;
  const bool plain = vector_ok && k.split_rows(x, prob.h, prob.w, sp.stride, sp.pad_left,
                                               sp.phase_len, sp.row_stride, sp.phase_stride,
                                               std::numeric_limits<T>::lowest(), T(1), true,
                                               s.plane);
  if (!plain) {
    for (int64_t oh = 0; oh < prob.oh; ++oh)
      for (int64_t ow = 0; ow < prob.ow; ++ow)
        exact_max(prob, x, 1, oh, ow, y + oh * prob.ow + ow,
                  index ? index + oh * prob.ow + ow : nullptr);
    return;
  }
  const PoolParams& p = prob.p;
  for (const RowRun<T>& run : plan.runs) {
    const int64_t at = run.oh0 * prob.ow;
    const int64_t base = (run.oh0 * p.stride[0] - p.padding[0]) * prob.w - p.padding[1];
    k.max_rows(s.plane, run.off.data(), run.rel.data(), run.ntaps(), run.rows(), plan.row_step,
               prob.ow, y + at, index ? index + at : nullptr, base, p.stride[0] * prob.w,
               p.stride[1]);
  }
}

// y = scale * window sums of the split plane (of x, or x ** p for lp)
template <class T>
void sum_plane(const PoolProblem& prob, const RowPlan<T>& plan, const T* x, const T* scales,
               T* y, PlaneScratch<T>& s) {
  const PoolKernels<T>& k = kernels().pool<T>();
  const Split& sp = plan.sp;
  const bool lp = prob.p.kind == PoolKind::lp;
  k.split_rows(x, prob.h, prob.w, sp.stride, sp.pad_left, sp.phase_len, sp.row_stride,
               sp.phase_stride, T(0), lp ? static_cast<T>(prob.p.norm_type) : T(1), false,
               s.plane);
  for (const RowRun<T>& run : plan.runs) {
    const int64_t at = run.oh0 * prob.ow;
    k.sum_rows(s.plane, run.off.data(), run.ntaps(), run.rows(), plan.row_step, prob.ow,
               scales + at, y + at);
  }
}

template <class T>
void forward_nchw(const PoolProblem& prob, const T* x, T* y, int64_t* index, int threads) {
  const RowPlan<T> plan = row_plan<T>(prob);
  const bool vector_ok = offsets_exact_in<T>(prob) && !has_empty_window(prob);
  const bool is_max = prob.p.kind == PoolKind::max;
  const std::vector<T> scales = is_max ? std::vector<T>() : output_scales<T>(prob);
  const T p = static_cast<T>(prob.p.norm_type);
  const int64_t in_plane = prob.h * prob.w, out_plane = prob.oh * prob.ow;
  parallel_for(prob.n * prob.c, threads, [&](int64_t begin, int64_t end, int) {
    PlaneScratch<T> s(prob, plan.sp, false, false);
    for (int64_t pl = begin; pl < end; ++pl) {
      T* yp = y + pl * out_plane;
      if (is_max) {
        max_plane(prob, plan, vector_ok, x + pl * in_plane, yp,
                  index ? index + pl * out_plane : nullptr, s);
        continue;
      }
      sum_plane(prob, plan, x + pl * in_plane, scales.data(), yp, s);
      if (prob.p.kind == PoolKind::lp) kernels().pool<T>().lp_root(yp, out_plane, p);
    }
  });
}

[[noreturn]] void throw_bad_index(const PoolProblem& prob, int64_t value, int64_t plane_size) {
  throw_argument_error(prob.p.op, "_backward: indices holds ", value,
                       ", outside the input plane [0, ", plane_size, ")");
}

// gx = the gradient routed to each plane's argmax (indices, or recomputed).
template <class T>
void max_backward_plane(const PoolProblem& prob, const RowPlan<T>& plan, bool vector_ok,
                        const T* g, const T* x, const int64_t* indices, T* gx,
                        PlaneScratch<T>& s) {
  const int64_t in_plane = prob.h * prob.w, out_plane = prob.oh * prob.ow;
  if (!indices) max_plane(prob, plan, vector_ok, x, s.values.data(), s.argmax.data(), s);
  const int64_t* idx = indices ? indices : s.argmax.data();
  std::fill(gx, gx + in_plane, T(0));
  for (int64_t o = 0; o < out_plane; ++o) {
    const int64_t at = idx[o];
    if (at >= 0 && at < in_plane) gx[at] += g[o];
    else if (indices) throw_bad_index(prob, at, in_plane);
    // else: an empty dilated window, no input to route to
  }
}

// avg: gx = the adjoint of the scaled window sums; lp: the same of the
// coefficients grad * out / sum(x ** p), times x ** (p - 1).
template <class T>
void sum_backward_plane(const PoolProblem& prob, const RowPlan<T>& plan, const T* scales,
                        const T* g, const T* x, T* gx, PlaneScratch<T>& s) {
  const PoolKernels<T>& k = kernels().pool<T>();
  const Split& sp = plan.sp;
  const int64_t out_plane = prob.oh * prob.ow;
  const T p = static_cast<T>(prob.p.norm_type);
  T* coef = s.values.data();
  if (prob.p.kind == PoolKind::lp) {
    sum_plane(prob, plan, x, scales, s.sums.data(), s);
    k.lp_coefficients(g, s.sums.data(), scales, out_plane, p, coef);
  } else {
    for (int64_t o = 0; o < out_plane; ++o) coef[o] = g[o] * scales[o];
  }
  std::fill(s.grad, s.grad + sp.plane_size(prob.h), T(0));
  for (const RowRun<T>& run : plan.runs)
    k.scatter_rows(s.grad, run.row_off.data(), static_cast<int>(run.row_off.size()),
                   plan.col_phase.data(), plan.col_shift.data(),
                   static_cast<int>(plan.col_phase.size()), run.rows(), plan.row_step, prob.ow,
                   coef + run.oh0 * prob.ow, s.work.data());
  k.merge_rows(s.grad, prob.h, prob.w, sp.stride, sp.pad_left, sp.phase_len, sp.row_stride,
               sp.phase_stride, gx);
  if (prob.p.kind == PoolKind::lp) k.mul_power(gx, x, prob.h * prob.w, p);
}

// Note [stride-1 adjoint]: with unit strides the adjoint of a box sum is
// the box sum of the zero-padded gradient, gx[ih] = sum of coef[oh] over
// ih + pad - k < oh <= ih + pad: a forward sum pool of the coefficient plane
// with padding k - 1 - pad, which runs on the fast forward path.
PoolProblem stride1_adjoint(const PoolProblem& prob) {
  PoolProblem adj = prob;
  adj.h = prob.oh, adj.w = prob.ow, adj.oh = prob.h, adj.ow = prob.w;
  adj.p.kind = PoolKind::avg;
  adj.p.ceil_mode = false;
  adj.p.padding = {prob.p.kernel[0] - 1 - prob.p.padding[0],
                   prob.p.kernel[1] - 1 - prob.p.padding[1]};
  return adj;
}

template <class T>
void avg_backward_stride1(const PoolProblem& prob, const T* gy, T* gx, int threads) {
  const PoolProblem adj = stride1_adjoint(prob);
  const RowPlan<T> plan = row_plan<T>(adj);
  const std::vector<T> scales = output_scales<T>(prob);
  const std::vector<T> ones(static_cast<size_t>(prob.h * prob.w), T(1));
  const int64_t in_plane = prob.h * prob.w, out_plane = prob.oh * prob.ow;
  parallel_for(prob.n * prob.c, threads, [&](int64_t begin, int64_t end, int) {
    std::vector<T> coef(static_cast<size_t>(out_plane));
    PlaneScratch<T> s(adj, plan.sp, false, false);
    for (int64_t pl = begin; pl < end; ++pl) {
      const T* g = gy + pl * out_plane;
      for (int64_t o = 0; o < out_plane; ++o) coef[o] = g[o] * scales[o];
      sum_plane(adj, plan, coef.data(), ones.data(), gx + pl * in_plane, s);
    }
  });
}

template <class T>
void backward_nchw(const PoolProblem& prob, const T* gy, const T* x, const int64_t* indices,
                   T* gx, int threads) {
  const bool is_max = prob.p.kind == PoolKind::max;
  if (prob.p.kind == PoolKind::avg && prob.p.stride[0] == 1 && prob.p.stride[1] == 1)
    return avg_backward_stride1(prob, gy, gx, threads);
  const RowPlan<T> plan = row_plan<T>(prob);
  const bool vector_ok = offsets_exact_in<T>(prob) && !has_empty_window(prob);
  const std::vector<T> scales = is_max ? std::vector<T>() : output_scales<T>(prob);
  const int64_t in_plane = prob.h * prob.w, out_plane = prob.oh * prob.ow;
  parallel_for(prob.n * prob.c, threads, [&](int64_t begin, int64_t end, int) {
    PlaneScratch<T> s(prob, plan.sp, !is_max, !is_max || !indices);
    for (int64_t pl = begin; pl < end; ++pl) {
      const T* g = gy + pl * out_plane;
      const T* xp = x + pl * in_plane;
      if (is_max)
        max_backward_plane(prob, plan, vector_ok, g, xp,
                           indices ? indices + pl * out_plane : nullptr, gx + pl * in_plane, s);
      else
        sum_backward_plane(prob, plan, scales.data(), g, xp, gx + pl * in_plane, s);
    }
  });
}

// ---- NHWC ----------------------------------------------------------------

// The taps of pixel (oh, ow) inside the input: element offsets (pixel * C)
// from the image and offsets from the window's top-left in the plane.
template <class T>
int pixel_taps(const PoolProblem& prob, const PoolWindow& win, int64_t* off, T* rel) {
  const PoolParams& p = prob.p;
  int n = 0;
  for (int64_t i = win.rows.begin; i < win.rows.end; ++i)
    for (int64_t j = win.cols.begin; j < win.cols.end; ++j) {
      const int64_t di = i * p.dilation[0], dj = j * p.dilation[1];
      off[n] = ((win.h0 + di) * prob.w + win.w0 + dj) * prob.c;
      rel[n] = static_cast<T>(di * prob.w + dj);
      ++n;
    }
  return n;
}

template <class T>
struct PixelScratch {
  std::vector<int64_t> off;
  std::vector<T> rel, a, b, scale;
  explicit PixelScratch(const PoolProblem& prob)
      : off(static_cast<size_t>(prob.p.kernel[0] * prob.p.kernel[1])),
        rel(off.size()),
        a(static_cast<size_t>(prob.c)),
        b(static_cast<size_t>(prob.c)),
        scale(static_cast<size_t>(prob.c)) {}
};

// Max over channels [c0, c0 + cn) of pixel (oh, ow) of image xi: values to y,
// plane indices (may be null) to index (stride 1 over the channels).
template <class T>
void max_pixel(const PoolProblem& prob, bool vector_ok, const T* xi, int64_t oh, int64_t ow,
               int64_t c0, int64_t cn, T* y, int64_t* index, PixelScratch<T>& s) {
  const PoolWindow win = pool_window(prob, oh, ow);
  const int n = pixel_taps(prob, win, s.off.data(), s.rel.data());
  const bool ok = vector_ok && n > 0 &&
                  kernels().pool<T>().max_pixels(xi + c0, s.off.data(), s.rel.data(), n, 1, 0,
                                                 cn, y, 0, index, win.h0 * prob.w + win.w0, 0);
  if (!ok)
    for (int64_t c = 0; c < cn; ++c)
      exact_max(prob, xi + c0 + c, prob.c, oh, ow, y + c, index ? index + c : nullptr);
}

// The output pixels [ow, end) of row oh whose windows hold the same taps as ow's.
int64_t pixel_run_end(const PoolProblem& prob, int64_t oh, int64_t ow) {
  const PoolWindow first = pool_window(prob, oh, ow);
  int64_t end = ow + 1;
  for (; end < prob.ow; ++end) {
    const PoolWindow w = pool_window(prob, oh, end);
    if (w.cols.begin != first.cols.begin || w.cols.end != first.cols.end) break;
  }
  return end;
}

template <class T>
void forward_nhwc(const PoolProblem& prob, const T* x, T* y, int64_t* index, int threads) {
  const bool vector_ok = offsets_exact_in<T>(prob);
  const std::vector<T> scales =
      prob.p.kind == PoolKind::max ? std::vector<T>() : output_scales<T>(prob);
  const T p = static_cast<T>(prob.p.norm_type);
  const bool lp = prob.p.kind == PoolKind::lp;
  const int64_t C = prob.c, sw = prob.p.stride[1];
  parallel_for(prob.n * prob.oh, threads, [&](int64_t begin, int64_t end, int) {
    const PoolKernels<T>& k = kernels().pool<T>();
    PixelScratch<T> s(prob);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t img = r / prob.oh, oh = r % prob.oh;
      const T* xi = x + img * prob.h * prob.w * C;
      for (int64_t ow = 0, run_end; ow < prob.ow; ow = run_end) {
        run_end = pixel_run_end(prob, oh, ow);
        const int64_t at = (r * prob.ow + ow) * C, pixels = run_end - ow;
        const PoolWindow win = pool_window(prob, oh, ow);
        const int n = pixel_taps(prob, win, s.off.data(), s.rel.data());
        if (prob.p.kind == PoolKind::max) {
          const bool ok = vector_ok && n > 0 &&
                          k.max_pixels(xi, s.off.data(), s.rel.data(), n, pixels, sw * C, C,
                                       y + at, C, index ? index + at : nullptr,
                                       win.h0 * prob.w + win.w0, sw);
          if (!ok)
            for (int64_t q = 0; q < pixels; ++q)
              for (int64_t c = 0; c < C; ++c)
                exact_max(prob, xi + c, C, oh, ow + q, y + at + q * C + c,
                          index ? index + at + q * C + c : nullptr);
          continue;
        }
        k.sum_pixels(xi, s.off.data(), n, pixels, sw * C, C, lp ? p : T(1),
                     scales.data() + oh * prob.ow + ow, y + at, C);
        if (lp) k.lp_root(y + at, pixels * C, p);
      }
    }
  });
}

template <class T>
void backward_nhwc(const PoolProblem& prob, const T* gy, const T* x, const int64_t* indices,
                   T* gx, int threads) {
  const bool vector_ok = offsets_exact_in<T>(prob);
  const bool is_max = prob.p.kind == PoolKind::max, lp = prob.p.kind == PoolKind::lp;
  const std::vector<T> scales = is_max ? std::vector<T>() : output_scales<T>(prob);
  const T p = static_cast<T>(prob.p.norm_type);
  const int64_t C = prob.c, in_plane = prob.h * prob.w;
  // Images are independent; split the channels too when there are fewer images than threads.
  const int64_t chunks = prob.n >= threads ? 1 : std::min<int64_t>(C, (threads + prob.n - 1) / std::max<int64_t>(prob.n, 1));
  const int64_t width = (C + chunks - 1) / chunks;
  parallel_for(prob.n * chunks, threads, [&](int64_t begin, int64_t end, int) {
    const PoolKernels<T>& k = kernels().pool<T>();
    PixelScratch<T> s(prob);
    std::vector<int64_t> idx(static_cast<size_t>(C));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t img = item / chunks, c0 = (item % chunks) * width;
      const int64_t cn = std::min(width, C - c0);
      if (cn <= 0) continue;
      const T* xi = x + img * in_plane * C;
      T* gi = gx + img * in_plane * C;
      for (int64_t px = 0; px < in_plane; ++px) std::fill(gi + px * C + c0, gi + px * C + c0 + cn, T(0));
      for (int64_t oh = 0; oh < prob.oh; ++oh)
        for (int64_t ow = 0; ow < prob.ow; ++ow) {
          const int64_t at = ((img * prob.oh + oh) * prob.ow + ow) * C + c0;
          const T* g = gy + at;
          if (is_max) {
            const int64_t* ix = indices ? indices + at : idx.data();
            if (!indices) max_pixel(prob, vector_ok, xi, oh, ow, c0, cn, s.b.data(), idx.data(), s);
            for (int64_t c = 0; c < cn; ++c) {
              if (ix[c] < 0 || ix[c] >= in_plane) {
                if (indices) throw_bad_index(prob, ix[c], in_plane);
                continue;
              }
              gi[ix[c] * C + c0 + c] += g[c];
            }
            continue;
          }
          const PoolWindow win = pool_window(prob, oh, ow);
          const int n = pixel_taps(prob, win, s.off.data(), s.rel.data());
          const T sc = scales[oh * prob.ow + ow];
          T* coef = s.b.data();
          if (lp) {
            k.sum_pixels(xi + c0, s.off.data(), n, 1, 0, cn, p, &sc, s.a.data(), 0);
            std::fill(s.scale.begin(), s.scale.begin() + cn, sc);
            k.lp_coefficients(g, s.a.data(), s.scale.data(), cn, p, coef);
          } else {
            for (int64_t c = 0; c < cn; ++c) coef[c] = g[c] * sc;
          }
          k.scatter_pixel(gi + c0, s.off.data(), n, cn, coef);
        }
      if (lp)
        for (int64_t px = 0; px < in_plane; ++px) k.mul_power(gi + px * C + c0, xi + px * C + c0, cn, p);
    }
  });
}

}  // namespace

template <class T>
void pool_forward(const PoolProblem& prob, const TensorView& x, const TensorView& y,
                  int64_t* indices, int threads) {
  if (prob.n == 0) return;
  if (prob.p.nhwc)
    forward_nhwc(prob, x.ptr<T>(), y.ptr<T>(), indices, threads);
  else
    forward_nchw(prob, x.ptr<T>(), y.ptr<T>(), indices, threads);
}

template <class T>
void pool_backward(const PoolProblem& prob, const TensorView& gy, const TensorView& x,
                   const int64_t* indices, const TensorView& gx, int threads) {
  if (prob.n == 0) return;
  if (prob.p.nhwc)
    backward_nhwc(prob, gy.ptr<T>(), x.ptr<T>(), indices, gx.ptr<T>(), threads);
  else
    backward_nchw(prob, gy.ptr<T>(), x.ptr<T>(), indices, gx.ptr<T>(), threads);
}

#define CC_INSTANTIATE(T)                                                                     \
  template void pool_forward<T>(const PoolProblem&, const TensorView&, const TensorView&,    \
                                int64_t*, int);                                              \
  template void pool_backward<T>(const PoolProblem&, const TensorView&, const TensorView&,   \
                                 const int64_t*, const TensorView&, int);
CC_INSTANTIATE(float)
CC_INSTANTIATE(double)
#undef CC_INSTANTIATE

}  // namespace convcore::cpu
