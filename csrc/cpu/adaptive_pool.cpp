// SPDX-License-Identifier: MIT
#include "cpu/adaptive_pool.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "core/error.h"
#include "core/parallel.h"

namespace convcore::cpu {
namespace {

// Channels reduced together on the channels-last path: enough for full
// vectors, few enough for the accumulators to stay in L1.
constexpr int64_t kBlock = 64;

// Note [flat plane positions]: indices are flat positions p = h * W + w in a
// plane. Every array here is contiguous in its layout (NCHW or NHWC), so
// sh == W * sw and position p lies at offset p * sw from the plane's start.

// NHWC (sw == C, sc == 1) with several channels. Not sc == 1 alone: an NCHW
// map of 1 x 1 planes has sc == 1 too, while its unpooled output does not.
bool channels_last(const Act4& a) { return a.c > 1 && a.sc == 1 && a.sw == a.c; }

// Runs body(one_channel, image, c0, nc) over every (image, channel block) on
// the thread pool. Channels-first arrays go one channel (plane) at a time,
// with one_channel a std::true_type so the channel loops compile away.
template <class Body>
void for_each_block(int64_t images, const Act4& xa, const Body& body) {
  const bool last = channels_last(xa);
  const int64_t per = last ? kBlock : 1;
  const int64_t blocks = (xa.c + per - 1) / per;
  parallel_for(images * blocks, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / blocks, c0 = (t % blocks) * per, nc = std::min(per, xa.c - c0);
      if (last)
        body(std::false_type{}, n, c0, nc);
      else
        body(std::true_type{}, n, c0, 1);
    }
  });
}

const BinGrid& grid_of(const PooledOutput& y, int64_t k) {
  return y.grids.size() == 1 ? y.grids[0] : y.grids[k];
}
int64_t image_of(const PooledOutput& y, int64_t k) { return y.image.empty() ? k : y.image[k]; }

// Reduces the window rows x cols of nc unit-stride channels at xb into acc
// and, with kArg, each maximum's flat position into arg (an empty window
// gives 0 and -1). Ties go to the first maximum in row-major order; a NaN
// wins, the last one in row-major order, as in PyTorch's CPU kernels and
// max_pool2d. Strides come by value and the pointers are
// restrict, so nothing is reloaded after a store.
//
// kChain (one channel): one running max with its position, as conditional
// moves: no branch depends on the data, so random inputs cost no
// mispredictions. A block of channels without positions runs a loop that
// vectorises across the lanes; with positions, one chain per lane.
template <class T, PoolReduce kReduce, bool kArg, bool kChain>
void reduce_channels(const T* __restrict xb, int64_t sh, int64_t sw, int64_t W, Span rows,
                     Span cols, int64_t nc, T* __restrict acc, int64_t* __restrict arg) {
  if (rows.size() == 0 || cols.size() == 0) {
    std::fill(acc, acc + nc, T(0));
    if (kArg) std::fill(arg, arg + nc, int64_t{-1});
    return;
  }
  if (kReduce == PoolReduce::avg) {
    std::fill(acc, acc + nc, T(0));
    for (int64_t h = rows.begin; h < rows.end; ++h)
      for (int64_t w = cols.begin; w < cols.end; ++w) {
        const T* p = xb + h * sh + w * sw;
        for (int64_t c = 0; c < nc; ++c) acc[c] += p[c];
      }
    const T count = static_cast<T>(rows.size() * cols.size());
    for (int64_t c = 0; c < nc; ++c) acc[c] /= count;
    return;
  }
  constexpr T kNaN = std::numeric_limits<T>::quiet_NaN();
  std::fill(acc, acc + nc, -std::numeric_limits<T>::infinity());
  if constexpr (kChain) {
    T m = acc[0];
    int64_t at_max = rows.begin * W + cols.begin, nan_at = -1;
    for (int64_t h = rows.begin; h < rows.end; ++h)
      for (int64_t w = cols.begin; w < cols.end; ++w) {
        const T v = xb[h * sh + w * sw];
        const int64_t at = h * W + w;
        const bool gt = v > m;
        m = std::max(m, v);  // maxss: keeps m when v is NaN
        at_max = gt ? at : at_max;
        nan_at = v != v ? at : nan_at;
      }
    acc[0] = nan_at >= 0 ? kNaN : m;
    if (kArg) arg[0] = nan_at >= 0 ? nan_at : at_max;
    return;
  }
  if constexpr (kArg) {
    // Positions do not vectorise (64-bit selects on float compares): run
    // each lane's chain, the block's lanes sharing the window's cache lines.
    for (int64_t c = 0; c < nc; ++c)
      reduce_channels<T, kReduce, true, true>(xb + c, sh, sw, W, rows, cols, 1, acc + c,
                                               arg + c);
    return;
  }
  // probe += v * 0 turns NaN on a NaN (or an infinity) and vectorises with
  // the max; a NaN probe sends that channel to a rescan for a NaN.
  T probe[kBlock];
  std::fill(probe, probe + nc, T(0));
  for (int64_t h = rows.begin; h < rows.end; ++h)
    for (int64_t w = cols.begin; w < cols.end; ++w) {
      const T* p = xb + h * sh + w * sw;
      for (int64_t c = 0; c < nc; ++c) {
        const T v = p[c];
        acc[c] = std::max(acc[c], v);  // maxps: keeps acc when v is NaN
        probe[c] += v * T(0);
      }
    }
  for (int64_t c = 0; c < nc; ++c) {
    if (probe[c] == probe[c]) continue;
    for (int64_t h = rows.begin; h < rows.end && acc[c] == acc[c]; ++h)
      for (int64_t w = cols.begin; w < cols.end; ++w)
        if (xb[h * sh + w * sw + c] != xb[h * sh + w * sw + c]) {
          acc[c] = kNaN;
          break;
        }
  }
}

template <class T, bool kOne, PoolReduce kReduce, bool kArg = true>
void reduce_bin(const T* xb, const Act4& xa, Span rows, Span cols, int64_t nc, T* acc,
                int64_t* arg) {
  reduce_channels<T, kReduce, kArg, kOne>(xb, xa.sh, xa.sw, xa.w, rows, cols, kOne ? 1 : nc, acc,
                                          arg);
}

// Zeroes nc unit-stride channels of every position of an image at gb.
template <class T, bool kOne>
void zero_image_block(T* gb, const Act4& a, int64_t nc_arg) {
  const int64_t nc = kOne ? 1 : nc_arg;
  if (kOne && a.sw == 1 && a.sh == a.w) {
    std::fill(gb, gb + a.h * a.w, T(0));
    return;
  }
  for (int64_t h = 0; h < a.h; ++h)
    for (int64_t w = 0; w < a.w; ++w)
      std::fill(gb + h * a.sh + w * a.sw, gb + h * a.sh + w * a.sw + nc, T(0));
}

[[noreturn]] void bad_index(const std::string& op, const char* what, int64_t value,
                            int64_t h, int64_t w) {
  throw_argument_error(op, ": ", what, " value ", value, " is out of range for a plane of ", h,
                       " x ", w, " (valid: 0 to ", h * w - 1, ")");
}

// Calls body(std::integral_constant<PoolReduce, reduce>).
template <class Body>
void with_reduce(PoolReduce reduce, const Body& body) {
  if (reduce == PoolReduce::avg)
    body(std::integral_constant<PoolReduce, PoolReduce::avg>{});
  else
    body(std::integral_constant<PoolReduce, PoolReduce::max>{});
}

template <class T, PoolReduce kReduce, bool kArg>
void forward_bins(const T* x, const Act4& xa, const PooledOutput& y) {
  const Act4& ya = y.out;
  for_each_block(ya.n, xa, [&](auto one, int64_t k, int64_t c0, int64_t nc) {
    constexpr bool kOne = decltype(one)::value;
    const BinGrid& g = grid_of(y, k);
    const T* xb = x + image_of(y, k) * xa.sn + c0 * xa.sc;
    const int64_t yo = k * ya.sn + c0 * ya.sc;
    T* yb = static_cast<T*>(y.data) + yo;
    int64_t* ib = kArg ? y.indices + yo : nullptr;
    T acc[kBlock];
    int64_t arg[kBlock];
    for (int64_t i = 0; i < ya.h; ++i)
      for (int64_t j = 0; j < ya.w; ++j) {
        reduce_bin<T, kOne, kReduce, kArg>(xb, xa, g.rows[i], g.cols[j], nc, acc, arg);
        const int64_t o = i * ya.sh + j * ya.sw;
        for (int64_t c = 0; c < (kOne ? 1 : nc); ++c) yb[o + c * ya.sc] = acc[c];
        if (kArg)
          for (int64_t c = 0; c < (kOne ? 1 : nc); ++c) ib[o + c * ya.sc] = arg[c];
      }
  });
}

}  // namespace

template <class T>
void pool_bins_forward(PoolReduce reduce, const T* x, const Act4& xa, const PooledOutput& y) {
  with_reduce(reduce, [&](auto r) {
    constexpr PoolReduce kReduce = decltype(r)::value;
    if (kReduce == PoolReduce::max && y.indices)
      forward_bins<T, kReduce, true>(x, xa, y);
    else
      forward_bins<T, kReduce, false>(x, xa, y);
  });
}

template <class T>
void pool_bins_backward(PoolReduce reduce, const std::vector<PooledOutput>& grads, const T* x,
                        const Act4& xa, T* gx, const std::string& op) {
  const int64_t plane = xa.h * xa.w;
  for_each_block(xa.n, xa, [&](auto one, int64_t n, int64_t c0, int64_t nc_arg) {
    constexpr bool kOne = decltype(one)::value;
    const int64_t nc = kOne ? 1 : nc_arg;
    const int64_t xo = n * xa.sn + c0 * xa.sc;
    T* gxb = gx + xo;
    zero_image_block<T, kOne>(gxb, xa, nc);
    T g[kBlock], acc[kBlock];
    int64_t arg[kBlock];
    for (const PooledOutput& gy : grads) {
      const Act4& ga = gy.out;
      for (int64_t k = 0; k < ga.n; ++k) {
        if (image_of(gy, k) != n) continue;
        const BinGrid& grid = grid_of(gy, k);
        const int64_t go = k * ga.sn + c0 * ga.sc;
        const T* gyb = static_cast<const T*>(gy.data) + go;
        if (gy.indices) {  // the forward's positions: a plain scatter, no bins
          const int64_t* ib = gy.indices + go;
          for (int64_t i = 0; i < ga.h; ++i)
            for (int64_t j = 0; j < ga.w; ++j)
              for (int64_t c = 0; c < nc; ++c) {
                const int64_t o = i * ga.sh + j * ga.sw + c * ga.sc, at = ib[o];
                // One unsigned compare also rejects negative positions.
                if (static_cast<uint64_t>(at) >= static_cast<uint64_t>(plane))
                  bad_index(op, "indices", at, xa.h, xa.w);
                gxb[at * xa.sw + c] += gyb[o];
              }
          continue;
        }
        for (int64_t i = 0; i < ga.h; ++i)
          for (int64_t j = 0; j < ga.w; ++j) {
            const Span rows = grid.rows[i], cols = grid.cols[j];
            const int64_t o = i * ga.sh + j * ga.sw;
            for (int64_t c = 0; c < nc; ++c) g[c] = gyb[o + c * ga.sc];
            if (reduce == PoolReduce::avg) {
              const int64_t count = rows.size() * cols.size();
              if (count == 0) continue;
              for (int64_t c = 0; c < nc; ++c) g[c] /= static_cast<T>(count);
              for (int64_t h = rows.begin; h < rows.end; ++h)
                for (int64_t w = cols.begin; w < cols.end; ++w) {
                  T* p = gxb + h * xa.sh + w * xa.sw;
                  for (int64_t c = 0; c < nc; ++c) p[c] += g[c];
                }
              continue;
            }
            reduce_bin<T, kOne, PoolReduce::max>(x + xo, xa, rows, cols, nc, acc, arg);
            for (int64_t c = 0; c < nc; ++c)
              if (arg[c] >= 0) gxb[arg[c] * xa.sw + c] += g[c];
          }
      }
    }
  });
}

template <class T>
void global_avg_pool_planes(const T* x, int64_t planes, int64_t hw, T* y) {
  parallel_for(planes, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p) {
      const T* xp = x + p * hw;
      // Independent partial sums: the adds pipeline and vectorise.
      T s[8] = {};
      int64_t i = 0;
      for (; i + 8 <= hw; i += 8)
        for (int k = 0; k < 8; ++k) s[k] += xp[i + k];
      for (; i < hw; ++i) s[0] += xp[i];
      y[p] = (((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))) /
             static_cast<T>(hw);
    }
  });
}

template <class T>
void global_avg_pool_planes_backward(const T* gy, int64_t planes, int64_t hw, T* gx) {
  parallel_for(planes, [&](int64_t begin, int64_t end, int) {
    for (int64_t p = begin; p < end; ++p)
      std::fill(gx + p * hw, gx + (p + 1) * hw, gy[p] / static_cast<T>(hw));
  });
}

template <class T>
void copy_elements(const T* src, int64_t n, T* dst) {
  constexpr int64_t kChunk = 1 << 14;
  parallel_for((n + kChunk - 1) / kChunk, [&](int64_t begin, int64_t end, int) {
    std::copy(src + begin * kChunk, src + std::min(end * kChunk, n), dst + begin * kChunk);
  });
}

template <class T>
void max_unpool_forward(const T* x, const int64_t* ind, const Act4& xa, T* y, const Act4& ya,
                        const std::string& op) {
  const int64_t plane = ya.h * ya.w;
  for_each_block(xa.n, xa, [&](auto one, int64_t n, int64_t c0, int64_t nc_arg) {
    constexpr bool kOne = decltype(one)::value;
    const int64_t nc = kOne ? 1 : nc_arg;
    const int64_t xo = n * xa.sn + c0 * xa.sc;
    T* yb = y + n * ya.sn + c0 * ya.sc;
    zero_image_block<T, kOne>(yb, ya, nc);
    for (int64_t h = 0; h < xa.h; ++h)
      for (int64_t w = 0; w < xa.w; ++w) {
        const int64_t o = xo + h * xa.sh + w * xa.sw;
        for (int64_t c = 0; c < nc; ++c) {
          const int64_t at = ind[o + c];
          if (at < 0 || at >= plane) bad_index(op, "indices", at, ya.h, ya.w);
          yb[at * ya.sw + c] = x[o + c];
        }
      }
  });
}

template <class T>
void max_unpool_backward(const T* gy, const Act4& ga, const int64_t* ind, T* gx,
                         const Act4& xa, const std::string& op) {
  const int64_t plane = ga.h * ga.w;
  for_each_block(xa.n, xa, [&](auto one, int64_t n, int64_t c0, int64_t nc_arg) {
    constexpr bool kOne = decltype(one)::value;
    const int64_t nc = kOne ? 1 : nc_arg;
    const int64_t xo = n * xa.sn + c0 * xa.sc;
    const T* gb = gy + n * ga.sn + c0 * ga.sc;
    for (int64_t h = 0; h < xa.h; ++h)
      for (int64_t w = 0; w < xa.w; ++w) {
        const int64_t o = xo + h * xa.sh + w * xa.sw;
        for (int64_t c = 0; c < nc; ++c) {
          const int64_t at = ind[o + c];
          if (at < 0 || at >= plane) bad_index(op, "indices", at, ga.h, ga.w);
          gx[o + c] = gb[at * ga.sw + c];
        }
      }
  });
}

#define CC_INSTANTIATE(T)                                                                       \
  template void pool_bins_forward<T>(PoolReduce, const T*, const Act4&, const PooledOutput&);   \
  template void pool_bins_backward<T>(PoolReduce, const std::vector<PooledOutput>&, const T*,   \
                                      const Act4&, T*, const std::string&);                     \
  template void global_avg_pool_planes<T>(const T*, int64_t, int64_t, T*);                      \
  template void global_avg_pool_planes_backward<T>(const T*, int64_t, int64_t, T*);             \
  template void copy_elements<T>(const T*, int64_t, T*);                                        \
  template void max_unpool_forward<T>(const T*, const int64_t*, const Act4&, T*, const Act4&,   \
                                      const std::string&);                                      \
  template void max_unpool_backward<T>(const T*, const Act4&, const int64_t*, T*, const Act4&,  \
                                       const std::string&);
CC_INSTANTIATE(float)
CC_INSTANTIATE(double)
#undef CC_INSTANTIATE

}  // namespace convcore::cpu
