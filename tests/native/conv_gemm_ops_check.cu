// SPDX-License-Identifier: MIT
// Host check of the index arithmetic of csrc/cuda/conv_gemm_ops.cuh (the
// loaders, storers and padded-gradient fold of the CUDA GEMM convolutions):
// a naive GEMM over the loaders, wired as cuda/conv_gemm.cu wires them, against
// a naive float64 convolution (forward, backward input by scatter, backward
// weight) for every padding mode, stride, dilation, groups, negative trailing
// padding, 1x1 and both layouts. Needs nvcc to compile, no GPU to run:
//   nvcc -std=c++17 -Icsrc tests/native/conv_gemm_ops_check.cu -o check && ./check
// (tests/test_cuda_conv_gemm_index.py does this when nvcc is on PATH.)
#include <cmath>
#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>
#include "cuda/conv_gemm_ops.cuh"
using namespace convcore;
using namespace convcore::cuda::conv_gemm;
using T = double;

struct Cfg { int64_t n, cin, cout, h, w, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, groups; PadMode mode; double pv; bool nhwc; };

Act4 strides(int64_t n, int64_t c, int64_t h, int64_t w, bool nhwc) {
  if (!nhwc) return {n, c, h, w, c * h * w, h * w, w, 1};
  return {n, c, h, w, h * w * c, 1, w * c, c};
}
template <class LA, class LB, class F>
void gemm_naive(int64_t M, int64_t N, int64_t K, const LA& la, const LB& lb, F st) {
  for (int64_t m = 0; m < M; ++m) for (int64_t n = 0; n < N; ++n) { T acc = 0; for (int64_t k = 0; k < K; ++k) acc += la(m, k) * lb(k, n); st(m, n, acc); }
}
struct DL { const T* p; int64_t rs, cs; T operator()(int64_t r, int64_t c) const { return p[r * rs + c * cs]; } };

double run(const Cfg& c, std::mt19937& rng) {
  const int64_t oh = conv_output_size(c.h, c.kh, c.sh, c.pt, c.pb, c.dh), ow = conv_output_size(c.w, c.kw, c.sw, c.pl, c.pr, c.dw);
  const int64_t cin_g = c.cin / c.groups, cout_g = c.cout / c.groups, taps = c.kh * c.kw, K = cin_g * taps, P = oh * ow;
  const bool pointwise = c.kh == 1 && c.kw == 1 && c.sh == 1 && c.sw == 1 && !c.pt && !c.pb && !c.pl && !c.pr;
  std::normal_distribution<double> nd;
  Act4 xs = strides(c.n, c.cin, c.h, c.w, c.nhwc), ys = strides(c.n, c.cout, oh, ow, c.nhwc);
  std::vector<T> x(c.n * c.cin * c.h * c.w), w(c.cout * K), b(c.cout), gy(c.n * c.cout * P);
  for (auto* v : {&x, &w, &b, &gy}) for (auto& e : *v) e = nd(rng);
  auto X = [&](int64_t n, int64_t ci, int64_t i, int64_t j) -> T {
    const int64_t si = source_index(i, c.h, c.mode), sj = source_index(j, c.w, c.mode);
    if (si < 0 || sj < 0) return c.pv; return x[n * xs.sn + ci * xs.sc + si * xs.sh + sj * xs.sw]; };
  // references
  std::vector<T> y_ref(gy.size()), gx_ref(x.size(), 0), gw_ref(w.size(), 0);
  for (int64_t n = 0; n < c.n; ++n) for (int64_t co = 0; co < c.cout; ++co) for (int64_t i = 0; i < oh; ++i) for (int64_t j = 0; j < ow; ++j) {
    const int64_t g = co / cout_g; T acc = b[co]; const T gv = gy[n * ys.sn + co * ys.sc + i * ys.sh + j * ys.sw];
    for (int64_t ci = 0; ci < cin_g; ++ci) for (int64_t a = 0; a < c.kh; ++a) for (int64_t bb = 0; bb < c.kw; ++bb) {
      const int64_t pi = i * c.sh - c.pt + a * c.dh, pj = j * c.sw - c.pl + bb * c.dw;
      const T wv = w[co * K + ci * taps + a * c.kw + bb];
      acc += wv * X(n, g * cin_g + ci, pi, pj);
      gw_ref[co * K + ci * taps + a * c.kw + bb] += gv * X(n, g * cin_g + ci, pi, pj);
      const int64_t si = source_index(pi, c.h, c.mode), sj = source_index(pj, c.w, c.mode);
      if (si >= 0 && sj >= 0) gx_ref[n * xs.sn + (g * cin_g + ci) * xs.sc + si * xs.sh + sj * xs.sw] += wv * gv;
    }
    y_ref[n * ys.sn + co * ys.sc + i * ys.sh + j * ys.sw] = acc;
  }
  std::vector<T> y(gy.size(), NAN), gx(x.size(), NAN), gw(w.size(), NAN);
  // forward (as conv_gemm_forward)
  for (int64_t g = 0; g < c.groups; ++g) {
    const int64_t M = cout_g, N = c.n * P;
    DL la{w.data() + g * M * K, K, 1};
    const ImageStore<T> st{y.data() + g * M * ys.sc, ys.sc, ys.sn, ys.sh, ys.sw, ow, P, b.data() + g * M};
    const T* xg = x.data() + g * cin_g * xs.sc;
    if (pointwise) { const ImageLoad<T, true> lb{xg, xs.sc, xs.sn, xs.sh, xs.sw, c.w, c.h * c.w, xs.sw == 1}; gemm_naive(M, N, K, la, lb, st); }
    else { const PatchLoad<T, true> lb{xg, xs.sc, xs.sn, xs.sh, xs.sw, c.h, c.w, ow, P, c.kh, c.kw, c.sh, c.sw, c.dh, c.dw, c.pt, c.pl, c.mode, T(c.pv), false}; gemm_naive(M, N, K, la, lb, st); }
  }
  // backward input (as conv_gemm_backward_input)
  {
    const int64_t M = cin_g, KK = cout_g * taps;
    if (pointwise) {
      for (int64_t g = 0; g < c.groups; ++g) {
        const WeightTLoad<T> la{w.data() + g * cout_g * K, 1, K};
        const ImageLoad<T, true> lb{gy.data() + g * cout_g * ys.sc, ys.sc, ys.sn, ys.sh, ys.sw, ow, P, false};
        const ImageStore<T> st{gx.data() + g * cin_g * xs.sc, xs.sc, xs.sn, xs.sh, xs.sw, c.w, c.h * c.w, nullptr};
        gemm_naive(M, c.n * c.h * c.w, KK, la, lb, st);
      }
    } else {
      const bool constant = c.mode == PadMode::constant;
      const int64_t hp = std::max<int64_t>(c.h + c.pt + c.pb, 0), wp = std::max<int64_t>(c.w + c.pl + c.pr, 0);
      std::vector<T> ws;
      Act4 ts{}; T* target = gx.data(); int64_t th = c.h, tw = c.w, off_h = c.pt, off_w = c.pl;
      if (constant) ts = xs; else { th = hp, tw = wp, off_h = 0, off_w = 0; ws.assign(c.n * c.cin * th * tw, NAN); target = ws.data(); ts = Act4{c.n, c.cin, th, tw, c.cin * th * tw, th * tw, tw, 1}; }
      for (int64_t g = 0; g < c.groups; ++g) {
        const WeightTLoad<T> la{w.data() + g * cout_g * K, taps, K};
        const GradLoad<T> lb{gy.data() + g * cout_g * ys.sc, ys.sc, ys.sn, ys.sh, ys.sw, oh, ow, tw, th * tw, off_h, off_w, c.kh, c.kw, c.sh, c.sw, c.dh, c.dw, false};
        const ImageStore<T> st{target + g * cin_g * ts.sc, ts.sc, ts.sn, ts.sh, ts.sw, tw, th * tw, nullptr};
        gemm_naive(M, c.n * th * tw, KK, la, lb, st);
      }
      if (!constant)
        for (int64_t n = 0; n < c.n; ++n) for (int64_t ch = 0; ch < c.cin; ++ch) for (int64_t i = 0; i < c.h; ++i) for (int64_t j = 0; j < c.w; ++j)
          gx[n * xs.sn + ch * xs.sc + i * xs.sh + j * xs.sw] = fold_sum(target + (n * c.cin + ch) * hp * wp, c.h, c.w, hp, wp, c.pt, c.pl, c.mode, i, j);
    }
  }
  // backward weight (as conv_gemm_backward_weight, without the split)
  for (int64_t g = 0; g < c.groups; ++g) {
    const int64_t M = cout_g, N = K, R = c.n * P;
    const ImageLoad<T, true> la{gy.data() + g * M * ys.sc, ys.sc, ys.sn, ys.sh, ys.sw, ow, P, false};
    const T* xg = x.data() + g * cin_g * xs.sc;
    auto st = [&](int64_t m, int64_t n, T v) { gw[g * M * N + m * N + n] = v; };
    if (pointwise) { const ImageLoad<T, false> lb{xg, xs.sc, xs.sn, xs.sh, xs.sw, c.w, c.h * c.w, false}; gemm_naive(M, N, R, la, lb, st); }
    else { const PatchLoad<T, false> lb{xg, xs.sc, xs.sn, xs.sh, xs.sw, c.h, c.w, ow, P, c.kh, c.kw, c.sh, c.sw, c.dh, c.dw, c.pt, c.pl, c.mode, T(c.pv), false}; gemm_naive(M, N, R, la, lb, st); }
  }
  double err = 0;
  auto cmp = [&](const std::vector<T>& a, const std::vector<T>& r) { for (size_t i = 0; i < a.size(); ++i) err = std::max(err, std::isnan(a[i]) ? 1e9 : std::fabs(a[i] - r[i])); };
  cmp(y, y_ref); cmp(gx, gx_ref); cmp(gw, gw_ref);
  return err;
}

int main() {
  std::mt19937 rng(1);
  std::vector<Cfg> cfgs = {
    {2, 3, 5, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, PadMode::constant, 0, false},
    {1, 4, 6, 8, 8, 3, 2, 2, 1, 1, 1, 1, 0, 2, 1, 2, PadMode::constant, 0, true},
    {3, 6, 4, 10, 7, 3, 3, 2, 2, 2, 1, 2, 1, 0, 2, 2, PadMode::constant, 1.5, false},
    {2, 5, 7, 12, 9, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 1, PadMode::reflect, 0, true},
    {2, 4, 4, 7, 10, 2, 3, 1, 2, 1, 1, 1, 1, 2, 0, 1, PadMode::replicate, 0, false},
    {1, 6, 9, 9, 9, 3, 3, 2, 2, 1, 1, 3, 3, 3, 3, 3, PadMode::circular, 0, true},
    {2, 3, 3, 6, 8, 5, 3, 1, 1, 1, 2, 2, 2, 1, 1, 1, PadMode::symmetric, 0, false},
    {2, 3, 3, 6, 8, 5, 3, 2, 3, 1, 2, 4, 3, 4, 2, 1, PadMode::replicate, 0, true},
    {1, 6, 4, 5, 6, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, PadMode::constant, 0, false},
    {1, 6, 4, 5, 6, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, PadMode::constant, 0, true},
    {2, 4, 6, 9, 9, 3, 3, 2, 2, 1, 1, 1, 0, 1, -1, 2, PadMode::constant, 0, false},   // negative trailing pad
    {2, 4, 6, 9, 9, 3, 3, 2, 2, 1, 1, 1, -1, 1, 0, 2, PadMode::constant, 0.5, true},
    {2, 4, 6, 9, 9, 3, 3, 2, 2, 2, 2, 2, -1, 2, -1, 1, PadMode::constant, 0, true},
    {1, 2, 2, 4, 5, 3, 3, 1, 1, 1, 1, 4, 4, 5, 5, 1, PadMode::symmetric, 0, false},
    {1, 2, 2, 4, 5, 3, 3, 1, 1, 1, 1, 3, 3, 4, 4, 1, PadMode::reflect, 0, true},
    {1, 2, 2, 4, 5, 2, 2, 3, 3, 1, 1, 4, 4, 5, 5, 1, PadMode::circular, 0, false},
  };
  int bad = 0;
  for (size_t i = 0; i < cfgs.size(); ++i) { double e = run(cfgs[i], rng); printf("cfg %zu: max abs err %.3g\n", i, e); bad += e > 1e-9; }
  printf(bad ? "FAILED %d\n" : "ALL OK\n", bad);
  return bad != 0;
}
