// Packed weights of the CPU synthesizer: see native/cpu/synth_pack.h.
#include "cpu/synth_pack.h"
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include "core/platform.h"

namespace wn {

Buf::~Buf() { std::free(p_); }

void Buf::resize(size_t n) {
  std::free(p_);
  p_ = nullptr;
  n_ = n;
  if (n == 0) return;
  size_t bytes = ((n * sizeof(float)) + 63) & ~(size_t)63;
  p_ = static_cast<float *>(aligned_malloc(64, bytes));
  if (!p_) throw std::bad_alloc();
  std::memset(p_, 0, bytes);
}

void Buf::zero() {
  if (p_) std::memset(p_, 0, n_ * sizeof(float));
}

void Packed::make_bf16(int seg0) {
  k0 = seg0;
  k0p = (seg0 + 1) & ~1;
  k1p = (k - seg0 + 1) & ~1;
  kpairs = (k0p + k1p) / 2;
  wb.assign((size_t)mpad * kpairs * 2, 0);
  for (int p0 = 0; p0 < mpad; p0 += WN_SYNTH_PANEL) {
    const int wd = std::min(WN_SYNTH_PANEL, mpad - p0);
    const float *src = w.data() + (size_t)p0 * k;
    uint16_t *dst = wb.data() + (size_t)p0 * kpairs * 2;
    for (int kk = 0; kk < kpairs; ++kk)
      for (int h = 0; h < 2; ++h) {
        const int ip = 2 * kk + h;
        const int col = ip < k0p ? (ip < seg0 ? ip : -1) : (ip - k0p < k - seg0 ? seg0 + ip - k0p : -1);
        for (int c = 0; c < wd; ++c)
          dst[((size_t)kk * wd + c) * 2 + h] = col < 0 ? 0 : to_bf16(src[(size_t)col * wd + c]);
      }
  }
}

uint16_t Packed::to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

bool Packed::fits_fp16() const {
  const float *d = w.data();
  for (size_t i = 0; i < w.size(); ++i)
    if (!(std::fabs(d[i]) <= 65504.f)) return false;
  return true;
}

void Packed::make_fp16(bool halves) {
  float *d = w.data();
  if (halves) wh.resize(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    const uint16_t h = to_fp16(d[i]);
    d[i] = from_fp16(h);
    if (halves) wh[i] = h;
  }
  if (halves) w.resize(0);  // the kernels read wh from now on: the fp32 panels would only take memory
}

uint16_t Packed::to_fp16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  u &= 0x7fffffffu;
  if (u >= 0x477ff000u) return (uint16_t)(sign | 0x7bffu);  // 65504 at most (callers check the range)
  if (u < 0x38800000u) {  // below 2^-14: a subnormal half (or 0): the value in units of 2^-24 (an exact
    float a;              // scaling), rounded to nearest even
    std::memcpy(&a, &u, 4);
    return (uint16_t)(sign | (uint16_t)std::nearbyint(a * 16777216.f));
  }
  // normal: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even
  const uint32_t rounded = u + 0xfffu + ((u >> 13) & 1u);
  return (uint16_t)(sign | (uint16_t)((rounded - 0x38000000u) >> 13));
}

float Packed::from_fp16(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  float f;
  uint32_t u;
  if (e == 0) {  // subnormal (or 0): m * 2^-24, exact
    f = (float)m * (1.f / 16777216.f);
    std::memcpy(&u, &f, 4);
    u |= sign;
  } else {
    u = sign | (e == 31 ? 0x7f800000u | (m << 13) : ((e + 112u) << 23) | (m << 13));
  }
  std::memcpy(&f, &u, 4);
  return f;
}

// Converts the two input segments of every stream into bf16 pairs: row b = [in0 (k0p), in1 (k1p)].
static inline void stage_bf16(const Packed &P, const float *in0, int ld0, int k0, const float *in1, int ld1, int k1,
                              int batch, uint32_t *dst) {
  WN_DISPATCH(synth_stage_bf16, in0, ld0, k0, P.k0p, in1, ld1, k1, 2 * P.kpairs, batch,
              reinterpret_cast<uint16_t *>(dst));
}

// The fields SynthGemm and SynthGemmBf16 share: rows, batch, output and the bias / accumulate choice.
template <typename G>
static void set_output(G &g, const Packed &P, int batch, float *out, int ldo, bool use_bias, bool accumulate) {
  g.mpad = P.mpad;
  g.batch = batch;
  g.out = out;
  g.ldo = ldo;
  g.bias = use_bias && P.bias.size() ? P.bias.data() : nullptr;
  g.accumulate = accumulate ? 1 : 0;
}

void packed_gemm(const Packed &P, const float *in0, int ld0, int k0, const float *in1, int ld1, int k1, int batch,
                 float *out, int ldo, bool use_bias, bool accumulate, uint32_t *stage) {
  if (stage) {  // bf16
    stage_bf16(P, in0, ld0, k0, in1, ld1, k1, batch, stage);
    SynthGemmBf16 g;
    set_output(g, P, batch, out, ldo, use_bias, accumulate);
    g.w = P.wb.data();
    g.kpairs = P.kpairs;
    g.in = stage;
    g.ldi = P.kpairs;
    WN_DISPATCH(synth_gemm_bf16, g);
    return;
  }
  SynthGemm g;
  set_output(g, P, batch, out, ldo, use_bias, accumulate);
  g.w = P.w.data();
  g.k0 = k0;
  g.k1 = k1;
  g.in0 = in0;
  g.in1 = in1;
  g.ld0 = ld0;
  g.ld1 = ld1;
  g.wh = P.wh.empty() ? nullptr : P.wh.data();
  WN_DISPATCH(synth_gemm, g);
}

}  // namespace wn
