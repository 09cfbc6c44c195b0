// SPDX-License-Identifier: MIT
// Convolution on the GPU as GEMM: the tile kernel of cuda/gemm_tile.cuh with
// loaders that read image patches (implicit GEMM: patches are gathered into
// the shared-memory tiles, never materialized) and storers that write images.
// The twin of cpu/conv.cpp's GEMM drivers; every padding mode goes through
// ops/shape.h source_index as on the CPU. One launch (or two) per group g;
// shapes per group, with P = OH * OW and taps = KH * KW:
//   forward          y_g  (Cout_g x N*P)   = W_g (Cout_g x Cin_g*taps) * patches_g (Cin_g*taps x N*P)
//   backward_input   gx_g (Cin_g x N*H*W)  = W_g^T (Cin_g x Cout_g*taps) * gathered gy_g (Cout_g*taps x N*H*W)
//   backward_weight  gw_g (Cout_g x Cin_g*taps) = gy_g (Cout_g x N*P) * patches_g^T (N*P x Cin_g*taps)
#include <algorithm>
#include <memory>

#include "cuda/conv.h"
#include "cuda/conv_gemm_ops.cuh"
#include "cuda/gemm_tile.cuh"

namespace convcore::cuda {
using namespace conv_gemm;
namespace {

// ---------------------------------------------------------------- kernels --

// Folds the gradient of the padded input (N x C x HP x WP, contiguous; padded
// position (r, s) is input (r - pad_top, s - pad_left)) into grad_input:
// gx[n, c, ih, iw] = sum of the padded positions whose source_index is
// (ih, iw). Grid-stride over N * C * H * W, one element per thread (fold_sum).
template <class T>
__global__ void fold_padded_grad(const T* ws, int64_t n, int64_t c, int64_t h, int64_t w,
                                 int64_t hp, int64_t wp, int64_t pad_top, int64_t pad_left,
                                 PadMode mode, T* gx, Act4 gs) {
  const int64_t total = n * c * h * w;
  CC_GRID_STRIDE_LOOP(idx, total) {
    const int64_t iw = idx % w;
    int64_t rest = idx / w;
    const int64_t ih = rest % h;
    rest /= h;
    const int64_t ch = rest % c, img = rest / c;
    gx[img * gs.sn + ch * gs.sc + ih * gs.sh + iw * gs.sw] =
        fold_sum(ws + (img * c + ch) * hp * wp, h, w, hp, wp, pad_top, pad_left, mode, ih, iw);
  }
}

template <class T>
T* data_of(const TensorView& t) {
  return t.ptr<T>();
}

// Split-K count for a reduction of `depth` over `tiles` output tiles: enough
// blocks for about two waves, at least 256 reduction steps per split.
int64_t split_count(int64_t tiles, int64_t depth, int device) {
  const int64_t sms = std::max(1, device_info(device).sm_count);
  const int64_t want = tile::ceil_div(2 * sms, std::max<int64_t>(tiles, 1));
  const int64_t most = std::max<int64_t>(1, depth / 256);
  return std::clamp<int64_t>(want, 1, std::min<int64_t>(most, 64));
}

}  // namespace

// Per group g: M = Cout_g, N = batch * OH * OW, K = Cin_g * KH * KW.
// A = W_g (dense, row stride K); B = patches of x (PatchLoad) or, 1x1, x
// itself (ImageLoad); the storer writes y's (channel, image, oh, ow) and adds bias.
template <class T>
void conv_gemm_forward(const ConvProblem& prob, bool pointwise, MathMode mode, const TensorView& x,
                       const TensorView& w, const T* bias, const TensorView& y) {
  const Act4 xs = act4_of(x, prob.p.nhwc), ys = act4_of(y, prob.p.nhwc);
  const int64_t K = prob.k_gemm(), P = prob.out_pixels(), G = prob.p.groups;
  const int64_t M = prob.cout_g(), N = prob.n * P;
  if (M == 0 || N == 0) return;
  const int device = x.device_index;
  DeviceGuard guard(device);
  for (int64_t g = 0; g < G; ++g) {
    const tile::DenseLoad<T> la{data_of<T>(w) + g * M * K, K, 1};
    const ImageStore<T> st{data_of<T>(y) + g * M * ys.sc, ys.sc, ys.sn, ys.sh, ys.sw,
                           prob.ow, P, bias ? bias + g * M : nullptr};
    const T* xg = data_of<T>(x) + g * prob.cin_g() * xs.sc;
    tile::with_engine<T>(mode, M, N, device, [&](auto engine) {
      using E = decltype(engine);
      if (pointwise) {
        const ImageLoad<T, true> lb{xg, xs.sc, xs.sn, xs.sh, xs.sw, prob.w, prob.h * prob.w,
                                    xs.sw == 1};
        tile::launch<E>(M, N, K, K, la, lb, st, "conv_gemm_forward (1x1)");
      } else {
        const PatchLoad<T, true> lb{xg, xs.sc, xs.sn, xs.sh, xs.sw, prob.h, prob.w, prob.ow, P,
                                    prob.kh, prob.kw, prob.p.stride[0], prob.p.stride[1],
                                    prob.p.dilation[0], prob.p.dilation[1], prob.p.pad[0],
                                    prob.p.pad[2], prob.p.pad_mode, T(prob.p.pad_value),
                                    prob.p.stride[1] == 1 && xs.sw == 1};
        tile::launch<E>(M, N, K, K, la, lb, st, "conv_gemm_forward");
      }
    });
  }
}

// Per group g: M = Cin_g, K = Cout_g * KH * KW, N = batch * TH * TW over a
// target grid: grad_input itself (TH x TW = H x W, padded coordinates offset
// by pad_top/pad_left) for constant padding, whose padding takes no gradient;
// else a workspace holding the gradient of the whole padded input
// (TH x TW = HP x WP, N x Cin x HP x WP contiguous), folded into grad_input by
// fold_padded_grad. A = W_g^T (WeightTLoad); B = gathered grad_output
// (GradLoad) or, 1x1, grad_output itself (ImageLoad).
template <class T>
void conv_gemm_backward_input(const ConvProblem& prob, bool pointwise, MathMode mode,
                              const TensorView& gy, const TensorView& w, const TensorView& gx) {
  const Act4 gs = act4_of(gy, prob.p.nhwc), xs = act4_of(gx, prob.p.nhwc);
  const int64_t G = prob.p.groups, cin_g = prob.cin_g(), cout_g = prob.cout_g();
  const int64_t taps = prob.kh * prob.kw, Kw = prob.k_gemm();
  if (prob.n == 0 || prob.cin == 0 || prob.h == 0 || prob.w == 0) return;
  const int device = gx.device_index;
  DeviceGuard guard(device);
  const int64_t M = cin_g, K = cout_g * taps;

  if (pointwise) {  // 1x1, stride 1, no padding: output grid == input grid
    const int64_t N = prob.n * prob.h * prob.w;
    for (int64_t g = 0; g < G; ++g) {
      const WeightTLoad<T> la{data_of<T>(w) + g * cout_g * Kw, 1, Kw};
      const ImageLoad<T, true> lb{data_of<T>(gy) + g * cout_g * gs.sc, gs.sc, gs.sn, gs.sh, gs.sw,
                                  prob.ow, prob.out_pixels(), gs.sw == 1};
      const ImageStore<T> st{data_of<T>(gx) + g * cin_g * xs.sc, xs.sc, xs.sn, xs.sh, xs.sw,
                             prob.w, prob.h * prob.w, nullptr};
      tile::with_engine<T>(mode, M, N, device, [&](auto engine) {
        tile::launch<decltype(engine)>(M, N, K, K, la, lb, st, "conv_gemm_backward_input (1x1)");
      });
    }
    return;
  }

  const bool constant = prob.p.pad_mode == PadMode::constant;
  const auto& pad = prob.p.pad;
  // Padded plane; trailing padding may be negative (transposed convolutions).
  const int64_t hp = std::max<int64_t>(prob.h + pad[0] + pad[1], 0);
  const int64_t wp = std::max<int64_t>(prob.w + pad[2] + pad[3], 0);
  std::shared_ptr<void> ws;
  Act4 ts{};  // target strides
  T* target = data_of<T>(gx);
  int64_t th = prob.h, tw = prob.w, off_h = pad[0], off_w = pad[2];
  if (constant) {
    ts = xs;
  } else {
    th = hp, tw = wp, off_h = 0, off_w = 0;
    ws = allocate(device, prob.n * prob.cin * th * tw * static_cast<int64_t>(sizeof(T)));
    target = static_cast<T*>(ws.get());
    ts = Act4{prob.n, prob.cin, th, tw, prob.cin * th * tw, th * tw, tw, 1};
  }
  const int64_t N = prob.n * th * tw;
  for (int64_t g = 0; g < G; ++g) {
    const WeightTLoad<T> la{data_of<T>(w) + g * cout_g * Kw, taps, Kw};
    const GradLoad<T> lb{data_of<T>(gy) + g * cout_g * gs.sc, gs.sc, gs.sn, gs.sh, gs.sw,
                         prob.oh, prob.ow, tw, th * tw, off_h, off_w, prob.kh, prob.kw,
                         prob.p.stride[0], prob.p.stride[1], prob.p.dilation[0],
                         prob.p.dilation[1], gs.sw == 1 && prob.p.stride[1] == 1};
    const ImageStore<T> st{target + g * cin_g * ts.sc, ts.sc, ts.sn, ts.sh, ts.sw, tw, th * tw,
                           nullptr};
    tile::with_engine<T>(mode, M, N, device, [&](auto engine) {
      tile::launch<decltype(engine)>(M, N, K, K, la, lb, st, "conv_gemm_backward_input");
    });
  }
  if (!constant) {
    const int64_t total = prob.n * prob.cin * prob.h * prob.w;
    fold_padded_grad<T><<<grid_for(total, 256), 256, 0, stream()>>>(
        target, prob.n, prob.cin, prob.h, prob.w, hp, wp, pad[0], pad[2], prob.p.pad_mode,
        data_of<T>(gx), xs);
    CC_CUDA_CHECK_LAUNCH("fold_padded_grad");
  }
}

// Per group g: M = Cout_g, N = Cin_g * KH * KW, reduction R = batch * OH * OW.
// A = grad_output as (channel, column) (ImageLoad); B = the transposed patch
// matrix (PatchLoad, constant padding reads pad_value, which thus takes part
// in the gradient) or, 1x1, x as (column, channel). R is cut into `splits`
// ranges (blockIdx.z) whose partial sums go to a workspace (splits x M x N)
// and are added in split order by reduce_splits into gw's rows (deterministic).
template <class T>
void conv_gemm_backward_weight(const ConvProblem& prob, bool pointwise, MathMode mode,
                               const TensorView& x, const TensorView& gy, const TensorView& gw) {
  const Act4 xs = act4_of(x, prob.p.nhwc), gs = act4_of(gy, prob.p.nhwc);
  const int64_t G = prob.p.groups, P = prob.out_pixels();
  const int64_t M = prob.cout_g(), N = prob.k_gemm(), R = prob.n * P;
  if (M == 0 || N == 0) return;
  const int device = gw.device_index;
  DeviceGuard guard(device);
  if (R == 0) {  // no terms: a zero gradient
    fill(data_of<T>(gw), 0.0, prob.dtype, prob.cout * N, device);
    return;
  }
  for (int64_t g = 0; g < G; ++g) {
    const ImageLoad<T, true> la{data_of<T>(gy) + g * M * gs.sc, gs.sc, gs.sn, gs.sh, gs.sw,
                                prob.ow, P, gs.sw == 1};
    const T* xg = data_of<T>(x) + g * prob.cin_g() * xs.sc;
    const tile::MatrixStore<T> out{data_of<T>(gw) + g * M * N, N};
    tile::with_engine<T>(mode, M, N, device, [&](auto engine) {
      using E = decltype(engine);
      const int64_t tiles = tile::ceil_div(M, E::BM) * tile::ceil_div(N, E::BN);
      int64_t splits = split_count(tiles, R, device);
      const int64_t chunk = tile::ceil_div(tile::ceil_div(R, splits), E::BK) * E::BK;
      splits = tile::ceil_div(R, chunk);
      auto ws = allocate(device, splits * M * N * static_cast<int64_t>(sizeof(T)));
      const tile::SplitStore<T> st{static_cast<T*>(ws.get()), M, N};
      if (pointwise) {
        const ImageLoad<T, false> lb{xg, xs.sc, xs.sn, xs.sh, xs.sw, prob.w, prob.h * prob.w,
                                     xs.sc == 1};
        tile::launch<E>(M, N, R, chunk, la, lb, st, "conv_gemm_backward_weight (1x1)");
      } else {
        const PatchLoad<T, false> lb{xg, xs.sc, xs.sn, xs.sh, xs.sw, prob.h, prob.w, prob.ow, P,
                                     prob.kh, prob.kw, prob.p.stride[0], prob.p.stride[1],
                                     prob.p.dilation[0], prob.p.dilation[1], prob.p.pad[0],
                                     prob.p.pad[2], prob.p.pad_mode, T(prob.p.pad_value),
                                     prob.kh * prob.kw == 1 && xs.sc == 1};
        tile::launch<E>(M, N, R, chunk, la, lb, st, "conv_gemm_backward_weight");
      }
      tile::reduce_splits<T><<<grid_for(M * N, 256), 256, 0, stream()>>>(
          static_cast<const T*>(ws.get()), static_cast<int>(splits), M, N, out);
      CC_CUDA_CHECK_LAUNCH("reduce_splits");
    });
  }
}

#define CC_INSTANTIATE_CONV_GEMM(T)                                                             \
  template void conv_gemm_forward<T>(const ConvProblem&, bool, MathMode, const TensorView&,     \
                                     const TensorView&, const T*, const TensorView&);           \
  template void conv_gemm_backward_input<T>(const ConvProblem&, bool, MathMode,                 \
                                            const TensorView&, const TensorView&,               \
                                            const TensorView&);                                 \
  template void conv_gemm_backward_weight<T>(const ConvProblem&, bool, MathMode,                \
                                             const TensorView&, const TensorView&,              \
                                             const TensorView&);
CC_INSTANTIATE_CONV_GEMM(float)
CC_INSTANTIATE_CONV_GEMM(double)
#undef CC_INSTANTIATE_CONV_GEMM

}  // namespace convcore::cuda
