// SPDX-License-Identifier: MIT
// Direct depthwise convolution on the GPU (groups == Cin, any channel
// multiplier) and the per-channel bias helpers. The twins of the depthwise
// part of cpu/conv.cpp, with the same semantics: every padding mode reads
// through ops/shape.h source_index, the constant pad value contributes to the
// weight gradient, and the input gradient of a mirrored or wrapped pixel
// collects every padded position that read it.
//
// Indexing goes through the views' strides (core/tensor.h Act4), so NCHW,
// NHWC and any other strides work; the layout flag only picks the order in
// which threads walk the elements, so that neighbouring threads touch
// neighbouring memory. Reductions are deterministic: fixed per-thread
// orders, fixed shared-memory trees, and chunk partials summed in order by a
// second kernel; no floating-point atomics.
#include "cuda/conv.h"

#include <algorithm>

#include "core/error.h"
#include "cuda/launch.cuh"

namespace convcore::cuda {
namespace {

constexpr int kThreads = 256;

// The depthwise problem as kernels read it: sizes and options, nothing owned.
struct DwGeom {
  int64_t n, cin, h, w;  // the convolution's input
  int64_t mult;          // output channels per input channel (cout = cin * mult)
  int64_t oh, ow, kh, kw;
  int64_t stride_h, stride_w, dil_h, dil_w;
  int64_t pad_top, pad_bottom, pad_left, pad_right;  // trailing ones may be negative
  PadMode mode;
};

DwGeom dw_geom(const ConvProblem& prob) {
  DwGeom g;
  g.n = prob.n, g.cin = prob.cin, g.h = prob.h, g.w = prob.w;
  g.mult = prob.cout_g();
  g.oh = prob.oh, g.ow = prob.ow, g.kh = prob.kh, g.kw = prob.kw;
  g.stride_h = prob.p.stride[0], g.stride_w = prob.p.stride[1];
  g.dil_h = prob.p.dilation[0], g.dil_w = prob.p.dilation[1];
  g.pad_top = prob.p.pad[0], g.pad_bottom = prob.p.pad[1];
  g.pad_left = prob.p.pad[2], g.pad_right = prob.p.pad[3];
  g.mode = prob.p.pad_mode;
  return g;
}

// Element strides of a (Cout, 1, KH, KW) weight.
struct WeightStrides {
  int64_t so, sh, sw;
};

WeightStrides weight_strides(const TensorView& w) {
  return {w.strides[0], w.strides[2], w.strides[3]};
}

// (n, c, h, w) of the i-th element in memory order of the layout: NCHW
// walks w fastest, NHWC walks c fastest.
struct Idx4 {
  int64_t n, c, h, w;
};

__device__ inline Idx4 unravel(int64_t i, bool nhwc, int64_t C, int64_t H, int64_t W) {
  Idx4 r;
  if (nhwc) {
    r.c = i % C;
    i /= C;
    r.w = i % W;
    i /= W;
    r.h = i % H;
    r.n = i / H;
  } else {
    r.w = i % W;
    i /= W;
    r.h = i % H;
    i /= H;
    r.c = i % C;
    r.n = i / C;
  }
  return r;
}

__device__ inline int64_t offset(const Act4& s, int64_t n, int64_t c, int64_t h, int64_t w) {
  return n * s.sn + c * s.sc + h * s.sh + w * s.sw;
}

// ---------------------------------------------------------------- forward

// One thread per output element (n, co, oh, ow):
// y = sum over taps of xpad(n, co / mult, oh*sh - pt + a*dh, ow*sw - pl + b*dw) * w[co, a, b] (+ bias).
template <class T>
__global__ void dw_forward_kernel(DwGeom g, const T* __restrict__ x, Act4 xs,
                                  const T* __restrict__ wt, WeightStrides ws,
                                  const T* __restrict__ bias, T* __restrict__ y, Act4 ys,
                                  bool nhwc, T pad, int64_t total) {
  const int64_t cout = g.cin * g.mult;
  CC_GRID_STRIDE_LOOP(i, total) {
    const Idx4 o = unravel(i, nhwc, cout, g.oh, g.ow);
    const int64_t c = o.c / g.mult;
    const T* plane = x + o.n * xs.sn + c * xs.sc;
    const T* wk = wt + o.c * ws.so;
    T acc = T(0);
    for (int64_t a = 0; a < g.kh; ++a) {
      const int64_t ih = source_index(o.h * g.stride_h - g.pad_top + a * g.dil_h, g.h, g.mode);
      for (int64_t b = 0; b < g.kw; ++b) {
        const int64_t iw = source_index(o.w * g.stride_w - g.pad_left + b * g.dil_w, g.w, g.mode);
        const T v = (ih < 0 || iw < 0) ? pad : plane[ih * xs.sh + iw * xs.sw];
        acc += v * wk[a * ws.sh + b * ws.sw];
      }
    }
    if (bias) acc += bias[o.c];
    y[offset(ys, o.n, o.c, o.h, o.w)] = acc;
  }
}

// ---------------------------------------------------------- backward input

// The padded positions along one axis that may read source index i:
// position i itself (candidate 0) and, unless the padding is constant, every
// border position (before: -1 .. -pad_before, after: n .. n + pad_after - 1).
// Callers loop j over [0, candidates) and skip the border positions whose
// source_index is another pixel. Validation bounds reflect, symmetric and
// circular borders by the axis length; wide replicate borders are scanned
// for the first and last pixel only.
__device__ inline int64_t border_candidates(int64_t i, int64_t n, int64_t pad_before,
                                           int64_t pad_after, PadMode mode) {
  if (mode == PadMode::constant) return 1;
  // Replicate borders read the first or last pixel only (and may be wide).
  if (mode == PadMode::replicate && i != 0 && i != n - 1) return 1;
  return 1 + (pad_before > 0 ? pad_before : 0) + (pad_after > 0 ? pad_after : 0);
}

// The j-th candidate padded position for source index i (see above), or
// INT64_MIN when it reads another pixel.
__device__ inline int64_t candidate_position(int64_t j, int64_t i, int64_t n, int64_t pad_before,
                                             PadMode mode) {
  if (j == 0) return i;
  const int64_t before = pad_before > 0 ? pad_before : 0;
  const int64_t p = j <= before ? -j : n + (j - 1 - before);
  return source_index(p, n, mode) == i ? p : INT64_MIN;
}

// Output index o with o * stride == pos + pad_before - tap * dilation, or -1.
__device__ inline int64_t output_of(int64_t pos, int64_t tap, int64_t pad_before, int64_t stride,
                                    int64_t dilation, int64_t out_size) {
  const int64_t t = pos + pad_before - tap * dilation;
  if (t < 0) return -1;
  if (stride == 1) return t < out_size ? t : -1;  // no 64-bit division in the common case
  if (t % stride != 0) return -1;
  const int64_t o = t / stride;
  return o < out_size ? o : -1;
}

// One thread per input element (n, c, ih, iw): the sum of grad_output times
// the weight over every (output, tap) whose padded read lands on this pixel.
template <class T>
__global__ void dw_backward_input_kernel(DwGeom g, const T* __restrict__ gy, Act4 gs,
                                         const T* __restrict__ wt, WeightStrides ws,
                                         T* __restrict__ gx, Act4 xs, bool nhwc, int64_t total) {
  CC_GRID_STRIDE_LOOP(i, total) {
    const Idx4 e = unravel(i, nhwc, g.cin, g.h, g.w);
    const int64_t cand_h = border_candidates(e.h, g.h, g.pad_top, g.pad_bottom, g.mode);
    const int64_t cand_w = border_candidates(e.w, g.w, g.pad_left, g.pad_right, g.mode);
    const T* gplane = gy + e.n * gs.sn;
    T acc = T(0);
    for (int64_t jh = 0; jh < cand_h; ++jh) {
      const int64_t ph = candidate_position(jh, e.h, g.h, g.pad_top, g.mode);
      if (ph == INT64_MIN) continue;
      for (int64_t a = 0; a < g.kh; ++a) {
        const int64_t oh = output_of(ph, a, g.pad_top, g.stride_h, g.dil_h, g.oh);
        if (oh < 0) continue;
        for (int64_t jw = 0; jw < cand_w; ++jw) {
          const int64_t pw = candidate_position(jw, e.w, g.w, g.pad_left, g.mode);
          if (pw == INT64_MIN) continue;
          for (int64_t b = 0; b < g.kw; ++b) {
            const int64_t ow = output_of(pw, b, g.pad_left, g.stride_w, g.dil_w, g.ow);
            if (ow < 0) continue;
            for (int64_t m = 0; m < g.mult; ++m) {
              const int64_t co = e.c * g.mult + m;
              acc += gplane[co * gs.sc + oh * gs.sh + ow * gs.sw] *
                     wt[co * ws.so + a * ws.sh + b * ws.sw];
            }
          }
        }
      }
    }
    gx[offset(xs, e.n, e.c, e.h, e.w)] = acc;
  }
}

// ------------------------------------------------- deterministic reductions

// out(r, c) = sum over p in [0, count) of term(r, c, p), for rows r and
// channels c. Blocks of CT channels x RT threads: thread (tx, ty) sums the
// terms p = ty, ty + RT, ... of its chunk in order, then a fixed tree over
// ty combines them. NCHW runs CT = 1 (the threads of a warp walk p, which is
// contiguous in memory), NHWC runs CT = 32 (a warp reads 32 neighbouring
// channels). Chunks (gridDim.y) split p when there are few (row, channel)
// pairs; their partials land in partial[(chunk * rows + r) * channels + c]
// and finish_kernel adds them in chunk order.
template <class Acc, int CT, int RT, class Term>
__global__ void reduce_kernel(Term term, int64_t rows, int64_t channels, int64_t count,
                              int64_t chunk_len, Acc* __restrict__ partial) {
  static_assert((RT & (RT - 1)) == 0, "RT must be a power of two");
  __shared__ Acc s[RT][CT];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t tiles = (channels + CT - 1) / CT;
  const int64_t r = blockIdx.x / tiles;
  const int64_t c = (blockIdx.x % tiles) * CT + tx;
  const int64_t chunk = blockIdx.y;
  const int64_t begin = chunk * chunk_len;
  const int64_t end = begin + chunk_len < count ? begin + chunk_len : count;
  Acc acc = Acc(0);
  if (c < channels)
    for (int64_t p = begin + ty; p < end; p += RT) acc += term(r, c, p);
  s[ty][tx] = acc;
  __syncthreads();
  for (int half = RT / 2; half > 0; half /= 2) {
    if (ty < half) s[ty][tx] += s[ty + half][tx];
    __syncthreads();
  }
  if (ty == 0 && c < channels) partial[(chunk * rows + r) * channels + c] = s[0][tx];
}

// store(r, c, sum of the chunk partials of (r, c), in chunk order).
template <class Acc, class Store>
__global__ void finish_kernel(Store store, const Acc* __restrict__ partial, int64_t rows,
                              int64_t channels, int64_t chunks) {
  const int64_t outputs = rows * channels;
  CC_GRID_STRIDE_LOOP(i, outputs) {
    Acc acc = partial[i];
    for (int64_t k = 1; k < chunks; ++k) acc += partial[k * outputs + i];
    store(i / channels, i % channels, acc);
  }
}

// Chunks per (row, channel) pair: enough blocks to fill a large GPU when the
// pairs are few, each chunk at least 16K terms. A function of the shape only,
// so a result does not depend on the device it ran on.
int64_t chunks_for(int64_t pairs, int64_t count) {
  const int64_t by_work = (count + 16383) / 16384;
  const int64_t by_blocks = std::max<int64_t>(1, 2048 / std::max<int64_t>(1, pairs));
  return std::max<int64_t>(1, std::min<int64_t>({by_work, by_blocks, 65535}));
}

template <class Acc, int CT, int RT, class Term, class Store>
void launch_reduce(int device, const Term& term, const Store& store, int64_t rows,
                   int64_t channels, int64_t count) {
  const int64_t outputs = rows * channels;
  if (outputs == 0) return;
  const int64_t tiles = (channels + CT - 1) / CT;
  CC_CHECK_ARG(rows * tiles <= 0x7fffffffLL, "depthwise reduction: too many blocks (",
               rows * tiles, ")");
  const int64_t chunks = count == 0 ? 1 : chunks_for(outputs, count);
  const int64_t chunk_len = count == 0 ? 0 : (count + chunks - 1) / chunks;
  auto ws = allocate(device, chunks * outputs * static_cast<int64_t>(sizeof(Acc)));
  Acc* partial = static_cast<Acc*>(ws.get());
  const dim3 grid(static_cast<unsigned>(rows * tiles), static_cast<unsigned>(chunks));
  const dim3 block(CT, RT);
  reduce_kernel<Acc, CT, RT, Term><<<grid, block, 0, stream()>>>(term, rows, channels, count,
                                                                  chunk_len, partial);
  CC_CUDA_CHECK_LAUNCH("reduce_kernel");
  finish_kernel<Acc, Store><<<grid_for(outputs, kThreads), kThreads, 0, stream()>>>(
      store, partial, rows, channels, chunks);
  CC_CUDA_CHECK_LAUNCH("finish_kernel");
}

// --------------------------------------------------------- backward weight

// Row = kernel tap (a, b), channel = output channel co, p = (n, oh, ow):
// xpad(n, co / mult, oh*sh - pt + a*dh, ow*sw - pl + b*dw) * gy(n, co, oh, ow).
template <class T>
struct DwWeightTerm {
  DwGeom g;
  const T* x;
  Act4 xs;
  const T* gy;
  Act4 gs;
  T pad;

  __device__ T operator()(int64_t tap, int64_t co, int64_t p) const {
    const int64_t a = tap / g.kw, b = tap % g.kw;
    const int64_t ow = p % g.ow, rest = p / g.ow;
    const int64_t oh = rest % g.oh, n = rest / g.oh;
    const int64_t ih = source_index(oh * g.stride_h - g.pad_top + a * g.dil_h, g.h, g.mode);
    const int64_t iw = source_index(ow * g.stride_w - g.pad_left + b * g.dil_w, g.w, g.mode);
    const T v = (ih < 0 || iw < 0) ? pad : x[offset(xs, n, co / g.mult, ih, iw)];
    return v * gy[offset(gs, n, co, oh, ow)];
  }
};

template <class T>
struct DwWeightStore {
  T* gw;
  WeightStrides ws;
  int64_t kw;
  __device__ void operator()(int64_t tap, int64_t co, T value) const {
    gw[co * ws.so + (tap / kw) * ws.sh + (tap % kw) * ws.sw] = value;
  }
};

// Row 0, channel c, p = (n, h, w): t(n, c, h, w), summed in double as the CPU does.
template <class T>
struct ChannelTerm {
  const T* t;
  Act4 a;
  __device__ double operator()(int64_t, int64_t c, int64_t p) const {
    const int64_t w = p % a.w, rest = p / a.w;
    return static_cast<double>(t[offset(a, rest / a.h, c, rest % a.h, w)]);
  }
};

template <class T>
struct ChannelStore {
  T* sums;
  __device__ void operator()(int64_t, int64_t c, double value) const {
    sums[c] = static_cast<T>(value);
  }
};

template <class T>
__global__ void add_per_channel_kernel(T* __restrict__ t, Act4 a, bool nhwc,
                                       const T* __restrict__ values, int64_t total) {
  CC_GRID_STRIDE_LOOP(i, total) {
    const Idx4 e = unravel(i, nhwc, a.c, a.h, a.w);
    t[offset(a, e.n, e.c, e.h, e.w)] += values[e.c];
  }
}

}  // namespace

template <class T>
void conv_depthwise_forward(const ConvProblem& prob, const TensorView& x, const TensorView& w,
                            const T* bias, const TensorView& y) {
  const DwGeom g = dw_geom(prob);
  const int64_t total = prob.n * prob.cout * prob.oh * prob.ow;
  if (total == 0) return;
  dw_forward_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
      g, x.ptr<T>(), act4_of(x, prob.p.nhwc), w.ptr<T>(), weight_strides(w), bias, y.ptr<T>(),
      act4_of(y, prob.p.nhwc), prob.p.nhwc, T(prob.p.pad_value), total);
  CC_CUDA_CHECK_LAUNCH("dw_forward_kernel");
}

template <class T>
void conv_depthwise_backward_input(const ConvProblem& prob, const TensorView& gy,
                                   const TensorView& w, const TensorView& gx) {
  const DwGeom g = dw_geom(prob);
  const int64_t total = prob.n * prob.cin * prob.h * prob.w;
  if (total == 0) return;
  dw_backward_input_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
      g, gy.ptr<T>(), act4_of(gy, prob.p.nhwc), w.ptr<T>(), weight_strides(w), gx.ptr<T>(),
      act4_of(gx, prob.p.nhwc), prob.p.nhwc, total);
  CC_CUDA_CHECK_LAUNCH("dw_backward_input_kernel");
}

template <class T>
void conv_depthwise_backward_weight(const ConvProblem& prob, const TensorView& x,
                                    const TensorView& gy, const TensorView& gw) {
  const DwGeom g = dw_geom(prob);
  const DwWeightTerm<T> term{g, x.ptr<T>(), act4_of(x, prob.p.nhwc), gy.ptr<T>(),
                             act4_of(gy, prob.p.nhwc), T(prob.p.pad_value)};
  const DwWeightStore<T> store{gw.ptr<T>(), weight_strides(gw), prob.kw};
  const int64_t taps = prob.kh * prob.kw, count = prob.n * prob.oh * prob.ow;
  if (prob.p.nhwc)
    launch_reduce<T, 32, 8>(gw.device_index, term, store, taps, prob.cout, count);
  else
    launch_reduce<T, 1, kThreads>(gw.device_index, term, store, taps, prob.cout, count);
}

template <class T>
void sum_per_channel(const TensorView& t, bool nhwc, T* sums) {
  const Act4 a = act4_of(t, nhwc);
  const ChannelTerm<T> term{t.ptr<T>(), a};
  const ChannelStore<T> store{sums};
  const int64_t count = a.n * a.h * a.w;
  if (nhwc)
    launch_reduce<double, 32, 8>(t.device_index, term, store, 1, a.c, count);
  else
    launch_reduce<double, 1, kThreads>(t.device_index, term, store, 1, a.c, count);
}

template <class T>
void add_per_channel(const TensorView& t, bool nhwc, const T* values) {
  const Act4 a = act4_of(t, nhwc);
  const int64_t total = a.n * a.c * a.h * a.w;
  if (total == 0) return;
  add_per_channel_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream()>>>(
      t.ptr<T>(), a, nhwc, values, total);
  CC_CUDA_CHECK_LAUNCH("add_per_channel_kernel");
}

#define CC_INSTANTIATE_DW(T)                                                                  \
  template void conv_depthwise_forward<T>(const ConvProblem&, const TensorView&,              \
                                          const TensorView&, const T*, const TensorView&);    \
  template void conv_depthwise_backward_input<T>(const ConvProblem&, const TensorView&,       \
                                                 const TensorView&, const TensorView&);       \
  template void conv_depthwise_backward_weight<T>(const ConvProblem&, const TensorView&,      \
                                                  const TensorView&, const TensorView&);      \
  template void sum_per_channel<T>(const TensorView&, bool, T*);                              \
  template void add_per_channel<T>(const TensorView&, bool, const T*);
CC_INSTANTIATE_DW(float)
CC_INSTANTIATE_DW(double)
#undef CC_INSTANTIATE_DW

}  // namespace convcore::cuda
