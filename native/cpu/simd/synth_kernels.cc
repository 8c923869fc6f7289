// SIMD kernels of the CPU incremental synthesizer, compiled once per ISA (WN_ISA = generic, avx2,
// avx512; see native/cpu/dispatch.h). Written with GCC/Clang vector extensions over 16 floats, so
// the same source becomes AVX-512 (one zmm per vector), AVX2 (two ymm) or SSE/NEON (four xmm); only
// the register tile differs per ISA.
#include <stdint.h>
#include <string.h>
#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif
#include "cpu/simd/synth_kernels.h"

// The vector helpers below are internal and inlined; their ABI does not matter.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace WN_ISA {
namespace {

typedef float v16 __attribute__((vector_size(64), aligned(4)));  // unaligned-safe loads/stores
typedef int32_t i16v __attribute__((vector_size(64), aligned(4)));

// Register tile: NVMAX vectors of 16 output rows x BTMAX streams.
#if defined(__AVX512F__)
constexpr int NVMAX = 4, BTMAX = 6;
#elif defined(__AVX2__)
constexpr int NVMAX = 2, BTMAX = 3;
#else
constexpr int NVMAX = 1, BTMAX = 2;
#endif

static inline v16 load(const float *p) { return *(const v16 *)p; }
static inline void store(float *p, v16 v) { *(v16 *)p = v; }
static inline v16 bcast(float x) { return (v16){} + x; }

// acc[b][v] (+)= bias + W[:, cols c..c+16nv) . in[b]
template <int NV, int BT>
static inline void micro(const float *__restrict W, int ldw, int k0, const float *__restrict in0, int ld0, int k1,
                         const float *__restrict in1, int ld1, float *__restrict out, int ldo, const float *bias,
                         int accumulate) {
  v16 acc[BT][NV];
#pragma GCC unroll 8
  for (int b = 0; b < BT; ++b)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      v16 a = accumulate ? load(out + (size_t)b * ldo + 16 * v) : bcast(0.f);
      if (bias) a += load(bias + 16 * v);
      acc[b][v] = a;
    }
  for (int k = 0; k < k0; ++k) {
    const float *wr = W + (size_t)k * ldw;
    v16 w[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) w[v] = load(wr + 16 * v);
#pragma GCC unroll 8
    for (int b = 0; b < BT; ++b) {
      const v16 x = bcast(in0[(size_t)b * ld0 + k]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[b][v] += w[v] * x;
    }
  }
  const float *W1 = W + (size_t)k0 * ldw;
  for (int k = 0; k < k1; ++k) {
    const float *wr = W1 + (size_t)k * ldw;
    v16 w[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) w[v] = load(wr + 16 * v);
#pragma GCC unroll 8
    for (int b = 0; b < BT; ++b) {
      const v16 x = bcast(in1[(size_t)b * ld1 + k]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[b][v] += w[v] * x;
    }
  }
#pragma GCC unroll 8
  for (int b = 0; b < BT; ++b)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) store(out + (size_t)b * ldo + 16 * v, acc[b][v]);
}

typedef void (*micro_fn)(const float *, int, int, const float *, int, int, const float *, int, float *, int,
                         const float *, int);

// The kernel table is a constant (built at compile time): code of this ISA must never run before
// dispatch has chosen it, so no dynamic initialiser may live in this file (see native/cpu/dispatch.h).
struct Micro {
  micro_fn f[NVMAX][BTMAX];
};
template <int NV, int BT>
constexpr void fill_micro(Micro &t) {
  t.f[NV - 1][BT - 1] = &micro<NV, BT>;
  if constexpr (BT > 1) fill_micro<NV, BT - 1>(t);
  else if constexpr (NV > 1) fill_micro<NV - 1, BTMAX>(t);
}
constexpr Micro make_micros() {
  Micro t{};
  fill_micro<NVMAX, BTMAX>(t);
  return t;
}
constexpr Micro micros = make_micros();

// exp(x) for x in about [-87, 88] (Cephes' single-precision polynomial, ~1 ulp).
static inline v16 vexp(v16 x) {
  const v16 hi = bcast(88.3f), lo = bcast(-87.3f);
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  v16 t = x * 1.44269504088896341f + 0.5f;
  i16v n = __builtin_convertvector(t, i16v);  // truncates toward zero
  v16 nf = __builtin_convertvector(n, v16);
  i16v adj = nf > t;                            // -1 where truncation rounded up (t < 0)
  n += adj;
  nf = __builtin_convertvector(n, v16);
  v16 r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  v16 p = bcast(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  v16 y = p * (r * r) + r + 1.0f;
  i16v e = (n + 127) << 23;
  v16 scale;
  memcpy(&scale, &e, sizeof scale);
  return y * scale;
}

#if defined(__AVX512BF16__)
template <int NV, int BT>
static inline void micro_bf16(const uint16_t *__restrict W, int w, int kp, const uint32_t *__restrict in, int ldi,
                              float *__restrict out, int ldo, const float *bias, int accumulate) {
  __m512 acc[BT][NV];
#pragma GCC unroll 8
  for (int b = 0; b < BT; ++b)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __m512 a = accumulate ? _mm512_loadu_ps(out + (size_t)b * ldo + 16 * v) : _mm512_setzero_ps();
      if (bias) a = _mm512_add_ps(a, _mm512_loadu_ps(bias + 16 * v));
      acc[b][v] = a;
    }
  for (int k = 0; k < kp; ++k) {
    const uint16_t *wr = W + (size_t)k * w * 2;
    __m512i wv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) wv[v] = _mm512_loadu_si512((const void *)(wr + 32 * v));
#pragma GCC unroll 8
    for (int b = 0; b < BT; ++b) {
      const __m512i x = _mm512_set1_epi32((int)in[(size_t)b * ldi + k]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[b][v] = _mm512_dpbf16_ps(acc[b][v], (__m512bh)wv[v], (__m512bh)x);
    }
  }
#pragma GCC unroll 8
  for (int b = 0; b < BT; ++b)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(out + (size_t)b * ldo + 16 * v, acc[b][v]);
}

typedef void (*micro_bf16_fn)(const uint16_t *, int, int, const uint32_t *, int, float *, int, const float *, int);
struct MicroB {
  micro_bf16_fn f[NVMAX][BTMAX];
};
template <int NV, int BT>
constexpr void fill_micro_bf16(MicroB &t) {
  t.f[NV - 1][BT - 1] = &micro_bf16<NV, BT>;
  if constexpr (BT > 1) fill_micro_bf16<NV, BT - 1>(t);
  else if constexpr (NV > 1) fill_micro_bf16<NV - 1, BTMAX>(t);
}
constexpr MicroB make_micros_bf16() {
  MicroB t{};
  fill_micro_bf16<NVMAX, BTMAX>(t);
  return t;
}
constexpr MicroB micros_bf16 = make_micros_bf16();
#endif

[[maybe_unused]] static inline float bf16_to_f32(uint16_t h) {  // unused where AVX512-BF16 is compiled in
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

// tanh(f) * sigmoid(g) with one division: (e - 1) / ((e + 1)(1 + exp(-g))), e = exp(2f).
// f is clamped to [-9, 9] (tanh is +-1 in float beyond) and g to >= -20 (sigmoid < 2.1e-9 below),
// which keeps the denominator finite; the absolute error stays around 1e-7.
static inline v16 gate16(v16 f, v16 g) {
  const v16 fhi = bcast(9.f), flo = bcast(-9.f), glo = bcast(-20.f);
  f = f > fhi ? fhi : f;
  f = f < flo ? flo : f;
  g = g < glo ? glo : g;
  const v16 e = vexp(f + f);
  return (e - 1.0f) / ((e + 1.0f) * (1.0f + vexp(-g)));
}

}  // namespace

static inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

static inline void cvt_row(const float *src, int n, uint16_t *dst) {
  int i = 0;
#if defined(__AVX512BF16__)
  for (; i + 16 <= n; i += 16) {
    __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
    _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)h);
  }
#endif
  for (; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

void synth_stage_bf16(const float *in0, int ld0, int k0, int k0p, const float *in1, int ld1, int k1, int row, int batch,
                      uint16_t *dst) {
  for (int b = 0; b < batch; ++b) {
    uint16_t *r = dst + (size_t)b * row;
    cvt_row(in0 + (size_t)b * ld0, k0, r);
    for (int i = k0; i < k0p; ++i) r[i] = 0;
    if (k1 > 0) cvt_row(in1 + (size_t)b * ld1, k1, r + k0p);
    for (int i = k0p + (k1 > 0 ? k1 : 0); i < row; ++i) r[i] = 0;
  }
}

void synth_gemm_bf16(const ::wn::SynthGemmBf16 &g) {
  const int P = WN_SYNTH_PANEL;
  for (int p0 = 0; p0 < g.mpad; p0 += P) {
    const int w = g.mpad - p0 < P ? g.mpad - p0 : P;
    const uint16_t *panel = g.w + (size_t)p0 * g.kpairs * 2;
#if defined(__AVX512BF16__)
    for (int c = 0; c < w; c += 16 * NVMAX) {
      const int nv = (w - c) / 16 < NVMAX ? (w - c) / 16 : NVMAX;
      for (int b = 0; b < g.batch; b += BTMAX) {
        const int bt = g.batch - b < BTMAX ? g.batch - b : BTMAX;
        micros_bf16.f[nv - 1][bt - 1](panel + 2 * c, w, g.kpairs, g.in + (size_t)b * g.ldi, g.ldi,
                                      g.out + (size_t)b * g.ldo + p0 + c, g.ldo, g.bias ? g.bias + p0 + c : nullptr,
                                      g.accumulate);
      }
    }
#else
    // portable fallback: same arithmetic order per output (pairs in order), fp32 accumulation
    for (int b = 0; b < g.batch; ++b)
      for (int c = 0; c < w; ++c) {
        float a = g.accumulate ? g.out[(size_t)b * g.ldo + p0 + c] : 0.f;
        if (g.bias) a += g.bias[p0 + c];
        const uint32_t *x = g.in + (size_t)b * g.ldi;
        for (int k = 0; k < g.kpairs; ++k) {
          const uint16_t *wp = panel + ((size_t)k * w + c) * 2;
          a += bf16_to_f32(wp[0]) * bf16_to_f32((uint16_t)(x[k] & 0xffff)) +
               bf16_to_f32(wp[1]) * bf16_to_f32((uint16_t)(x[k] >> 16));
        }
        g.out[(size_t)b * g.ldo + p0 + c] = a;
      }
#endif
  }
}

void synth_gemm(const ::wn::SynthGemm &g) {
  const int P = WN_SYNTH_PANEL;
  const int K = g.k0 + g.k1;
  for (int p0 = 0; p0 < g.mpad; p0 += P) {
    const int w = g.mpad - p0 < P ? g.mpad - p0 : P;
    const float *panel = g.w + (size_t)p0 * K;
    for (int c = 0; c < w; c += 16 * NVMAX) {
      const int nv = (w - c) / 16 < NVMAX ? (w - c) / 16 : NVMAX;
      for (int b = 0; b < g.batch; b += BTMAX) {
        const int bt = g.batch - b < BTMAX ? g.batch - b : BTMAX;
        micros.f[nv - 1][bt - 1](panel + c, w, g.k0, g.in0 + (size_t)b * g.ld0, g.ld0, g.k1,
                                 g.in1 ? g.in1 + (size_t)b * g.ld1 : nullptr, g.ld1, g.out + (size_t)b * g.ldo + p0 + c,
                                 g.ldo, g.bias ? g.bias + p0 + c : nullptr, g.accumulate);
      }
    }
  }
}

void synth_gate(const float *fg, int ldfg, int goff, int d, int batch, float *z, int ldz) {
  for (int b = 0; b < batch; ++b) {
    const float *f = fg + (size_t)b * ldfg, *gg = f + goff;
    float *zb = z + (size_t)b * ldz;
    int j = 0;
    for (; j + 16 <= d; j += 16) {
      store(zb + j, gate16(load(f + j), load(gg + j)));
    }
    if (j < d) {
      float fb[16] = {0}, gb[16] = {0}, zt[16];
      memcpy(fb, f + j, sizeof(float) * (d - j));
      memcpy(gb, gg + j, sizeof(float) * (d - j));
      store(zt, gate16(load(fb), load(gb)));
      memcpy(zb + j, zt, sizeof(float) * (d - j));
    }
  }
}

}  // namespace WN_ISA
