// SPDX-License-Identifier: MIT
#pragma once

namespace convcore {

enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);

// The best ISA this CPU and OS support (CPUID + XGETBV), among those compiled in.
Isa detected_isa();

// The ISA kernels run with: detected_isa() unless CONVCORE_ISA or set_isa() asks
// for a lower one (tests and benchmarks run every variant this way).
Isa active_isa();
void set_isa(Isa isa);  // throws ArgumentError if this CPU cannot run it
Isa parse_isa(const char* name);

}  // namespace convcore
