// SPDX-License-Identifier: MIT
// Activations, softmax / log-softmax, cross-entropy and MSE on the GPU, with
// the CPU drivers' semantics (cpu/layers.cpp, cpu/kernels/eltwise_kernels.cpp):
// the same formulas in the same order of operations, the same NaN behaviour,
// loss sums accumulated in double. Every reduction has a fixed shape for a
// given problem size (no float atomics), so results are deterministic.
#include "cuda/layers.h"

#include <cstdint>
#include <limits>
#include <type_traits>

#include "cuda/launch.cuh"

namespace convcore::cuda {
namespace {

constexpr int kThreads = 256;
// Loss sums: at most this many per-block partial sums, added by one block.
constexpr int64_t kMaxPartials = 1024;

int current_device() {
  int device = 0;
  CC_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

// --- scalar math, overloaded for float and double ---

__device__ inline float dexp(float x) { return expf(x); }
__device__ inline double dexp(double x) { return exp(x); }
__device__ inline float dexpm1(float x) { return expm1f(x); }
__device__ inline double dexpm1(double x) { return expm1(x); }
__device__ inline float dlog(float x) { return logf(x); }
__device__ inline double dlog(double x) { return log(x); }
__device__ inline float dtanh(float x) { return tanhf(x); }
__device__ inline double dtanh(double x) { return tanh(x); }
__device__ inline float dabs(float x) { return fabsf(x); }
__device__ inline double dabs(double x) { return fabs(x); }
// The larger, ignoring a NaN operand: a row holding a NaN still gives NaN
// outputs through exp(x - max), as on the CPU.
__device__ inline float dmax(float a, float b) { return fmaxf(a, b); }
__device__ inline double dmax(double a, double b) { return fmax(a, b); }

template <class T>
__device__ inline T neg_inf() {
  return -std::numeric_limits<T>::infinity();
}

// --- activations ---

template <class T, Activation F>
__device__ inline T act_forward(T x, T a) {
  if constexpr (F == Activation::relu) return T(0) > x ? T(0) : x;  // keeps NaN (and -0) like the CPU's max(0, x)
  if constexpr (F == Activation::leaky_relu) return x > T(0) ? x : x * a;
  if constexpr (F == Activation::elu) return x > T(0) ? x : a * dexpm1(x);
  if constexpr (F == Activation::sigmoid) return T(1) / (T(1) + dexp(-x));
  if constexpr (F == Activation::tanh) return dtanh(x);
  return x;
}

// f'(0) from the left for relu and leaky_relu; y is the forward's output when has_y.
template <class T, Activation F>
__device__ inline T act_backward(T g, T x, T y, bool has_y, T a) {
  if constexpr (F == Activation::relu) return x > T(0) ? g : T(0);
  if constexpr (F == Activation::leaky_relu) return x > T(0) ? g : g * a;
  if constexpr (F == Activation::elu) return x > T(0) ? g : g * (a * dexp(x));
  if constexpr (F == Activation::sigmoid) {
    if (has_y) return g * (y * (T(1) - y));
    const T e = dexp(-dabs(x)), d = T(1) + e;  // e / (1 + e)^2, e = exp(-|x|)
    return g * (e / (d * d));
  }
  if constexpr (F == Activation::tanh) {
    if (has_y) return g * (T(1) - y * y);
    const T e = dexp(T(-2) * dabs(x)), d = T(1) + e;  // 4e / (1 + e)^2, e = exp(-2|x|)
    return g * ((T(4) * e) / (d * d));
  }
  return g;
}

// 16 bytes of T: one vector load or store when the arrays are 16-byte aligned.
template <class T>
struct alignas(16) Pack {
  static constexpr int lanes = 16 / static_cast<int>(sizeof(T));
  T v[lanes];
};

bool aligned16(const void* p) { return p == nullptr || reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

// Element i of [0, n) is handled by pack i / lanes when vectorised (packs:
// the n / lanes full packs; the tail elements one by one), else alone.
template <class T, Activation F>
__global__ void activation_forward_kernel(int64_t n, bool vectorised, const T* x, T* y, T a) {
  constexpr int L = Pack<T>::lanes;
  const int64_t packs = vectorised ? n / L : 0;
  CC_GRID_STRIDE_LOOP(i, packs) {
    Pack<T> v = reinterpret_cast<const Pack<T>*>(x)[i];
    for (int l = 0; l < L; ++l) v.v[l] = act_forward<T, F>(v.v[l], a);
    reinterpret_cast<Pack<T>*>(y)[i] = v;
  }
  CC_GRID_STRIDE_LOOP(k, n - packs * L) {
    const int64_t i = packs * L + k;
    y[i] = act_forward<T, F>(x[i], a);
  }
}

template <class T, Activation F>
__global__ void activation_backward_kernel(int64_t n, bool vectorised, const T* g, const T* x, const T* y,
                                           T* gx, T a) {
  constexpr int L = Pack<T>::lanes;
  const bool has_y = y != nullptr;
  const int64_t packs = vectorised ? n / L : 0;
  CC_GRID_STRIDE_LOOP(i, packs) {
    const Pack<T> gv = reinterpret_cast<const Pack<T>*>(g)[i], xv = reinterpret_cast<const Pack<T>*>(x)[i];
    Pack<T> yv{};
    if (has_y) yv = reinterpret_cast<const Pack<T>*>(y)[i];
    Pack<T> out;
    for (int l = 0; l < L; ++l) out.v[l] = act_backward<T, F>(gv.v[l], xv.v[l], yv.v[l], has_y, a);
    reinterpret_cast<Pack<T>*>(gx)[i] = out;
  }
  CC_GRID_STRIDE_LOOP(k, n - packs * L) {
    const int64_t i = packs * L + k;
    gx[i] = act_backward<T, F>(g[i], x[i], has_y ? y[i] : T(0), has_y, a);
  }
}

// fn(std::integral_constant<Activation, f>{}).
template <class Fn>
void with_activation(Activation f, Fn fn) {
  switch (f) {
    case Activation::relu: return fn(std::integral_constant<Activation, Activation::relu>{});
    case Activation::leaky_relu: return fn(std::integral_constant<Activation, Activation::leaky_relu>{});
    case Activation::elu: return fn(std::integral_constant<Activation, Activation::elu>{});
    case Activation::sigmoid: return fn(std::integral_constant<Activation, Activation::sigmoid>{});
    case Activation::tanh: return fn(std::integral_constant<Activation, Activation::tanh>{});
  }
}

// --- reductions ---

struct SumOp {
  template <class T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  template <class T>
  __device__ T operator()(T a, T b) const { return dmax(a, b); }
};

// Butterfly over the 32 lanes of a warp: every lane ends with the same value
// (a + b == b + a exactly, so lanes i and i^k agree at each step).
template <class T, class Op>
__device__ T warp_reduce(T v, Op op) {
  for (int k = 16; k >= 1; k >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, k));
  return v;
}

// Over the block (blockDim.x a multiple of 32, at most 1024); every thread
// gets the result. smem: 32 values, reused by successive calls.
template <class T, class Op>
__device__ T block_reduce(T v, Op op, T identity, T* smem) {
  v = warp_reduce(v, op);
  const int warp = static_cast<int>(threadIdx.x >> 5), lane = static_cast<int>(threadIdx.x & 31);
  const int warps = static_cast<int>(blockDim.x >> 5);
  __syncthreads();  // the previous call's readers are done with smem
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  v = lane < warps ? smem[lane] : identity;
  return warp_reduce(v, op);  // every warp reduces the same values
}

// Note [row groups]: a softmax-like row (the classes of one position of an
// [outer, classes, inner] array, `inner` elements apart) is handled by a group
// of threads: one thread (many strided columns: neighbouring threads read
// neighbouring positions, coalesced), one warp (short contiguous rows) or one
// block (long rows). Rows are visited grid-stride; every thread of a group
// sees the same rows, so the group's reductions are reached by all of them.
struct ThreadGroup {
  __device__ static int lane() { return 0; }
  __device__ static int size() { return 1; }
  __device__ static int64_t first_row() { return blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; }
  __device__ static int64_t row_step() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }
  template <class T, class Op>
  __device__ static T reduce(T v, Op, T, T*) { return v; }
};
struct WarpGroup {
  __device__ static int lane() { return static_cast<int>(threadIdx.x & 31); }
  __device__ static int size() { return 32; }
  __device__ static int64_t first_row() {
    return (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32;
  }
  __device__ static int64_t row_step() { return static_cast<int64_t>(gridDim.x) * blockDim.x / 32; }
  template <class T, class Op>
  __device__ static T reduce(T v, Op op, T, T*) { return warp_reduce(v, op); }
};
struct BlockGroup {
  __device__ static int lane() { return static_cast<int>(threadIdx.x); }
  __device__ static int size() { return static_cast<int>(blockDim.x); }
  __device__ static int64_t first_row() { return blockIdx.x; }
  __device__ static int64_t row_step() { return gridDim.x; }
  template <class T, class Op>
  __device__ static T reduce(T v, Op op, T identity, T* smem) { return block_reduce(v, op, identity, smem); }
};

// Row r = o * inner + j of an [outer, classes, inner] array starts at
// base(r) = o * classes * inner + j; its class c is at base(r) + c * inner.
struct Rows {
  int64_t count, classes, inner;
  __device__ int64_t base(int64_t r) const { return (r / inner) * classes * inner + r % inner; }
};

Rows rows_of(const SoftmaxShape& s) { return {s.outer * s.inner, s.classes, s.inner}; }

// launch(group, grid, threads) with the group Note [row groups] picks for s.
template <class Launch>
void launch_rows(const SoftmaxShape& s, Launch launch) {
  const int64_t rows = s.outer * s.inner;
  if (s.inner > 1 && rows >= 2048) launch(ThreadGroup{}, grid_for(rows, kThreads), kThreads);
  else if (s.classes <= 512) launch(WarpGroup{}, grid_for(rows * 32, kThreads), kThreads);
  else launch(BlockGroup{}, grid_for(rows, 1), s.classes >= 8192 ? 512 : kThreads);
}

// The kernels' shared scratch for block reductions: 32 values of T.
#define CC_REDUCE_SCRATCH(T)              \
  __shared__ double reduce_scratch[32];   \
  T* smem = reinterpret_cast<T*>(reduce_scratch)

// m = max_c x(c) and sum = sum_c exp(x(c) - m) over a row (x: its base).
template <class G, class T>
__device__ void row_stats(const T* x, int64_t classes, int64_t stride, T* smem, T& m, T& sum) {
  T mv = neg_inf<T>();
  for (int64_t c = G::lane(); c < classes; c += G::size()) mv = dmax(mv, x[c * stride]);
  mv = G::reduce(mv, MaxOp{}, neg_inf<T>(), smem);
  T sv = 0;
  for (int64_t c = G::lane(); c < classes; c += G::size()) sv += dexp(x[c * stride] - mv);
  sum = G::reduce(sv, SumOp{}, T(0), smem);
  m = mv;
}

// --- softmax ---

template <class G, class T>
__global__ void softmax_forward_kernel(bool log, Rows rows, const T* x, T* y) {
  CC_REDUCE_SCRATCH(T);
  const int64_t stride = rows.inner;
  for (int64_t r = G::first_row(); r < rows.count; r += G::row_step()) {
    const int64_t b = rows.base(r);
    T m, s;
    row_stats<G>(x + b, rows.classes, stride, smem, m, s);
    if (log) {  // (x - max) - log(sum): max + log(sum) would round at the scale of max
      const T ls = dlog(s);
      for (int64_t c = G::lane(); c < rows.classes; c += G::size()) {
        const int64_t at = b + c * stride;
        y[at] = (x[at] - m) - ls;
      }
    } else {
      const T inv = T(1) / s;
      for (int64_t c = G::lane(); c < rows.classes; c += G::size()) {
        const int64_t at = b + c * stride;
        y[at] = dexp(x[at] - m) * inv;
      }
    }
  }
}

// softmax: gx = y (g - sum g y); log_softmax: gx = g - exp(y) sum g, with y
// the forward's output or, when null, recomputed from x as the forward does.
template <class G, class T>
__global__ void softmax_backward_kernel(bool log, Rows rows, const T* g, const T* x, const T* y, T* gx) {
  CC_REDUCE_SCRATCH(T);
  const int64_t stride = rows.inner;
  for (int64_t r = G::first_row(); r < rows.count; r += G::row_step()) {
    const int64_t b = rows.base(r);
    T m = 0, shift = 0;  // without y: the row max, and log(sum) (log) or 1 / sum
    if (!y) {
      T s;
      row_stats<G>(x + b, rows.classes, stride, smem, m, s);
      shift = log ? dlog(s) : T(1) / s;
    }
    auto out = [&](int64_t at) -> T {
      if (y) return y[at];
      return log ? (x[at] - m) - shift : dexp(x[at] - m) * shift;
    };
    T dot = 0;
    for (int64_t c = G::lane(); c < rows.classes; c += G::size()) {
      const int64_t at = b + c * stride;
      dot += log ? g[at] : g[at] * out(at);
    }
    dot = G::reduce(dot, SumOp{}, T(0), smem);
    for (int64_t c = G::lane(); c < rows.classes; c += G::size()) {
      const int64_t at = b + c * stride;
      const T yv = out(at), gv = g[at];
      gx[at] = log ? gv - dexp(yv) * dot : yv * (gv - dot);
    }
  }
}

// --- cross-entropy ---

__global__ void find_bad_target_kernel(const int64_t* target, int64_t n, int64_t classes,
                                       int64_t ignore_index, unsigned long long* first) {
  CC_GRID_STRIDE_LOOP(i, n) {
    const int64_t t = target[i];
    if (t != ignore_index && (t < 0 || t >= classes)) atomicMin(first, static_cast<unsigned long long>(i));
  }
}

template <class T>
struct CeArgs {
  int64_t ignore_index;
  T eps;  // label_smoothing
  Reduction reduction;
};

// Per-row loss (1 - eps) w_t (lse - x_t) + eps/C sum_c w_c (lse - x_c), with
// lse - x = (max - x) + log_sum; 0 for ignored rows (cpu/layers.cpp).
template <class G, class T>
__global__ void ce_forward_kernel(Rows rows, const T* x, const int64_t* target, const T* weight,
                                  CeArgs<T> a, T* row_loss) {
  CC_REDUCE_SCRATCH(T);
  const int64_t stride = rows.inner;
  for (int64_t r = G::first_row(); r < rows.count; r += G::row_step()) {
    const int64_t t = target[r];
    if (t == a.ignore_index) {  // the same for the whole group
      if (G::lane() == 0) row_loss[r] = T(0);
      continue;
    }
    const int64_t b = rows.base(r);
    T m, s;
    row_stats<G>(x + b, rows.classes, stride, smem, m, s);
    const T ls = dlog(s);
    const T wt = weight ? weight[t] : T(1);
    T value = (T(1) - a.eps) * wt * ((m - x[b + t * stride]) + ls);
    if (a.eps > T(0)) {
      T smooth = 0;
      for (int64_t c = G::lane(); c < rows.classes; c += G::size())
        smooth += (weight ? weight[c] : T(1)) * ((m - x[b + c * stride]) + ls);
      smooth = G::reduce(smooth, SumOp{}, T(0), smem);
      value += a.eps / static_cast<T>(rows.classes) * smooth;
    }
    if (G::lane() == 0) row_loss[r] = value;
  }
}

// partials[block] = the block's sum over [0, n) of row_loss (if not null), and
// partials[blocks + block] that of the 'mean' denominator: w_t over the rows
// not ignored; both in double, as the CPU sums.
template <class T>
__global__ void ce_partials_kernel(int64_t n, const T* row_loss, const int64_t* target, const T* weight,
                                   int64_t ignore_index, double* partials) {
  __shared__ double smem[32];
  double loss = 0, den = 0;
  CC_GRID_STRIDE_LOOP(i, n) {
    if (row_loss) loss += static_cast<double>(row_loss[i]);
    const int64_t t = target[i];
    if (t != ignore_index) den += static_cast<double>(weight ? weight[t] : T(1));
  }
  loss = block_reduce(loss, SumOp{}, 0.0, smem);
  den = block_reduce(den, SumOp{}, 0.0, smem);
  if (threadIdx.x == 0) {
    partials[blockIdx.x] = loss;
    partials[gridDim.x + blockIdx.x] = den;
  }
}

// totals[k] = sum_i partials[k * count + i] for k < lists, in a fixed order (one block).
__global__ void sum_partials_kernel(const double* partials, int64_t count, int lists, double* totals) {
  __shared__ double smem[32];
  for (int k = 0; k < lists; ++k) {
    double v = 0;
    for (int64_t i = threadIdx.x; i < count; i += blockDim.x) v += partials[k * count + i];
    v = block_reduce(v, SumOp{}, 0.0, smem);
    if (threadIdx.x == 0) totals[k] = v;
  }
}

// totals: {sum of the losses, mean denominator}.
template <class T>
__global__ void ce_loss_kernel(const double* totals, Reduction reduction, T* loss) {
  loss[0] = static_cast<T>(reduction == Reduction::sum ? totals[0] : totals[0] / totals[1]);
}

// total[0] = sum_c w_c in T, in class order (label smoothing's W).
template <class T>
__global__ void total_weight_kernel(const T* weight, int64_t classes, T* total) {
  T w = 0;
  for (int64_t c = 0; c < classes; ++c) w += weight ? weight[c] : T(1);
  total[0] = w;
}

// d loss_r / d x_c = ((1-eps) w_t + eps W / C) softmax_c - (1-eps) w_t [c == t] - eps/C w_c,
// times the row's upstream gradient (cpu/layers.cpp). den: the 'mean'
// denominator (read for mean only); total_weight: W (read when eps > 0).
template <class G, class T>
__global__ void ce_backward_kernel(Rows rows, const T* g, const T* x, const int64_t* target, const T* weight,
                                   CeArgs<T> a, const double* den, const T* total_weight, T* gx) {
  CC_REDUCE_SCRATCH(T);
  const int64_t stride = rows.inner;
  const T eps = a.eps;
  const T smooth = eps / static_cast<T>(rows.classes);
  const T tw = eps > T(0) ? total_weight[0] : T(0);
  const T uniform_scale = a.reduction == Reduction::mean  ? static_cast<T>(static_cast<double>(g[0]) / den[0])
                          : a.reduction == Reduction::sum ? g[0]
                                                          : T(0);
  for (int64_t r = G::first_row(); r < rows.count; r += G::row_step()) {
    const int64_t t = target[r];
    const bool ignored = t == a.ignore_index;
    const int64_t b = rows.base(r);
    T m, s;
    row_stats<G>(x + b, rows.classes, stride, smem, m, s);
    const T ls = dlog(s);
    const T gi = a.reduction == Reduction::none ? g[r] : uniform_scale;
    const T wt = ignored ? T(0) : (weight ? weight[t] : T(1));
    const T scale = ignored ? T(0) : gi;
    const T coef = ignored ? T(0) : gi * ((T(1) - eps) * wt + smooth * tw);
    for (int64_t c = G::lane(); c < rows.classes; c += G::size()) {
      const int64_t at = b + c * stride;
      T v = coef * dexp((x[at] - m) - ls);
      if (!ignored) {
        if (c == t) v -= scale * (T(1) - eps) * wt;
        if (eps > T(0)) v -= scale * smooth * (weight ? weight[c] : T(1));
      }
      gx[at] = v;
    }
  }
}

unsigned partial_blocks(int64_t n) {
  return static_cast<unsigned>(std::min<int64_t>(grid_for(n, kThreads), kMaxPartials));
}

// --- MSE ---

template <class T>
__global__ void squared_error_kernel(int64_t n, const T* x, const T* t, T* out) {
  CC_GRID_STRIDE_LOOP(i, n) {
    const T d = x[i] - t[i];
    out[i] = d * d;
  }
}

template <class T>
__global__ void squared_error_partials_kernel(int64_t n, const T* x, const T* t, double* partials) {
  __shared__ double smem[32];
  double sum = 0;
  CC_GRID_STRIDE_LOOP(i, n) {
    const T d = x[i] - t[i];
    sum += static_cast<double>(d * d);
  }
  sum = block_reduce(sum, SumOp{}, 0.0, smem);
  if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

template <class T>
__global__ void mse_loss_kernel(const double* total, Reduction reduction, int64_t n, T* loss) {
  loss[0] = static_cast<T>(reduction == Reduction::sum ? total[0] : total[0] / static_cast<double>(n));
}

// gx = scale (x - t) (g[i] for 'none'); scale = 2, 2 g[0] ('sum') or 2 g[0] / n ('mean').
template <class T>
__global__ void mse_backward_kernel(int64_t n, const T* g, const T* x, const T* t, Reduction reduction,
                                    T* gx) {
  const T scale = reduction == Reduction::none ? T(2)
                  : reduction == Reduction::sum
                      ? T(2) * g[0]
                      : static_cast<T>(2 * static_cast<double>(g[0]) / static_cast<double>(n));
  CC_GRID_STRIDE_LOOP(i, n) {
    T d = scale * (x[i] - t[i]);
    if (reduction == Reduction::none) d = d * g[i];
    gx[i] = d;
  }
}

}  // namespace

template <class T>
void activation_forward(Activation f, int64_t n, const T* x, T* y, T param) {
  if (n == 0) return;
  const bool vectorised = aligned16(x) && aligned16(y);
  const int64_t items = vectorised ? n / Pack<T>::lanes + Pack<T>::lanes : n;
  with_activation(f, [&](auto tag) {
    activation_forward_kernel<T, decltype(tag)::value>
        <<<grid_for(items, kThreads), kThreads, 0, stream()>>>(n, vectorised, x, y, param);
    CC_CUDA_CHECK_LAUNCH("activation_forward");
  });
}

template <class T>
void activation_backward(Activation f, int64_t n, const T* g, const T* x, const T* y, T* gx, T param) {
  if (n == 0) return;
  const bool vectorised = aligned16(g) && aligned16(x) && aligned16(y) && aligned16(gx);
  const int64_t items = vectorised ? n / Pack<T>::lanes + Pack<T>::lanes : n;
  with_activation(f, [&](auto tag) {
    activation_backward_kernel<T, decltype(tag)::value>
        <<<grid_for(items, kThreads), kThreads, 0, stream()>>>(n, vectorised, g, x, y, gx, param);
    CC_CUDA_CHECK_LAUNCH("activation_backward");
  });
}

template <class T>
void softmax_forward(bool log, const SoftmaxShape& s, const T* x, T* y) {
  if (s.outer * s.classes * s.inner == 0) return;
  const Rows rows = rows_of(s);
  launch_rows(s, [&](auto group, unsigned grid, int threads) {
    softmax_forward_kernel<decltype(group), T><<<grid, threads, 0, stream()>>>(log, rows, x, y);
    CC_CUDA_CHECK_LAUNCH("softmax_forward");
  });
}

template <class T>
void softmax_backward(bool log, const SoftmaxShape& s, const T* g, const T* x, const T* y, T* gx) {
  if (s.outer * s.classes * s.inner == 0) return;
  const Rows rows = rows_of(s);
  launch_rows(s, [&](auto group, unsigned grid, int threads) {
    softmax_backward_kernel<decltype(group), T><<<grid, threads, 0, stream()>>>(log, rows, g, x, y, gx);
    CC_CUDA_CHECK_LAUNCH("softmax_backward");
  });
}

BadTarget find_bad_target(const int64_t* target, int64_t n, int64_t classes, int64_t ignore_index) {
  BadTarget bad;
  if (n == 0) return bad;
  const int device = current_device();
  auto ws = allocate(device, sizeof(unsigned long long));
  auto* first = static_cast<unsigned long long*>(ws.get());
  CC_CUDA_CHECK(cudaMemsetAsync(first, 0xff, sizeof(unsigned long long), stream()));
  find_bad_target_kernel<<<grid_for(n, kThreads), kThreads, 0, stream()>>>(target, n, classes, ignore_index,
                                                                           first);
  CC_CUDA_CHECK_LAUNCH("cross_entropy target check");
  unsigned long long host = 0;
  copy_device_to_host(&host, first, sizeof(host), device);
  if (host == std::numeric_limits<unsigned long long>::max()) return bad;
  bad.index = static_cast<int64_t>(host);
  copy_device_to_host(&bad.value, target + bad.index, sizeof(int64_t), device);
  return bad;
}

template <class T>
void cross_entropy_forward(const SoftmaxShape& s, const T* x, const int64_t* target, const T* weight,
                           const CrossEntropyParams& p, T* loss) {
  const int64_t n = s.outer * s.inner;
  const CeArgs<T> a{p.ignore_index, static_cast<T>(p.label_smoothing), p.reduction};
  const Rows rows = rows_of(s);
  const bool per_position = p.reduction == Reduction::none;
  const int device = current_device();
  // Scratch: the per-row losses (for a reduction), 2 lists of partial sums, 2 totals.
  const unsigned blocks = partial_blocks(n);
  const int64_t loss_bytes = per_position ? 0 : n * static_cast<int64_t>(sizeof(T));
  const int64_t loss_offset = (2 * static_cast<int64_t>(blocks) + 2) * static_cast<int64_t>(sizeof(double));
  auto ws = allocate(device, loss_offset + loss_bytes);
  auto* partials = static_cast<double*>(ws.get());
  double* totals = partials + 2 * blocks;
  T* row_loss = per_position ? loss : reinterpret_cast<T*>(static_cast<char*>(ws.get()) + loss_offset);
  if (n > 0) {
    launch_rows(s, [&](auto group, unsigned grid, int threads) {
      ce_forward_kernel<decltype(group), T><<<grid, threads, 0, stream()>>>(rows, x, target, weight, a, row_loss);
      CC_CUDA_CHECK_LAUNCH("cross_entropy_forward");
    });
  }
  if (per_position) return;
  ce_partials_kernel<T><<<blocks, kThreads, 0, stream()>>>(n, row_loss, target, weight, p.ignore_index, partials);
  CC_CUDA_CHECK_LAUNCH("cross_entropy_forward partial sums");
  sum_partials_kernel<<<1, kThreads, 0, stream()>>>(partials, blocks, 2, totals);
  CC_CUDA_CHECK_LAUNCH("cross_entropy_forward sum");
  ce_loss_kernel<T><<<1, 1, 0, stream()>>>(totals, p.reduction, loss);
  CC_CUDA_CHECK_LAUNCH("cross_entropy_forward loss");
}

template <class T>
void cross_entropy_backward(const SoftmaxShape& s, const T* g, const T* x, const int64_t* target,
                            const T* weight, const CrossEntropyParams& p, T* gx) {
  const int64_t n = s.outer * s.inner;
  if (n == 0) return;
  const CeArgs<T> a{p.ignore_index, static_cast<T>(p.label_smoothing), p.reduction};
  const Rows rows = rows_of(s);
  const int device = current_device();
  const unsigned blocks = partial_blocks(n);
  // Scratch: 2 lists of partial sums, 2 totals, then W (one T, 8-byte aligned).
  const int64_t tw_offset = (2 * static_cast<int64_t>(blocks) + 2) * static_cast<int64_t>(sizeof(double));
  auto ws = allocate(device, tw_offset + static_cast<int64_t>(sizeof(double)));
  auto* partials = static_cast<double*>(ws.get());
  double* totals = partials + 2 * blocks;
  T* total_weight = reinterpret_cast<T*>(static_cast<char*>(ws.get()) + tw_offset);
  if (p.reduction == Reduction::mean) {
    ce_partials_kernel<T><<<blocks, kThreads, 0, stream()>>>(n, static_cast<const T*>(nullptr), target, weight,
                                                             p.ignore_index, partials);
    CC_CUDA_CHECK_LAUNCH("cross_entropy_backward denominator");
    sum_partials_kernel<<<1, kThreads, 0, stream()>>>(partials, blocks, 2, totals);
    CC_CUDA_CHECK_LAUNCH("cross_entropy_backward denominator sum");
  }
  if (p.label_smoothing > 0) {
    total_weight_kernel<T><<<1, 1, 0, stream()>>>(weight, s.classes, total_weight);
    CC_CUDA_CHECK_LAUNCH("cross_entropy_backward total weight");
  }
  launch_rows(s, [&](auto group, unsigned grid, int threads) {
    ce_backward_kernel<decltype(group), T>
        <<<grid, threads, 0, stream()>>>(rows, g, x, target, weight, a, totals + 1, total_weight, gx);
    CC_CUDA_CHECK_LAUNCH("cross_entropy_backward");
  });
}

template <class T>
void mse_forward(int64_t n, const T* x, const T* t, Reduction r, T* loss) {
  if (r == Reduction::none) {
    if (n == 0) return;
    squared_error_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(n, x, t, loss);
    CC_CUDA_CHECK_LAUNCH("mse_forward");
    return;
  }
  const unsigned blocks = partial_blocks(n);
  auto ws = allocate(current_device(), (static_cast<int64_t>(blocks) + 1) * static_cast<int64_t>(sizeof(double)));
  auto* partials = static_cast<double*>(ws.get());
  double* total = partials + blocks;
  squared_error_partials_kernel<T><<<blocks, kThreads, 0, stream()>>>(n, x, t, partials);
  CC_CUDA_CHECK_LAUNCH("mse_forward partial sums");
  sum_partials_kernel<<<1, kThreads, 0, stream()>>>(partials, blocks, 1, total);
  CC_CUDA_CHECK_LAUNCH("mse_forward sum");
  mse_loss_kernel<T><<<1, 1, 0, stream()>>>(total, r, n, loss);
  CC_CUDA_CHECK_LAUNCH("mse_forward loss");
}

template <class T>
void mse_backward(int64_t n, const T* g, const T* x, const T* t, Reduction r, T* gx) {
  if (n == 0) return;
  mse_backward_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream()>>>(n, g, x, t, r, gx);
  CC_CUDA_CHECK_LAUNCH("mse_backward");
}

#define CC_INSTANTIATE(T)                                                                             \
  template void activation_forward<T>(Activation, int64_t, const T*, T*, T);                          \
  template void activation_backward<T>(Activation, int64_t, const T*, const T*, const T*, T*, T);     \
  template void softmax_forward<T>(bool, const SoftmaxShape&, const T*, T*);                          \
  template void softmax_backward<T>(bool, const SoftmaxShape&, const T*, const T*, const T*, T*);     \
  template void cross_entropy_forward<T>(const SoftmaxShape&, const T*, const int64_t*, const T*,     \
                                         const CrossEntropyParams&, T*);                              \
  template void cross_entropy_backward<T>(const SoftmaxShape&, const T*, const T*, const int64_t*,    \
                                          const T*, const CrossEntropyParams&, T*);                   \
  template void mse_forward<T>(int64_t, const T*, const T*, Reduction, T*);                           \
  template void mse_backward<T>(int64_t, const T*, const T*, const T*, Reduction, T*);
CC_INSTANTIATE(float)
CC_INSTANTIATE(double)
#undef CC_INSTANTIATE

}  // namespace convcore::cuda
