// A small vector type over GCC vector extensions, sized for the instruction set this translation unit
// is compiled for (the files in native/cpu/simd are built once per ISA): 16 lanes with AVX-512,
// 8 with AVX2, 4 otherwise (SSE2 on x86-64, NEON-width elsewhere).
#pragma once
#include <cstdint>
#include <cstring>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace WN_ISA {
#if defined(__AVX512F__)
constexpr int VW = 16;
#elif defined(__AVX2__)
constexpr int VW = 8;
#else
constexpr int VW = 4;
#endif
typedef float vf __attribute__((vector_size(VW * 4)));
typedef int32_t vi __attribute__((vector_size(VW * 4)));

static inline vf vload(const float *p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
static inline void vstore(float *p, vf v) { std::memcpy(p, &v, sizeof v); }
// Broadcast through the intrinsic, so the compiler emits one vbroadcastss (`vf{} + x` costs an add,
// since 0 + x is not x for x = -0, and a lane-by-lane build costs inserts).
static inline vf vset1(float x) {
#if defined(__AVX512F__)
  return (vf)_mm512_set1_ps(x);
#elif defined(__AVX2__)
  return (vf)_mm256_set1_ps(x);
#elif defined(__SSE2__)
  return (vf)_mm_set1_ps(x);
#else
  vf v;
  for (int i = 0; i < VW; ++i) v[i] = x;
  return v;
#endif
}
// a > b ? a : b and a < b ? a : b, lane by lane. Through the intrinsics, (v)maxps/minps compute
// exactly that (the second operand on ties and NaN) in one instruction, where GCC 12 lowers the
// ternary to a compare and a blend (AVX2, SSE) or a compare into a mask and a masked move (AVX-512).
static inline vf vmax(vf a, vf b) {
#if defined(__AVX512F__)
  return (vf)_mm512_maskz_max_ps((__mmask16)0xffff, (__m512)a, (__m512)b);  // (unmasked: GCC 12 warns)
#elif defined(__AVX2__)
  return (vf)_mm256_max_ps((__m256)a, (__m256)b);
#elif defined(__SSE2__)
  return (vf)_mm_max_ps((__m128)a, (__m128)b);
#else
  return a > b ? a : b;
#endif
}
static inline vf vmin(vf a, vf b) {
#if defined(__AVX512F__)
  return (vf)_mm512_maskz_min_ps((__mmask16)0xffff, (__m512)a, (__m512)b);
#elif defined(__AVX2__)
  return (vf)_mm256_min_ps((__m256)a, (__m256)b);
#elif defined(__SSE2__)
  return (vf)_mm_min_ps((__m128)a, (__m128)b);
#else
  return a < b ? a : b;
#endif
}

// exp(x) for x clamped to [-87, 88]: 2^n * p(f) with a degree-7 Taylor polynomial of 2^f, |f| <= 0.5
// (relative error about 1e-7, the float rounding itself).
static inline vf vexp(vf x) {
  x = vmin(vmax(x, vset1(-87.0f)), vset1(88.0f));
  const vf y = x * 1.44269504088896341f;
  const vf magic = vset1(12582912.0f);  // 1.5 * 2^23: adding and subtracting rounds to nearest
  const vf n = (y + magic) - magic;
  const vf f = (y - n) * 0.693147180559945309f;  // in nats, |f| <= ln2/2
  vf p = vset1(1.0f / 5040.0f);
  p = p * f + (1.0f / 720.0f);
  p = p * f + (1.0f / 120.0f);
  p = p * f + (1.0f / 24.0f);
  p = p * f + (1.0f / 6.0f);
  p = p * f + 0.5f;
  p = p * f + 1.0f;
  p = p * f + 1.0f;
  const vi e = (__builtin_convertvector(n, vi) + 127) << 23;
  vf scale;
  std::memcpy(&scale, &e, sizeof scale);
  return p * scale;
}
}  // namespace WN_ISA
