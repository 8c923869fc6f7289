// The one place the native code reads the environment: once, when the addon loads, turning the
// documented variables into the library's explicit options (wavenet.h wn_runtime_configure,
// wn_synth.h wn_synth_options). The library itself (native/core, cpu, cuda) reads none.
//   WAVENET_KERNELS=generic|avx2|avx512   force a SIMD variant (when the CPU has it)
//   WAVENET_THREADS=N                      threads for training and synthesis
//   WAVENET_CUDA_GRAPHS=0                  launch CUDA training kernels eagerly (debugging)
//   WAVENET_SYNTH_PRECISION=bf16|fp16      default precision of new synthesizers (bf16: AVX512-BF16 CPUs)
//   WAVENET_SYNTH_MODE=solo|parallel       default thread mode of new synthesizers (tests, benchmarks)
// An unusable value is ignored (the default applies), as before these became options.
#include <cstdlib>
#include <cstring>
#include "napi_init.h"
#include "wavenet.h"
#include "wn_synth.h"

namespace wnjs {

static wn_synth_options g_synth_defaults = wn_synth_default_options();

const wn_synth_options &synth_defaults() { return g_synth_defaults; }

void ConfigureFromEnvironment() {
  wn_runtime_options rt = wn_runtime_default_options();
  if (const char *k = std::getenv("WAVENET_KERNELS")) {
    if (!std::strcmp(k, "generic") || !std::strcmp(k, "avx2") || !std::strcmp(k, "avx512")) rt.kernels = k;
  }
  if (const char *t = std::getenv("WAVENET_THREADS")) {
    const int n = std::atoi(t);
    if (n >= 1 && n <= 1024) rt.threads = n;
  }
  if (const char *g = std::getenv("WAVENET_CUDA_GRAPHS")) rt.cuda_graphs = std::strcmp(g, "0") != 0;
  wn_runtime_configure(&rt);  // fails only when the library was already used (a second load): keep it
  if (const char *p = std::getenv("WAVENET_SYNTH_PRECISION")) {
    if (!std::strcmp(p, "bf16"))
      g_synth_defaults.precision = WN_SYNTH_BF16;
    else if (!std::strcmp(p, "fp16"))
      g_synth_defaults.precision = WN_SYNTH_FP16;
  }
  if (const char *m = std::getenv("WAVENET_SYNTH_MODE")) {
    if (!std::strcmp(m, "solo"))
      g_synth_defaults.mode = WN_SYNTH_MODE_SOLO;
    else if (!std::strcmp(m, "parallel"))
      g_synth_defaults.mode = WN_SYNTH_MODE_PARALLEL;
  }
}

}  // namespace wnjs
