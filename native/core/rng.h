// Counter-based random numbers shared by the CPU and CUDA code: the same (seed, counter) gives the
// same uniform on every device, so sampling is reproducible across backends.
#pragma once
#include <stdint.h>

#if defined(__CUDACC__)
#define WN_HD __host__ __device__ __forceinline__
#else
#define WN_HD static inline
#endif

// SplitMix64 finaliser.
WN_HD uint64_t wn_mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 24 bits, exactly representable in float32.
WN_HD float wn_uniform(uint64_t seed, uint64_t counter) {
  const uint64_t r = wn_mix64(seed ^ wn_mix64(counter));
  return (float)(r >> 40) * (1.0f / 16777216.0f);
}
