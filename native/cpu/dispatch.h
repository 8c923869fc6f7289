// Run-time choice among the SIMD variants of native/cpu/simd/*.cc, and the rules that keep code compiled
// for one instruction set from running on a CPU that lacks it.
//
// Every file in native/cpu/simd is compiled three times on x86-64: with WN_ISA=generic (plain x86-64
// flags, in the addon's main target), WN_ISA=avx2 (-mavx2 -mfma -mf16c) and WN_ISA=avx512 (-mavx512f/bw/
// vl/dq/bf16; scripts/gyp.mjs isa-flags). A kernel is declared once per variant with WN_FOR_EACH_ISA and
// called through WN_DISPATCH, e.g.
//
//   // in a header shared by the simd file and its callers:
//   #define WN_GEMM_DECL(ns) namespace ns { void sgemm(...); }
//   WN_FOR_EACH_ISA(WN_GEMM_DECL)
//   // caller:
//   WN_DISPATCH(sgemm, args...);
//
// On other architectures (arm64) only the generic variant exists. wn_runtime_options.kernels forces a
// variant the CPU supports (native/cpu/cpu_features.cc); the addon sets it from WAVENET_KERNELS at load
// (native/src/napi_env.cc), native/test/core_test takes it as its first argument.
//
// Where ISA-specific code may live (users' CPUs often lack AVX-512, old ones AVX):
//  1. Only in native/cpu/simd/*.cc, and there only inside `namespace WN_ISA { ... }`; helpers in an
//     anonymous namespace or `static`. Everything the compiler emits from those files is compiled with the
//     variant's flags, so it must be reachable only through WN_DISPATCH, i.e. after the CPU was checked.
//  2. No dynamic initialiser there: no namespace-scope object with a constructor or a non-constant
//     initialiser (constant tables are `constexpr`; anything else is built on first use inside a
//     dispatched function). A dynamic initialiser runs when the addon is loaded, before any dispatch:
//     that once crashed every command with SIGILL on CPUs without AVX-512.
//  3. No inline or template code from a header outside the namespace: std::vector, std::min, std::fill,
//     std::function... instantiated there are COMDAT (weak) symbols, and the linker keeps ONE copy for the
//     whole addon, possibly the AVX-512 one, which shared code then calls. Use plain loops, C functions
//     (memcpy, malloc) or helpers inside the namespace. Headers included by these files (vec.h,
//     synth_kernels.h, gemm.h) keep their inline functions `static` or inside WN_ISA.
//  4. Code outside native/cpu/simd is compiled for plain x86-64 (never -march=native) and never uses
//     intrinsics beyond SSE2 (native/core/platform.h's pause is SSE2).
// How a mistake is caught:
//  - scripts/check-isa.mjs (run by test/isa-check.test.ts and scripts/check-platforms.sh) disassembles
//    build/Release/wavenet.node and fails, naming the function, when an AVX-512 instruction (EVEX, zmm or
//    k registers) sits outside avx512:: or an AVX/AVX2/FMA one outside avx2::/avx512::, and when a
//    per-ISA object has an .init_array or defines a global/weak symbol outside its namespace (rules 2, 3).
//  - scripts/check-platforms.sh runs the CLI under qemu-x86_64 -cpu Haswell (no AVX-512) and -cpu Nehalem
//    (no AVX) and compares its outputs with native runs of the avx2 / generic variant byte for byte; it
//    also cross-compiles the core for arm64 and runs native/test/core_test.cc under qemu-aarch64.
//  - npm test reruns the numerical suites once per variant the CPU supports (scripts/test.sh).
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
