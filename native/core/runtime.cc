// Process-wide run-time options: set by the program through wn_runtime_configure before first use,
// read by the CPU dispatch (kernels), the thread pool and the synthesizer (threads) and the CUDA
// trainer (graphs). The library itself reads no environment variable.
#include "core/runtime.h"
#include <cstring>
#include <mutex>
#include <string>
#include "core/error.h"

namespace wn {
namespace {
std::mutex g_mu;
wn_runtime_options g_opts = {nullptr, 0, 1};
char g_kernels[16] = "";
bool g_fixed = false;
}  // namespace

const wn_runtime_options &runtime() {
  std::lock_guard<std::mutex> lk(g_mu);
  g_fixed = true;
  return g_opts;
}
}  // namespace wn

extern "C" wn_runtime_options wn_runtime_default_options(void) { return wn_runtime_options{nullptr, 0, 1}; }

static wn_status runtime_configure(const wn_runtime_options *o) {
  const char *k = o->kernels && std::strcmp(o->kernels, "auto") != 0 ? o->kernels : "";
  if (*k && std::strcmp(k, "generic") && std::strcmp(k, "avx2") && std::strcmp(k, "avx512"))
    return wn::fail(WN_ERR_INVALID, std::string("kernels \"") + k + "\": expected auto, generic, avx2 or avx512");
  if (o->threads < 0 || o->threads > 1024) return wn::fail(WN_ERR_INVALID, "threads must be 0 (all) or 1..1024");
  std::lock_guard<std::mutex> lk(wn::g_mu);
  if (wn::g_fixed) {
    const bool same = std::strcmp(wn::g_kernels, k) == 0 && wn::g_opts.threads == o->threads &&
                      wn::g_opts.cuda_graphs == (o->cuda_graphs != 0);
    return same ? WN_OK
                : wn::fail(WN_ERR_INVALID, "run-time options are fixed once the kernels or threads were first used");
  }
  std::strncpy(wn::g_kernels, k, sizeof wn::g_kernels - 1);
  wn::g_opts.kernels = *wn::g_kernels ? wn::g_kernels : nullptr;
  wn::g_opts.threads = o->threads;
  wn::g_opts.cuda_graphs = o->cuda_graphs != 0;
  return WN_OK;
}

extern "C" wn_status wn_runtime_configure(const wn_runtime_options *o) { WN_GUARD(runtime_configure(o)) }
