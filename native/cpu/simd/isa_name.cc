// The name compiled into each SIMD variant ("generic", "avx2", "avx512"): wn_cpu_features_get reports
// the variant WN_DISPATCH actually calls, so a test can see which one runs.
#include "cpu/simd/isa_name.h"

namespace WN_ISA {
const char *isa_name() {
#define WN_STR2(x) #x
#define WN_STR(x) WN_STR2(x)
  return WN_STR(WN_ISA);
}
}  // namespace WN_ISA
