// SPDX-License-Identifier: MIT
#include "cpu/layers.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"
#include "cpu/kernels/kernels.h"

namespace convcore::cpu {
namespace {

// Elementwise work is split into chunks of this many elements (a multiple of
// every vector width, so chunk boundaries are vector aligned); arrays of one
// chunk run on the calling thread.
constexpr int64_t kChunk = 16384;
// Softmax columns are split into runs of this many positions.
constexpr int64_t kColumnChunk = 1024;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// fn(begin, end) over [0, n) in kChunk pieces on up to `threads` threads.
template <class Fn>
void for_chunks(int64_t n, int threads, Fn fn) {
  const int64_t chunks = ceil_div(n, kChunk);
  parallel_for(chunks, chunks > 1 ? threads : 1, [&](int64_t b, int64_t e, int) {
    for (int64_t c = b; c < e; ++c) fn(c * kChunk, std::min(n, (c + 1) * kChunk));
  });
}

// The work items of a [outer, classes, inner] array: one per row when inner
// is 1, else one per run of kColumnChunk positions of one outer slice.
struct SoftmaxItems {
  SoftmaxShape s;
  int64_t runs_per_slice() const { return s.inner == 1 ? 1 : ceil_div(s.inner, kColumnChunk); }
  int64_t count() const { return s.outer * runs_per_slice(); }
  int64_t stride() const { return s.inner; }
  // First element offset, first position and number of positions of item i.
  void locate(int64_t i, int64_t& offset, int64_t& j0, int64_t& positions) const {
    const int64_t o = i / runs_per_slice(), r = i % runs_per_slice();
    j0 = r * kColumnChunk;
    positions = s.inner == 1 ? 1 : std::min(kColumnChunk, s.inner - j0);
    offset = o * s.classes * s.inner + j0;
  }
  int threads_for(int threads) const {
    return s.outer * s.classes * s.inner > kChunk && count() > 1 ? threads : 1;
  }
};

template <class Fn>
void for_items(const SoftmaxItems& items, int threads, Fn fn) {
  parallel_for(items.count(), items.threads_for(threads), [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      int64_t offset, j0, positions;
      items.locate(i, offset, j0, positions);
      fn(i, offset, j0, positions);
    }
  });
}

// Per-position cross-entropy terms: the loss (1 - eps) w_t (lse - x_t) +
// eps/C sum_c w_c (lse - x_c), as PyTorch composes label smoothing.
template <class T>
struct CrossEntropyTerms {
  const SoftmaxShape& s;
  const T* x;
  const int64_t* target;
  const T* weight;
  const CrossEntropyParams& p;

  bool ignored(int64_t t) const { return t == p.ignore_index; }
  T class_weight(int64_t c) const { return weight ? weight[c] : T(1); }
  T total_weight() const {
    T w = 0;
    for (int64_t c = 0; c < s.classes; ++c) w += class_weight(c);
    return w;
  }
  // x(c) of position j of outer slice o.
  T logit(int64_t o, int64_t c, int64_t j) const { return x[(o * s.classes + c) * s.inner + j]; }
  // -log p_c = (max - x_c) + log_sum
  T loss(int64_t o, int64_t j, T max, T log_sum) const {
    const int64_t t = target[o * s.inner + j];
    const T eps = static_cast<T>(p.label_smoothing);
    T value = (1 - eps) * class_weight(t) * ((max - logit(o, t, j)) + log_sum);
    if (eps > 0) {
      T smooth = 0;
      for (int64_t c = 0; c < s.classes; ++c) smooth += class_weight(c) * ((max - logit(o, c, j)) + log_sum);
      value += eps / static_cast<T>(s.classes) * smooth;
    }
    return value;
  }
  // Sum of w_t over the positions not ignored: the 'mean' denominator.
  double mean_denominator() const {
    double d = 0;
    for (int64_t i = 0; i < s.outer * s.inner; ++i)
      if (!ignored(target[i])) d += class_weight(target[i]);
    return d;
  }
};

}  // namespace

template <class T>
void activation_forward(Activation f, int64_t n, const T* x, T* y, T param, int threads) {
  const auto& k = kernels().eltwise<T>();
  for_chunks(n, threads, [&](int64_t b, int64_t e) { k.activation_forward(f, e - b, x + b, y + b, param); });
}

template <class T>
void activation_backward(Activation f, int64_t n, const T* g, const T* x, const T* y, T* gx,
                         T param, int threads) {
  const auto& k = kernels().eltwise<T>();
  for_chunks(n, threads, [&](int64_t b, int64_t e) {
    k.activation_backward(f, e - b, g + b, x + b, y ? y + b : nullptr, gx + b, param);
  });
}

template <class T>
void softmax_forward(bool log, const SoftmaxShape& s, const T* x, T* y, int threads) {
  const auto& k = kernels().eltwise<T>();
  const SoftmaxItems items{s};
  for_items(items, threads, [&](int64_t, int64_t off, int64_t, int64_t positions) {
    k.softmax_forward(log, s.classes, items.stride(), positions, x + off, y + off);
  });
}

template <class T>
void softmax_backward(bool log, const SoftmaxShape& s, const T* g, const T* x, const T* y, T* gx,
                      int threads) {
  const auto& k = kernels().eltwise<T>();
  const SoftmaxItems items{s};
  for_items(items, threads, [&](int64_t, int64_t off, int64_t, int64_t positions) {
    // Without the saved output, recompute it into gx; the kernel allows gx == y.
    const T* yo = y ? y + off : gx + off;
    if (!y) k.softmax_forward(log, s.classes, items.stride(), positions, x + off, gx + off);
    k.softmax_backward(log, s.classes, items.stride(), positions, g + off, yo, gx + off);
  });
}

template <class T>
void cross_entropy_forward(const SoftmaxShape& s, const T* x, const int64_t* target, const T* weight,
                           const CrossEntropyParams& p, T* loss, int threads) {
  const auto& k = kernels().eltwise<T>();
  const SoftmaxItems items{s};
  const CrossEntropyTerms<T> terms{s, x, target, weight, p};
  const bool per_position = p.reduction == Reduction::none;
  std::vector<double> item_sums(static_cast<size_t>(items.count()), 0.0);
  for_items(items, threads, [&](int64_t i, int64_t off, int64_t j0, int64_t positions) {
    const int64_t o = i / items.runs_per_slice();
    T max[kColumnChunk], log_sum[kColumnChunk];
    k.softmax_stats(s.classes, items.stride(), positions, x + off, max, log_sum);
    double sum = 0;
    for (int64_t j = 0; j < positions; ++j) {
      const bool skip = terms.ignored(target[o * s.inner + j0 + j]);
      const T l = skip ? T(0) : terms.loss(o, j0 + j, max[j], log_sum[j]);
      if (per_position) loss[o * s.inner + j0 + j] = l;
      sum += l;
    }
    item_sums[static_cast<size_t>(i)] = sum;
  });
  if (per_position) return;
  double total = 0;
  for (double v : item_sums) total += v;  // in item order: the same sum whatever the threads
  loss[0] = static_cast<T>(p.reduction == Reduction::sum ? total : total / terms.mean_denominator());
}

template <class T>
void cross_entropy_backward(const SoftmaxShape& s, const T* g, const T* x, const int64_t* target,
                            const T* weight, const CrossEntropyParams& p, T* gx, int threads) {
  const auto& k = kernels().eltwise<T>();
  const SoftmaxItems items{s};
  const CrossEntropyTerms<T> terms{s, x, target, weight, p};
  const T eps = static_cast<T>(p.label_smoothing);
  const T smooth = eps / static_cast<T>(s.classes);
  const T total_weight = eps > 0 ? terms.total_weight() : T(0);
  const T uniform_scale =
      p.reduction == Reduction::mean ? static_cast<T>(g[0] / terms.mean_denominator())
      : p.reduction == Reduction::sum ? g[0] : T(0);
  // d loss_i / d x_c = ((1-eps) w_t + eps W / C) softmax_c - (1-eps) w_t [c == t] - eps/C w_c
  for_items(items, threads, [&](int64_t i, int64_t off, int64_t j0, int64_t positions) {
    const int64_t o = i / items.runs_per_slice();
    T max[kColumnChunk], log_sum[kColumnChunk], coef[kColumnChunk], scale[kColumnChunk];
    k.softmax_stats(s.classes, items.stride(), positions, x + off, max, log_sum);
    for (int64_t j = 0; j < positions; ++j) {
      const int64_t t = target[o * s.inner + j0 + j];
      const T gi = p.reduction == Reduction::none ? g[o * s.inner + j0 + j] : uniform_scale;
      scale[j] = terms.ignored(t) ? T(0) : gi;
      coef[j] = terms.ignored(t) ? T(0) : gi * ((1 - eps) * terms.class_weight(t) + smooth * total_weight);
    }
    k.scaled_softmax(s.classes, items.stride(), positions, x + off, max, log_sum, coef, gx + off);
    for (int64_t j = 0; j < positions; ++j) {
      const int64_t t = target[o * s.inner + j0 + j];
      if (terms.ignored(t)) continue;
      gx[off + t * s.inner + j] -= scale[j] * (1 - eps) * terms.class_weight(t);
      if (eps > 0)
        for (int64_t c = 0; c < s.classes; ++c)
          gx[off + c * s.inner + j] -= scale[j] * smooth * terms.class_weight(c);
    }
  });
}

template <class T>
void mse_forward(int64_t n, const T* x, const T* t, Reduction r, T* loss, int threads) {
  const auto& k = kernels().eltwise<T>();
  const bool per_element = r == Reduction::none;
  std::vector<double> chunk_sums(static_cast<size_t>(ceil_div(n, kChunk)), 0.0);
  for_chunks(n, threads, [&](int64_t b, int64_t e) {
    chunk_sums[static_cast<size_t>(b / kChunk)] = k.squared_error(e - b, x + b, t + b, per_element ? loss + b : nullptr);
  });
  if (per_element) return;
  double total = 0;
  for (double v : chunk_sums) total += v;
  loss[0] = static_cast<T>(r == Reduction::sum ? total : total / static_cast<double>(n));
}

template <class T>
void mse_backward(int64_t n, const T* g, const T* x, const T* t, Reduction r, T* gx, int threads) {
  const auto& k = kernels().eltwise<T>();
  const T scale = r == Reduction::none ? T(2)
                  : r == Reduction::sum ? 2 * g[0]
                                        : static_cast<T>(2 * static_cast<double>(g[0]) / static_cast<double>(n));
  const T* per_element = r == Reduction::none ? g : nullptr;
  for_chunks(n, threads, [&](int64_t b, int64_t e) {
    k.squared_error_backward(e - b, per_element ? per_element + b : nullptr, x + b, t + b, scale, gx + b);
  });
}

namespace {

uint64_t splitmix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// See Note [dropout mask].
class DropoutMask {
 public:
  DropoutMask(double p, uint64_t seed)
      : key_(splitmix64(seed)),
        threshold_(static_cast<uint64_t>(std::llround((1.0 - p) * 4294967296.0))) {}
  // keep[i - b] for i in [b, e), b even.
  void fill(int64_t b, int64_t e, uint8_t* keep) const {
    constexpr uint64_t golden = 0x9e3779b97f4a7c15ULL;
    for (int64_t i = b; i < e; i += 2) {
      const uint64_t h = splitmix64(key_ + static_cast<uint64_t>(i / 2 + 1) * golden);
      keep[i - b] = (h & 0xffffffffULL) < threshold_;
      if (i + 1 < e) keep[i + 1 - b] = (h >> 32) < threshold_;
    }
  }

 private:
  uint64_t key_, threshold_;
};

template <class T>
T keep_scale(double p) {
  return p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
}

}  // namespace

template <class T>
void dropout_forward(int64_t n, const T* x, double p, uint64_t seed, T* y, uint8_t* keep,
                     int threads) {
  const auto& k = kernels().eltwise<T>();
  const DropoutMask mask(p, seed);
  for_chunks(n, threads, [&](int64_t b, int64_t e) {
    uint8_t local[kChunk];
    uint8_t* m = keep ? keep + b : local;
    mask.fill(b, e, m);
    k.masked_scale(e - b, x + b, m, keep_scale<T>(p), y + b);
  });
}

template <class T>
void dropout_backward(int64_t n, const T* g, const uint8_t* keep, double p, uint64_t seed, T* gx,
                      int threads) {
  const auto& k = kernels().eltwise<T>();
  const DropoutMask mask(p, seed);
  for_chunks(n, threads, [&](int64_t b, int64_t e) {
    uint8_t local[kChunk];
    const uint8_t* m = keep ? keep + b : local;
    if (!keep) mask.fill(b, e, local);
    k.masked_scale(e - b, g + b, m, keep_scale<T>(p), gx + b);
  });
}

#define CC_INSTANTIATE(T)                                                                        \
  template void activation_forward<T>(Activation, int64_t, const T*, T*, T, int);                \
  template void activation_backward<T>(Activation, int64_t, const T*, const T*, const T*, T*, T, \
                                       int);                                                     \
  template void softmax_forward<T>(bool, const SoftmaxShape&, const T*, T*, int);                \
  template void softmax_backward<T>(bool, const SoftmaxShape&, const T*, const T*, const T*, T*, \
                                    int);                                                        \
  template void cross_entropy_forward<T>(const SoftmaxShape&, const T*, const int64_t*, const T*, \
                                         const CrossEntropyParams&, T*, int);                    \
  template void cross_entropy_backward<T>(const SoftmaxShape&, const T*, const T*, const int64_t*, \
                                          const T*, const CrossEntropyParams&, T*, int);          \
  template void mse_forward<T>(int64_t, const T*, const T*, Reduction, T*, int);                 \
  template void mse_backward<T>(int64_t, const T*, const T*, const T*, Reduction, T*, int);      \
  template void dropout_forward<T>(int64_t, const T*, double, uint64_t, T*, uint8_t*, int);      \
  template void dropout_backward<T>(int64_t, const T*, const uint8_t*, double, uint64_t, T*, int);
CC_INSTANTIATE(float)
CC_INSTANTIATE(double)
#undef CC_INSTANTIATE

}  // namespace convcore::cpu
