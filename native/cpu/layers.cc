// Forward and backward of each layer of the WaveNet, side by side (see cpu/model.h for the shapes and
// the trimmed position ranges). Matrix work goes through wn::sgemm, elementwise work through the
// vectorised epilogues; everything here runs on one thread for one chunk of rows.
#include <algorithm>
#include <cstring>
#include "cpu/gemm.h"
#include "core/positions.h"
#include "cpu/model.h"

namespace wn {
namespace cpu {

Shape make_shape(const wn_config &c, int batch, int window) {
  Shape s;
  s.B = batch;
  s.W = window;
  s.L = c.n_layers;
  s.R = c.residual;
  s.D = c.dilation;
  s.S = c.skip;
  s.H = c.head;
  s.Q = c.classes;
  const CropPositions pos = crop_positions(c, window);
  s.rf = pos.rf;
  s.N = pos.N;
  s.T = pos.T;
  s.start = pos.start;
  s.dil.assign(c.dilations, c.dilations + c.n_layers);
  // Offsets inside one layer's block and inside the head block, from the one layout (wavenet.h).
  wn_layout lay;
  wn_layout_get(&c, &lay);
  wn_layer_layout ll;
  wn_layer_layout_get(&c, 0, &ll);
  s.P = lay.total;
  s.layer_off = {0,
                 ll.gate_b - ll.gate_w,
                 ll.skip_w - ll.gate_w,
                 ll.skip_b - ll.gate_w,
                 ll.res_w - ll.gate_w,
                 ll.res_b - ll.gate_w};
  s.layer_params = ll.res_b + (size_t)s.R - ll.gate_w;
  s.head_off = {0, lay.head1_b - lay.head1_w, lay.head2_w - lay.head1_w, lay.head2_b - lay.head1_w};
  s.head_params = lay.total - lay.head1_w;
  return s;
}

Scratch::Scratch(const Shape &s)
    : fg((size_t)kChunk * 2 * s.D),
      z((size_t)kChunk * s.D),
      dz((size_t)kChunk * s.D),
      h0((size_t)kChunk * s.S),
      dh((size_t)kChunk * s.H),
      dl((size_t)kChunk * s.Q) {}

static void pack(std::vector<float> &out, bool transB, int N, int K, const float *B, int ldb) {
  out.resize(sgemm_packed_size(N, K));
  sgemm_pack(transB, N, K, B, ldb, out.data());
}

void PackedLayer::pack_forward(const Shape &s, const LayerParams &p) {
  pack(gate_past_t, true, 2 * s.D, s.R, p.gate_w, 2 * s.R);
  pack(gate_cur_t, true, 2 * s.D, s.R, p.gate_w + s.R, 2 * s.R);
  pack(res_t, true, s.R, s.D, p.res_w, s.D);
  pack(skip_t, true, s.S, s.D, p.skip_w, s.D);
}

void PackedLayer::pack_backward(const Shape &s, const LayerParams &p) {
  pack(res, false, s.D, s.R, p.res_w, s.D);
  pack(skip, false, s.D, s.S, p.skip_w, s.D);
  pack(gate_cur, false, s.R, 2 * s.D, p.gate_w + s.R, 2 * s.R);
  pack(gate_past, false, s.R, 2 * s.D, p.gate_w, 2 * s.R);
}

void PackedHead::pack_forward(const Shape &s, const HeadParams &p) {
  pack(w1_t, true, s.H, s.S, p.w1, s.S);
  pack(w2_t, true, s.Q, s.H, p.w2, s.H);
}

void PackedHead::pack_backward(const Shape &s, const HeadParams &p) {
  pack(w2, false, s.H, s.Q, p.w2, s.H);
  pack(w1, false, s.S, s.H, p.w1, s.S);
}

// Column sums of a [m][n] block (ld) into out[n] (overwrites, or adds when acc); rows in order.
static void col_sums(int m, int n, const float *a, int ld, float *out, bool acc = false) {
  WN_DISPATCH(col_sums, m, n, a, ld, out, acc);
}

// ------------------------------------------------------------------------------------------ input

void input_forward(const Shape &s, const float *embed, const float *bias, const uint8_t *crop, float *x0) {
  const int R = s.R, Q = s.Q, t0 = s.start[0];
  for (int t = t0; t < s.T; ++t) {
    float *x = x0 + (size_t)(t - t0) * R;
    const float *e1 = embed + ((size_t)Q + crop[t]) * R;
    for (int r = 0; r < R; ++r) x[r] = bias[r] + e1[r];
    if (t >= 1) {
      const float *e0 = embed + (size_t)crop[t - 1] * R;
      for (int r = 0; r < R; ++r) x[r] += e0[r];
    }
  }
}

void input_backward(const Shape &s, const uint8_t *crops, const float *dx0, float *dembed, float *dbias, int r0,
                    int r1) {
  const int R = s.R, Q = s.Q, t0 = s.start[0], len = s.len(0);
  for (int r = r0; r < r1; ++r) dbias[r] = 0.0f;
  for (int k = 0; k < 2 * Q; ++k) std::fill(dembed + (size_t)k * R + r0, dembed + (size_t)k * R + r1, 0.0f);
  for (int b = 0; b < s.B; ++b) {
    const uint8_t *crop = crops + (size_t)b * s.N;
    for (int t = t0; t < s.T; ++t) {
      const float *d = dx0 + ((size_t)b * len + (t - t0)) * R;
      float *e1 = dembed + ((size_t)Q + crop[t]) * R;
      for (int r = r0; r < r1; ++r) {
        e1[r] += d[r];
        dbias[r] += d[r];
      }
      if (t >= 1) {
        float *e0 = dembed + (size_t)crop[t - 1] * R;
        for (int r = r0; r < r1; ++r) e0[r] += d[r];
      }
    }
  }
}

// --------------------------------------------------------------------------------- residual layer

void residual_forward(const Shape &s, int l, const LayerParams &p, const PackedLayer &pk, const float *x, int i0,
                      int i1, float *th, float *sg, float *x_next, float *skip, bool first, Scratch &sc) {
  const int R = s.R, D = s.D, S = s.S, d = s.dil[l], m = i1 - i0, M = s.rows(l);
  float *fg = sc.fg.data(), *z = sc.z.data();
  // f, g = Wg [x(t-d); x(t)]: the past half of the weight columns, then the current half.
  sgemm_prepacked(false, m, 2 * D, R, x + (size_t)i0 * R, R, pk.gate_past_t.data(), fg, 2 * D, false);
  sgemm_prepacked(false, m, 2 * D, R, x + (size_t)(i0 + d) * R, R, pk.gate_cur_t.data(), fg, 2 * D, true);
  WN_DISPATCH(gate_forward, m, D, fg, p.gate_b, th + (size_t)i0 * D, sg + (size_t)i0 * D, z);
  // x_next = x(t) + Wr z + br
  if (x_next) {
    WN_DISPATCH(rows_plus_bias, m, R, x + (size_t)(i0 + d) * R, R, p.res_b, x_next + (size_t)i0 * R, R);
    sgemm_prepacked(false, m, R, D, z, D, pk.res_t.data(), x_next + (size_t)i0 * R, R, true);
  }
  // skip += Ws z + bs on the last W rows
  const int k0 = std::max(i0, M - s.W);
  if (k0 < i1) {
    float *sk = skip + (size_t)(k0 - (M - s.W)) * S;
    const int mk = i1 - k0;
    for (int i = 0; i < mk; ++i) {
      float *row = sk + (size_t)i * S;
      if (first)
        std::memcpy(row, p.skip_b, sizeof(float) * S);
      else
        for (int j = 0; j < S; ++j) row[j] += p.skip_b[j];
    }
    sgemm_prepacked(false, mk, S, D, z + (size_t)(k0 - i0) * D, D, pk.skip_t.data(), sk, S, true);
  }
}

void residual_backward(const Shape &s, int l, const LayerParams & /*p*/, const PackedLayer &pk, const float *x,
                       const float *th, const float *sg, const float *dx_next, const float *dskip, int i0, int i1,
                       float *dfg, float *grad, bool acc, Scratch &sc) {
  const int R = s.R, D = s.D, S = s.S, d = s.dil[l], m = i1 - i0, M = s.rows(l);
  const LayerOffsets &o = s.layer_off;
  float *z = sc.z.data(), *dz = sc.dz.data();
  WN_DISPATCH(gate_product, (long)m * D, th + (size_t)i0 * D, sg + (size_t)i0 * D, z);
  // dz = dx_next Wr (+ dskip Ws on the last W rows); residual weight gradients.
  if (dx_next) {
    const float *dxn = dx_next + (size_t)i0 * R;
    sgemm_prepacked(false, m, D, R, dxn, R, pk.res.data(), dz, D, false);
    sgemm(true, false, R, D, m, dxn, R, z, D, grad + o.res_w, D, acc);
    col_sums(m, R, dxn, R, grad + o.res_b, acc);
  } else {
    std::fill(dz, dz + (size_t)m * D, 0.0f);
    if (!acc) std::fill(grad + o.res_w, grad + o.res_w + (size_t)R * D + R, 0.0f);
  }
  const int k0 = std::max(i0, M - s.W);
  if (k0 < i1) {
    const int mk = i1 - k0;
    const float *ds = dskip + (size_t)(k0 - (M - s.W)) * S;
    sgemm_prepacked(false, mk, D, S, ds, S, pk.skip.data(), dz + (size_t)(k0 - i0) * D, D, true);
    sgemm(true, false, S, D, mk, ds, S, z + (size_t)(k0 - i0) * D, D, grad + o.skip_w, D, acc);
    col_sums(mk, S, ds, S, grad + o.skip_b, acc);
  } else {
    if (!acc) std::fill(grad + o.skip_w, grad + o.skip_w + (size_t)S * D + S, 0.0f);
  }
  // Through the gate, then the dilated convolution's weights.
  float *dfg_rows = dfg + (size_t)i0 * 2 * D;
  WN_DISPATCH(gate_backward, m, D, dz, th + (size_t)i0 * D, sg + (size_t)i0 * D, dfg_rows);
  sgemm(true, false, 2 * D, R, m, dfg_rows, 2 * D, x + (size_t)i0 * R, R, grad + o.gate_w, 2 * R, acc);
  sgemm(true, false, 2 * D, R, m, dfg_rows, 2 * D, x + (size_t)(i0 + d) * R, R, grad + o.gate_w + R, 2 * R, acc);
  col_sums(m, 2 * D, dfg_rows, 2 * D, grad + o.gate_b, acc);
}

void residual_backward_input(const Shape &s, int l, const PackedLayer &pk, const float *dfg, const float *dx_next,
                             int j0, int j1, float *dx) {
  const int R = s.R, D = s.D, d = s.dil[l], M = s.rows(l);
  // Residual path: x_{l+1}(t) = x_l(t) + ..., row j of x_l is position row j - d of x_{l+1}.
  for (int j = j0; j < j1; ++j) {
    float *o = dx + (size_t)j * R;
    if (j >= d && dx_next)
      std::memcpy(o, dx_next + (size_t)(j - d) * R, sizeof(float) * R);
    else
      std::fill(o, o + R, 0.0f);
  }
  // Current tap: rows j >= d get dfg[j - d] Wg[:, R:2R].
  const int ja = std::max(j0, d);
  if (ja < j1)
    sgemm_prepacked(false, j1 - ja, R, 2 * D, dfg + (size_t)(ja - d) * 2 * D, 2 * D, pk.gate_cur.data(),
                    dx + (size_t)ja * R, R, true);
  // Past tap: rows j < M get dfg[j] Wg[:, 0:R].
  const int jb = std::min(j1, M);
  if (j0 < jb)
    sgemm_prepacked(false, jb - j0, R, 2 * D, dfg + (size_t)j0 * 2 * D, 2 * D, pk.gate_past.data(), dx + (size_t)j0 * R,
                    R, true);
}

// ------------------------------------------------------------------------------------------- head

static void relu_rows(int m, int n, const float *in, float *out) {
  for (size_t i = 0; i < (size_t)m * n; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void head_forward(const Shape &s, const HeadParams &p, const PackedHead &pk, const float *skip, const uint8_t *targets,
                  int r0, int r1, float *h1, float *logits, float *row_loss, Scratch &sc) {
  const int S = s.S, H = s.H, Q = s.Q, m = r1 - r0;
  float *h0 = sc.h0.data();
  relu_rows(m, S, skip + (size_t)r0 * S, h0);
  float *h = h1 + (size_t)r0 * H;
  sgemm_prepacked(false, m, H, S, h0, S, pk.w1_t.data(), h, H, false);
  for (int i = 0; i < m; ++i)
    for (int k = 0; k < H; ++k) {
      const float v = h[(size_t)i * H + k] + p.b1[k];
      h[(size_t)i * H + k] = v > 0.0f ? v : 0.0f;
    }
  float *lg = logits + (size_t)r0 * Q;
  sgemm_prepacked(false, m, Q, H, h, H, pk.w2_t.data(), lg, Q, false);
  for (int i = 0; i < m; ++i)
    for (int q = 0; q < Q; ++q) lg[(size_t)i * Q + q] += p.b2[q];
  WN_DISPATCH(softmax_xent, m, Q, lg, targets + r0, row_loss + r0, nullptr, 0.0f);
}

void head_backward(const Shape &s, const HeadParams & /*p*/, const PackedHead &pk, const float *skip, const float *h1,
                   const float *logits, const uint8_t *targets, int r0, int r1, float *dskip, float *grad, bool acc,
                   Scratch &sc) {
  const int S = s.S, H = s.H, Q = s.Q, m = r1 - r0;
  const HeadOffsets &o = s.head_off;
  float *dl = sc.dl.data(), *dh = sc.dh.data(), *h0 = sc.h0.data(), *loss = sc.z.data();
  const float *h = h1 + (size_t)r0 * H, *sk = skip + (size_t)r0 * S;
  WN_DISPATCH(softmax_xent, m, Q, logits + (size_t)r0 * Q, targets + r0, loss, dl, 1.0f / ((float)s.B * s.W));
  sgemm(true, false, Q, H, m, dl, Q, h, H, grad + o.w2, H, acc);
  col_sums(m, Q, dl, Q, grad + o.b2, acc);
  sgemm_prepacked(false, m, H, Q, dl, Q, pk.w2.data(), dh, H, false);
  for (size_t i = 0; i < (size_t)m * H; ++i)
    if (!(h[i] > 0.0f)) dh[i] = 0.0f;
  relu_rows(m, S, sk, h0);
  sgemm(true, false, H, S, m, dh, H, h0, S, grad + o.w1, S, acc);
  col_sums(m, H, dh, H, grad + o.b1, acc);
  float *ds = dskip + (size_t)r0 * S;
  sgemm_prepacked(false, m, S, H, dh, H, pk.w1.data(), ds, S, false);
  for (size_t i = 0; i < (size_t)m * S; ++i)
    if (!(sk[i] > 0.0f)) ds[i] = 0.0f;
}

}  // namespace cpu
}  // namespace wn
