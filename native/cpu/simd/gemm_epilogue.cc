// Elementwise kernels that follow the GEMMs (declared in cpu/gemm.h), vectorised per instruction set:
// the gated activation and its derivative, and the softmax cross-entropy of the head.
// A row tail shorter than a vector goes through the same vector code on a zero-padded copy, so every
// element gets the same arithmetic wherever it sits.
#include <cmath>
#include "cpu/gemm.h"
#include "cpu/simd/vec.h"

namespace WN_ISA {
namespace {
inline vf vtanh(vf x) {
  const vf ax = vmax(x, -x);
  const vf e = vexp(ax * 2.0f);
  const vf big = 1.0f - 2.0f / (e + 1.0f);
  // Near 0 the form above loses relative precision; use the odd Taylor series up to x^9 there.
  const vf x2 = x * x;
  vf p = vset1(62.0f / 2835.0f);
  p = p * x2 - (17.0f / 315.0f);
  p = p * x2 + (2.0f / 15.0f);
  p = p * x2 - (1.0f / 3.0f);
  p = p * x2 + 1.0f;
  const vf small = p * x;
  const vf signed_big = x < 0.0f ? -big : big;
  return ax < 0.25f ? small : signed_big;
}
inline vf vsigmoid(vf x) { return 1.0f / (1.0f + vexp(-x)); }

template <class F>
inline void rows_apply(int n, F &&f) {
  int j = 0;
  for (; j + VW <= n; j += VW) f(j, VW);
  if (j < n) f(j, n - j);
}
inline vf vload_n(const float *p, int n) {
  if (n == VW) return vload(p);
  alignas(64) float t[VW] = {};
  for (int i = 0; i < n; ++i) t[i] = p[i];
  return vload(t);
}
inline void vstore_n(float *p, vf v, int n) {
  if (n == VW) return vstore(p, v);
  alignas(64) float t[VW];
  vstore(t, v);
  for (int i = 0; i < n; ++i) p[i] = t[i];
}
}  // namespace

void gate_forward(int m, int D, const float *fg, const float *bias, float *th, float *sg, float *z) {
  for (int i = 0; i < m; ++i) {
    const float *f = fg + (size_t)i * 2 * D, *g = f + D;
    float *t = th + (size_t)i * D, *s = sg + (size_t)i * D, *zz = z + (size_t)i * D;
    rows_apply(D, [&](int j, int n) {
      const vf tv = vtanh(vload_n(f + j, n) + vload_n(bias + j, n));
      const vf sv = vsigmoid(vload_n(g + j, n) + vload_n(bias + D + j, n));
      vstore_n(t + j, tv, n);
      vstore_n(s + j, sv, n);
      vstore_n(zz + j, tv * sv, n);
    });
  }
}

void gate_backward(int m, int D, const float *dz, const float *th, const float *sg, float *dfg) {
  for (int i = 0; i < m; ++i) {
    const float *d = dz + (size_t)i * D, *t = th + (size_t)i * D, *s = sg + (size_t)i * D;
    float *df = dfg + (size_t)i * 2 * D, *dg = df + D;
    rows_apply(D, [&](int j, int n) {
      const vf dv = vload_n(d + j, n), tv = vload_n(t + j, n), sv = vload_n(s + j, n);
      vstore_n(df + j, dv * sv * (1.0f - tv * tv), n);
      vstore_n(dg + j, dv * tv * sv * (1.0f - sv), n);
    });
  }
}

void gate_product(long n, const float *th, const float *sg, float *z) {
  long j = 0;
  for (; j + VW <= n; j += VW) vstore(z + j, vload(th + j) * vload(sg + j));
  for (; j < n; ++j) z[j] = th[j] * sg[j];
}

void col_sums(int m, int n, const float *a, int ld, float *out, bool accumulate) {
  rows_apply(n, [&](int j, int w) {
    vf s = accumulate ? vload_n(out + j, w) : vf{};
    for (int i = 0; i < m; ++i) s += vload_n(a + (size_t)i * ld + j, w);
    vstore_n(out + j, s, w);
  });
}

void rows_plus_bias(int m, int n, const float *src, int lds, const float *bias, float *dst, int ldd) {
  for (int i = 0; i < m; ++i) {
    const float *s = src + (size_t)i * lds;
    float *d = dst + (size_t)i * ldd;
    rows_apply(n, [&](int j, int w) { vstore_n(d + j, vload_n(s + j, w) + vload_n(bias + j, w), w); });
  }
}

void softmax_xent(int m, int Q, const float *logits, const unsigned char *targets, float *loss, float *dlogits,
                  float scale) {
  for (int i = 0; i < m; ++i) {
    const float *x = logits + (size_t)i * Q;
    float mx = x[0];
    for (int q = 1; q < Q; ++q) mx = x[q] > mx ? x[q] : mx;
    vf acc = vf{};
    rows_apply(Q, [&](int j, int n) {
      vf e = vexp(vload_n(x + j, n) - mx);
      if (n < VW) {
        alignas(64) float t[VW];
        vstore(t, e);
        for (int k = n; k < VW; ++k) t[k] = 0.0f;
        e = vload(t);
      }
      acc += e;
    });
    alignas(64) float lanes[VW];
    vstore(lanes, acc);
    double sum = 0.0;
    for (int k = 0; k < VW; ++k) sum += lanes[k];
    const int tgt = targets[i];
    loss[i] = (float)(std::log(sum) + mx - x[tgt]);
    if (dlogits) {
      float *d = dlogits + (size_t)i * Q;
      const float inv = (float)(1.0 / sum) * scale;
      rows_apply(Q, [&](int j, int n) { vstore_n(d + j, vexp(vload_n(x + j, n) - mx) * inv, n); });
      d[tgt] -= scale;
    }
  }
}
}  // namespace WN_ISA
