// SPDX-License-Identifier: MIT
// Convolution on the CPU as GEMM over image patches, with the patches read
// straight from the image while packing (no im2col buffer), plus the direct
// depthwise path. Every padding mode goes through one index map
// (ops/shape.h source_index), so the backward passes add each gradient to
// the pixel the forward read: mirrored and wrapped pixels get their share.
#include "cpu/conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "core/workspace.h"
#include "cpu/gemm/gemm.h"
#include "cpu/kernels/kernels.h"

namespace convcore::cpu {
namespace {

// Which source pixel each (kernel tap, output position) reads, per axis.
struct PatchGeometry {
  int64_t kh, kw, oh, ow, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
  int64_t h, w;
  std::vector<int64_t> row_src;  // [kh][oh] source row or -1 (constant)
  std::vector<int64_t> col_src;  // [kw][ow] source column or -1
  std::vector<int64_t> ow_lo, ow_hi;  // per kw: outputs whose column is in range

  explicit PatchGeometry(const ConvProblem& prob)
      : kh(prob.kh), kw(prob.kw), oh(prob.oh), ow(prob.ow), stride_h(prob.p.stride[0]),
        stride_w(prob.p.stride[1]), dil_h(prob.p.dilation[0]), dil_w(prob.p.dilation[1]),
        pad_top(prob.p.pad[0]), pad_left(prob.p.pad[2]), h(prob.h), w(prob.w) {
    const PadMode mode = prob.p.pad_mode;
    row_src.resize(kh * oh);
    for (int64_t a = 0; a < kh; ++a)
      for (int64_t o = 0; o < oh; ++o)
        row_src[a * oh + o] = source_index(o * stride_h - pad_top + a * dil_h, h, mode);
    col_src.resize(kw * ow);
    ow_lo.resize(kw);
    ow_hi.resize(kw);
    for (int64_t b = 0; b < kw; ++b) {
      for (int64_t o = 0; o < ow; ++o)
        col_src[b * ow + o] = source_index(o * stride_w - pad_left + b * dil_w, w, mode);
      const int64_t off = b * dil_w - pad_left;  // column read by output 0
      ow_lo[b] = std::clamp<int64_t>(off >= 0 ? 0 : (-off + stride_w - 1) / stride_w, 0, ow);
      ow_hi[b] = std::clamp<int64_t>(w - off <= 0 ? 0 : (w - off + stride_w - 1) / stride_w,
                                     ow_lo[b], ow);
    }
  }
};

// Channels [c0, c0 + cin_g) of a run of images seen as the K x (images * P)
// patch matrix, K = (ci, a, b), columns = (image, oh, ow). Gather reads a
// run of columns; scatter adds into the images (the exact adjoint of gather).
template <class T>
class PatchMatrix {
 public:
  PatchMatrix(const PatchGeometry& g, T* first_image, const Act4& s, int64_t c0, T pad_value)
      : g_(g), image_(first_image + c0 * s.sc), s_(s), pad_(pad_value), pixels_(g.oh * g.ow) {}

  void gather(int64_t kk, int64_t col0, int64_t count, T* out, int64_t out_stride) const {
    for_each_image<false>(kk, col0, count, out, out_stride);
  }
  void scatter(int64_t kk, int64_t col0, int64_t count, const T* in, int64_t in_stride) const {
    for_each_image<true>(kk, col0, count, const_cast<T*>(in), in_stride);
  }
  // Whether a patch row's in-range part is contiguous in memory.
  bool contiguous_runs() const { return g_.stride_w * s_.sw == 1; }

 private:
  template <bool Scatter>
  void for_each_image(int64_t kk, int64_t col0, int64_t count, T* buf, int64_t bstride) const {
    while (count > 0) {
      const int64_t img = col0 / pixels_, pix = col0 % pixels_;
      const int64_t len = std::min(count, pixels_ - pix);
      walk<Scatter>(image_ + img * s_.sn, kk, pix, len, buf, bstride);
      col0 += len, count -= len, buf += len * bstride;
    }
  }

  template <bool Scatter>
  void walk(T* image, int64_t kk, int64_t pix0, int64_t count, T* buf, int64_t bstride) const {
    const int64_t taps = g_.kh * g_.kw;
    const int64_t ci = kk / taps, a = (kk % taps) / g_.kw, b = kk % g_.kw;
    T* plane = image + ci * s_.sc;
    const int64_t* cols = g_.col_src.data() + b * g_.ow;
    const int64_t lo = g_.ow_lo[b], hi = g_.ow_hi[b];
    const int64_t col0 = b * g_.dil_w - g_.pad_left;
    int64_t oh = pix0 / g_.ow, ow = pix0 % g_.ow;
    for (int64_t t = 0; t < count; ++oh, ow = 0) {
      const int64_t len = std::min(g_.ow - ow, count - t);
      T* o = buf + t * bstride;
      const int64_t ih = g_.row_src[a * g_.oh + oh];
      t += len;
      if (ih < 0) {
        if (!Scatter)
          for (int64_t u = 0; u < len; ++u) o[u * bstride] = pad_;
        continue;
      }
      T* row = plane + ih * s_.sh;
      const int64_t end = ow + len;
      const int64_t e1 = std::clamp(lo, ow, end), e2 = std::clamp(hi, e1, end);
      auto edge = [&](int64_t from, int64_t to) {
        for (int64_t u = from; u < to; ++u) {
          const int64_t iw = cols[u];
          T& v = o[(u - ow) * bstride];
          if (Scatter) {
            if (iw >= 0) row[iw * s_.sw] += v;
          } else {
            v = iw < 0 ? pad_ : row[iw * s_.sw];
          }
        }
      };
      edge(ow, e1);
      const int64_t step = g_.stride_w * s_.sw;
      T* src = row + (e1 * g_.stride_w + col0) * s_.sw;
      T* dst = o + (e1 - ow) * bstride;
      const int64_t n = e2 - e1;
      if (Scatter) {
        for (int64_t u = 0; u < n; ++u) src[u * step] += dst[u * bstride];
      } else if (step == 1 && bstride == 1) {
        std::memcpy(dst, src, n * sizeof(T));
      } else {
        for (int64_t u = 0; u < n; ++u) dst[u * bstride] = src[u * step];
      }
      edge(e2, end);
    }
  }

  const PatchGeometry& g_;
  T* image_;
  Act4 s_;
  T pad_;
  int64_t pixels_;
};

// B = patch matrix (K x P): the forward pass.
template <class T>
class PatchPacker final : public BPacker<T> {
 public:
  explicit PatchPacker(const PatchMatrix<T>& m) : m_(m) {}
  // Each patch row is gathered once across all panels (the index arithmetic
  // of a gather costs far more than copying a panel's slice of the row).
  void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr, T* dst) const override {
    T* row = scratch_as<T>(Scratch::pack_row, nc);
    for (int64_t p = 0; p < kc; ++p) {
      m_.gather(k0 + p, j0, nc, row, 1);
      for (int64_t q = 0; q * nr < nc; ++q) {
        const int64_t cols = std::min<int64_t>(nr, nc - q * nr);
        T* out = dst + q * kc * nr + p * nr;
        std::memcpy(out, row + q * nr, cols * sizeof(T));
        std::fill(out + cols, out + nr, T(0));
      }
    }
  }

 private:
  const PatchMatrix<T>& m_;
};

// B = transposed patch matrix (P x K): the weight-gradient pass.
template <class T>
class TransposedPatchPacker final : public BPacker<T> {
 public:
  explicit TransposedPatchPacker(const PatchMatrix<T>& m) : m_(m) {}
  // Patch rows that are runs of memory (unit column stride) are copied out
  // contiguously, then transposed into the panel: cheaper than gathering
  // them straight into its strided columns, which other strides still do.
  void pack(int64_t p0, int64_t pc, int64_t j0, int64_t nc, int nr, T* dst) const override {
    T* rows = m_.contiguous_runs() ? scratch_as<T>(Scratch::pack_row, nr * pc) : nullptr;
    for (int64_t q = 0; q * nr < nc; ++q) {
      const int64_t cols = std::min<int64_t>(nr, nc - q * nr);
      T* panel = dst + q * pc * nr;
      if (!rows) {
        for (int64_t jj = 0; jj < cols; ++jj) m_.gather(j0 + q * nr + jj, p0, pc, panel + jj, nr);
        for (int64_t p = 0; cols < nr && p < pc; ++p)
          std::fill(panel + p * nr + cols, panel + (p + 1) * nr, T(0));
        continue;
      }
      for (int64_t jj = 0; jj < cols; ++jj) m_.gather(j0 + q * nr + jj, p0, pc, rows + jj * pc, 1);
      for (int64_t p = 0; p < pc; ++p) {
        T* out = panel + p * nr;
        for (int64_t jj = 0; jj < cols; ++jj) out[jj] = rows[jj * pc + p];
        for (int64_t jj = cols; jj < nr; ++jj) out[jj] = T(0);
      }
    }
  }

 private:
  const PatchMatrix<T>& m_;
};

// B(p, j) = data[p * rs + image(c) * image_stride + pixel(c) * cs], c = first_col + j:
// grad_output (or a 1x1 input) as channels x (image, pixel) columns.
template <class T>
class ImagesB final : public BPacker<T> {
 public:
  ImagesB(const T* data, int64_t rs, int64_t cs, int64_t image_stride, int64_t pixels,
          int64_t first_col = 0)
      : data_(data), rs_(rs), cs_(cs), image_stride_(image_stride), pixels_(pixels),
        first_col_(first_col) {}

  void pack(int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr, T* dst) const override {
    const auto& kern = kernels().gemm<T>();
    for (int64_t q = 0; q * nr < nc;) {
      const int64_t col = first_col_ + j0 + q * nr;
      const int64_t pix = col % pixels_;
      // Whole panels inside one image go through the ISA packer in one call.
      const int64_t panels = std::min((pixels_ - pix) / nr, (nc - q * nr) / nr);
      if (panels > 0) {
        kern.pack_b(kc, panels * nr, at(k0, col), rs_, cs_, dst + q * kc * nr);
        q += panels;
        continue;
      }
      T* panel = dst + q * kc * nr;
      const int64_t cols = std::min<int64_t>(nr, nc - q * nr);
      for (int64_t jj = 0; jj < nr; ++jj) {
        const T* src = jj < cols ? at(k0, col + jj) : nullptr;
        for (int64_t p = 0; p < kc; ++p) panel[p * nr + jj] = src ? src[p * rs_] : T(0);
      }
      ++q;
    }
  }

 private:
  const T* at(int64_t row, int64_t col) const {
    return data_ + row * rs_ + (col / pixels_) * image_stride_ + (col % pixels_) * cs_;
  }
  const T* data_;
  int64_t rs_, cs_, image_stride_, pixels_, first_col_;
};

// A(i, p) = data[i * rs + image(p) * image_stride + pixel(p) * cs]:
// grad_output as channels x (image, pixel) for the weight gradient.
template <class T>
class ImagesA final : public APacker<T> {
 public:
  ImagesA(const T* data, int64_t rs, int64_t cs, int64_t image_stride, int64_t pixels)
      : data_(data), rs_(rs), cs_(cs), image_stride_(image_stride), pixels_(pixels) {}

  void pack(int64_t i0, int64_t mc, int64_t k0, int64_t kc, int mr, T* dst) const override {
    const auto& kern = kernels().gemm<T>();
    for (int64_t p = 0; p < kc;) {
      const int64_t col = k0 + p, pix = col % pixels_;
      const int64_t len = std::min(kc - p, pixels_ - pix);
      const T* src = data_ + i0 * rs_ + (col / pixels_) * image_stride_ + pix * cs_;
      kern.pack_a(mc, len, src, rs_, cs_, dst + p * mr, kc * mr);
      p += len;
    }
  }

 private:
  const T* data_;
  int64_t rs_, cs_, image_stride_, pixels_;
};

template <class T>
T* data_of(const TensorView& t) { return t.ptr<T>(); }

// Memory offset of each (image, pixel) column relative to image 0.
std::vector<int64_t> column_offsets(int64_t images, int64_t pixels, const Act4& s) {
  std::vector<int64_t> off(images * pixels);
  for (int64_t n = 0; n < images; ++n)
    for (int64_t p = 0; p < pixels; ++p) off[n * pixels + p] = n * s.sn + p * s.sw;
  return off;
}

// Images in parallel when they share out evenly between the threads, else
// one run of images with multi-threaded GEMMs.
bool images_in_parallel(int64_t n, int threads) {
  return threads > 1 && n >= threads && (n % threads == 0 || n >= 4 * threads);
}

}  // namespace

// One GEMM per group over all images at once: C = W_g (Cout_g x K) times the
// patch matrix (K x N*P), so small images still fill whole register tiles and
// the threads share the columns.
template <class T>
void conv_gemm_forward(const ConvProblem& prob, bool pointwise, const TensorView& x,
                       const TensorView& w, const T* bias, const TensorView& y, int threads) {
  const Act4 xs = act4_of(x, prob.p.nhwc), ys = act4_of(y, prob.p.nhwc);
  const int64_t K = prob.k_gemm(), P = prob.out_pixels(), G = prob.p.groups;
  if (prob.n == 0) return;
  const PatchGeometry geom(prob);
  const std::vector<int64_t> offsets = column_offsets(prob.n, P, ys);
  for (int64_t g = 0; g < G; ++g) {
    PatchMatrix<T> patches(geom, data_of<T>(x), xs, g * prob.cin_g(), T(prob.p.pad_value));
    PatchPacker<T> patch_packer(patches);
    ImagesB<T> plain_packer(data_of<T>(x) + g * prob.cin_g() * xs.sc, xs.sc, xs.sw, xs.sn, P);
    GemmOperands<T> op;
    op.m = prob.cout_g(), op.n = prob.n * P, op.k = K;
    op.a = data_of<T>(w) + g * prob.cout_g() * K, op.rsa = K, op.csa = 1;
    op.b = pointwise ? static_cast<const BPacker<T>*>(&plain_packer) : &patch_packer;
    op.c = data_of<T>(y) + g * prob.cout_g() * ys.sc, op.rsc = ys.sc;
    op.col_offset = offsets.data();
    op.bias = bias ? bias + g * prob.cout_g() : nullptr;
    gemm(op, threads);
  }
}

int64_t conv_col_tile_bytes(const ConvProblem& prob) {
  const int64_t elem = dtype_size(prob.dtype);
  const int64_t nr = elem == 4 ? kernels().gemms.f32.nr : kernels().gemms.f64.nr;
  const int64_t K = std::max<int64_t>(prob.k_gemm(), 1);
  // About 512 KiB: the tile is written by the GEMM and read back by the
  // scatter while still in L2. Deep GEMMs (K = Cin * kh * kw in the
  // thousands) get at least kMinPixels columns instead, or each GEMM would
  // repack all of A for a sliver of B: there the tile's trip through L3 costs
  // less than the repacking.
  constexpr int64_t kMinPixels = 256;
  int64_t pixels = std::max<int64_t>((512 * 1024 / elem) / K, kMinPixels) / nr * nr;
  pixels = std::clamp<int64_t>(pixels, nr, std::max<int64_t>(prob.out_pixels(), nr));
  return K * pixels * elem;
}

bool backward_input_as_forward(const ConvProblem& prob) {
  const int64_t keh = effective_kernel(prob.kh, prob.p.dilation[0]);
  const int64_t kew = effective_kernel(prob.kw, prob.p.dilation[1]);
  const auto& pad = prob.p.pad;
  return prob.p.stride[0] == 1 && prob.p.stride[1] == 1 && prob.p.pad_mode == PadMode::constant &&
         pad[0] < keh && pad[1] < keh && pad[2] < kew && pad[3] < kew;
}

namespace {

// grad_input = conv(grad_output padded by k_eff - 1 - pad, kernel flipped in
// space with its channel axes swapped), run by the forward's batched GEMM.
template <class T>
void backward_input_by_forward(const ConvProblem& prob, const TensorView& gy,
                               const TensorView& w, const TensorView& gx, int threads) {
  const int64_t keh = effective_kernel(prob.kh, prob.p.dilation[0]);
  const int64_t kew = effective_kernel(prob.kw, prob.p.dilation[1]);
  ConvProblem dual = prob;
  dual.p.pad = {keh - 1 - prob.p.pad[0], keh - 1 - prob.p.pad[1], kew - 1 - prob.p.pad[2],
                kew - 1 - prob.p.pad[3]};
  dual.p.pad_value = 0;
  dual.cin = prob.cout, dual.cout = prob.cin, dual.has_bias = false;
  dual.h = prob.oh, dual.w = prob.ow, dual.oh = prob.h, dual.ow = prob.w;

  // dual weight [g*cin_g + ci][co][a][b] = weight[g*cout_g + co][ci][kh-1-a][kw-1-b]
  const int64_t taps = prob.kh * prob.kw, cin_g = prob.cin_g(), cout_g = prob.cout_g();
  T* flipped = scratch_as<T>(Scratch::weights, prob.cout * cin_g * taps);
  const T* src = data_of<T>(w);
  for (int64_t g = 0; g < prob.p.groups; ++g)
    for (int64_t ci = 0; ci < cin_g; ++ci)
      for (int64_t co = 0; co < cout_g; ++co) {
        const T* from = src + ((g * cout_g + co) * cin_g + ci) * taps;
        T* to = flipped + ((g * cin_g + ci) * cout_g + co) * taps;
        for (int64_t t = 0; t < taps; ++t) to[t] = from[taps - 1 - t];
      }
  TensorView wv = w;
  wv.data = flipped;
  wv.sizes = {prob.cin, cout_g, prob.kh, prob.kw};
  conv_gemm_forward<T>(dual, false, gy, wv, nullptr, gx, threads);
}

}  // namespace

// Per run of images: tiles of (image, pixel) columns of W_g^T * grad_output
// go through a bounded scratch tile and are scattered back (col2im) while
// still in cache; 1x1 writes the GEMM result straight into grad_input.
template <class T>
void conv_gemm_backward_input(const ConvProblem& prob, bool pointwise, const TensorView& gy,
                              const TensorView& w, const TensorView& gx, int threads) {
  if (!pointwise && backward_input_as_forward(prob))
    return backward_input_by_forward<T>(prob, gy, w, gx, threads);
  const Act4 gs = act4_of(gy, prob.p.nhwc), xs = act4_of(gx, prob.p.nhwc);
  const int64_t K = prob.k_gemm(), P = prob.out_pixels(), G = prob.p.groups;
  const int64_t tile_cols = conv_col_tile_bytes(prob) / sizeof(T) / std::max<int64_t>(K, 1);
  const PatchGeometry geom(prob);
  const bool split_images = images_in_parallel(prob.n, threads);
  const int64_t runs = split_images ? threads : 1;
  const int gemm_threads = split_images ? 1 : threads;
  // 1x1 writes straight into grad_input's (image, pixel) columns.
  const std::vector<int64_t> offsets = pointwise ? column_offsets(prob.n, P, xs)
                                                 : std::vector<int64_t>();
  // Every tile's GEMM multiplies by the same W_g^T: pack it once per call.
  const int64_t packed = pointwise ? 0 : packed_a_size<T>(K, prob.cout_g());
  T* weights_t = pointwise ? nullptr : scratch_as<T>(Scratch::weights, G * packed);
  for (int64_t g = 0; g < (pointwise ? 0 : G); ++g)
    pack_gemm_a<T>(K, prob.cout_g(), data_of<T>(w) + g * prob.cout_g() * K, 1, K,
                   weights_t + g * packed);
  parallel_for(runs, threads, [&](int64_t rb, int64_t re, int) {
    for (int64_t run = rb; run < re; ++run) {
      const int64_t n0 = prob.n * run / runs, n1 = prob.n * (run + 1) / runs;
      const int64_t cols = (n1 - n0) * P;
      T* gx_run = data_of<T>(gx) + n0 * xs.sn;
      const T* gy_run = data_of<T>(gy) + n0 * gs.sn;
      if (!pointwise) std::fill(gx_run, gx_run + (n1 - n0) * xs.sn, T(0));
      T* tile = pointwise ? nullptr : scratch_as<T>(Scratch::tile, K * tile_cols);
      for (int64_t g = 0; g < G; ++g) {
        GemmOperands<T> op;
        op.k = prob.cout_g();
        op.a = data_of<T>(w) + g * prob.cout_g() * K, op.rsa = 1, op.csa = K;  // W_g^T
        const T* gy_g = gy_run + g * prob.cout_g() * gs.sc;
        if (pointwise) {
          ImagesB<T> packer(gy_g, gs.sc, gs.sw, gs.sn, P);
          op.m = prob.cin_g(), op.n = cols, op.b = &packer;
          op.c = gx_run + g * prob.cin_g() * xs.sc, op.rsc = xs.sc, op.col_offset = offsets.data();
          gemm(op, gemm_threads);
          continue;
        }
        PatchMatrix<T> patches(geom, gx_run, xs, g * prob.cin_g(), T(0));
        // Tiles hold whole images or start at an image's first pixel, so every
        // pixel's shares are summed in the same order whatever else is in the batch.
        const int64_t whole = tile_cols / P * P;
        for (int64_t j0 = 0, cnt = 0; j0 < cols; j0 += cnt) {
          cnt = whole > 0 ? std::min(whole, cols - j0) : std::min(tile_cols, P - j0 % P);
          ImagesB<T> packer(gy_g, gs.sc, gs.sw, gs.sn, P, j0);
          op.m = K, op.n = cnt, op.b = &packer, op.a_packed = weights_t + g * packed;
          op.c = tile, op.rsc = cnt, op.csc = 1;
          gemm(op, gemm_threads);
          for (int64_t kk = 0; kk < K; ++kk) patches.scatter(kk, j0, cnt, tile + kk * cnt, 1);
        }
      }
    }
  });
}

// grad_weight_g (Cout_g x K) = grad_output_g (Cout_g x N*P) times the
// transposed patch matrix (N*P x K): one GEMM per group and run of images, so
// the GEMM's depth covers many images and grad_weight is written once per KC
// block rather than once per image.
template <class T>
void conv_gemm_backward_weight(const ConvProblem& prob, const TensorView& x,
                               const TensorView& gy, const TensorView& gw, int threads) {
  const Act4 xs = act4_of(x, prob.p.nhwc), gs = act4_of(gy, prob.p.nhwc);
  const int64_t K = prob.k_gemm(), P = prob.out_pixels(), G = prob.p.groups;
  const int64_t wsize = prob.cout * K;
  const PatchGeometry geom(prob);
  T* result = data_of<T>(gw);

  // grad_weight of images [n0, n1) into dst (cout x K), overwriting it.
  auto accumulate = [&](int64_t n0, int64_t n1, T* dst, int gemm_threads) {
    if (n0 == n1) {
      std::fill(dst, dst + wsize, T(0));
      return;
    }
    for (int64_t g = 0; g < G; ++g) {
      PatchMatrix<T> patches(geom, data_of<T>(x) + n0 * xs.sn, xs, g * prob.cin_g(),
                             T(prob.p.pad_value));
      TransposedPatchPacker<T> packer(patches);
      ImagesA<T> a(data_of<T>(gy) + n0 * gs.sn + g * prob.cout_g() * gs.sc, gs.sc, gs.sw, gs.sn, P);
      GemmOperands<T> op;
      op.m = prob.cout_g(), op.n = K, op.k = (n1 - n0) * P;
      op.a_packer = &a;
      op.b = &packer;
      op.c = dst + g * prob.cout_g() * K, op.rsc = K, op.csc = 1;
      gemm(op, gemm_threads);
    }
  };

  if (!images_in_parallel(prob.n, threads)) {
    accumulate(0, prob.n, result, threads);
    return;
  }
  // Each thread sums its run of images into its own buffer; the buffers are
  // added in thread order, so results do not depend on scheduling.
  std::vector<T*> partial(threads, nullptr);
  parallel_for(prob.n, threads, [&](int64_t b, int64_t e, int t) {
    partial[t] = t == 0 ? result : scratch_as<T>(Scratch::partial, wsize);
    accumulate(b, e, partial[t], 1);
  });
  parallel_for(wsize, threads, [&](int64_t b, int64_t e, int) {
    for (int t = 1; t < threads; ++t)
      if (partial[t])
        for (int64_t i = b; i < e; ++i) result[i] += partial[t][i];
  });
}

namespace {

// The padded input plane of one channel (every padding mode applied), and
// the fold that sends a padded-plane gradient back to the pixels it read.
struct PaddedPlane {
  int64_t hp, wp, ld, pad_left;  // ld: row stride, with the slack the kernels read
  // Input columns the plane holds: fewer than the input's when a transposed
  // convolution's output_padding made the right padding negative.
  int64_t inner;
  std::vector<int64_t> rows, cols;  // padded index -> source index or -1

  explicit PaddedPlane(const ConvProblem& prob)
      : hp(prob.h + prob.p.pad[0] + prob.p.pad[1]), wp(prob.w + prob.p.pad[2] + prob.p.pad[3]),
        ld(depthwise_row_stride(wp, dtype_size(prob.dtype))), pad_left(prob.p.pad[2]),
        inner(std::clamp<int64_t>(wp - pad_left, 0, prob.w)) {
    rows.resize(hp);
    cols.resize(wp);
    for (int64_t i = 0; i < hp; ++i) rows[i] = source_index(i - prob.p.pad[0], prob.h, prob.p.pad_mode);
    for (int64_t j = 0; j < wp; ++j) cols[j] = source_index(j - prob.p.pad[2], prob.w, prob.p.pad_mode);
  }

  // Writes the pad value to every cell, and zeros to the row slack; once per
  // thread and call, since fill() rewrites only the cells that read the input.
  template <class T>
  void prepare(T pad, T* dst) const {
    for (int64_t i = 0; i < hp; ++i) {
      std::fill(dst + i * ld, dst + i * ld + wp, pad);
      std::fill(dst + i * ld + wp, dst + (i + 1) * ld, T(0));
    }
  }

  // The cells that read the channel plane at src; a prepared buffer keeps
  // the pad value everywhere else.
  template <class T>
  void fill(const T* src, const Act4& s, T* dst) const {
    for (int64_t i = 0; i < hp; ++i) {
      if (rows[i] < 0) continue;
      T* d = dst + i * ld;
      const T* row = src + rows[i] * s.sh;
      for (int64_t j = 0; j < pad_left; ++j)
        if (cols[j] >= 0) d[j] = row[cols[j] * s.sw];
      if (s.sw == 1) {
        std::memcpy(d + pad_left, row, inner * sizeof(T));
      } else {
        for (int64_t j = 0; j < inner; ++j) d[pad_left + j] = row[j * s.sw];
      }
      for (int64_t j = pad_left + s.w; j < wp; ++j)
        if (cols[j] >= 0) d[j] = row[cols[j] * s.sw];
    }
  }

  template <class T>
  void fold(const T* grad, T* dst, const Act4& s) const {
    for (int64_t i = 0; i < s.h; ++i)
      for (int64_t j = 0; j < s.w; ++j) dst[i * s.sh + j * s.sw] = T(0);
    for (int64_t i = 0; i < hp; ++i) {
      if (rows[i] < 0) continue;
      T* row = dst + rows[i] * s.sh;
      const T* g = grad + i * ld;
      for (int64_t j = 0; j < inner; ++j) row[j * s.sw] += g[pad_left + j];
      for (int64_t j = 0; j < wp; ++j)
        if ((j < pad_left || j >= pad_left + s.w) && cols[j] >= 0) row[cols[j] * s.sw] += g[j];
    }
  }
};

DepthwiseRow depthwise_row(const ConvProblem& prob, int64_t row_stride) {
  return {prob.ow, prob.kh, prob.kw, prob.p.dilation[0], prob.p.dilation[1], prob.p.stride[1],
          row_stride};
}

// Runs fn(begin, end) over runs of the (image, input channel) planes, plane
// i = image * cin + channel, one run per thread.
template <class Fn>
void for_each_plane(const ConvProblem& prob, int threads, Fn&& fn) {
  parallel_for(prob.n * prob.cin, threads, [&](int64_t b, int64_t e, int) { fn(b, e); });
}

// A contiguous view of output row `oh` of channel plane `base` (copied in
// for reading, or flushed out after writing, when the layout is strided).
template <class T>
struct RowAccess {
  const Act4& s;
  T* buf;
  T* row(T* base, int64_t oh) const { return s.sw == 1 ? base + oh * s.sh : buf; }
  const T* read(const T* base, int64_t oh, int64_t width) const {
    if (s.sw == 1) return base + oh * s.sh;
    for (int64_t j = 0; j < width; ++j) buf[j] = base[oh * s.sh + j * s.sw];
    return buf;
  }
  void flush(T* base, int64_t oh, int64_t width) const {
    if (s.sw == 1) return;
    for (int64_t j = 0; j < width; ++j) base[oh * s.sh + j * s.sw] = buf[j];
  }
};

}  // namespace

template <class T>
void conv_depthwise_forward(const ConvProblem& prob, const TensorView& x, const TensorView& w,
                            const T* bias, const TensorView& y, int threads) {
  const Act4 xs = act4_of(x, prob.p.nhwc), ys = act4_of(y, prob.p.nhwc);
  const PaddedPlane plane(prob);
  const DepthwiseRow r = depthwise_row(prob, plane.ld);
  const auto& kern = kernels().depthwise<T>();
  const int64_t mult = prob.cout_g(), taps = prob.kh * prob.kw;
  for_each_plane(prob, threads, [&](int64_t begin, int64_t end) {
    T* padded = scratch_as<T>(Scratch::plane, plane.hp * plane.ld);
    const RowAccess<T> rows{ys, scratch_as<T>(Scratch::row, prob.ow)};
    plane.prepare(T(prob.p.pad_value), padded);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t n = i / prob.cin, c = i % prob.cin;
      plane.fill(data_of<T>(x) + n * xs.sn + c * xs.sc, xs, padded);
      for (int64_t t = 0; t < mult; ++t) {
        const int64_t co = c * mult + t;
        T* out = data_of<T>(y) + n * ys.sn + co * ys.sc;
        if (ys.sw == 1) {
          kern.forward_plane(r, prob.oh, prob.p.stride[0], padded, data_of<T>(w) + co * taps, out,
                             ys.sh);
          for (int64_t oh = 0; bias && oh < prob.oh; ++oh)
            for (int64_t j = 0; j < prob.ow; ++j) out[oh * ys.sh + j] += bias[co];
          continue;
        }
        for (int64_t oh = 0; oh < prob.oh; ++oh) {
          T* row = rows.row(out, oh);
          kern.forward_plane(r, 1, 0, padded + oh * prob.p.stride[0] * plane.ld,
                             data_of<T>(w) + co * taps, row, 0);
          if (bias)
            for (int64_t j = 0; j < prob.ow; ++j) row[j] += bias[co];
          rows.flush(out, oh, prob.ow);
        }
      }
    }
  });
}

// Stride 1: the padded-plane gradient is the full correlation of grad_output
// with the flipped kernel, i.e. the forward row kernel over grad_output padded
// by the dilated kernel extent. Other strides scatter row by row.
template <class T>
void conv_depthwise_backward_input(const ConvProblem& prob, const TensorView& gy,
                                   const TensorView& w, const TensorView& gx, int threads) {
  const Act4 gs = act4_of(gy, prob.p.nhwc), xs = act4_of(gx, prob.p.nhwc);
  const PaddedPlane plane(prob);
  const auto& kern = kernels().depthwise<T>();
  const int64_t mult = prob.cout_g(), taps = prob.kh * prob.kw;
  const bool unit_stride = prob.p.stride[0] == 1 && prob.p.stride[1] == 1;
  const int64_t eh = (prob.kh - 1) * prob.p.dilation[0], ew = (prob.kw - 1) * prob.p.dilation[1];
  const int64_t gh = prob.oh + 2 * eh, gw_ = prob.ow + 2 * ew;  // padded grad_output plane
  const int64_t gld = depthwise_row_stride(gw_, sizeof(T));
  const DepthwiseRow scatter_row = depthwise_row(prob, plane.ld);
  const DepthwiseRow full_row{plane.wp, prob.kh, prob.kw, prob.p.dilation[0],
                              prob.p.dilation[1], 1, gld};
  std::vector<T> flipped(prob.cout * taps);
  for (int64_t co = 0; co < prob.cout; ++co)
    for (int64_t t = 0; t < taps; ++t)
      flipped[co * taps + t] = data_of<T>(w)[co * taps + taps - 1 - t];

  for_each_plane(prob, threads, [&](int64_t begin, int64_t end) {
    T* grad = scratch_as<T>(Scratch::plane_grad, plane.hp * plane.ld);
    T* row_buf = scratch_as<T>(Scratch::row, std::max(prob.ow, plane.wp));
    const RowAccess<T> rows{gs, row_buf};
    // The border of the padded grad_output stays zero: only its interior is rewritten.
    T* padded_gy = unit_stride ? scratch_as<T>(Scratch::plane, gh * gld) : nullptr;
    if (unit_stride) std::fill(padded_gy, padded_gy + gh * gld, T(0));
    for (int64_t i = begin; i < end; ++i) {
      const int64_t n = i / prob.cin, c = i % prob.cin;
      if (!unit_stride) std::fill(grad, grad + plane.hp * plane.ld, T(0));
      for (int64_t t = 0; t < mult; ++t) {
        const int64_t co = c * mult + t;
        const T* gy_plane = data_of<T>(gy) + n * gs.sn + co * gs.sc;
        if (!unit_stride) {
          for (int64_t oh = 0; oh < prob.oh; ++oh)
            kern.backward_input_row(scatter_row, rows.read(gy_plane, oh, prob.ow),
                                    data_of<T>(w) + co * taps, grad + oh * prob.p.stride[0] * plane.ld);
          continue;
        }
        for (int64_t oh = 0; oh < prob.oh; ++oh) {
          const T* src = rows.read(gy_plane, oh, prob.ow);
          std::copy(src, src + prob.ow, padded_gy + (oh + eh) * gld + ew);
        }
        if (t == 0) {
          kern.forward_plane(full_row, plane.hp, 1, padded_gy, flipped.data() + co * taps, grad,
                             plane.ld);
          continue;
        }
        for (int64_t i = 0; i < plane.hp; ++i) {
          T* dst = grad + i * plane.ld;
          kern.forward_plane(full_row, 1, 0, padded_gy + i * gld, flipped.data() + co * taps,
                             row_buf, 0);
          for (int64_t j = 0; j < plane.wp; ++j) dst[j] += row_buf[j];
        }
      }
      plane.fold(grad, data_of<T>(gx) + n * xs.sn + c * xs.sc, xs);
    }
  });
}

// Threads own channels, so each weight gradient is summed over all images by
// one thread, in image order, with no partial buffers.
template <class T>
void conv_depthwise_backward_weight(const ConvProblem& prob, const TensorView& x,
                                    const TensorView& gy, const TensorView& gw, int threads) {
  const Act4 xs = act4_of(x, prob.p.nhwc), gs = act4_of(gy, prob.p.nhwc);
  const PaddedPlane plane(prob);
  const DepthwiseRow r = depthwise_row(prob, plane.ld);
  const auto& kern = kernels().depthwise<T>();
  const int64_t mult = prob.cout_g(), taps = prob.kh * prob.kw;
  T* result = data_of<T>(gw);
  std::fill(result, result + prob.cout * taps, T(0));
  parallel_for(prob.cin, threads, [&](int64_t cb, int64_t ce, int) {
    T* padded = scratch_as<T>(Scratch::plane, plane.hp * plane.ld);
    T* gy_rows = scratch_as<T>(Scratch::plane_grad, prob.oh * prob.ow);
    const bool dense = gs.sw == 1 && gs.sh == prob.ow;
    // Images outer: a thread's channels of one image are contiguous in memory.
    plane.prepare(T(prob.p.pad_value), padded);
    for (int64_t n = 0; n < prob.n; ++n) {
      for (int64_t c = cb; c < ce; ++c) {
        plane.fill(data_of<T>(x) + n * xs.sn + c * xs.sc, xs, padded);
        for (int64_t t = 0; t < mult; ++t) {
          const int64_t co = c * mult + t;
          const T* gy_plane = data_of<T>(gy) + n * gs.sn + co * gs.sc;
          if (!dense)
            for (int64_t i = 0; i < prob.oh; ++i)
              for (int64_t j = 0; j < prob.ow; ++j)
                gy_rows[i * prob.ow + j] = gy_plane[i * gs.sh + j * gs.sw];
          kern.backward_weight_plane(r, prob.oh, prob.p.stride[0], dense ? gy_plane : gy_rows,
                                     padded, result + co * taps);
        }
      }
    }
  });
}

template <class T>
void sum_per_channel(const TensorView& t, bool nhwc, T* sums, int threads) {
  const Act4 a = act4_of(t, nhwc);
  const T* data = data_of<T>(t);
  parallel_for(a.c, threads, [&](int64_t b, int64_t e, int) {
    for (int64_t c = b; c < e; ++c) {
      double acc = 0;  // float32 sums over N*H*W terms keep their accuracy
      for (int64_t n = 0; n < a.n; ++n)
        for (int64_t i = 0; i < a.h; ++i) {
          const T* row = data + n * a.sn + c * a.sc + i * a.sh;
          for (int64_t j = 0; j < a.w; ++j) acc += row[j * a.sw];
        }
      sums[c] = static_cast<T>(acc);
    }
  });
}

template <class T>
void add_per_channel(const TensorView& t, bool nhwc, const T* values, int threads) {
  const Act4 a = act4_of(t, nhwc);
  T* data = data_of<T>(t);
  parallel_for(a.n * a.h, threads, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) {
      T* row = data + (r / a.h) * a.sn + (r % a.h) * a.sh;
      if (nhwc) {  // unit-stride inner loops in either layout
        for (int64_t j = 0; j < a.w; ++j)
          for (int64_t c = 0; c < a.c; ++c) row[j * a.sw + c] += values[c];
      } else {
        for (int64_t c = 0; c < a.c; ++c)
          for (int64_t j = 0; j < a.w; ++j) row[c * a.sc + j] += values[c];
      }
    }
  });
}

#define CC_INSTANTIATE_CONV(T)                                                                 \
  template void conv_gemm_forward<T>(const ConvProblem&, bool, const TensorView&,              \
                                     const TensorView&, const T*, const TensorView&, int);     \
  template void conv_gemm_backward_input<T>(const ConvProblem&, bool, const TensorView&,       \
                                            const TensorView&, const TensorView&, int);        \
  template void conv_gemm_backward_weight<T>(const ConvProblem&, const TensorView&,            \
                                             const TensorView&, const TensorView&, int);       \
  template void conv_depthwise_forward<T>(const ConvProblem&, const TensorView&,               \
                                          const TensorView&, const T*, const TensorView&, int); \
  template void conv_depthwise_backward_input<T>(const ConvProblem&, const TensorView&,        \
                                                 const TensorView&, const TensorView&, int);   \
  template void conv_depthwise_backward_weight<T>(const ConvProblem&, const TensorView&,       \
                                                  const TensorView&, const TensorView&, int);  \
  template void sum_per_channel<T>(const TensorView&, bool, T*, int);                          \
  template void add_per_channel<T>(const TensorView&, bool, const T*, int);
CC_INSTANTIATE_CONV(float)
CC_INSTANTIATE_CONV(double)
#undef CC_INSTANTIATE_CONV

}  // namespace convcore::cpu
