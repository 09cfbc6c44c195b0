// SPDX-License-Identifier: MIT
#include "core/cpu_features.h"
#include "cpu/kernels/kernels.h"

namespace convcore::cpu {
namespace {

// Explicit registration (as BLIS's gks does) rather than static initialisers,
// which a static-library link may drop.
template <void (*... Register)(KernelTable&)>
KernelTable make_table(const char* name) {
  KernelTable t;
  t.isa = name;
  (Register(t), ...);
  return t;
}

#define CC_ISA_TABLE(isa)                                                                   \
  make_table<isa::register_gemm_kernels, isa::register_conv_kernels,                       \
             isa::register_pool_kernels, isa::register_norm_kernels,                       \
             isa::register_eltwise_kernels>(#isa)

const KernelTable& table_for(Isa isa) {
#if defined(CONVCORE_HAVE_avx512)
  static const KernelTable avx512_table = CC_ISA_TABLE(avx512);
  if (isa == Isa::avx512) return avx512_table;
#endif
#if defined(CONVCORE_HAVE_avx2)
  static const KernelTable avx2_table = CC_ISA_TABLE(avx2);
  if (isa == Isa::avx2) return avx2_table;
#endif
  (void)isa;
  static const KernelTable generic_table = CC_ISA_TABLE(generic);
  return generic_table;
}

#undef CC_ISA_TABLE

}  // namespace

const KernelTable& kernels() { return table_for(active_isa()); }

}  // namespace convcore::cpu
