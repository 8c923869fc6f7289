// Proves the per-ISA variants are built and dispatchable: returns the variant's own name.
#include "cpu/simd/probe.h"

namespace WN_ISA {
const char *isa_name() {
#define WN_STR2(x) #x
#define WN_STR(x) WN_STR2(x)
  return WN_STR(WN_ISA);
}
}  // namespace WN_ISA
