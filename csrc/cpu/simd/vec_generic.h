// SPDX-License-Identifier: MIT
// Portable fallback: a 4-lane "vector" of plain scalars that compilers map to
// whatever SIMD the baseline target has (SSE2 on x86-64, NEON on aarch64).
#pragma once
#include <cmath>
#include <cstdint>

namespace convcore::cpu::generic {

template <class T> struct Vec {
  struct reg { T v[4]; };
  static constexpr int lanes = 4;
  static reg zero() { return {{0, 0, 0, 0}}; }
  static reg set1(T x) { return {{x, x, x, x}}; }
  static reg load(const T* p) { return {{p[0], p[1], p[2], p[3]}}; }
  static void store(T* p, reg a) { for (int i = 0; i < 4; ++i) p[i] = a.v[i]; }
  static reg fmadd(reg a, reg b, reg c) {
    for (int i = 0; i < 4; ++i) c.v[i] += a.v[i] * b.v[i];
    return c;
  }
  static reg mul(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] *= b.v[i];
    return a;
  }
  static reg add(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] += b.v[i];
    return a;
  }
  static reg sub(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] -= b.v[i];
    return a;
  }
  static reg div(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] /= b.v[i];
    return a;
  }
  // As the x86 instructions: b where either is NaN.
  static reg max(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
    return a;
  }
  static reg min(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] = a.v[i] < b.v[i] ? a.v[i] : b.v[i];
    return a;
  }
  static reg sqrt(reg a) {
    for (int i = 0; i < 4; ++i) a.v[i] = std::sqrt(a.v[i]);
    return a;
  }
  // a > b ? x : y per lane (false for NaN)
  static reg blend_gt(reg a, reg b, reg x, reg y) {
    for (int i = 0; i < 4; ++i) y.v[i] = a.v[i] > b.v[i] ? x.v[i] : y.v[i];
    return y;
  }
  static T sum(reg a) { return (a.v[0] + a.v[1]) + (a.v[2] + a.v[3]); }
  static reg load_n(const T* p, int64_t n) {
    reg r = zero();
    for (int64_t i = 0; i < n; ++i) r.v[i] = p[i];
    return r;
  }
  static void store_n(T* p, reg a, int64_t n) {
    for (int64_t i = 0; i < n; ++i) p[i] = a.v[i];
  }
  // Nearest integer (ties to even under the default rounding mode).
  static reg round(reg a) {
    for (int i = 0; i < 4; ++i) a.v[i] = std::nearbyint(a.v[i]);
    return a;
  }
  // 2^n for integral n in the normal exponent range.
  static reg pow2(reg n) {
    for (int i = 0; i < 4; ++i) n.v[i] = std::ldexp(T(1), static_cast<int>(n.v[i]));
    return n;
  }
  // For positive normal a: floor(log2(a)), and a / 2^that in [1, 2).
  static reg exponent(reg a) {
    for (int i = 0; i < 4; ++i) a.v[i] = static_cast<T>(std::ilogb(a.v[i]));
    return a;
  }
  static reg mantissa(reg a) {
    for (int i = 0; i < 4; ++i) a.v[i] = std::scalbn(a.v[i], -std::ilogb(a.v[i]));
    return a;
  }
};

template <class T> struct GemmTile { static constexpr int mr = 4, nv = 2; };

}  // namespace convcore::cpu::generic
