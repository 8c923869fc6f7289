// A small CPU emulation of the CUDA features native/cuda uses, so that the CUDA trainer and
// synthesizer (host code and kernels, unchanged) can be compiled with g++ and checked against the CPU
// backend on a machine without a GPU (native/cuda/emu/run.sh). It is a test harness only, never part
// of the addon.
//
// Each kernel launch runs its blocks one after another; the threads of a block are real std::threads,
// so __syncthreads() is a std::barrier and warp shuffles exchange through a per-warp slot array with
// a 32-thread barrier. __shared__ arrays become statics (one block at a time shares them). Device
// memory is host memory filled with NaN bytes at allocation, so a read of something never written
// shows up as NaN in the comparisons. Built with AddressSanitizer, out-of-bounds device accesses abort
// with a report. Timing, memory coalescing and the float rounding of the GPU are of course not
// emulated (fmaf contraction differs), so this checks indexing and logic, not speed.
#pragma once
#define WN_CUDA_EMULATE 1
#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __restrict__

using std::max;
using std::min;

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
struct float4 {
  float x, y, z, w;
};

namespace wn_emu {
struct Block {
  std::unique_ptr<std::barrier<>> bar;
  std::vector<std::unique_ptr<std::barrier<>>> warp_bar;
  std::vector<uint64_t> slots;  // 32 per warp
  std::vector<unsigned char> smem;
};
inline thread_local dim3 tl_threadIdx, tl_blockIdx, tl_blockDim, tl_gridDim;
inline thread_local Block *tl_block = nullptr;
inline void *dynamic_shared() { return tl_block->smem.data(); }

template <class T>
inline T warp_exchange(T v, int src_lane) {
  const int tid = tl_threadIdx.x, warp = tid / 32, lane = tid % 32;
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  tl_block->slots[warp * 32 + lane] = bits;
  tl_block->warp_bar[warp]->arrive_and_wait();
  const uint64_t r = tl_block->slots[warp * 32 + (src_lane & 31)];
  tl_block->warp_bar[warp]->arrive_and_wait();
  T out;
  std::memcpy(&out, &r, sizeof(T));
  return out;
}

// Runs kernel(args...) over grid x block.
struct Launch {
  dim3 grid, block;
  size_t smem;
  template <class K, class... A>
  void run(K kernel, A... args) const {
    const unsigned nt = block.x * block.y * block.z;
    for (unsigned bz = 0; bz < grid.z; ++bz)
      for (unsigned by = 0; by < grid.y; ++by)
        for (unsigned bx = 0; bx < grid.x; ++bx) {
          Block b;
          b.bar = std::make_unique<std::barrier<>>(nt);
          const unsigned warps = (nt + 31) / 32;
          for (unsigned w = 0; w < warps; ++w)
            b.warp_bar.push_back(std::make_unique<std::barrier<>>(std::min(32u, nt - 32 * w)));
          b.slots.assign(32 * warps, 0);
          b.smem.assign(smem + 16, 0xff);  // NaN bytes: uninitialised shared memory shows up
          std::vector<std::thread> th;
          th.reserve(nt);
          for (unsigned t = 0; t < nt; ++t)
            th.emplace_back([&, t] {
              tl_threadIdx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
              tl_blockIdx = dim3(bx, by, bz);
              tl_blockDim = block;
              tl_gridDim = grid;
              tl_block = &b;
              kernel(args...);
              b.warp_bar[t / 32]->arrive_and_drop();
              b.bar->arrive_and_drop();
            });
          for (auto &x : th) x.join();
        }
  }
};
// Stream capture (CUDA graphs): while a thread captures, launches and async copies are recorded
// instead of run; a graph launch runs the recording in order.
inline thread_local std::vector<std::function<void()>> *tl_capture = nullptr;
inline void submit(std::function<void()> f) {
  if (tl_capture)
    tl_capture->push_back(std::move(f));
  else
    f();
}
template <class K>
struct Launcher {
  K kernel;
  Launch l;
  template <class... A>
  void operator()(A... args) const {
    const Launch ll = l;
    const K k = kernel;
    submit([ll, k, args...] { ll.run(k, args...); });
  }
};
template <class K>
Launcher<K> launcher(K k, dim3 g, dim3 b, size_t smem) {
  return Launcher<K>{k, Launch{g, b, smem}};
}
}  // namespace wn_emu

#define threadIdx (::wn_emu::tl_threadIdx)
#define blockIdx (::wn_emu::tl_blockIdx)
#define blockDim (::wn_emu::tl_blockDim)
#define gridDim (::wn_emu::tl_gridDim)
#define WN_LAUNCH(kernel, grid, block, smem, stream) ::wn_emu::launcher(kernel, dim3(grid), dim3(block), (smem))

inline void __syncthreads() { ::wn_emu::tl_block->bar->arrive_and_wait(); }
template <class T>
inline T __ldg(const T *p) {
  return *p;
}
inline float __shfl_xor_sync(unsigned, float v, int o) {
  return ::wn_emu::warp_exchange(v, (int)(threadIdx.x % 32) ^ o);
}
inline int __shfl_xor_sync(unsigned, int v, int o) { return ::wn_emu::warp_exchange(v, (int)(threadIdx.x % 32) ^ o); }
inline float __shfl_sync(unsigned, float v, int src) { return ::wn_emu::warp_exchange(v, src); }
inline int __shfl_sync(unsigned, int v, int src) { return ::wn_emu::warp_exchange(v, src); }
inline float __shfl_up_sync(unsigned, float v, int o) {
  const int lane = threadIdx.x % 32;
  const float r = ::wn_emu::warp_exchange(v, lane >= o ? lane - o : lane);
  return r;
}
inline unsigned __ballot_sync(unsigned, int pred) {
  // every lane publishes its bit; the OR of all is the ballot
  const int lane = threadIdx.x % 32;
  unsigned acc = 0;
  for (int src = 0; src < 32; ++src) {
    const int bit = ::wn_emu::warp_exchange(pred ? 1 : 0, src);
    if (bit) acc |= 1u << src;
  }
  (void)lane;
  return acc;
}
inline void __syncwarp(unsigned = 0xffffffffu) { ::wn_emu::tl_block->warp_bar[threadIdx.x / 32]->arrive_and_wait(); }
inline int __ffs(unsigned x) { return x ? __builtin_ctz(x) + 1 : 0; }

// ---- runtime API
typedef int cudaError_t;
enum { cudaSuccess = 0, cudaErrorMemoryAllocation = 2, cudaErrorInsufficientDriver = 35, cudaErrorInvalidValue = 1 };
typedef void *cudaStream_t;
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
enum { cudaStreamNonBlocking = 1 };
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };
struct cudaDeviceProp {
  char name[256];
  int major, minor;
  size_t totalGlobalMem;
  int multiProcessorCount;
  size_t sharedMemPerBlockOptin;
};
struct cudaFuncAttributes {
  int maxThreadsPerBlock;
};
inline const char *cudaGetErrorString(cudaError_t e) {
  return e == 2 ? "out of memory (emulated)" : "emulated CUDA error";
}
inline size_t &emu_alloc_limit() {
  static size_t lim = (size_t)-1;
  return lim;
}
inline cudaError_t cudaMalloc(void **p, size_t n) {
  if (n > emu_alloc_limit()) {
    *p = nullptr;
    return cudaErrorMemoryAllocation;
  }
  *p = std::malloc(n);
  if (!*p) return cudaErrorMemoryAllocation;
  std::memset(*p, 0xff, n);
  return cudaSuccess;
}
inline cudaError_t cudaFree(void *p) {
  std::free(p);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind) {
  std::memcpy(d, s, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind, cudaStream_t) {
  ::wn_emu::submit([=] { std::memcpy(d, s, n); });
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void *d, int v, size_t n, cudaStream_t) {
  ::wn_emu::submit([=] { std::memset(d, v, n); });
  return cudaSuccess;
}
struct EmuGraph {
  std::vector<std::function<void()>> ops;
};
typedef EmuGraph *cudaGraph_t;
typedef EmuGraph *cudaGraphExec_t;
enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal,
  cudaStreamCaptureModeThreadLocal,
  cudaStreamCaptureModeRelaxed
};
inline cudaError_t cudaStreamBeginCapture(cudaStream_t, cudaStreamCaptureMode) {
  if (::wn_emu::tl_capture) return cudaErrorInvalidValue;
  ::wn_emu::tl_capture = new std::vector<std::function<void()>>();
  return cudaSuccess;
}
inline cudaError_t cudaStreamEndCapture(cudaStream_t, cudaGraph_t *g) {
  if (!::wn_emu::tl_capture) return cudaErrorInvalidValue;
  *g = new EmuGraph{std::move(*::wn_emu::tl_capture)};
  delete ::wn_emu::tl_capture;
  ::wn_emu::tl_capture = nullptr;
  return cudaSuccess;
}
inline cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long) {
  *e = new EmuGraph{g->ops};
  return cudaSuccess;
}
inline cudaError_t cudaGraphDestroy(cudaGraph_t g) {
  delete g;
  return cudaSuccess;
}
inline cudaError_t cudaGraphExecDestroy(cudaGraphExec_t g) {
  delete g;
  return cudaSuccess;
}
inline cudaError_t cudaGraphLaunch(cudaGraphExec_t g, cudaStream_t) {
  for (auto &f : g->ops) ::wn_emu::submit(f);
  return cudaSuccess;
}
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) {
  *s = (void *)1;
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaMemGetInfo(size_t *f, size_t *t) {
  *f = 1ull << 30;
  *t = 1ull << 30;
  return cudaSuccess;
}
inline cudaError_t cudaRuntimeGetVersion(int *v) {
  *v = 13000;
  return cudaSuccess;
}
inline cudaError_t cudaDriverGetVersion(int *v) {
  *v = 13000;
  return cudaSuccess;
}
inline cudaError_t cudaGetDeviceCount(int *n) {
  *n = 1;
  return cudaSuccess;
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int) {
  std::memset(p, 0, sizeof *p);
  std::strcpy(p->name, "emulated");
  p->major = 9;
  p->totalGlobalMem = 1ull << 30;
  p->multiProcessorCount = 4;
  p->sharedMemPerBlockOptin = 227 * 1024;
  return cudaSuccess;
}
template <class K>
cudaError_t cudaFuncSetAttribute(K, cudaFuncAttribute, int) {
  return cudaSuccess;
}
// 256 threads at most, so the synthesizer's block-size cap is exercised (and emulation stays fast).
template <class K>
cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *a, K) {
  a->maxThreadsPerBlock = 256;
  return cudaSuccess;
}
