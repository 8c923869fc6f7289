// Small portability helpers for the native core (x86-64 and arm64; Linux, macOS).
//   cpu_relax():        the spin-wait hint (x86 `pause`, arm64 `yield`), for busy-wait loops
//   aligned_malloc(a,n): n bytes aligned to a (a power of two >= sizeof(void *)); free with std::free;
//                       nullptr when out of memory. posix_memalign rather than aligned_alloc, which
//                       older macOS SDKs lack and which requires n to be a multiple of a.
#pragma once
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace wn {
static inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

static inline void *aligned_malloc(size_t alignment, size_t bytes) {
  void *p = nullptr;
  return posix_memalign(&p, alignment, bytes ? bytes : alignment) == 0 ? p : nullptr;
}
}  // namespace wn
