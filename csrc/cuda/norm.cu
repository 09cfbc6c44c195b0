// SPDX-License-Identifier: MIT
// Batch norm and LRN on the GPU, with the CPU twin's semantics (cpu/norm.cpp):
//
// Batch norm, the activation viewed as [outer, C, inner]:
//   1. per-channel float64 partial sums: the values of channel c are split
//      into `parts` ranges, one block (or, channels-last, one thread column
//      of a block) per (channel, range), reduced inside the block in a fixed
//      tree order; no atomics, so results never depend on scheduling;
//   2. one thread per channel adds its partials in order and computes the
//      moments, the running-statistics update, save_mean / save_invstd and
//      the per-channel coefficients of the element-wise pass, exactly as the
//      CPU driver does in float64;
//   3. one element-wise pass, y = (x - m) * a + b or
//      dx = dy * a + (x - m) * b + c.
//
// LRN: one thread per element; the backward stores e = d^-beta and
// t = dy x e / d of every element in scratch, then a second pass sums t over
// the windows containing each channel.
#include <algorithm>
#include <cmath>

#include "cuda/launch.cuh"
#include "cuda/norm.h"

namespace convcore::cuda {
namespace {

constexpr int kThreads = 256;        // planes kernels and element-wise passes
constexpr int kRowsX = 32;           // rows kernel: channels per block
constexpr int kRowsY = 8;            //              rows in flight per block
constexpr int64_t kMaxParts = 1024;  // ranges per channel at most

// How the n values of each channel are split into ranges of `chunk`.
struct Split {
  int64_t parts = 0, chunk = 0;
};

__device__ inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

Split split_for(const NormShape& s) {
  const int64_t n = s.per_channel();
  if (s.numel() == 0) return {};  // no sums to take: every sum is 0
  // about 16 values per thread in each range
  const int64_t per_part = s.inner > 1 ? int64_t{kThreads} * 16 : int64_t{kRowsY} * 64;
  const int64_t parts = std::clamp<int64_t>((n + per_part - 1) / per_part, 1, kMaxParts);
  return {parts, (n + parts - 1) / parts};
}

// Terms of the batch statistics: x - shift, shift being the channel's first value.
template <class T>
struct StatTerms {
  const T* x;
  int64_t inner;
  __device__ T ref(int64_t c) const { return x[c * inner]; }
  __device__ void add(int64_t idx, T shift, double& s1, double& s2) const {
    const double d = static_cast<double>(x[idx] - shift);
    s1 += d;
    s2 += d * d;
  }
};

// Terms of the backward: dy and dy * (x - m), m the mean rounded to T.
template <class T>
struct GradTerms {
  const T* dy;
  const T* x;
  const double* mean;
  __device__ T ref(int64_t c) const { return static_cast<T>(mean[c]); }
  __device__ void add(int64_t idx, T m, double& s1, double& s2) const {
    const double g = static_cast<double>(dy[idx]);
    s1 += g;
    s2 += g * static_cast<double>(x[idx] - m);
  }
};

// Channels-first (inner > 1): block (c, part) sums the values
// j in [part * chunk, min(n, (part + 1) * chunk)) of channel c, value j being
// element ((j / inner) * C + c) * inner + j % inner.
template <class Terms>
__global__ void planes_sums_kernel(Terms terms, int64_t C, int64_t inner, int64_t n,
                                   int64_t chunk, int64_t parts, double* part1, double* part2) {
  __shared__ double sh1[kThreads], sh2[kThreads];
  const int64_t c = blockIdx.x, part = blockIdx.y;
  const int64_t begin = part * chunk, end = imin(n, begin + chunk);
  const auto ref = terms.ref(c);
  double s1 = 0, s2 = 0;
  for (int64_t j = begin + threadIdx.x; j < end; j += kThreads) {
    const int64_t o = j / inner, i = j - o * inner;
    terms.add((o * C + c) * inner + i, ref, s1, s2);
  }
  sh1[threadIdx.x] = s1;
  sh2[threadIdx.x] = s2;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      sh1[threadIdx.x] += sh1[threadIdx.x + half];
      sh2[threadIdx.x] += sh2[threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    part1[c * parts + part] = sh1[0];
    part2[c * parts + part] = sh2[0];
  }
}

// Channels-last / (N, C) (inner == 1): rows of C contiguous channels. Block
// (channel tile, part): thread (tx, ty) sums channel tile * 32 + tx over the
// rows begin + ty, begin + ty + 8, ... of its range; the 8 row phases are
// then added in order.
template <class Terms>
__global__ void rows_sums_kernel(Terms terms, int64_t C, int64_t rows, int64_t chunk,
                                 int64_t parts, double* part1, double* part2) {
  __shared__ double sh1[kRowsY][kRowsX], sh2[kRowsY][kRowsX];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kRowsX + tx, part = blockIdx.y;
  const int64_t begin = part * chunk, end = imin(rows, begin + chunk);
  double s1 = 0, s2 = 0;
  if (c < C) {
    const auto ref = terms.ref(c);
    for (int64_t r = begin + ty; r < end; r += kRowsY) terms.add(r * C + c, ref, s1, s2);
  }
  sh1[ty][tx] = s1;
  sh2[ty][tx] = s2;
  __syncthreads();
  if (ty == 0 && c < C) {
    double t1 = 0, t2 = 0;
    for (int y = 0; y < kRowsY; ++y) {
      t1 += sh1[y][tx];
      t2 += sh2[y][tx];
    }
    part1[c * parts + part] = t1;
    part2[c * parts + part] = t2;
  }
}

// part1 / part2 [C, parts] receive the partial sums of `terms` (nothing is
// launched when split.parts == 0).
template <class Terms>
void launch_sums(const NormShape& s, const Split& split, const Terms& terms, double* part1,
                 double* part2) {
  if (split.parts == 0) return;
  if (s.inner > 1) {
    const dim3 grid(static_cast<unsigned>(s.channels), static_cast<unsigned>(split.parts));
    planes_sums_kernel<<<grid, kThreads, 0, stream()>>>(terms, s.channels, s.inner,
                                                        s.per_channel(), split.chunk,
                                                        split.parts, part1, part2);
    CC_CUDA_CHECK_LAUNCH("planes_sums_kernel");
  } else {
    const dim3 grid(static_cast<unsigned>((s.channels + kRowsX - 1) / kRowsX),
                    static_cast<unsigned>(split.parts));
    rows_sums_kernel<<<grid, dim3(kRowsX, kRowsY), 0, stream()>>>(
        terms, s.channels, s.outer, split.chunk, split.parts, part1, part2);
    CC_CUDA_CHECK_LAUNCH("rows_sums_kernel");
  }
}

__device__ double ordered_sum(const double* part, int64_t c, int64_t parts) {
  double s = 0;
  for (int64_t p = 0; p < parts; ++p) s += part[c * parts + p];
  return s;
}

enum class MomentSource { batch, running, saved };

// Per-channel float64 mean, var and invstd (cpu/norm.cpp's batch_moments,
// running_moments, saved_moments). batch: from the partial sums of
// StatTerms (all zero, no values, on an empty batch).
template <class T>
__global__ void moments_kernel(MomentSource src, int64_t C, int64_t n, int64_t inner, double eps,
                               const T* x, const double* part1, const double* part2,
                               int64_t parts, const T* mean_in, const T* var_or_invstd_in,
                               double* mean, double* var, double* invstd) {
  CC_GRID_STRIDE_LOOP(c, C) {
    if (src == MomentSource::batch) {
      const double shift = n > 0 ? static_cast<double>(x[c * inner]) : 0.0;
      const double inv_n = n > 0 ? 1.0 / static_cast<double>(n) : 0.0;
      const double d = ordered_sum(part1, c, parts) * inv_n;
      mean[c] = shift + d;
      var[c] = fmax(0.0, ordered_sum(part2, c, parts) * inv_n - d * d);
      invstd[c] = 1.0 / sqrt(var[c] + eps);
    } else if (src == MomentSource::running) {
      mean[c] = static_cast<double>(mean_in[c]);
      var[c] = static_cast<double>(var_or_invstd_in[c]);
      invstd[c] = 1.0 / sqrt(var[c] + eps);
    } else {
      mean[c] = static_cast<double>(mean_in[c]);
      var[c] = 0.0;
      invstd[c] = static_cast<double>(var_or_invstd_in[c]);
    }
  }
}

// Per-channel coefficients of the element-wise passes, T[4][C]: m, a, b, c.
template <class T>
struct CoefPtrs {
  T *m, *a, *b, *c;
};

template <class T>
__global__ void forward_finalize_kernel(int64_t C, int64_t n, bool update_running, double momentum,
                                        const double* mean, const double* var,
                                        const double* invstd, T* running_mean, T* running_var,
                                        const T* weight, const T* bias, T* save_mean,
                                        T* save_invstd, CoefPtrs<T> k) {
  CC_GRID_STRIDE_LOOP(c, C) {
    if (update_running) {
      // torch: the running variance is the unbiased one (n / (n - 1)); n > 1 here.
      const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
      running_mean[c] = static_cast<T>((1 - momentum) * static_cast<double>(running_mean[c]) +
                                       momentum * mean[c]);
      running_var[c] = static_cast<T>((1 - momentum) * static_cast<double>(running_var[c]) +
                                      momentum * var[c] * unbias);
    }
    const double scale = (weight ? static_cast<double>(weight[c]) : 1.0) * invstd[c];
    const T m = static_cast<T>(mean[c]);
    k.m[c] = m;
    k.a[c] = static_cast<T>(scale);
    k.b[c] = static_cast<T>((bias ? static_cast<double>(bias[c]) : 0.0) -
                            (mean[c] - static_cast<double>(m)) * scale);
    if (save_mean) save_mean[c] = m;
    if (save_invstd) save_invstd[c] = static_cast<T>(invstd[c]);
  }
}

// sums: the partial sums of GradTerms (part1 null: none taken, every sum 0).
template <class T>
__global__ void backward_finalize_kernel(int64_t C, double n, bool training, bool want_dx,
                                         const double* mean, const double* invstd,
                                         const double* part1, const double* part2,
                                         int64_t parts, const T* weight, T* dweight, T* dbias,
                                         CoefPtrs<T> k) {
  CC_GRID_STRIDE_LOOP(c, C) {
    const T m = static_cast<T>(mean[c]);
    double s1 = 0, s2 = 0;
    if (part1) {
      s1 = ordered_sum(part1, c, parts);
      s2 = ordered_sum(part2, c, parts) - (mean[c] - static_cast<double>(m)) * s1;
    }
    if (dweight) dweight[c] = static_cast<T>(s2 * invstd[c]);
    if (dbias) dbias[c] = static_cast<T>(s1);
    if (!want_dx) continue;
    const double scale = (weight ? static_cast<double>(weight[c]) : 1.0) * invstd[c];
    k.a[c] = static_cast<T>(scale);
    if (!training) {  // dx = dy * scale
      k.m[c] = T(0);
      k.b[c] = T(0);
      continue;
    }
    // dx = (dy - mean(dy) - (x - mean) * invstd^2 * mean(dy * (x - mean))) * scale
    const double slope = -scale * invstd[c] * invstd[c] * s2 / n;
    k.m[c] = m;
    k.b[c] = static_cast<T>(slope);
    k.c[c] = static_cast<T>(-scale * s1 / n - slope * (mean[c] - static_cast<double>(m)));
  }
}

// y = (x - m[c]) * a[c] + b[c], c the channel of element i.
template <class T>
__global__ void affine_kernel(int64_t total, int64_t C, int64_t inner, const T* x,
                              CoefPtrs<T> k, T* y) {
  CC_GRID_STRIDE_LOOP(i, total) {
    const int64_t c = (i / inner) % C;
    y[i] = (x[i] - k.m[c]) * k.a[c] + k.b[c];
  }
}

template <class T>
__global__ void grad_input_kernel(int64_t total, int64_t C, int64_t inner, const T* dy,
                                  const T* x, CoefPtrs<T> k, T* dx) {
  CC_GRID_STRIDE_LOOP(i, total) {
    const int64_t c = (i / inner) % C;
    dx[i] = dy[i] * k.a[c] + (x[i] - k.m[c]) * k.b[c] + k.c[c];
  }
}

// Device scratch of a batch-norm call: float64 moments and partial sums, T coefficients.
template <class T>
struct BnWorkspace {
  std::shared_ptr<void> doubles, values;
  double *mean, *var, *invstd, *part1, *part2;
  CoefPtrs<T> k;
  BnWorkspace(int device, int64_t C, const Split& split) {
    const int64_t nd = 3 * C + 2 * C * split.parts;
    doubles = allocate(device, std::max<int64_t>(1, nd) * static_cast<int64_t>(sizeof(double)));
    values = allocate(device, std::max<int64_t>(1, 4 * C) * static_cast<int64_t>(sizeof(T)));
    double* d = static_cast<double*>(doubles.get());
    mean = d;
    var = d + C;
    invstd = d + 2 * C;
    part1 = d + 3 * C;
    part2 = part1 + C * split.parts;
    T* v = static_cast<T*>(values.get());
    k = {v, v + C, v + 2 * C, v + 3 * C};
  }
};

template <class T>
void launch_moments(MomentSource src, const NormShape& s, const Split& split, double eps,
                    const T* x, const T* mean_in, const T* var_or_invstd_in, BnWorkspace<T>& w) {
  const int64_t C = s.channels;
  moments_kernel<T><<<grid_for(C, kThreads), kThreads, 0, stream()>>>(
      src, C, s.per_channel(), s.inner, eps, x, w.part1, w.part2, split.parts, mean_in,
      var_or_invstd_in, w.mean, w.var, w.invstd);
  CC_CUDA_CHECK_LAUNCH("moments_kernel");
}

}  // namespace

template <class T>
void batch_norm_forward(const BatchNormParams& p, const NormShape& s,
                        const BatchNormForwardArgs<T>& a, int device) {
  const int64_t C = s.channels, n = s.per_channel(), total = s.numel();
  if (C == 0) return;
  const Split split = p.training ? split_for(s) : Split{};
  BnWorkspace<T> w(device, C, split);
  if (p.training) {
    launch_sums(s, split, StatTerms<T>{a.x, s.inner}, w.part1, w.part2);
    launch_moments<T>(MomentSource::batch, s, split, p.eps, a.x, nullptr, nullptr, w);
  } else {
    launch_moments<T>(MomentSource::running, s, split, p.eps, a.x, a.running_mean, a.running_var,
                      w);
  }
  // torch leaves the running statistics alone on an empty batch
  const bool update = p.training && a.running_mean && n > 0;
  forward_finalize_kernel<T><<<grid_for(C, kThreads), kThreads, 0, stream()>>>(
      C, n, update, p.momentum, w.mean, w.var, w.invstd, a.running_mean, a.running_var, a.weight,
      a.bias, a.save_mean, a.save_invstd, w.k);
  CC_CUDA_CHECK_LAUNCH("forward_finalize_kernel");
  if (total == 0) return;
  affine_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(total, C, s.inner, a.x,
                                                                         w.k, a.y);
  CC_CUDA_CHECK_LAUNCH("affine_kernel");
}

template <class T>
void batch_norm_backward(const BatchNormParams& p, const NormShape& s,
                         const BatchNormBackwardArgs<T>& a, int device) {
  const int64_t C = s.channels, total = s.numel();
  if (C == 0) return;
  const bool need_sums = a.dweight || a.dbias || (p.training && a.dx);
  const bool batch_stats = p.training && !a.save_mean;
  const Split split = need_sums || batch_stats ? split_for(s) : Split{};
  BnWorkspace<T> w(device, C, split);
  if (!p.training) {
    launch_moments<T>(MomentSource::running, s, split, p.eps, a.x, a.running_mean, a.running_var,
                      w);
  } else if (a.save_mean) {
    launch_moments<T>(MomentSource::saved, s, split, p.eps, a.x, a.save_mean, a.save_invstd, w);
  } else {
    launch_sums(s, split, StatTerms<T>{a.x, s.inner}, w.part1, w.part2);
    launch_moments<T>(MomentSource::batch, s, split, p.eps, a.x, nullptr, nullptr, w);
  }
  // The partial buffers are free again (stream order): reuse them for the gradient sums.
  if (need_sums) launch_sums(s, split, GradTerms<T>{a.dy, a.x, w.mean}, w.part1, w.part2);
  const bool have_sums = need_sums && split.parts > 0;
  backward_finalize_kernel<T><<<grid_for(C, kThreads), kThreads, 0, stream()>>>(
      C, static_cast<double>(s.per_channel()), p.training, a.dx != nullptr, w.mean, w.invstd,
      have_sums ? w.part1 : nullptr, w.part2, split.parts, a.weight, a.dweight, a.dbias, w.k);
  CC_CUDA_CHECK_LAUNCH("backward_finalize_kernel");
  if (!a.dx || total == 0) return;
  if (p.training) {
    grad_input_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
        total, C, s.inner, a.dy, a.x, w.k, a.dx);
    CC_CUDA_CHECK_LAUNCH("grad_input_kernel");
  } else {
    affine_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(total, C, s.inner,
                                                                           a.dy, w.k, a.dx);
    CC_CUDA_CHECK_LAUNCH("affine_kernel");
  }
}

namespace {

// torch's window: channel c sums the squares of channels
// [c - before, c - before + size), those outside [0, C) being zeros.
struct LrnWindow {
  int64_t size, before;
  double alpha_over_size, beta, k;
};

LrnWindow lrn_window(const LrnParams& p) {
  return {p.size, p.size / 2, p.alpha / static_cast<double>(p.size), p.beta, p.k};
}

// d^-beta; the common betas without pow, as the CPU kernels compute them.
template <class T>
__device__ T pow_neg_beta(T d, double beta) {
  if (beta == 0.75) {
    const T r = sqrt(d);
    return T(1) / (r * sqrt(r));
  }
  if (beta == 0.5) return T(1) / sqrt(d);
  if (beta == 1.0) return T(1) / d;
  return pow(d, static_cast<T>(-beta));
}

// k + alpha/size * (window sum of x^2) at element i of channel c; channel j
// of the same position is at i + (j - c) * inner.
template <class T>
__device__ T lrn_denominator(const T* x, int64_t i, int64_t c, int64_t C, int64_t inner,
                             const LrnWindow& w) {
  const int64_t lo = imax(0, c - w.before), hi = imin(C, c - w.before + w.size);
  T sum = T(0);
  for (int64_t j = lo; j < hi; ++j) {
    const T v = x[i + (j - c) * inner];
    sum += v * v;
  }
  return sum * static_cast<T>(w.alpha_over_size) + static_cast<T>(w.k);
}

template <class T>
__global__ void lrn_forward_kernel(int64_t total, int64_t C, int64_t inner, LrnWindow w,
                                   const T* x, T* y) {
  CC_GRID_STRIDE_LOOP(i, total) {
    const int64_t c = (i / inner) % C;
    y[i] = x[i] * pow_neg_beta<T>(lrn_denominator(x, i, c, C, inner, w), w.beta);
  }
}

// e = d^-beta and t = dy x e / d of every element.
template <class T>
__global__ void lrn_terms_kernel(int64_t total, int64_t C, int64_t inner, LrnWindow w,
                                 const T* dy, const T* x, T* e, T* t) {
  CC_GRID_STRIDE_LOOP(i, total) {
    const int64_t c = (i / inner) % C;
    const T d = lrn_denominator(x, i, c, C, inner, w);
    const T ev = pow_neg_beta<T>(d, w.beta);
    e[i] = ev;
    t[i] = dy[i] * x[i] * ev / d;
  }
}

// dx_j = dy_j e_j - 2 alpha/size beta x_j sum of t_m over the channels m
// whose window holds j: m in [j - after, j + before].
template <class T>
__global__ void lrn_backward_kernel(int64_t total, int64_t C, int64_t inner, LrnWindow w,
                                    const T* dy, const T* x, const T* e, const T* t, T* dx) {
  const int64_t after = w.size - 1 - w.before;
  const T coef = static_cast<T>(-2 * w.alpha_over_size * w.beta);
  CC_GRID_STRIDE_LOOP(i, total) {
    const int64_t c = (i / inner) % C;
    const int64_t lo = imax(0, c - after), hi = imin(C, c + w.before + 1);
    T sum = T(0);
    for (int64_t m = lo; m < hi; ++m) sum += t[i + (m - c) * inner];
    dx[i] = dy[i] * e[i] + coef * x[i] * sum;
  }
}

}  // namespace

template <class T>
void lrn_forward(const LrnParams& p, const NormShape& s, const T* x, T* y, int device) {
  (void)device;
  const int64_t total = s.numel();
  if (total == 0) return;
  lrn_forward_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
      total, s.channels, s.inner, lrn_window(p), x, y);
  CC_CUDA_CHECK_LAUNCH("lrn_forward_kernel");
}

template <class T>
void lrn_backward(const LrnParams& p, const NormShape& s, const T* dy, const T* x, T* dx,
                  int device) {
  const int64_t total = s.numel();
  if (total == 0) return;
  auto scratch = allocate(device, 2 * total * static_cast<int64_t>(sizeof(T)));
  T* e = static_cast<T*>(scratch.get());
  T* t = e + total;
  const LrnWindow w = lrn_window(p);
  lrn_terms_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
      total, s.channels, s.inner, w, dy, x, e, t);
  CC_CUDA_CHECK_LAUNCH("lrn_terms_kernel");
  lrn_backward_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
      total, s.channels, s.inner, w, dy, x, e, t, dx);
  CC_CUDA_CHECK_LAUNCH("lrn_backward_kernel");
}

#define CC_INSTANTIATE_NORM(T)                                                              \
  template void batch_norm_forward<T>(const BatchNormParams&, const NormShape&,             \
                                      const BatchNormForwardArgs<T>&, int);                 \
  template void batch_norm_backward<T>(const BatchNormParams&, const NormShape&,            \
                                       const BatchNormBackwardArgs<T>&, int);               \
  template void lrn_forward<T>(const LrnParams&, const NormShape&, const T*, T*, int);      \
  template void lrn_backward<T>(const LrnParams&, const NormShape&, const T*, const T*, T*, \
                                int);
CC_INSTANTIATE_NORM(float)
CC_INSTANTIATE_NORM(double)
#undef CC_INSTANTIATE_NORM

}  // namespace convcore::cuda
