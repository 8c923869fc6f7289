// SIMD kernels of the CPU incremental synthesizer, compiled once per ISA (WN_ISA = generic, avx2,
// avx512; see native/cpu/dispatch.h).
//
// Vectors are the ISA's native width (16 floats in a zmm, 8 in a ymm, 4 in an xmm: cpu/simd/vec.h).
// An earlier version used one 64-byte vector type everywhere; GCC lowers such an oversized vector
// through the stack on AVX2 and SSE (accumulators stored and reloaded every iteration, broadcasts
// built from 16 scalar stores, halves moved through general registers), which made the AVX2 variant
// 30x slower than AVX-512 and slower than the generic one (docs/perf.md, "Synthesis kernels").
//
// Register tiles (accumulators NV vectors of output rows x BT streams, all in registers):
//   batch 1 (matrix-vector): NV1 vectors, so a 64-row panel row is NV1 loads and NV1 independent FMA
//   chains, enough to cover the FMA latency;
//   batch > 1: NVB x BTB, every weight vector loaded once feeds BTB streams.
// The arithmetic of one output does not depend on the tile: acc = (out or 0) + bias, then the
// products in input order; so a stream gets the same numbers in a batch as alone.
#include <stdint.h>
#include <string.h>
#include <type_traits>
#if defined(__AVX512BF16__) || defined(__F16C__)
#include <immintrin.h>
#endif
#include "cpu/simd/synth_kernels.h"
#include "cpu/simd/vec.h"

namespace WN_ISA {
namespace {

// ACC: the most accumulators a batch tile keeps (the rest of the registers hold the NV weight vectors
// and the broadcast input): a tile of BT streams is at most NVB vectors wide and NV x BT <= ACC.
#if defined(__AVX512F__)
constexpr int NV1 = 4, NVB = 4, BTB = 6, ACC = 24;  // 24 zmm accumulators for batches
#elif defined(__AVX2__)
// 8 chains of 8 rows; batch tiles 2 vectors x 6 (or 5) streams and 3 vectors x 4 (or fewer) streams:
// at most 12 ymm accumulators + 3 weights + 1 input. With 2 threads a batch of 16 gives each thread 8
// streams, tiles of 4: 2 vectors wide they kept only 8 FMA chains, just the FMA latency x throughput
// product (4 x 2 on Zen); 3 wide measured 1.03x. (Tiles of at most 4 streams everywhere, 3 x 4 for a
// batch of 16 on one thread, measured 0.96x against 2 x 6/5/5: docs/perf.md.)
constexpr int NV1 = 8, NVB = 3, BTB = 6, ACC = 12;
#else
constexpr int NV1 = 8, NVB = 2, BTB = 4, ACC = 8;  // SSE: 8 xmm chains; 8 accumulators (+ mul temporaries)
#endif
constexpr int NVMAX = NV1 > NVB ? NV1 : NVB;
// The widest batch tile for BT streams.
constexpr int nv_fit(int bt) { return ACC / bt < NVB ? ACC / bt : NVB; }
constexpr int PF = 16;  // prefetch distance of the batch tiles, in panel rows
static_assert(NVMAX * VW <= WN_SYNTH_PANEL, "a tile is at most one panel wide");

// VW weights from fp32 or fp16 (IEEE half) panels; the fp16 form only where F16C is compiled in
// (synth_gemm reads fp16 panels only there).
static inline vf wload(const float *p) { return vload(p); }
#if defined(__F16C__)
static inline vf wload(const uint16_t *p) {
#if defined(__AVX512F__)
  return (vf)_mm512_maskz_cvtph_ps((__mmask16)0xffff,
                                   _mm256_loadu_si256((const __m256i *)p));  // (the unmasked form warns in GCC 12)
#else
  return (vf)_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
#endif
}
#endif

// acc[b][v] += sum_k W[k][16v..] * in[b][k] over one input segment (T: float or fp16 weights).
template <int NV, int BT, typename T>
static inline void kloop(vf (&acc)[BT][NV], const T *__restrict W, int ldw, int K, const float *__restrict in, int ld) {
  constexpr int LINE = 64 / sizeof(T);  // weights per cache line
  for (int k = 0; k < K; ++k) {
    const T *wr = W + (size_t)k * ldw;
    // A batch tile reads a strip of NV*VW rows of a 64-row panel: every k is a jump of one panel
    // row (256 bytes), a pattern the hardware prefetchers follow poorly; the weight load stalled in
    // 43 % of the avx2 batch-16 profile (perf record -e cpu-clock). Prefetch PF rows ahead. (The
    // batch-1 tile reads whole panel rows, one contiguous stream, and needs no help: prefetching there
    // too measured 0.94x on a first-generation EPYC, whose loads are then the bottleneck.)
    if constexpr (BT > 1) {
#pragma GCC unroll 4
      for (int l = 0; l < (NV * VW + LINE - 1) / LINE; ++l) __builtin_prefetch(wr + (size_t)PF * ldw + LINE * l);
    }
    vf w[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) w[v] = wload(wr + VW * v);
#pragma GCC unroll 8
    for (int b = 0; b < BT; ++b) {
      const vf x = vset1(in[(size_t)b * ld + k]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[b][v] += w[v] * x;
    }
  }
}

// out[b][c..c+NV*VW) (+)= bias + W . [in0[b]; in1[b]]
template <int NV, int BT, typename T>
static void micro(const T *__restrict W, int ldw, int k0, const float *__restrict in0, int ld0, int k1,
                  const float *__restrict in1, int ld1, float *__restrict out, int ldo, const float *bias,
                  int accumulate) {
  vf acc[BT][NV];
#pragma GCC unroll 8
  for (int b = 0; b < BT; ++b)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) {
      vf a = accumulate ? vload(out + (size_t)b * ldo + VW * v) : vset1(0.f);
      if (bias) a += vload(bias + VW * v);
      acc[b][v] = a;
    }
  kloop<NV, BT>(acc, W, ldw, k0, in0, ld0);
  if (k1 > 0) kloop<NV, BT>(acc, W + (size_t)k0 * ldw, ldw, k1, in1, ld1);
#pragma GCC unroll 8
  for (int b = 0; b < BT; ++b)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) vstore(out + (size_t)b * ldo + VW * v, acc[b][v]);
}

template <typename T>
using micro_fn = void (*)(const T *, int, int, const float *, int, int, const float *, int, float *, int, const float *,
                          int);

// The kernel tables are constants (built at compile time): code of this ISA must never run before
// dispatch has chosen it, so no dynamic initialiser may live in this file (see native/cpu/dispatch.h).
// t.f[NV - 1][BT - 1] = pick(NV, BT) for every NV <= NVMAX, BT <= BTB (NV and BT as integral_constants,
// so pick can name the template instance; null leaves the entry out).
template <typename Fn>
struct Table {
  Fn f[NVMAX][BTB];
};
template <int NV, int BT, typename Fn, typename Pick>
constexpr void fill_table(Table<Fn> &t, Pick pick) {
  t.f[NV - 1][BT - 1] = pick(std::integral_constant<int, NV>{}, std::integral_constant<int, BT>{});
  if constexpr (BT > 1)
    fill_table<NV, BT - 1>(t, pick);
  else if constexpr (NV > 1)
    fill_table<NV - 1, BTB>(t, pick);
}
template <typename Fn, typename Pick>
constexpr Table<Fn> make_table(Pick pick) {
  Table<Fn> t{};
  fill_table<NVMAX, BTB>(t, pick);
  return t;
}

// Entries: every NV <= NV1 with BT = 1 (batch 1 and panel remainders), every NV <= nv_fit(BT) with
// BT <= BTB.
template <typename T>
constexpr Table<micro_fn<T>> micro_table() {
  return make_table<micro_fn<T>>([](auto nv, auto bt) -> micro_fn<T> {
    if constexpr (bt == 1 || nv <= nv_fit(bt))
      return &micro<nv, bt, T>;
    else
      return nullptr;
  });
}
constexpr Table<micro_fn<float>> micros = micro_table<float>();
#if defined(__F16C__)
constexpr Table<micro_fn<uint16_t>> micros_f16 = micro_table<uint16_t>();
#endif

// tanh(f) * sigmoid(g) with one division: (e - 1) / ((e + 1)(1 + exp(-g))), e = exp(2f).
// f is clamped to [-9, 9] (tanh is +-1 in float beyond) and g to >= -20 (sigmoid < 2.1e-9 below),
// which keeps the denominator finite; the absolute error stays around 1e-7. exp is vec.h's (the
// trainer's), so the incremental and the full forward pass share it.
static inline vf gate_v(vf f, vf g) {
  f = vmin(vmax(f, vset1(-9.f)), vset1(9.f));
  g = vmax(g, vset1(-20.f));
  const vf e = vexp(f + f);
  return (e - 1.0f) / ((e + 1.0f) * (1.0f + vexp(-g)));
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
constexpr Table<micro_bf16_fn> micros_bf16 =
    make_table<micro_bf16_fn>([](auto nv, auto bt) -> micro_bf16_fn { return &micro_bf16<nv, bt>; });
#endif

[[maybe_unused]] static inline float bf16_to_f32(uint16_t h) {  // unused where AVX512-BF16 is compiled in
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
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
      for (int b = 0; b < g.batch; b += BTB) {
        const int bt = g.batch - b < BTB ? g.batch - b : BTB;
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

template <typename T>
static void gemm_panels(const ::wn::SynthGemm &g, const T *wp, const Table<micro_fn<T>> &tab) {
  const int P = WN_SYNTH_PANEL;
  const int K = g.k0 + g.k1;
  // batch 1: the widest single-stream tile; batches: tiles of up to BTB streams (balanced below), as
  // wide as the largest (the first) of them allows
  const int btmax = g.batch == 1 ? 1 : BTB;
  const int tiles0 = (g.batch + btmax - 1) / btmax, bt0 = (g.batch + tiles0 - 1) / tiles0;
  const int nvmax = g.batch == 1 ? NV1 : nv_fit(bt0);
  for (int p0 = 0; p0 < g.mpad; p0 += P) {
    const int w = g.mpad - p0 < P ? g.mpad - p0 : P;  // a multiple of 16, so of VW
    const T *panel = wp + (size_t)p0 * K;
    for (int c = 0; c < w; c += VW * nvmax) {
      const int nv = (w - c) / VW < nvmax ? (w - c) / VW : nvmax;
      for (int b = 0, bt; b < g.batch; b += bt) {
        // balanced tiles: 16 streams as 6 + 5 + 5 and 8 as 4 + 4 rather than 6 + 6 + 4 and 6 + 2 (a
        // narrow tile loads as many weights for fewer FMAs)
        const int left = g.batch - b, tiles = (left + btmax - 1) / btmax;
        bt = (left + tiles - 1) / tiles;
        tab.f[nv - 1][bt - 1](panel + c, w, g.k0, g.in0 + (size_t)b * g.ld0, g.ld0, g.k1,
                              g.in1 ? g.in1 + (size_t)b * g.ld1 : nullptr, g.ld1, g.out + (size_t)b * g.ldo + p0 + c,
                              g.ldo, g.bias ? g.bias + p0 + c : nullptr, g.accumulate);
      }
    }
  }
}

void synth_gemm(const ::wn::SynthGemm &g) {
#if defined(__F16C__)
  if (g.wh) return gemm_panels(g, g.wh, micros_f16);
#endif
  gemm_panels(g, g.w, micros);  // without F16C, w holds the same (fp16-rounded) values
}

void synth_gate(const float *fg, int ldfg, int goff, int d, int batch, float *z, int ldz) {
  for (int b = 0; b < batch; ++b) {
    const float *f = fg + (size_t)b * ldfg, *gg = f + goff;
    float *zb = z + (size_t)b * ldz;
    int j = 0;
    for (; j + VW <= d; j += VW) vstore(zb + j, gate_v(vload(f + j), vload(gg + j)));
    if (j < d) {
      float fb[VW] = {0}, gb[VW] = {0}, zt[VW];
      __builtin_memcpy(fb, f + j, sizeof(float) * (d - j));
      __builtin_memcpy(gb, gg + j, sizeof(float) * (d - j));
      vstore(zt, gate_v(vload(fb), vload(gb)));
      __builtin_memcpy(zb + j, zt, sizeof(float) * (d - j));
    }
  }
}

}  // namespace WN_ISA
