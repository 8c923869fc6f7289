// Shared helpers for the CUDA implementation: error checking that returns a wn_status
// (never aborts) and sets the thread's message with CUDA's own text.
#pragma once
#include <cuda_runtime.h>
#include <string>
#include "core/error.h"
#include "wavenet.h"

namespace wn {
inline wn_status cuda_fail(cudaError_t e, const char *what) {
  wn_status s = (e == cudaErrorMemoryAllocation) ? WN_ERR_NOMEM : WN_ERR_DEVICE;
  return fail(s, std::string(what) + ": " + cudaGetErrorString(e));
}
}  // namespace wn

// Returns from the enclosing function (which must return wn_status) on a CUDA error.
#define WN_CUDA_TRY(call)                                        \
  do {                                                           \
    cudaError_t wn_e_ = (call);                                  \
    if (wn_e_ != cudaSuccess) return ::wn::cuda_fail(wn_e_, #call); \
  } while (0)

// Kernel launch: WN_LAUNCH(kernel, grid, block, shared_bytes, stream)(args...). A macro (not <<<>>>
// at the call sites) so that test/cuda-emu can run the same host code and kernels on the CPU.
#ifndef WN_CUDA_EMULATE
#define WN_LAUNCH(kernel, grid, block, smem, stream) kernel<<<(grid), (block), (smem), (stream)>>>
#endif
