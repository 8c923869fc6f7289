// Weight storage of the CPU incremental synthesizer (native/cpu/synth.cc): aligned buffers, a matrix
// packed into the panels of native/cpu/simd/synth_kernels.h (fp32, and optionally a bf16 or fp16 copy), and
// packed_gemm(), which runs the product of one packed matrix with a batch of inputs through the
// SIMD kernel of the active variant.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>
#include "cpu/simd/synth_kernels.h"

namespace wn {

static inline int round16(int x) { return (x + 15) & ~15; }

// 64-byte aligned float buffer, zeroed on resize.
class Buf {
 public:
  Buf() = default;
  explicit Buf(size_t n) { resize(n); }
  ~Buf();
  Buf(const Buf &) = delete;
  Buf &operator=(const Buf &) = delete;
  Buf(Buf &&o) noexcept : p_(o.p_), n_(o.n_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  Buf &operator=(Buf &&o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  void resize(size_t n);
  void zero();
  float *data() { return p_; }
  const float *data() const { return p_; }
  size_t size() const { return n_; }

 private:
  float *p_ = nullptr;
  size_t n_ = 0;
};

// A matrix W[M][K] packed in panels (see synth_kernels.h), plus its padded bias.
struct Packed {
  Buf w, bias;
  int m = 0, mpad = 0, k = 0;
  // bf16 copy (when the synth runs in bf16): panels over pairs of inputs, segments padded to even
  std::vector<uint16_t> wb;
  int k0 = 0, k0p = 0, k1p = 0, kpairs = 0;
  // at(m, k) gives W[m][k]; bias_at(m) the bias (or null for none).
  template <class F, class G>
  void pack(int M, int K, F at, G bias_at, bool has_bias) {
    m = M;
    mpad = round16(M);
    k = K;
    w.resize((size_t)mpad * K);
    float *d = w.data();
    for (int p0 = 0; p0 < mpad; p0 += WN_SYNTH_PANEL) {
      const int wd = std::min(WN_SYNTH_PANEL, mpad - p0);
      float *panel = d + (size_t)p0 * K;
      for (int kk = 0; kk < K; ++kk)
        for (int c = 0; c < wd; ++c) panel[(size_t)kk * wd + c] = p0 + c < M ? at(p0 + c, kk) : 0.f;
    }
    if (has_bias) {
      bias.resize(mpad);
      for (int i = 0; i < M; ++i) bias.data()[i] = bias_at(i);
    }
  }
  // fp16 copy (precision fp16 on variants with F16C): the panels of w as IEEE halves
  std::vector<uint16_t> wh;
  // Builds the bf16 panels from the fp32 ones; the input is two segments: columns < seg0 and the rest.
  void make_bf16(int seg0);
  static uint16_t to_bf16(float f);  // round to nearest even
  // Whether every weight is within fp16's range (|w| <= 65504).
  bool fits_fp16() const;
  // Rounds the weights (not the bias) to fp16 in place; with halves, keeps them as fp16 in wh instead
  // (w is freed: only variants with F16C, which read wh, may ask for halves).
  void make_fp16(bool halves);
  static uint16_t to_fp16(float f);  // round to nearest even; subnormals kept; |f| within range
  static float from_fp16(uint16_t h);
};

// out[b][0..mpad) (+)= (bias) + P.W . [in0[b][0..k0); in1[b][0..k1)] for b < batch. stage: null for
// fp32 and fp16 (the fp16 panels are used where P.wh holds them), else a scratch row of at least
// batch * (P.kpairs + 1) words: the bf16 weights are used and the inputs converted there first.
void packed_gemm(const Packed &P, const float *in0, int ld0, int k0, const float *in1, int ld1, int k1, int batch,
                 float *out, int ldo, bool use_bias, bool accumulate, uint32_t *stage = nullptr);

}  // namespace wn
