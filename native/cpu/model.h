// The WaveNet (README "The model"; tensors in native/include/wavenet.h) as the CPU trainer computes it: shapes, the
// trimmed position ranges, and the forward and backward of each layer (native/cpu/layers.cc, side by side).
//
// Activations are time-major, one block per example: [B][rows][C]. Positions of a crop are
// t = 0..T-1 (T = N - 1, N = rf + W). Only the positions that reach a loss term are computed:
//   x_l (input of layer l) is kept at positions [start[l], T), len(l) = T - start[l] rows;
//   layer l computes z (and x_{l+1}) at [start[l+1], T), rows(l) = T - start[l+1];
//   start[L] = T - W, start[l] = start[l+1] - d_l, so start[0] = 1 and nothing ever reads before 0.
//   Row i of layer l's output is position start[l+1] + i; its past input x_l(t - d) is row i of x_l,
//   its current input x_l(t) is row i + d. The skip sum and the head use the last W positions only.
// The last layer's residual output is never read, so it is not computed (its gradient is zero).
//
// Row ranges are cut into chunks of at most kChunk rows that never cross examples; chunks (forward)
// or fixed groups of kGroup chunks (backward) are the tasks of wn::pool(). Each backward task sums its
// weight gradients into its own slot, and the slots are summed in task order, so results are
// independent of the thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>
#include "wavenet.h"
#include "wn_train.h"

namespace wn {
namespace cpu {

constexpr int kChunk = 256;
// Backward tasks take kGroup consecutive chunks of one example and sum their weight gradients into
// one slot (fewer slots to reduce); fixed, so slots never depend on the thread count.
constexpr int kGroup = 2;

// Parameters of one residual layer (pointers into the parameter buffer); the gradient of a layer
// has the same layout, starting at gate_w.
struct LayerParams {
  const float *gate_w, *gate_b, *skip_w, *skip_b, *res_w, *res_b;
};
// Offsets (in floats) inside one layer's contiguous block.
struct LayerOffsets {
  size_t gate_w, gate_b, skip_w, skip_b, res_w, res_b;
};
struct HeadParams {
  const float *w1, *b1, *w2, *b2;
};
struct HeadOffsets {
  size_t w1, b1, w2, b2;
};

struct Shape {
  int B, W, N, T, L, R, D, S, H, Q, rf;
  std::vector<int> dil;    // L
  std::vector<int> start;  // L + 1
  size_t P;                // parameter count
  size_t layer_params;     // floats per residual layer (gate_w .. res_b, contiguous)
  size_t head_params;      // head.1.weight .. head.2.bias, contiguous
  LayerOffsets layer_off;  // offsets inside one layer's block (from wn_layer_layout_get)
  HeadOffsets head_off;    // offsets inside the head block (from wn_layout_get)
  int len(int l) const { return T - start[l]; }
  int rows(int l) const { return T - start[l + 1]; }
  // Chunks of `n` rows per example, for all B examples: count, and the range of chunk c.
  int chunks(int n) const { return B * ((n + kChunk - 1) / kChunk); }
  void chunk(int n, int c, int *b, int *i0, int *i1) const {
    const int per = (n + kChunk - 1) / kChunk;
    *b = c / per;
    *i0 = (c % per) * kChunk;
    *i1 = *i0 + kChunk < n ? *i0 + kChunk : n;
  }
};
Shape make_shape(const wn_config &c, int batch, int window);

// The weights of one residual layer packed for wn::sgemm_prepacked (cpu/gemm.h), once per layer and
// pass instead of once per chunk. Forward products are x W^T, backward ones dY W.
struct PackedLayer {
  std::vector<float> gate_past_t, gate_cur_t, res_t, skip_t;  // forward
  std::vector<float> res, skip, gate_cur, gate_past;          // backward
  void pack_forward(const Shape &s, const LayerParams &p);
  void pack_backward(const Shape &s, const LayerParams &p);
};
struct PackedHead {
  std::vector<float> w1_t, w2_t;  // forward
  std::vector<float> w2, w1;      // backward
  void pack_forward(const Shape &s, const HeadParams &p);
  void pack_backward(const Shape &s, const HeadParams &p);
};

// Per-thread scratch for the chunk functions (sized for kChunk rows).
struct Scratch {
  std::vector<float> fg, z, dz, h0, dh, dl;
  explicit Scratch(const Shape &s);
};

// ---- input: width-2 causal convolution of one-hot classes = two embedding lookups
// x0 rows [start[0], T) of example b.
void input_forward(const Shape &s, const float *embed, const float *bias, const uint8_t *crop, float *x0);
// Gradients of embed and bias from dx0 [B][len(0)][R], for columns [r0, r1) (the caller splits R).
void input_backward(const Shape &s, const uint8_t *crops, const float *dx0, float *dembed, float *dbias, int r0,
                    int r1);

// ---- residual layer l: dilated width-2 conv, gate, skip and residual 1x1 projections
// Rows [i0, i1) of example b. x: x_l of the example (len(l) x R); th, sg: the example's gate
// activations (rows(l) x D); x_next: the example's x_{l+1} (rows(l) x R, NULL for the last layer);
// skip: the example's skip sum (W x S), initialised with the bias when `first`.
void residual_forward(const Shape &s, int l, const LayerParams &p, const PackedLayer &pk, const float *x, int i0,
                      int i1, float *th, float *sg, float *x_next, float *skip, bool first, Scratch &sc);
// Backward through z, the gate and the weights for rows [i0, i1): dx_next the example's gradient of
// x_{l+1} (NULL for the last layer), dskip the example's gradient of the skip sum (W x S). Writes the
// example's dfg rows (rows(l) x 2D) and this chunk's weight gradient (layer layout) into grad, or adds
// it there when `accumulate`.
void residual_backward(const Shape &s, int l, const LayerParams &p, const PackedLayer &pk, const float *x,
                       const float *th, const float *sg, const float *dx_next, const float *dskip, int i0, int i1,
                       float *dfg, float *grad, bool accumulate, Scratch &sc);
// Gradient of x_l rows [j0, j1) (of len(l)) from dfg and the residual path.
void residual_backward_input(const Shape &s, int l, const PackedLayer &pk, const float *dfg, const float *dx_next,
                             int j0, int j1, float *dx);

// ---- head: relu, 1x1 conv S->H, relu, 1x1 conv H->Q, softmax cross-entropy
// Rows [r0, r1) of the B*W output rows.
void head_forward(const Shape &s, const HeadParams &p, const PackedHead &pk, const float *skip, const uint8_t *targets,
                  int r0, int r1, float *h1, float *logits, float *row_loss, Scratch &sc);
void head_backward(const Shape &s, const HeadParams &p, const PackedHead &pk, const float *skip, const float *h1,
                   const float *logits, const uint8_t *targets, int r0, int r1, float *dskip, float *grad,
                   bool accumulate, Scratch &sc);

// ---- Adam over the whole parameter buffer, elements [i0, i1); step is the new (1-based) step.
void adam_update(float *p, const float *g, float *m, float *v, size_t i0, size_t i1, const wn_adam_params &a,
                 int64_t step);

}  // namespace cpu
}  // namespace wn
