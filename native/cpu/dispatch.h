// Run-time choice among the SIMD variants of native/cpu/simd/*.cc.
//
// Every file in native/cpu/simd is compiled three times (x86-64): with WN_ISA=generic (plain flags),
// WN_ISA=avx2 (-mavx2 -mfma) and WN_ISA=avx512 (-mavx512f/bw/vl/dq/bf16). A kernel is declared once
// per variant with WN_DECLARE_ISA and called through WN_DISPATCH, e.g.
//
//   // in a header shared by the simd file and its callers:
//   #define WN_GEMM_DECL(ns) namespace ns { void sgemm(...); }
//   WN_FOR_EACH_ISA(WN_GEMM_DECL)
//   // caller:
//   WN_DISPATCH(sgemm, args...);
//
// On other architectures only the generic variant exists.
#pragma once
#include "wavenet.h"

namespace wn {
enum class Isa { generic, avx2, avx512 };
Isa active_isa();
const wn_cpu_features &cpu_features();
}  // namespace wn

#if defined(WN_HAVE_X86_VARIANTS)
#define WN_FOR_EACH_ISA(X) X(generic) X(avx2) X(avx512)
#define WN_DISPATCH(fn, ...)                                           \
  (::wn::active_isa() == ::wn::Isa::avx512 ? ::avx512::fn(__VA_ARGS__) \
   : ::wn::active_isa() == ::wn::Isa::avx2 ? ::avx2::fn(__VA_ARGS__)   \
                                           : ::generic::fn(__VA_ARGS__))
#else
#define WN_FOR_EACH_ISA(X) X(generic)
#define WN_DISPATCH(fn, ...) (::generic::fn(__VA_ARGS__))
#endif
