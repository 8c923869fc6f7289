// The plain reference forward pass: the model (README "The model"; tensors in native/include/wavenet.h)
// written as directly as possible (double accumulation, no blocking, no threads). Tests compare every
// fast path against it, and the naive generator of `wavenet bench synth` calls it once per sample.
#include <cmath>
#include <cstring>
#include <vector>
#include "core/error.h"
#include "wavenet.h"
#include "wn_train.h"

static wn_status reference_logits(const wn_config *c, const float *params, const uint8_t *classes, int T, float *out) {
  wn_status st = wn_config_check(c);
  if (st != WN_OK) return st;
  if (T < 1) return wn::fail(WN_ERR_INVALID, "reference_logits: T must be >= 1");
  const int R = c->residual, D = c->dilation, S = c->skip, H = c->head, Q = c->classes;
  wn_layout L;
  wn_layout_get(c, &L);
  for (int t = 0; t < T; ++t)
    if (classes[t] >= Q) return wn::fail(WN_ERR_INVALID, "reference_logits: class out of range");

  // x: T x R, input of the current layer
  std::vector<double> x((size_t)T * R), xn((size_t)T * R), skip((size_t)T * S, 0.0), z(D), fg(2 * D);
  const float *E = params + L.input_embed;  // [2][Q][R]
  const float *bin = params + L.input_bias;
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r) {
      double v = bin[r] + E[(size_t)(1 * Q + classes[t]) * R + r];
      if (t >= 1) v += E[(size_t)(0 * Q + classes[t - 1]) * R + r];
      x[(size_t)t * R + r] = v;
    }

  for (int l = 0; l < c->n_layers; ++l) {
    const int d = c->dilations[l];
    wn_layer_layout LL;
    wn_layer_layout_get(c, l, &LL);
    const float *Wg = params + LL.gate_w, *bg = params + LL.gate_b;
    const float *Ws = params + LL.skip_w, *bs = params + LL.skip_b;
    const float *Wr = params + LL.res_w, *br = params + LL.res_b;
    for (int t = 0; t < T; ++t) {
      const double *past = t - d >= 0 ? &x[(size_t)(t - d) * R] : nullptr;
      const double *cur = &x[(size_t)t * R];
      for (int o = 0; o < 2 * D; ++o) {
        double a = bg[o];
        const float *w = Wg + (size_t)o * 2 * R;
        if (past)
          for (int i = 0; i < R; ++i) a += (double)w[i] * past[i];
        for (int i = 0; i < R; ++i) a += (double)w[R + i] * cur[i];
        fg[o] = a;
      }
      for (int j = 0; j < D; ++j) z[j] = std::tanh(fg[j]) * (1.0 / (1.0 + std::exp(-fg[D + j])));
      for (int s = 0; s < S; ++s) {
        double a = bs[s];
        for (int j = 0; j < D; ++j) a += (double)Ws[(size_t)s * D + j] * z[j];
        skip[(size_t)t * S + s] += a;
      }
      for (int r = 0; r < R; ++r) {
        double a = br[r];
        for (int j = 0; j < D; ++j) a += (double)Wr[(size_t)r * D + j] * z[j];
        xn[(size_t)t * R + r] = cur[r] + a;
      }
    }
    std::swap(x, xn);
  }

  const float *W1 = params + L.head1_w, *b1 = params + L.head1_b;
  const float *W2 = params + L.head2_w, *b2 = params + L.head2_b;
  std::vector<double> h(S), h1(H);
  for (int t = 0; t < T; ++t) {
    for (int s = 0; s < S; ++s) h[s] = std::max(0.0, skip[(size_t)t * S + s]);
    for (int k = 0; k < H; ++k) {
      double a = b1[k];
      for (int s = 0; s < S; ++s) a += (double)W1[(size_t)k * S + s] * h[s];
      h1[k] = std::max(0.0, a);
    }
    for (int q = 0; q < Q; ++q) {
      double a = b2[q];
      for (int k = 0; k < H; ++k) a += (double)W2[(size_t)q * H + k] * h1[k];
      out[(size_t)t * Q + q] = (float)a;
    }
  }
  return WN_OK;
}

extern "C" wn_status wn_reference_logits(const wn_config *c, const float *params, const uint8_t *classes, int T,
                                         float *out) {
  WN_GUARD(reference_logits(c, params, classes, T, out))
}
