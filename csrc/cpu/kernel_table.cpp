// SPDX-License-Identifier: MIT
#include "core/cpu_features.h"
#include "cpu/kernels/kernels.h"

namespace convcore::cpu {
namespace {

// Explicit registration (as BLIS's gks does) rather than static initialisers,
// which a static-library link may drop.
template <void (*RegisterGemm)(KernelTable&), void (*RegisterConv)(KernelTable&)>
KernelTable make_table(const char* name) {
  KernelTable t;
  t.isa = name;
  RegisterGemm(t);
  RegisterConv(t);
  return t;
}

const KernelTable& table_for(Isa isa) {
#if defined(CONVCORE_HAVE_avx512)
  static const KernelTable avx512_table =
      make_table<avx512::register_gemm_kernels, avx512::register_conv_kernels>("avx512");
  if (isa == Isa::avx512) return avx512_table;
#endif
#if defined(CONVCORE_HAVE_avx2)
  static const KernelTable avx2_table =
      make_table<avx2::register_gemm_kernels, avx2::register_conv_kernels>("avx2");
  if (isa == Isa::avx2) return avx2_table;
#endif
  (void)isa;
  static const KernelTable generic_table =
      make_table<generic::register_gemm_kernels, generic::register_conv_kernels>("generic");
  return generic_table;
}

}  // namespace

const KernelTable& kernels() { return table_for(active_isa()); }

}  // namespace convcore::cpu
