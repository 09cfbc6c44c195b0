// SPDX-License-Identifier: MIT
#include "core/cpu_features.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define CC_X86 1
#endif

namespace convcore {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "generic";
  }
}

Isa parse_isa(const char* name) {
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
    if (std::strcmp(name, isa_name(isa)) == 0) return isa;
  throw_argument_error("isa must be one of 'generic', 'avx2', 'avx512', got '", name, "'");
}

namespace {

#ifdef CC_X86
uint64_t xgetbv0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t(edx) << 32) | eax;
}
#endif

Isa probe_isa() {
#ifdef CC_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return Isa::generic;
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), avx = c & (1u << 28);
  if (!osxsave || !avx || !fma) return Isa::generic;
  // The OS must save the vector state we use: XMM|YMM (bits 1,2) and
  // opmask|ZMM_Hi256|Hi16_ZMM (bits 5,6,7) for AVX-512.
  const uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return Isa::generic;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return Isa::generic;
  const bool avx2 = b & (1u << 5);
  const bool avx512 = (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) && (b & (1u << 31));
#if defined(CONVCORE_HAVE_avx512)
  if (avx2 && avx512 && (xcr0 & 0xe6) == 0xe6) return Isa::avx512;
#endif
#if defined(CONVCORE_HAVE_avx2)
  if (avx2) return Isa::avx2;
#endif
  (void)avx512;
#endif
  return Isa::generic;
}

std::atomic<int>& active_slot() {
  static std::atomic<int> slot{[] {
    Isa best = detected_isa();
    if (const char* env = std::getenv("CONVCORE_ISA")) {
      Isa want = parse_isa(env);
      if (static_cast<int>(want) < static_cast<int>(best)) best = want;
    }
    return static_cast<int>(best);
  }()};
  return slot;
}

}  // namespace

Isa detected_isa() {
  static const Isa isa = probe_isa();
  return isa;
}

Isa active_isa() { return static_cast<Isa>(active_slot().load(std::memory_order_relaxed)); }

void set_isa(Isa isa) {
  CC_CHECK_ARG(static_cast<int>(isa) <= static_cast<int>(detected_isa()),
               "isa '", isa_name(isa), "' is not supported by this CPU (best: '",
               isa_name(detected_isa()), "')");
  active_slot().store(static_cast<int>(isa));
}

}  // namespace convcore
