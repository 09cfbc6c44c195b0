// SPDX-License-Identifier: MIT
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace convcore::cpu::avx2 {

template <class T> struct Vec;

template <> struct Vec<float> {
  using reg = __m256;
  static constexpr int lanes = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }  // b where either is NaN
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }  // b where either is NaN
  static reg sqrt(reg a) { return _mm256_sqrt_ps(a); }
  // a > b ? x : y per lane (false for NaN)
  static reg blend_gt(reg a, reg b, reg x, reg y) {
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_GT_OQ));
  }
  static float sum(reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // The first n (< lanes) elements; the rest read as zero / are left alone.
  static reg load_n(const float* p, int64_t n) { return _mm256_maskload_ps(p, mask(n)); }
  static void store_n(float* p, reg v, int64_t n) { _mm256_maskstore_ps(p, mask(n), v); }
  static __m256i mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  // Nearest integer (ties to even), as a float.
  static reg round(reg a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integral n in [-126, 127]: n + 127 lands in the low mantissa bits
  // of 2^23 + 127 + n, and shifts from there into the exponent field.
  static reg pow2(reg n) {
    const __m256i biased = _mm256_castps_si256(_mm256_add_ps(n, _mm256_set1_ps(8388608.0f + 127.0f)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23));
  }
  // For positive normal a: floor(log2(a)), and a / 2^that in [1, 2).
  static reg exponent(reg a) {
    const __m256i bits = _mm256_srli_epi32(_mm256_castps_si256(a), 23);
    return _mm256_sub_ps(_mm256_cvtepi32_ps(bits), _mm256_set1_ps(127.0f));
  }
  static reg mantissa(reg a) {
    const __m256i bits = _mm256_and_si256(_mm256_castps_si256(a), _mm256_set1_epi32(0x007fffff));
    return _mm256_castsi256_ps(_mm256_or_si256(bits, _mm256_set1_epi32(0x3f800000)));
  }
};

template <> struct Vec<double> {
  using reg = __m256d;
  static constexpr int lanes = 4;
  static reg zero() { return _mm256_setzero_pd(); }
  static reg set1(double x) { return _mm256_set1_pd(x); }
  static reg load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, reg v) { _mm256_storeu_pd(p, v); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
  static reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_pd(a, b); }
  static reg div(reg a, reg b) { return _mm256_div_pd(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_pd(a, b); }  // b where either is NaN
  static reg min(reg a, reg b) { return _mm256_min_pd(a, b); }  // b where either is NaN
  static reg sqrt(reg a) { return _mm256_sqrt_pd(a); }
  // a > b ? x : y per lane (false for NaN)
  static reg blend_gt(reg a, reg b, reg x, reg y) {
    return _mm256_blendv_pd(y, x, _mm256_cmp_pd(a, b, _CMP_GT_OQ));
  }
  static double sum(reg v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  static reg load_n(const double* p, int64_t n) { return _mm256_maskload_pd(p, mask(n)); }
  static void store_n(double* p, reg v, int64_t n) { _mm256_maskstore_pd(p, mask(n), v); }
  static __m256i mask(int64_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static reg round(reg a) { return _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // 2^n for integral n in [-1022, 1023], as for float.
  static reg pow2(reg n) {
    const __m256i biased =
        _mm256_castpd_si256(_mm256_add_pd(n, _mm256_set1_pd(4503599627370496.0 + 1023.0)));
    return _mm256_castsi256_pd(_mm256_slli_epi64(biased, 52));
  }
  // AVX2 has no int64 -> double conversion: the biased exponent becomes the
  // low mantissa bits of 2^52 + e, from which 2^52 + 1023 is subtracted.
  static reg exponent(reg a) {
    const __m256i bits = _mm256_srli_epi64(_mm256_castpd_si256(a), 52);
    const __m256d magic = _mm256_set1_pd(4503599627370496.0);
    const __m256d e = _mm256_castsi256_pd(_mm256_or_si256(bits, _mm256_castpd_si256(magic)));
    return _mm256_sub_pd(e, _mm256_set1_pd(4503599627370496.0 + 1023.0));
  }
  static reg mantissa(reg a) {
    const __m256i bits =
        _mm256_and_si256(_mm256_castpd_si256(a), _mm256_set1_epi64x(0x000fffffffffffffLL));
    return _mm256_castsi256_pd(_mm256_or_si256(bits, _mm256_set1_epi64x(0x3ff0000000000000LL)));
  }
};

// 16 ymm registers: 6x2 accumulators + 2 B vectors + 1 broadcast = 15.
template <class T> struct GemmTile { static constexpr int mr = 6, nv = 2; };

}  // namespace convcore::cpu::avx2
