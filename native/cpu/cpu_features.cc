// CPU feature detection and the choice of SIMD variant (native/cpu/simd is compiled once per ISA).
// wn_runtime_options.kernels (generic|avx2|avx512) forces a variant when the CPU supports it.
#include <cstdlib>
#include <cstring>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include "core/threadpool.h"
#include "core/runtime.h"
#include "cpu/dispatch.h"
#include "cpu/simd/isa_name.h"
#include "wavenet.h"

namespace wn {

static wn_cpu_features detect() {
  wn_cpu_features f;
  std::memset(&f, 0, sizeof f);
#if defined(__x86_64__)
  f.arch = "x86_64";
  __builtin_cpu_init();
  f.sse42 = __builtin_cpu_supports("sse4.2");
  f.avx = __builtin_cpu_supports("avx");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  {  // not among __builtin_cpu_supports's names: CPUID leaf 1, ECX bit 29
    unsigned a = 0, b = 0, c = 0, d = 0;
    f.f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
  }
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
#elif defined(__aarch64__)
  f.arch = "aarch64";
  f.neon = 1;
#else
  f.arch = "other";
#endif
  return f;
}

static Isa choose(const wn_cpu_features &f) {
  Isa best = Isa::generic;
#if defined(WN_HAVE_X86_VARIANTS)
  // both variants are built with -mf16c (fp16 weights of synthesis)
  if (f.avx2 && f.fma && f.f16c) best = Isa::avx2;
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512bf16 && f.fma && f.f16c) best = Isa::avx512;
  if (const char *e = runtime().kernels) {
    if (!std::strcmp(e, "generic")) return Isa::generic;
    if (!std::strcmp(e, "avx2") && f.avx2 && f.fma && f.f16c) return Isa::avx2;
    if (!std::strcmp(e, "avx512") && best == Isa::avx512) return Isa::avx512;
  }
#else
  (void)f;
#endif
  return best;
}

const wn_cpu_features &cpu_features() {
  static const wn_cpu_features f = [] {
    wn_cpu_features x = detect();
    Isa i = choose(x);
    x.kernels = i == Isa::avx512 ? "avx512" : i == Isa::avx2 ? "avx2" : "generic";
    x.threads = default_threads();
    return x;
  }();
  return f;
}

Isa active_isa() {
  static const Isa i = choose(cpu_features());
  return i;
}

}  // namespace wn

extern "C" void wn_cpu_features_get(wn_cpu_features *out) {
  *out = wn::cpu_features();
  out->kernels = WN_DISPATCH(isa_name);  // the name compiled into the variant actually called
}
