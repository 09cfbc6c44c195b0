// SPDX-License-Identifier: MIT
// Batch norm is two passes over memory in each direction: per-channel sums
// (threads over planes or row blocks, each with its own float64 partials,
// reduced at the end), then one fused element-wise pass
//   forward:   y  = (x - m) * a + b
//   backward:  dx = dy * a + (x - m) * b + c
// whose per-channel coefficients fold in the statistics, the affine
// parameters and the rounding of the mean to T (m), so a large mean never
// meets a small variance in T arithmetic.
#include "cpu/norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "cpu/kernels/kernels.h"

namespace convcore::cpu {
namespace {

struct ChannelSums {
  std::vector<double> s1, s2;
};

// Calls fn(i, c, count) for runs [i, i + count) of the planes [b, e) that lie
// in one sample, c being the channel of plane i.
template <class Fn>
void for_channel_runs(int64_t b, int64_t e, int64_t C, const Fn& fn) {
  while (b < e) {
    const int64_t c = b % C, count = std::min(e - b, C - c);
    fn(b, c, count);
    b += count;
  }
}

// Sums over all values of each channel: planes(i, c, count, sum1, sum2) adds
// planes [i, i + count) (of channels c...) into sum1[0..count), sum2[...);
// rows(r0, r1, sum1, sum2) adds rows [r0, r1).
template <class PlaneFn, class RowsFn>
ChannelSums channel_sums(const NormShape& s, int threads, const PlaneFn& planes,
                         const RowsFn& rows) {
  const int64_t C = s.channels;
  std::vector<double> partial(static_cast<size_t>(threads) * 2 * C, 0.0);
  if (s.numel() > 0 && s.inner > 1) {
    parallel_for(s.outer * C, threads, [&](int64_t b, int64_t e, int t) {
      double* acc = partial.data() + t * 2 * C;
      for_channel_runs(b, e, C, [&](int64_t i, int64_t c, int64_t count) {
        planes(i, c, count, acc + c, acc + C + c);
      });
    });
  } else if (s.numel() > 0) {
    parallel_for(s.outer, threads, [&](int64_t b, int64_t e, int t) {
      double* acc = partial.data() + t * 2 * C;
      rows(b, e, acc, acc + C);
    });
  }
  ChannelSums out{std::vector<double>(C, 0.0), std::vector<double>(C, 0.0)};
  for (int t = 0; t < threads; ++t)
    for (int64_t c = 0; c < C; ++c) {
      out.s1[c] += partial[t * 2 * C + c];
      out.s2[c] += partial[t * 2 * C + C + c];
    }
  return out;
}

struct Moments {
  std::vector<double> mean, invstd, var;
};

// Batch mean, biased variance and 1/sqrt(var + eps), shifted by each
// channel's first value.
template <class T>
Moments batch_moments(const NormShape& s, const T* x, double eps, int threads) {
  const auto& k = kernels().norm<T>();
  const int64_t C = s.channels, n = s.per_channel();
  std::vector<T> shift(C, T(0));
  if (n > 0)
    for (int64_t c = 0; c < C; ++c) shift[c] = x[c * s.inner];
  const ChannelSums sums = channel_sums(
      s, threads,
      [&](int64_t i, int64_t c, int64_t count, double* s1, double* s2) {
        k.planes_shifted_sums(x + i * s.inner, count, s.inner, shift.data() + c, s1, s2);
      },
      [&](int64_t r0, int64_t r1, double* s1, double* s2) {
        k.rows_shifted_sums(x + r0 * C, r1 - r0, C, shift.data(), s1, s2);
      });
  Moments m{std::vector<double>(C), std::vector<double>(C), std::vector<double>(C)};
  const double inv_n = n > 0 ? 1.0 / static_cast<double>(n) : 0.0;  // empty batch: 0, 0
  for (int64_t c = 0; c < C; ++c) {
    const double d = sums.s1[c] * inv_n;
    m.mean[c] = shift[c] + d;
    m.var[c] = std::max(0.0, sums.s2[c] * inv_n - d * d);
    m.invstd[c] = 1.0 / std::sqrt(m.var[c] + eps);
  }
  return m;
}

template <class T>
Moments running_moments(int64_t C, const T* running_mean, const T* running_var, double eps) {
  Moments m{std::vector<double>(C), std::vector<double>(C), std::vector<double>(C)};
  for (int64_t c = 0; c < C; ++c) {
    m.mean[c] = running_mean[c];
    m.var[c] = running_var[c];
    m.invstd[c] = 1.0 / std::sqrt(m.var[c] + eps);
  }
  return m;
}

template <class T>
Moments saved_moments(int64_t C, const T* save_mean, const T* save_invstd) {
  Moments m{std::vector<double>(C), std::vector<double>(C), {}};
  for (int64_t c = 0; c < C; ++c) {
    m.mean[c] = save_mean[c];
    m.invstd[c] = save_invstd[c];
  }
  return m;
}

// Per-channel coefficients of the element-wise pass.
template <class T>
struct Coefs {
  std::vector<T> m, a, b, c;
  explicit Coefs(int64_t C) : m(C), a(C), b(C), c(C) {}
};

template <class T>
void affine_pass(const NormShape& s, const T* x, const Coefs<T>& k, T* y, int threads) {
  const auto& kn = kernels().norm<T>();
  const int64_t C = s.channels;
  if (s.numel() == 0) return;
  if (s.inner > 1) {
    parallel_for(s.outer * C, threads, [&](int64_t b, int64_t e, int) {
      for_channel_runs(b, e, C, [&](int64_t i, int64_t c, int64_t count) {
        kn.planes_affine(x + i * s.inner, count, s.inner, k.m.data() + c, k.a.data() + c,
                         k.b.data() + c, y + i * s.inner);
      });
    });
  } else {
    parallel_for(s.outer, threads, [&](int64_t b, int64_t e, int) {
      kn.rows_affine(x + b * C, e - b, C, k.m.data(), k.a.data(), k.b.data(), y + b * C);
    });
  }
}

template <class T>
void grad_input_pass(const NormShape& s, const T* dy, const T* x, const Coefs<T>& k, T* dx,
                     int threads) {
  const auto& kn = kernels().norm<T>();
  const int64_t C = s.channels;
  if (s.numel() == 0) return;
  if (s.inner > 1) {
    parallel_for(s.outer * C, threads, [&](int64_t b, int64_t e, int) {
      for_channel_runs(b, e, C, [&](int64_t i, int64_t c, int64_t count) {
        const int64_t o = i * s.inner;
        kn.planes_grad_input(dy + o, x + o, count, s.inner, k.m.data() + c, k.a.data() + c,
                             k.b.data() + c, k.c.data() + c, dx + o);
      });
    });
  } else {
    parallel_for(s.outer, threads, [&](int64_t b, int64_t e, int) {
      kn.rows_grad_input(dy + b * C, x + b * C, e - b, C, k.m.data(), k.a.data(), k.b.data(),
                         k.c.data(), dx + b * C);
    });
  }
}

template <class T>
double weight_at(const T* weight, int64_t c) {
  return weight ? static_cast<double>(weight[c]) : 1.0;
}

}  // namespace

template <class T>
void batch_norm_forward(const BatchNormParams& p, const NormShape& s,
                        const BatchNormForwardArgs<T>& a, int threads) {
  const int64_t C = s.channels, n = s.per_channel();
  const Moments mo = p.training ? batch_moments(s, a.x, p.eps, threads)
                                : running_moments(C, a.running_mean, a.running_var, p.eps);
  if (p.training && a.running_mean && n > 0) {  // torch leaves them alone on an empty batch
    // torch: the running variance is the unbiased one (n / (n - 1)); n > 1 here.
    const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
    for (int64_t c = 0; c < C; ++c) {
      a.running_mean[c] = static_cast<T>((1 - p.momentum) * a.running_mean[c] +
                                         p.momentum * mo.mean[c]);
      a.running_var[c] = static_cast<T>((1 - p.momentum) * a.running_var[c] +
                                        p.momentum * mo.var[c] * unbias);
    }
  }
  Coefs<T> k(C);
  for (int64_t c = 0; c < C; ++c) {
    const double scale = weight_at(a.weight, c) * mo.invstd[c];
    k.m[c] = static_cast<T>(mo.mean[c]);
    k.a[c] = static_cast<T>(scale);
    k.b[c] = static_cast<T>((a.bias ? a.bias[c] : 0.0) - (mo.mean[c] - k.m[c]) * scale);
    if (a.save_mean) a.save_mean[c] = static_cast<T>(mo.mean[c]);
    if (a.save_invstd) a.save_invstd[c] = static_cast<T>(mo.invstd[c]);
  }
  affine_pass(s, a.x, k, a.y, threads);
}

template <class T>
void batch_norm_backward(const BatchNormParams& p, const NormShape& s,
                         const BatchNormBackwardArgs<T>& a, int threads) {
  const int64_t C = s.channels;
  const double n = static_cast<double>(s.per_channel());
  Moments mo;
  if (!p.training) mo = running_moments(C, a.running_mean, a.running_var, p.eps);
  else if (a.save_mean) mo = saved_moments(C, a.save_mean, a.save_invstd);
  else mo = batch_moments(s, a.x, p.eps, threads);

  Coefs<T> k(C);
  for (int64_t c = 0; c < C; ++c) k.m[c] = static_cast<T>(mo.mean[c]);
  const bool need_sums = a.dweight || a.dbias || (p.training && a.dx);
  ChannelSums sums;  // sum dy, sum dy * (x - m)
  if (need_sums) {
    const auto& kn = kernels().norm<T>();
    sums = channel_sums(
        s, threads,
        [&](int64_t i, int64_t c, int64_t count, double* s1, double* s2) {
          kn.planes_grad_sums(a.dy + i * s.inner, a.x + i * s.inner, count, s.inner,
                              k.m.data() + c, s1, s2);
        },
        [&](int64_t r0, int64_t r1, double* s1, double* s2) {
          kn.rows_grad_sums(a.dy + r0 * C, a.x + r0 * C, r1 - r0, C, k.m.data(), s1, s2);
        });
    for (int64_t c = 0; c < C; ++c) sums.s2[c] -= (mo.mean[c] - k.m[c]) * sums.s1[c];
  }
  for (int64_t c = 0; c < C; ++c) {
    if (a.dweight) a.dweight[c] = static_cast<T>(sums.s2[c] * mo.invstd[c]);
    if (a.dbias) a.dbias[c] = static_cast<T>(sums.s1[c]);
  }
  if (!a.dx) return;
  for (int64_t c = 0; c < C; ++c) {
    const double scale = weight_at(a.weight, c) * mo.invstd[c];
    k.a[c] = static_cast<T>(scale);
    if (!p.training) continue;
    // dx = (dy - mean(dy) - (x - mean) * invstd^2 * mean(dy * (x - mean))) * scale
    const double slope = -scale * mo.invstd[c] * mo.invstd[c] * sums.s2[c] / n;
    k.b[c] = static_cast<T>(slope);
    k.c[c] = static_cast<T>(-scale * sums.s1[c] / n - slope * (mo.mean[c] - k.m[c]));
  }
  if (p.training) {
    grad_input_pass(s, a.dy, a.x, k, a.dx, threads);
  } else {
    std::fill(k.m.begin(), k.m.end(), T(0));  // dx = dy * scale
    affine_pass(s, a.dy, k, a.dx, threads);
  }
}

namespace {

LrnCoefs lrn_coefs(const LrnParams& p) {
  return {p.size, p.size / 2, p.alpha / static_cast<double>(p.size), p.beta, p.k};
}

// Positions of one channels-first tile: as many as keep the kernel's rings
// (3 * size rows) and the rows of x, dy it rereads (2 * size) within half of
// L2; long rows stream well.
template <class T>
int64_t lrn_tile_len(int64_t size) {
  constexpr int64_t budget = 512 * 1024, lanes = kLrnMaxLanes;
  const int64_t len = budget / (5 * size * static_cast<int64_t>(sizeof(T)));
  return std::clamp<int64_t>(len / lanes * lanes, lanes, 1024 * lanes);
}

// Runs plane(x_offset, len, scratch) over tiles of positions or rows(row0,
// rows, scratch) over blocks of rows, each thread with its own scratch.
template <class T, class PlaneFn, class RowsFn>
void lrn_run(const NormShape& s, int64_t size, int threads, const PlaneFn& plane,
             const RowsFn& rows) {
  if (s.numel() == 0) return;
  if (s.inner > 1) {
    const int64_t tile = std::min(lrn_tile_len<T>(size), s.inner);
    const int64_t tiles = (s.inner + tile - 1) / tile;
    parallel_for(s.outer * tiles, threads, [&](int64_t b, int64_t e, int) {
      std::vector<T> scratch(lrn_plane_scratch(size, tile));
      for (int64_t i = b; i < e; ++i) {
        const int64_t o = i / tiles, p0 = (i % tiles) * tile;
        plane(o * s.channels * s.inner + p0, std::min(tile, s.inner - p0), scratch.data());
      }
    });
  } else {
    parallel_for(s.outer, threads, [&](int64_t b, int64_t e, int) {
      std::vector<T> scratch(lrn_row_scratch(s.channels, size));
      rows(b, e - b, scratch.data());
    });
  }
}

}  // namespace

template <class T>
void lrn_forward(const LrnParams& p, const NormShape& s, const T* x, T* y, int threads) {
  const auto& kn = kernels().norm<T>();
  const LrnCoefs k = lrn_coefs(p);
  const int64_t C = s.channels;
  lrn_run<T>(
      s, p.size, threads,
      [&](int64_t o, int64_t len, T* scratch) {
        kn.lrn_planes(x + o, C, s.inner, len, k, y + o, scratch);
      },
      [&](int64_t r0, int64_t rows, T* scratch) {
        kn.lrn_rows(x + r0 * C, rows, C, k, y + r0 * C, scratch);
      });
}

template <class T>
void lrn_backward(const LrnParams& p, const NormShape& s, const T* dy, const T* x, T* dx,
                  int threads) {
  const auto& kn = kernels().norm<T>();
  const LrnCoefs k = lrn_coefs(p);
  const int64_t C = s.channels;
  lrn_run<T>(
      s, p.size, threads,
      [&](int64_t o, int64_t len, T* scratch) {
        kn.lrn_planes_backward(dy + o, x + o, C, s.inner, len, k, dx + o, scratch);
      },
      [&](int64_t r0, int64_t rows, T* scratch) {
        kn.lrn_rows_backward(dy + r0 * C, x + r0 * C, rows, C, k, dx + r0 * C, scratch);
      });
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

}  // namespace convcore::cpu
