// The sampling rule of incremental synthesis, in one place for the CPU (native/cpu/synth.cc) and the
// CUDA kernel (native/cuda/synth.cu): both call these functions (__host__ __device__ under nvcc), so
// the two backends cannot drift apart. The random number u comes from wn_uniform (core/rng.h).
//
// For the logits l[0..Q-1] of one stream, temperature T, nucleus mass p (top_p) and top_k:
//   1. m = max l, `best` = the lowest class holding it. T == 0: the sample is `best`.
//   2. w[q] = exp((l[q] - m) / T)                                            (wn_sample_weight)
//   3. the cut: the classes are taken in order of decreasing w, their w added in that order (float),
//      until that mass reaches p * sum(w) (sum in class order) or k classes are taken; tau = the w of
//      the last one taken. The kept set is { q : w[q] >= tau } (so classes tied with the last one
//      taken are kept too). No cut (p >= 1 and k == 0 or k >= Q) gives tau = 0: every class is kept.
//      Two implementations of this one rule: wn_sample_cut_heap (a heap, one class at a time; the
//      CUDA kernel's, small stack) and wn_sample_cut (grouped by exponent; the CPU's, 3x faster on a
//      trained model); they give the same tau bit for bit (native/test/core_test.cc "sample-cut").
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

// Step 3 one class at a time: the threshold tau (0 = no cut). heap: scratch of Q floats. A max-heap
// of the weights pops the largest first: O(Q + k log Q) for k classes taken, with a hard-to-predict
// branch per level. The CUDA kernel's cut (one lane, a small stack); the CPU runs wn_sample_cut
// below, which gives the same tau (native/test/core_test.cc compares them).
WN_HD float wn_sample_cut_heap(const float *w, int Q, float total, float top_p, int top_k, float *heap) {
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

// Sorts v[0..n) into decreasing order (insertion sort: the groups it gets are small).
WN_HD void wn_sample_sort_desc(float *v, int n) {
  for (int i = 1; i < n; ++i) {
    const float x = v[i];
    int j = i - 1;
    for (; j >= 0 && v[j] < x; --j) v[j + 1] = v[j];
    v[j + 1] = x;
  }
}

// The bits of a weight (>= 0, so the bits order the weights as their values do).
WN_HD unsigned wn_sample_bits(float x) {
  union {
    float f;
    unsigned u;
  } c;
  c.f = x;
  return c.u;
}

// Moves the n weights of src into dst grouped by the byte (bits >> shift) & 255, highest byte first:
// group b is dst[at[b], b > 0 ? at[b - 1] : n).
WN_HD void wn_sample_group(const float *src, int n, int shift, float *dst, int *at) {
  int cnt[256];
  for (int b = 0; b < 256; ++b) cnt[b] = 0;
  for (int i = 0; i < n; ++i) ++cnt[(wn_sample_bits(src[i]) >> shift) & 255u];
  int pos = 0;
  for (int b = 255; b >= 0; --b) {
    at[b] = pos;
    pos += cnt[b];
  }
  for (int b = 0; b < 256; ++b) cnt[b] = at[b];  // now the next free slot of each group
  for (int i = 0; i < n; ++i) dst[cnt[(wn_sample_bits(src[i]) >> shift) & 255u]++] = src[i];
}

// Sorts the group g[0..n) and takes its weights in decreasing order (tau, the running sum, the count);
// true once the cut is reached.
WN_HD bool wn_sample_take(float *g, int n, float need, int kmax, float *acc, float *tau, int *taken) {
  wn_sample_sort_desc(g, n);
  for (int i = 0; i < n; ++i) {
    *tau = g[i];
    *acc += g[i];
    if (*acc >= need || ++*taken >= kmax) return true;
  }
  return false;
}

// Takes the weights v[0..n) in decreasing order until the cut (true once reached): a few are sorted;
// more are grouped by exponent into tmp (v is then free), a large group again by the mantissa's top
// 8 bits back into v, and the groups the walk reaches are sorted.
WN_HD bool wn_sample_walk(float *v, int n, float *tmp, float need, int kmax, float *acc, float *tau, int *taken) {
  if (n <= 16) return n > 0 && wn_sample_take(v, n, need, kmax, acc, tau, taken);
  int at[256], sub[256];
  wn_sample_group(v, n, 23, tmp, at);
  for (int e = 255; e >= 0; --e) {
    const int ne = (e > 0 ? at[e - 1] : n) - at[e];
    if (ne <= 16) {
      if (ne > 0 && wn_sample_take(tmp + at[e], ne, need, kmax, acc, tau, taken)) return true;
      continue;
    }
    float *fine = v + at[e];
    wn_sample_group(tmp + at[e], ne, 15, fine, sub);
    for (int m = 255; m >= 0; --m) {
      const int nm = (m > 0 ? sub[m - 1] : ne) - sub[m];
      if (nm > 0 && wn_sample_take(fine + sub[m], nm, need, kmax, acc, tau, taken)) return true;
    }
  }
  return false;
}

// Step 3: the threshold tau (0 = no cut). scratch: 3 * Q floats. The weights are taken in decreasing
// order without sorting them all: first the ones from 1/64 up (the largest weight is 1, the top
// class's: a trained model's distribution usually puts the cut among a handful of them), then the
// rest, each set by wn_sample_walk. The walk stops at the cut: the same float additions in the same
// order (ties are equal values) as taking the largest remaining weight each time, so the same tau.
// Bundled model, top-p 0.95: 2.8 classes kept on average; see docs/perf.md for the times.
WN_HD float wn_sample_cut(const float *w, int Q, float total, float top_p, int top_k, float *scratch) {
  if (!wn_sample_cuts(Q, top_p, top_k)) return 0.f;
  const int kmax = top_k > 0 && top_k < Q ? top_k : Q;
  const float need = top_p < 1.f ? top_p * total : INFINITY;
  float *big = scratch, *small = scratch + Q, *tmp = scratch + 2 * Q;
  int nb = 0, ns = 0;
  for (int q = 0; q < Q; ++q) {  // both stores, one count moves: no branch to mispredict
    const float x = w[q];
    const int b = x >= 0.015625f;
    big[nb] = x;
    small[ns] = x;
    nb += b;
    ns += 1 - b;
  }
  float acc = 0.f, tau = 0.f;
  int taken = 0;
  if (!wn_sample_walk(big, nb, tmp, need, kmax, &acc, &tau, &taken))
    wn_sample_walk(small, ns, tmp, need, kmax, &acc, &tau, &taken);
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

// Total of the weights, in class order (the sum the cut's mass is a share of).
WN_HD float wn_sample_total(const float *w, int Q) {
  float total = 0.f;
  for (int q = 0; q < Q; ++q) total += w[q];
  return total;
}

// Steps 3 and 4 from the weights of step 2 with the heap cut (the CUDA kernel's; w: Q floats; heap:
// scratch of Q floats). wn_sample below is the same with wn_sample_cut.
WN_HD int wn_sample_from_weights(const float *w, int Q, float top_p, int top_k, float u, int best, float *heap) {
  const float tau =
      wn_sample_cuts(Q, top_p, top_k) ? wn_sample_cut_heap(w, Q, wn_sample_total(w, Q), top_p, top_k, heap) : 0.f;
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
  float w[WN_SAMPLE_MAX_CLASSES], scratch[3 * WN_SAMPLE_MAX_CLASSES];
  const float inv = 1.0f / temperature;
  for (int q = 0; q < Q; ++q) w[q] = wn_sample_weight(lg[q], m, inv);
  const float tau =
      wn_sample_cuts(Q, top_p, top_k) ? wn_sample_cut(w, Q, wn_sample_total(w, Q), top_p, top_k, scratch) : 0.f;
  return wn_sample_pick(w, Q, tau, u, best);
}
