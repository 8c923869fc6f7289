// Shared helpers for the CUDA implementation: error checking that returns a wn_status
// (never aborts) and sets the thread's message with CUDA's own text.
#pragma once
#ifndef WN_CUDA_EMULATE
#include <cuda_runtime.h>
#endif
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
#define WN_CUDA_TRY(call)                                           \
  do {                                                              \
    cudaError_t wn_e_ = (call);                                     \
    if (wn_e_ != cudaSuccess) return ::wn::cuda_fail(wn_e_, #call); \
  } while (0)

// Kernel launch: WN_LAUNCH(kernel, grid, block, shared_bytes, stream)(args...). A macro (not <<<>>>
// at the call sites) so that native/cuda/emu (the CPU emulation harness) can run the same host code and kernels on the
// CPU.
#ifndef WN_CUDA_EMULATE
#define WN_LAUNCH(kernel, grid, block, smem, stream) kernel<<<(grid), (block), (smem), (stream)>>>
#endif

// Dynamic shared memory of a kernel (the emulator hands out a per-block buffer instead).
#ifndef WN_CUDA_EMULATE
#define WN_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#else
#define WN_DYNAMIC_SHARED(type, name) type *name = reinterpret_cast<type *>(::wn_emu::dynamic_shared())
#endif
