// SPDX-License-Identifier: MIT
// Bin-listed pooling (adaptive, global, spatial pyramid, ROI) and max
// unpooling on the GPU, with the CPU's semantics (cpu/adaptive_pool.cpp).
// The bins of a PooledOutput are computed on the host exactly as for the CPU
// and copied to the device as a table; kernels give one thread per output
// element (forward) or per input element (gathers), walking elements in
// memory order (channels fastest for channels-last arrays).
#include "cuda/adaptive_pool.h"

#include "core/error.h"
#include "cuda/pool_common.cuh"

namespace convcore::cuda {
namespace {

using namespace pool_common;  // NOLINT: this family's shared helpers

constexpr int kThreads = 256;

// The bins of a PooledOutput on the device: output (k, i, j) reduces rows
// [rows[2 * (g * H + i)], rows[... + 1]) x cols likewise, g = k when there is
// a grid per output image (multi), else 0; over input image image[k] (k
// when image is null).
struct Bins {
  const int64_t* rows;
  const int64_t* cols;
  const int64_t* image;
  bool multi;
};

struct DeviceBins {
  std::shared_ptr<void> memory;
  Bins bins{};
};

DeviceBins upload(const cpu::PooledOutput& y) {
  const Act4& a = y.out;
  const int64_t grids = static_cast<int64_t>(y.grids.size());
  std::vector<int64_t> table;
  table.reserve(static_cast<size_t>(grids * (a.h + a.w) * 2 + y.image.size()));
  for (const cpu::BinGrid& g : y.grids)
    for (int64_t i = 0; i < a.h; ++i) table.push_back(g.rows[i].begin), table.push_back(g.rows[i].end);
  for (const cpu::BinGrid& g : y.grids)
    for (int64_t j = 0; j < a.w; ++j) table.push_back(g.cols[j].begin), table.push_back(g.cols[j].end);
  for (int64_t k : y.image) table.push_back(k);
  DeviceBins d;
  const int64_t bytes = static_cast<int64_t>(table.size() * sizeof(int64_t));
  const int device = current_device();
  d.memory = allocate(device, bytes > 0 ? bytes : 8);
  if (bytes > 0) copy_host_to_device(d.memory.get(), table.data(), bytes, device);
  const int64_t* p = static_cast<const int64_t*>(d.memory.get());
  d.bins.rows = p;
  d.bins.cols = p + grids * a.h * 2;
  d.bins.image = y.image.empty() ? nullptr : p + grids * (a.h + a.w) * 2;
  d.bins.multi = grids > 1;
  return d;
}

// cpu/adaptive_pool.cpp channels_last.
bool channels_last(const Act4& a) { return a.c > 1 && a.sc == 1 && a.sw == a.c; }

struct Pos {
  int64_t n, c, h, w;
};

// Element o of an (N, C, H, W) iteration space in memory order: channels
// fastest (clast) or width fastest.
__device__ Pos unravel(const Act4& a, int64_t o, bool clast) {
  Pos p;
  if (clast) {
    p.c = o % a.c;
    o /= a.c;
    p.w = o % a.w;
    o /= a.w;
    p.h = o % a.h;
    p.n = o / a.h;
  } else {
    p.w = o % a.w;
    o /= a.w;
    p.h = o % a.h;
    o /= a.h;
    p.c = o % a.c;
    p.n = o / a.c;
  }
  return p;
}

__device__ inline void bin_of(const Bins& b, const Act4& ya, const Pos& q, int64_t* r0,
                              int64_t* r1, int64_t* c0, int64_t* c1) {
  const int64_t g = b.multi ? q.n : 0;
  *r0 = b.rows[2 * (g * ya.h + q.h)], *r1 = b.rows[2 * (g * ya.h + q.h) + 1];
  *c0 = b.cols[2 * (g * ya.w + q.w)], *c1 = b.cols[2 * (g * ya.w + q.w) + 1];
}

// The max of a bin and its flat position h * W + w, -1 (and 0) when empty.
template <class T>
__device__ void bin_max(const T* xb, const Act4& xa, int64_t r0, int64_t r1, int64_t c0,
                        int64_t c1, T* value, int64_t* at) {
  if (r1 <= r0 || c1 <= c0) {
    *value = T(0), *at = -1;
    return;
  }
  MaxChain<T> m(r0 * xa.w + c0);
  for (int64_t h = r0; h < r1; ++h)
    for (int64_t w = c0; w < c1; ++w) m.add(xb[h * xa.sh + w * xa.sw], h * xa.w + w);
  *value = m.best, *at = m.at;
}

template <class T>
__global__ void bins_forward_kernel(bool is_max, const T* x, Act4 xa, Bins b, T* y, Act4 ya,
                                    int64_t* index, bool clast, int64_t total) {
  CC_GRID_STRIDE_LOOP(o, total) {
    const Pos q = unravel(ya, o, clast);
    int64_t r0, r1, c0, c1;
    bin_of(b, ya, q, &r0, &r1, &c0, &c1);
    const int64_t img = b.image ? b.image[q.n] : q.n;
    const T* xb = x + img * xa.sn + q.c * xa.sc;
    const int64_t yo = q.n * ya.sn + q.c * ya.sc + q.h * ya.sh + q.w * ya.sw;
    if (is_max) {
      T v;
      int64_t at;
      bin_max(xb, xa, r0, r1, c0, c1, &v, &at);
      y[yo] = v;
      if (index) index[yo] = at;
      continue;
    }
    if (r1 <= r0 || c1 <= c0) {
      y[yo] = T(0);
      continue;
    }
    T s = T(0);
    for (int64_t h = r0; h < r1; ++h)
      for (int64_t w = c0; w < c1; ++w) s += xb[h * xa.sh + w * xa.sw];
    y[yo] = s / static_cast<T>((r1 - r0) * (c1 - c0));
  }
}

// Max over adaptive grids without indices: arg[o] = the maximum's position
// of bin o, o in NCHW order of ga (-1 for an empty bin).
template <class T>
__global__ void bins_argmax_kernel(const T* x, Act4 xa, Bins b, Act4 ga, int64_t* arg,
                                   int64_t total) {
  CC_GRID_STRIDE_LOOP(o, total) {
    const Pos q = unravel(ga, o, false);  // o = ((n * C + c) * H + h) * W + w
    int64_t r0, r1, c0, c1;
    bin_of(b, ga, q, &r0, &r1, &c0, &c1);
    T v;
    bin_max(x + q.n * xa.sn + q.c * xa.sc, xa, r0, r1, c0, c1, &v, &arg[o]);
  }
}

// Adaptive grids (one grid, no image map): gx[i] (+)= the sum over the bins
// holding i, in row-major bin order (the CPU's order of adds), of gy / count
// (avg) or of gy where i is the bin's maximum arg (max, arg not null). Bin i
// of `out` over `in` holds h for floor(h * out / in) <= i < ceil((h + 1) *
// out / in); the scan takes one bin more on each side and tests each
// against the table.
template <class T>
__global__ void bins_gather_kernel(const T* gy, Act4 ga, Bins b, const int64_t* arg, T* gx,
                                   Act4 xa, bool accumulate, bool clast, int64_t total) {
  CC_GRID_STRIDE_LOOP(e, total) {
    const Pos q = unravel(xa, e, clast);
    const int64_t xo = q.n * xa.sn + q.c * xa.sc + q.h * xa.sh + q.w * xa.sw;
    const T* g = gy + q.n * ga.sn + q.c * ga.sc;
    const int64_t i0 = max(int64_t{0}, q.h * ga.h / xa.h - 1);
    const int64_t i1 = min(ga.h - 1, ((q.h + 1) * ga.h + xa.h - 1) / xa.h);
    const int64_t j0 = max(int64_t{0}, q.w * ga.w / xa.w - 1);
    const int64_t j1 = min(ga.w - 1, ((q.w + 1) * ga.w + xa.w - 1) / xa.w);
    T acc = accumulate ? gx[xo] : T(0);
    for (int64_t i = i0; i <= i1; ++i) {
      const int64_t r0 = b.rows[2 * i], r1 = b.rows[2 * i + 1];
      if (q.h < r0 || q.h >= r1) continue;
      for (int64_t j = j0; j <= j1; ++j) {
        const int64_t c0 = b.cols[2 * j], c1 = b.cols[2 * j + 1];
        if (q.w < c0 || q.w >= c1) continue;
        if (!arg)
          acc += g[i * ga.sh + j * ga.sw] / static_cast<T>((r1 - r0) * (c1 - c0));
        else if (arg[((q.n * ga.c + q.c) * ga.h + i) * ga.w + j] == q.h * xa.w + q.w)
          acc += g[i * ga.sh + j * ga.sw];
      }
    }
    gx[xo] = acc;
  }
}

// Max: gx[maximum of bin o] += gy[o], the maximum from `index` (checked,
// reported to `bad`) or recomputed from x.
template <class T>
__global__ void bins_max_scatter_kernel(const T* x, Act4 xa, Bins b, const T* gy, Act4 ga,
                                        const int64_t* index, T* gx, BadIndex* bad, bool clast,
                                        int64_t total) {
  const int64_t plane = xa.h * xa.w;
  CC_GRID_STRIDE_LOOP(o, total) {
    const Pos q = unravel(ga, o, clast);
    const int64_t go = q.n * ga.sn + q.c * ga.sc + q.h * ga.sh + q.w * ga.sw;
    const int64_t img = b.image ? b.image[q.n] : q.n;
    const int64_t xo = img * xa.sn + q.c * xa.sc;
    int64_t at;
    if (index) {
      at = index[go];
      if (static_cast<uint64_t>(at) >= static_cast<uint64_t>(plane)) {
        report_bad_index(bad, at);
        continue;
      }
    } else {
      int64_t r0, r1, c0, c1;
      bin_of(b, ga, q, &r0, &r1, &c0, &c1);
      T v;
      bin_max(x + xo, xa, r0, r1, c0, c1, &v, &at);
      if (at < 0) continue;
    }
    add_to(gx + xo + at * xa.sw, gy[go]);
  }
}

template <class T>
__global__ void plane_mean_kernel(const T* x, int64_t planes, int64_t hw, T* y) {
  __shared__ T part[kThreads];
  for (int64_t p = blockIdx.x; p < planes; p += gridDim.x) {
    T s = T(0);
    for (int64_t i = threadIdx.x; i < hw; i += blockDim.x) s += x[p * hw + i];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int step = kThreads / 2; step > 0; step >>= 1) {
      if (threadIdx.x < step) part[threadIdx.x] += part[threadIdx.x + step];
      __syncthreads();
    }
    if (threadIdx.x == 0) y[p] = part[0] / static_cast<T>(hw);
    __syncthreads();
  }
}

template <class T>
__global__ void plane_mean_backward_kernel(const T* gy, int64_t hw, T* gx, int64_t total) {
  CC_GRID_STRIDE_LOOP(i, total) gx[i] = gy[i / hw] / static_cast<T>(hw);
}

// Unpooling, pass 1: each valid input position claims its target with the
// largest scan position h * W + w (the CPU's last writer).
__global__ void unpool_claim_kernel(const int64_t* ind, Act4 xa, Act4 ya, long long* claim,
                                    BadIndex* bad, bool clast, int64_t total) {
  const int64_t plane = ya.h * ya.w;
  CC_GRID_STRIDE_LOOP(e, total) {
    const Pos q = unravel(xa, e, clast);
    const int64_t at = ind[q.n * xa.sn + q.c * xa.sc + q.h * xa.sh + q.w * xa.sw];
    if (at < 0 || at >= plane) {
      report_bad_index(bad, at);
      continue;
    }
    atomicMax(claim + q.n * ya.sn + q.c * ya.sc + at * ya.sw,
              static_cast<long long>(q.h * xa.w + q.w));
  }
}

// Pass 2: the claimant writes.
template <class T>
__global__ void unpool_write_kernel(const T* x, const int64_t* ind, Act4 xa, T* y, Act4 ya,
                                    const long long* claim, bool clast, int64_t total) {
  const int64_t plane = ya.h * ya.w;
  CC_GRID_STRIDE_LOOP(e, total) {
    const Pos q = unravel(xa, e, clast);
    const int64_t xo = q.n * xa.sn + q.c * xa.sc + q.h * xa.sh + q.w * xa.sw;
    const int64_t at = ind[xo];
    if (at < 0 || at >= plane) continue;
    const int64_t yo = q.n * ya.sn + q.c * ya.sc + at * ya.sw;
    if (claim[yo] == static_cast<long long>(q.h * xa.w + q.w)) y[yo] = x[xo];
  }
}

template <class T>
__global__ void unpool_backward_kernel(const T* gy, Act4 ga, const int64_t* ind, T* gx, Act4 xa,
                                       BadIndex* bad, bool clast, int64_t total) {
  const int64_t plane = ga.h * ga.w;
  CC_GRID_STRIDE_LOOP(e, total) {
    const Pos q = unravel(xa, e, clast);
    const int64_t xo = q.n * xa.sn + q.c * xa.sc + q.h * xa.sh + q.w * xa.sw;
    const int64_t at = ind[xo];
    if (at < 0 || at >= plane) {
      report_bad_index(bad, at);
      continue;
    }
    gx[xo] = gy[q.n * ga.sn + q.c * ga.sc + at * ga.sw];
  }
}

int64_t count_of(const Act4& a) { return a.n * a.c * a.h * a.w; }

void raise_bad_index(const std::shared_ptr<void>& bad, const std::string& op, int64_t h,
                     int64_t w) {
  int64_t value = 0;
  if (read_bad_index(bad, &value))
    throw_argument_error(op, ": indices value ", value, " is out of range for a plane of ", h,
                         " x ", w, " (valid: 0 to ", h * w - 1, ")");
}

}  // namespace

template <class T>
void pool_bins_forward(PoolReduce reduce, const T* x, const Act4& xa,
                       const cpu::PooledOutput& y) {
  const int64_t total = count_of(y.out);
  if (total == 0) return;
  const DeviceBins bins = upload(y);
  const bool is_max = reduce == PoolReduce::max;
  bins_forward_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
      is_max, x, xa, bins.bins, static_cast<T*>(y.data), y.out, is_max ? y.indices : nullptr,
      channels_last(xa), total);
  CC_CUDA_CHECK_LAUNCH("bins_forward_kernel");
}

template <class T>
void pool_bins_backward(PoolReduce reduce, const std::vector<cpu::PooledOutput>& grads,
                        const T* x, const Act4& xa, T* gx, const std::string& op) {
  const int64_t ins = count_of(xa);
  if (ins == 0) return;
  const bool clast = channels_last(xa);
  // Gathers (deterministic) wherever the bins are adaptive grids and no
  // indices come in; avg bins always are.
  bool gather = true;
  for (const cpu::PooledOutput& g : grads)
    gather = gather && g.grids.size() == 1 && g.image.empty() && !g.indices;
  CC_CHECK_ARG(gather || reduce == PoolReduce::max, op,
               ": internal error: average bins must form one adaptive grid");
  if (gather) {
    bool written = false;
    for (const cpu::PooledOutput& g : grads) {
      const int64_t total = count_of(g.out);
      if (total == 0) continue;
      const DeviceBins bins = upload(g);
      std::shared_ptr<void> arg;
      if (reduce == PoolReduce::max) {
        arg = allocate(current_device(), total * static_cast<int64_t>(sizeof(int64_t)));
        bins_argmax_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
            x, xa, bins.bins, g.out, static_cast<int64_t*>(arg.get()), total);
        CC_CUDA_CHECK_LAUNCH("bins_argmax_kernel");
      }
      bins_gather_kernel<T><<<grid_for(ins, kThreads), kThreads, 0, stream()>>>(
          static_cast<const T*>(g.data), g.out, bins.bins,
          static_cast<const int64_t*>(arg.get()), gx, xa, written, clast, ins);
      CC_CUDA_CHECK_LAUNCH("bins_gather_kernel");
      written = true;
    }
    if (!written) zero_fill(gx, ins, sizeof(T));
    return;
  }
  zero_fill(gx, ins, sizeof(T));
  std::shared_ptr<void> bad = new_bad_index();
  bool checked = false;
  for (const cpu::PooledOutput& g : grads) {
    const int64_t total = count_of(g.out);
    if (total == 0) continue;
    const DeviceBins bins = upload(g);
    checked = checked || g.indices;
    bins_max_scatter_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
        x, xa, bins.bins, static_cast<const T*>(g.data), g.out, g.indices, gx,
        static_cast<BadIndex*>(bad.get()), clast, total);
    CC_CUDA_CHECK_LAUNCH("bins_max_scatter_kernel");
  }
  if (checked) raise_bad_index(bad, op, xa.h, xa.w);
}

template <class T>
void global_avg_pool_planes(const T* x, int64_t planes, int64_t hw, T* y) {
  if (planes == 0) return;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(planes, 65535LL * 8));
  plane_mean_kernel<T><<<blocks, kThreads, 0, stream()>>>(x, planes, hw, y);
  CC_CUDA_CHECK_LAUNCH("plane_mean_kernel");
}

template <class T>
void global_avg_pool_planes_backward(const T* gy, int64_t planes, int64_t hw, T* gx) {
  const int64_t total = planes * hw;
  if (total == 0) return;
  plane_mean_backward_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
      gy, hw, gx, total);
  CC_CUDA_CHECK_LAUNCH("plane_mean_backward_kernel");
}

template <class T>
void copy_elements(const T* src, int64_t n, T* dst) {
  if (n > 0)
    CC_CUDA_CHECK(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(T),
                                  cudaMemcpyDeviceToDevice, stream()));
}

template <class T>
void max_unpool_forward(const T* x, const int64_t* ind, const Act4& xa, T* y, const Act4& ya,
                        const std::string& op) {
  const int64_t outs = count_of(ya), ins = count_of(xa);
  zero_fill(y, outs, sizeof(T));
  if (ins == 0 || outs == 0) return;
  const bool clast = channels_last(xa);
  std::shared_ptr<void> bad = new_bad_index();
  std::shared_ptr<void> claim = allocate(current_device(), outs * 8);
  CC_CUDA_CHECK(cudaMemsetAsync(claim.get(), 0xff, static_cast<size_t>(outs * 8), stream()));  // -1
  unpool_claim_kernel<<<grid_for(ins, kThreads), kThreads, 0, stream()>>>(
      ind, xa, ya, static_cast<long long*>(claim.get()), static_cast<BadIndex*>(bad.get()), clast,
      ins);
  CC_CUDA_CHECK_LAUNCH("unpool_claim_kernel");
  unpool_write_kernel<T><<<grid_for(ins, kThreads), kThreads, 0, stream()>>>(
      x, ind, xa, y, ya, static_cast<const long long*>(claim.get()), clast, ins);
  CC_CUDA_CHECK_LAUNCH("unpool_write_kernel");
  raise_bad_index(bad, op, ya.h, ya.w);
}

template <class T>
void max_unpool_backward(const T* gy, const Act4& ga, const int64_t* ind, T* gx,
                         const Act4& xa, const std::string& op) {
  const int64_t ins = count_of(xa);
  if (ins == 0) return;
  std::shared_ptr<void> bad = new_bad_index();
  unpool_backward_kernel<T><<<grid_for(ins, kThreads), kThreads, 0, stream()>>>(
      gy, ga, ind, gx, xa, static_cast<BadIndex*>(bad.get()), channels_last(xa), ins);
  CC_CUDA_CHECK_LAUNCH("unpool_backward_kernel");
  raise_bad_index(bad, op, ga.h, ga.w);
}

#define CC_INSTANTIATE(T)                                                                      \
  template void pool_bins_forward<T>(PoolReduce, const T*, const Act4&,                        \
                                     const cpu::PooledOutput&);                                \
  template void pool_bins_backward<T>(PoolReduce, const std::vector<cpu::PooledOutput>&,       \
                                      const T*, const Act4&, T*, const std::string&);          \
  template void global_avg_pool_planes<T>(const T*, int64_t, int64_t, T*);                     \
  template void global_avg_pool_planes_backward<T>(const T*, int64_t, int64_t, T*);            \
  template void copy_elements<T>(const T*, int64_t, T*);                                       \
  template void max_unpool_forward<T>(const T*, const int64_t*, const Act4&, T*, const Act4&,  \
                                      const std::string&);                                     \
  template void max_unpool_backward<T>(const T*, const Act4&, const int64_t*, T*, const Act4&, \
                                       const std::string&);
CC_INSTANTIATE(float)
CC_INSTANTIATE(double)
#undef CC_INSTANTIATE

}  // namespace convcore::cuda
