// SIMD kernels of the CPU incremental synthesizer (native/cpu/synth.cc). Compiled once per ISA
// (native/cpu/simd/synth_kernels.cc); call them through WN_DISPATCH.
//
// Packed weights ("panels"): a matrix W[M][K] (out x in) is stored transposed in panels of
// WN_SYNTH_PANEL (64) output rows:  panel p holds rows 64p .. 64p+w-1 as [K][w] (w = 64, or the
// remainder of Mpad for the last panel), so that one input value multiplies w contiguous weights.
// Mpad = M rounded up to a multiple of 16; rows M..Mpad-1 are zero. Panel p starts at 64*p*K floats.
#pragma once
#include <stdint.h>
#include "cpu/dispatch.h"

#define WN_SYNTH_PANEL 64

namespace wn {
struct SynthGemm {
  const float *w;    // packed panels of W[M][K0+K1]
  int mpad;          // M rounded up to a multiple of 16
  int k0, k1;        // the input is two segments: columns 0..k0-1 read in0, k0..k0+k1-1 read in1
  const float *in0;  // batch rows, stride ld0
  const float *in1;  // batch rows, stride ld1 (unused when k1 == 0)
  int ld0, ld1;
  int batch;
  float *out;  // batch rows, stride ldo, mpad columns written
  int ldo;
  const float *bias;  // mpad values or null
  int accumulate;     // 1: out += W.in (+ bias); 0: out = W.in (+ bias)
  // The same panels in fp16 (IEEE half), or null. Where set (variants with F16C only), the kernel
  // reads these instead of w, converting on load: the same arithmetic when w holds the fp16 values.
  const uint16_t *wh;
};
// The same product with bf16 weights and inputs (AVX512-BF16 vdpbf16ps, fp32 accumulation).
// Weights: panels as above but over pairs of inputs: panel p is [Kpairs][w][2] bf16 (input 2i in
// the low half), Kpairs = (k0p + k1p) / 2 with each segment padded to an even length. Inputs: the
// caller converts both segments into one bf16 row per stream: [in0 (k0p), in1 (k1p)], stride ldi
// (in pairs).
struct SynthGemmBf16 {
  const uint16_t *w;
  int mpad;
  int kpairs;
  const uint32_t *in;  // batch rows of bf16 pairs
  int ldi;
  int batch;
  float *out;
  int ldo;
  const float *bias;
  int accumulate;
};
}  // namespace wn

// stage_bf16: dst row b (row bf16 values) = [bf16(in0[b][0..k0)), 0.., bf16(in1[b][0..k1)), 0..]
//             with in1 starting at k0p; round to nearest even
// gemm_bf16: as gemm, from bf16 weights and inputs (a scalar fallback where AVX512-BF16 is absent)
// gemm:   out[b][m] (+)= bias[m] + sum_k W[m][k] * in[b][k] (W from g.wh where set and F16C is compiled in)
// gate:   z[b][j] = tanh(fg[b][j]) * sigmoid(fg[b][goff + j]) for j < d
#define WN_SYNTH_DECL(ns)                                                                                       \
  namespace ns {                                                                                                \
  void synth_gemm(const ::wn::SynthGemm &g);                                                                    \
  void synth_gemm_bf16(const ::wn::SynthGemmBf16 &g);                                                           \
  void synth_stage_bf16(const float *in0, int ld0, int k0, int k0p, const float *in1, int ld1, int k1, int row, \
                        int batch, uint16_t *dst);                                                              \
  void synth_gate(const float *fg, int ldfg, int goff, int d, int batch, float *z, int ldz);                    \
  }
WN_FOR_EACH_ISA(WN_SYNTH_DECL)
