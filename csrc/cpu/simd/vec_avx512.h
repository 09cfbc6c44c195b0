// SPDX-License-Identifier: MIT
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace convcore::cpu::avx512 {

template <class T> struct Vec;

template <> struct Vec<float> {
  using reg = __m512;
  static constexpr int lanes = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }  // b where either is NaN
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }  // b where either is NaN
  static reg sqrt(reg a) { return _mm512_sqrt_ps(a); }
  // a > b ? x : y per lane (false for NaN)
  static reg blend_gt(reg a, reg b, reg x, reg y) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), y, x);
  }
  static float sum(reg v) { return _mm512_reduce_add_ps(v); }
  // The first n (< lanes) elements; the rest read as zero / are left alone.
  static reg load_n(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static void store_n(float* p, reg v, int64_t n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  static __mmask16 mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }
  // Nearest integer (ties to even), as a float.
  static reg round(reg a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for integral n in [-126, 127].
  static reg pow2(reg n) { return _mm512_scalef_ps(_mm512_set1_ps(1.0f), n); }
  // For positive normal a: floor(log2(a)), and a / 2^that in [1, 2).
  static reg exponent(reg a) { return _mm512_getexp_ps(a); }
  static reg mantissa(reg a) { return _mm512_getmant_ps(a, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src); }
};

template <> struct Vec<double> {
  using reg = __m512d;
  static constexpr int lanes = 8;
  static reg zero() { return _mm512_setzero_pd(); }
  static reg set1(double x) { return _mm512_set1_pd(x); }
  static reg load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, reg v) { _mm512_storeu_pd(p, v); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
  static reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_pd(a, b); }
  static reg div(reg a, reg b) { return _mm512_div_pd(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_pd(a, b); }  // b where either is NaN
  static reg min(reg a, reg b) { return _mm512_min_pd(a, b); }  // b where either is NaN
  static reg sqrt(reg a) { return _mm512_sqrt_pd(a); }
  // a > b ? x : y per lane (false for NaN)
  static reg blend_gt(reg a, reg b, reg x, reg y) {
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_GT_OQ), y, x);
  }
  static double sum(reg v) { return _mm512_reduce_add_pd(v); }
  static reg load_n(const double* p, int64_t n) { return _mm512_maskz_loadu_pd(mask(n), p); }
  static void store_n(double* p, reg v, int64_t n) { _mm512_mask_storeu_pd(p, mask(n), v); }
  static __mmask8 mask(int64_t n) { return static_cast<__mmask8>((1u << n) - 1); }
  static reg round(reg a) {
    return _mm512_roundscale_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for integral n in [-1022, 1023].
  static reg pow2(reg n) { return _mm512_scalef_pd(_mm512_set1_pd(1.0), n); }
  static reg exponent(reg a) { return _mm512_getexp_pd(a); }
  static reg mantissa(reg a) { return _mm512_getmant_pd(a, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src); }
};

// Register tiles (MR rows x NV vectors): 32 zmm registers hold MR*NV
// accumulators, NV loaded B vectors and one broadcast A value.
template <class T> struct GemmTile;
template <> struct GemmTile<float> { static constexpr int mr = 8, nv = 3; };    // 24+3+1 = 28
template <> struct GemmTile<double> { static constexpr int mr = 14, nv = 2; };  // 28+2+1 = 31

}  // namespace convcore::cpu::avx512
