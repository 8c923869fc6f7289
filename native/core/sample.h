// The sampling rule of incremental synthesis, in one place for the CPU (native/cpu/synth.cc) and the
// CUDA kernel (native/cuda/synth.cu): both call these functions (__host__ __device__ under nvcc), so
// the two backends cannot drift apart. The random number u comes from wn_uniform (core/rng.h).
//
// For the logits l[0..Q-1] of one stream, temperature T, nucleus mass p (top_p) and top_k:
//   1. m = max l, `best` = the lowest class holding it. T == 0: the sample is `best`.
//   2. w[q] = exp((l[q] - m) / T)                                            (wn_sample_weight)
//   3. the cut (wn_sample_cut): the classes are taken in order of decreasing w until their mass reaches
//      p * sum(w) (sum in class order) or k classes are taken; tau = the w of the last one taken. The
//      kept set is { q : w[q] >= tau } (so classes tied with the last one taken are kept too). No cut
//      (p >= 1 and k == 0 or k >= Q) gives tau = 0: every class is kept.
//   4. inverse CDF over the kept classes in class order 0..Q-1: the first q with
//      u * sum_kept(w) < w[kept 0] + ... + w[q]; the last kept class with w > 0 when rounding leaves
//      none (wn_sample_pick).
// With no cut this is exactly the rule before top-p/top-k existed, so old seeds give the same audio.
#pragma once
#include <math.h>
#include "core/rng.h"

#define WN_SAMPLE_MAX_CLASSES 256

// Step 2, one class.
WN_HD float wn_sample_weight(float l, float m, float inv_temperature) { return expf((l - m) * inv_temperature); }

// Whether (top_p, top_k) cuts anything for Q classes.
WN_HD bool wn_sample_cuts(int Q, float top_p, int top_k) { return top_p < 1.f || (top_k > 0 && top_k < Q); }

// Max-heap of n floats: moves heap[j] down to its place.
WN_HD void wn_sample_sift(float *heap, int n, int j) {
  for (;;) {
    int c = 2 * j + 1;
    if (c >= n) break;
    if (c + 1 < n && heap[c + 1] > heap[c]) ++c;
    if (!(heap[c] > heap[j])) break;
    const float t = heap[c];
    heap[c] = heap[j];
    heap[j] = t;
    j = c;
  }
}

// Step 3: the threshold tau (0 = no cut). heap: scratch of Q floats. A max-heap of the weights pops
// the largest first: O(Q + k log Q) for k classes taken.
WN_HD float wn_sample_cut(const float *w, int Q, float total, float top_p, int top_k, float *heap) {
  if (!wn_sample_cuts(Q, top_p, top_k)) return 0.f;
  int n = Q;
  for (int q = 0; q < Q; ++q) heap[q] = w[q];
  for (int i = n / 2 - 1; i >= 0; --i) {  // heapify
    wn_sample_sift(heap, n, i);
  }
  const int kmax = top_k > 0 && top_k < Q ? top_k : Q;
  const float need = top_p < 1.f ? top_p * total : INFINITY;
  float acc = 0.f, tau = 0.f;
  for (int taken = 0; taken < kmax && n > 0; ++taken) {
    tau = heap[0];
    acc += tau;
    heap[0] = heap[--n];  // pop
    wn_sample_sift(heap, n, 0);
    if (acc >= need) break;
  }
  return tau;
}

// Step 4 over the weights with threshold tau; `best` is the fallback when no weight is positive.
WN_HD int wn_sample_pick(const float *w, int Q, float tau, float u, int best) {
  float total = 0.f;
  for (int q = 0; q < Q; ++q)
    if (w[q] >= tau) total += w[q];
  const float target = u * total;
  float acc = 0.f;
  int last = best;
  for (int q = 0; q < Q; ++q) {
    if (!(w[q] >= tau)) continue;
    acc += w[q];
    if (w[q] > 0.f) last = q;
    if (target < acc) return q;
  }
  return last;
}

// Steps 3 and 4 from the weights of step 2 (w: Q floats; heap: scratch of Q floats).
WN_HD int wn_sample_from_weights(const float *w, int Q, float top_p, int top_k, float u, int best, float *heap) {
  float tau = 0.f;
  if (wn_sample_cuts(Q, top_p, top_k)) {
    float total = 0.f;
    for (int q = 0; q < Q; ++q) total += w[q];
    tau = wn_sample_cut(w, Q, total, top_p, top_k, heap);
  }
  return wn_sample_pick(w, Q, tau, u, best);
}

// The whole rule on one thread (the CPU path). Q <= WN_SAMPLE_MAX_CLASSES.
WN_HD int wn_sample(const float *lg, int Q, float temperature, float top_p, int top_k, float u) {
  int best = 0;
  float m = lg[0];
  for (int q = 1; q < Q; ++q)
    if (lg[q] > m) {
      m = lg[q];
      best = q;
    }
  if (temperature == 0.f) return best;
  float w[WN_SAMPLE_MAX_CLASSES], heap[WN_SAMPLE_MAX_CLASSES];
  const float inv = 1.0f / temperature;
  for (int q = 0; q < Q; ++q) w[q] = wn_sample_weight(lg[q], m, inv);
  return wn_sample_from_weights(w, Q, top_p, top_k, u, best, heap);
}
