// The WaveNet's layers on the GPU, forward and backward side by side, named like the CPU trainer's
// (native/cpu/model.h): input_forward/backward, residual_forward/backward/backward_input,
// skip_forward/backward (the CPU folds the skip projection into residual_*; here the skip
// projections of all layers are one product over the concatenated z, see below), head_forward/backward,
// softmax_xent, adam_update.
//
// Shapes (device buffers, row-major, fp32):
//   crops   [B][N] uint8                 N = rf + W, T = N - 1 positions per example
//   X       [L][B][T][R]                 x_l (input of layer l) at positions [start[l], T), else 0
//   TS      [L][B][T][2D]                tanh(f) and sigmoid(g) interleaved: [.., 2j] = th_j, [.., 2j+1] = sg_j
//   Z       [L][B][T][D]                 z_l = th * sg at positions [start[l+1], T), else 0
//   skip    [B*W][S]                     skip sum before the ReLU (last W positions)
//   h1      [B*W][H], logits/dlogits [B*W][Q], row_loss [B*W]
//   dsk     [B*W][S], da1 [B*W][H], dzl [B*W][L*D] (gradient of z from the skip path)
//   dfg     [B*rows(l)][2D]              gradient of the gate pre-activations (f then g) of layer l
//   dX, dXn [B][T][R]                    gradient of x_l and of x_{l+1}
// Position ranges (the same as the CPU's): start[L] = T - W, start[l] = start[l+1] - d_l (start[0] = 1);
// layer l reads x_l at [start[l], T) and computes z, x_{l+1} at [start[l+1], T).
//
// The gate pre-activations never reach memory: the gate product's epilogue applies tanh/sigmoid and
// writes th, sg (needed by the backward) and z (needed by the residual/skip products and the weight
// gradients). All weight gradients are split-K products with a fixed-order reduction.
#pragma once
#include <stdint.h>
#include "cuda/common.cuh"
#include "cuda/gemm.cuh"

namespace wn {
namespace cuda {

// Row m of a per-example range [s, T) of positions: example b, position p.
struct RowRange {
  int T, s, len;  // len = T - s
  __device__ __forceinline__ void at(int m, int &b, int &p) const {
    b = m / len;
    p = s + (m - b * len);
  }
};

// ------------------------------------------------------------------------------------------------
// input: width-2 causal convolution of one-hot classes = two embedding lookups
//   x0[b][p][r] = bias[r] + E[1][c[p]][r] + (p >= 1 ? E[0][c[p-1]][r] : 0)   for p in [start0, T)

__global__ void input_forward_kernel(const uint8_t *crops, const float *E, const float *bias, float *X0, int B, int N,
                                     int T, int start0, int R, int Q) {
  const int len = T - start0;
  const size_t total = (size_t)B * len * R;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
    const int r = (int)(i % R);
    const size_t row = i / R;
    const int b = (int)(row / len), p = start0 + (int)(row % len);
    const uint8_t *c = crops + (size_t)b * N;
    float v = bias[r] + E[((size_t)Q + c[p]) * R + r];
    if (p >= 1) v += E[(size_t)c[p - 1] * R + r];
    X0[((size_t)b * T + p) * R + r] = v;
  }
}

// Gradient of E and bias: block (q, chunk) sums, for class q, dx0 over the positions of its chunk in
// order; q == Q is the bias (every position). partial[chunk][q][2][R] (tap 0 then tap 1; the bias uses
// tap 1). input_backward_reduce adds the chunks in order. No atomics.
__global__ void input_backward_kernel(const uint8_t *crops, const float *dX0, float *partial, int B, int N, int T,
                                      int start0, int R, int Q, int chunk_rows) {
  const int q = blockIdx.x, ch = blockIdx.y;
  const int len = T - start0;
  const int total = B * len;
  const int r0 = ch * chunk_rows, r1 = min(total, r0 + chunk_rows);
  float *out = partial + ((size_t)ch * (Q + 1) + q) * 2 * R;
  for (int r = threadIdx.x; r < R; r += blockDim.x) {
    float s0 = 0.f, s1 = 0.f;
    for (int row = r0; row < r1; ++row) {
      const int b = row / len, p = start0 + row % len;
      const uint8_t *c = crops + (size_t)b * N;
      const float g = dX0[((size_t)b * T + p) * R + r];
      if (q == Q) {
        s1 += g;
      } else {
        if (c[p] == q) s1 += g;
        if (p >= 1 && c[p - 1] == q) s0 += g;
      }
    }
    out[r] = s0;
    out[R + r] = s1;
  }
}

__global__ void input_backward_reduce_kernel(const float *partial, int chunks, int R, int Q, float *dE, float *dbias) {
  const int per = (Q + 1) * 2 * R;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < per; i += gridDim.x * blockDim.x) {
    float s = 0.f;
    for (int c = 0; c < chunks; ++c) s += partial[(size_t)c * per + i];
    const int q = i / (2 * R), tap = (i / R) % 2, r = i % R;
    if (q < Q)
      dE[((size_t)tap * Q + q) * R + r] = s;
    else if (tap == 1)
      dbias[r] = s;
  }
}

// ------------------------------------------------------------------------------------------------
// residual layer l, forward: fg = Wg [x(t-d); x(t)] + bg; th = tanh(f), sg = sigmoid(g), z = th*sg;
// x_{l+1} = x + Wr z + br. (Skip projections: skip_forward.)

// A(m, k): the gate input of output row m: k < R reads x(t-d), k >= R reads x(t).
struct GateInputLoader {
  static constexpr bool kFastK = true;
  const float *X;  // x_l [B][T][R]
  RowRange rows;
  int R, d;
  __device__ float operator()(int m, int k) const {
    int b, p;
    rows.at(m, b, p);
    if (k < R) return p - d >= 0 ? X[((size_t)b * T() + p - d) * R + k] : 0.f;
    return X[((size_t)b * T() + p) * R + (k - R)];
  }
  __device__ int T() const { return rows.T; }
};

// B(k, n) = Wg[o][k] where output column n interleaves f and g: n = 2j -> f_j, n = 2j+1 -> g_j, so that
// every thread of the GEMM holds (f_j, g_j) pairs for the gating epilogue.
struct GateWeightLoader {
  static constexpr bool kFastK = true;
  const float *Wg;  // [2D][2R]
  int D, R;
  __device__ float operator()(int k, int n) const {
    const int o = (n & 1) ? D + (n >> 1) : (n >> 1);
    return Wg[(size_t)o * 2 * R + k];
  }
};

struct GateForwardEP {
  const float *bg;  // [2D]
  float *TS, *Z;    // layer l's [B][T][2D], [B][T][D]
  RowRange rows;
  int D;
  __device__ void row4(int m, int n, const float *v, int) const {
    int b, p;
    rows.at(m, b, p);
    const size_t pos = (size_t)b * rows.T + p;
#pragma unroll
    for (int j = 0; j < 4; j += 2) {
      if (n + j >= 2 * D) break;
      const int c = (n + j) >> 1;
      const float th = tanhf(v[j] + bg[c]);
      const float sg = 1.f / (1.f + expf(-(v[j + 1] + bg[D + c])));
      TS[pos * 2 * D + 2 * c] = th;
      TS[pos * 2 * D + 2 * c + 1] = sg;
      Z[pos * D + c] = th * sg;
    }
  }
};

// Plain row-major activation rows of a range: A(m, k) = buf[(b*T + p)*C + k].
struct RangeRowLoader {
  static constexpr bool kFastK = true;
  const float *buf;
  RowRange rows;
  int C;
  __device__ float operator()(int m, int k) const {
    int b, p;
    rows.at(m, b, p);
    return buf[((size_t)b * rows.T + p) * C + k];
  }
};

// B(k, n) = W[n][k] for W stored [N][K] (a weight used as y = W x).
struct WeightT {
  static constexpr bool kFastK = true;
  const float *W;
  int K;
  __device__ float operator()(int k, int n) const { return W[(size_t)n * K + k]; }
};
// B(k, n) = W[k][n] for W stored [K][N] (a weight used as dx = W^T dy).
struct WeightN {
  static constexpr bool kFastK = false;
  const float *W;
  int N;
  __device__ float operator()(int k, int n) const { return W[(size_t)k * N + n]; }
};

struct ResidualForwardEP {
  const float *X, *br;  // x_l, bias [R]
  float *Xn;            // x_{l+1}
  RowRange rows;
  int R;
  __device__ void row4(int m, int n, const float *v, int) const {
    int b, p;
    rows.at(m, b, p);
    const size_t base = ((size_t)b * rows.T + p) * R;
#pragma unroll
    for (int j = 0; j < 4; ++j)
      if (n + j < R) Xn[base + n + j] = X[base + n + j] + v[j] + br[n + j];
  }
};

// ------------------------------------------------------------------------------------------------
// residual layer l, backward.
//   dz = Wr^T dx_{l+1} + dzl (skip path, last W positions); df = dz sg (1 - th^2), dg = dz th sg (1 - sg)

struct GateBackwardEP {
  const float *TS;   // layer l's [B][T][2D]
  const float *dzl;  // [B*W][L*D]
  float *dfg;        // [B*rows][2D] (row m of the layer range)
  RowRange rows;
  int D, W, LD, l;
  __device__ void row4(int m, int n, const float *v, int) const {
    int b, p;
    rows.at(m, b, p);
    const size_t pos = (size_t)b * rows.T + p;
    const int w = p - (rows.T - W);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = n + j;
      if (c >= D) break;
      float dz = v[j];
      if (w >= 0) dz += dzl[((size_t)b * W + w) * LD + (size_t)l * D + c];
      const float th = TS[pos * 2 * D + 2 * c], sg = TS[pos * 2 * D + 2 * c + 1];
      dfg[(size_t)m * 2 * D + c] = dz * sg * (1.f - th * th);
      dfg[(size_t)m * 2 * D + D + c] = dz * th * sg * (1.f - sg);
    }
  }
};

// A(m', k') = src[k'][m'] over the rows of a range: the transposed operand of a weight gradient.
struct RangeColLoader {
  static constexpr bool kFastK = false;
  const float *buf;
  RowRange rows;
  int C;
  __device__ float operator()(int m, int k) const {
    int b, p;
    rows.at(k, b, p);
    return buf[((size_t)b * rows.T + p) * C + m];
  }
};
// A(m', k') = buf[k'][m'] for a compact [K'][C] buffer.
struct ColLoader {
  static constexpr bool kFastK = false;
  const float *buf;
  int C;
  __device__ float operator()(int m, int k) const { return buf[(size_t)k * C + m]; }
};
// B(k', n') = the gate input (k' a row of the layer range, n' < 2R) or 1 (n' = 2R, the bias column).
struct GateInputOnes {
  static constexpr bool kFastK = false;
  GateInputLoader g;
  __device__ float operator()(int k, int n) const { return n < 2 * g.R ? g(k, n) : 1.f; }
};
// B(k', n') = buf row k' of a range, column n' < C, or 1 at n' = C.
struct RangeRowOnes {
  static constexpr bool kFastK = false;
  const float *buf;
  RowRange rows;
  int C;
  __device__ float operator()(int k, int n) const {
    if (n >= C) return 1.f;
    int b, p;
    rows.at(k, b, p);
    return buf[((size_t)b * rows.T + p) * C + n];
  }
};
// B(k', n') = f(buf[k'][n']) for a compact buffer, or 1 at n' = C; relu when Relu.
template <bool Relu>
struct RowOnes {
  static constexpr bool kFastK = false;
  const float *buf;
  int C;
  __device__ float operator()(int k, int n) const {
    if (n >= C) return 1.f;
    const float v = buf[(size_t)k * C + n];
    return Relu ? fmaxf(v, 0.f) : v;
  }
};

// Weight-gradient epilogue: column n < In -> dW[m][n], n == In -> db[m].
struct WeightGradEP {
  float *dW, *db;
  int In;
  __device__ void operator()(int m, int n, float v) const {
    if (n < In)
      dW[(size_t)m * In + n] = v;
    else
      db[m] = v;
  }
};

// dx_l at positions [start[l], T): A(m, k) over k < 2D reads dfg at the same position (the x(t) half of
// the gate input), k >= 2D reads dfg at p + d (the x(t-d) half). B(k, n) = the matching Wg column.
struct GateGradLoader {
  static constexpr bool kFastK = true;
  const float *dfg;  // [B*rows][2D], rows of [s, T)
  RowRange in;       // positions [start[l], T)
  int s, D, d;       // s = start[l+1]
  __device__ float operator()(int m, int k) const {
    int b, p;
    in.at(m, b, p);
    const int len = in.T - s;
    int q = p, kk = k;
    if (k >= 2 * D) {
      q = p + d;
      kk = k - 2 * D;
    }
    if (q < s || q >= in.T) return 0.f;
    return dfg[((size_t)b * len + (q - s)) * 2 * D + kk];
  }
};
struct GateGradWeights {
  static constexpr bool kFastK = false;
  const float *Wg;  // [2D][2R]
  int D, R;
  __device__ float operator()(int k, int n) const {
    if (k < 2 * D) return Wg[(size_t)k * 2 * R + R + n];
    return Wg[(size_t)(k - 2 * D) * 2 * R + n];
  }
};
struct InputGradEP {
  const float *dXn;  // gradient of x_{l+1} (NULL for the last layer)
  float *dX;
  RowRange in;
  int s, R;
  __device__ void row4(int m, int n, const float *v, int) const {
    int b, p;
    in.at(m, b, p);
    const size_t base = ((size_t)b * in.T + p) * R;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if (n + j >= R) break;
      float g = v[j];
      if (dXn && p >= s) g += dXn[base + n + j];
      dX[base + n + j] = g;
    }
  }
};

// ------------------------------------------------------------------------------------------------
// skip projections of all layers as one product over the concatenated z of the last W positions:
//   skip[m][s] = sum_l (Ws_l z_l + bs_l)   (K = L*D; the bias sum is precomputed in fixed layer order)

struct SkipZLoader {  // A(m, k) = z_{k/D}[b][T-W+w][k%D], m = b*W + w
  static constexpr bool kFastK = true;
  const float *Z;
  int B, T, W, D;
  __device__ float operator()(int m, int k) const {
    const int l = k / D, j = k - l * D, b = m / W, w = m - b * W;
    return Z[(((size_t)l * B + b) * T + (T - W + w)) * D + j];
  }
};
struct SkipWeightLoader {  // B(k, n) = Ws_{k/D}[n][k%D]
  static constexpr bool kFastK = true;
  const float *params;
  const unsigned long long *skip_w;  // [L] offsets
  int D;
  __device__ float operator()(int k, int n) const {
    const int l = k / D, j = k - l * D;
    return params[skip_w[l] + (size_t)n * D + j];
  }
};
struct SkipForwardEP {
  const float *bsum;  // [S]
  float *skip;        // [B*W][S]
  int S;
  __device__ void row4(int m, int n, const float *v, int) const {
#pragma unroll
    for (int j = 0; j < 4; ++j)
      if (n + j < S) skip[(size_t)m * S + n + j] = v[j] + bsum[n + j];
  }
};
__global__ void skip_bias_sum_kernel(const float *params, const unsigned long long *skip_b, int L, int S, float *bsum) {
  for (int s = blockIdx.x * blockDim.x + threadIdx.x; s < S; s += gridDim.x * blockDim.x) {
    float a = 0.f;
    for (int l = 0; l < L; ++l) a += params[skip_b[l] + s];
    bsum[s] = a;
  }
}
// Backward: dzl = dsk . [Ws_0 | Ws_1 | ...]  (B(k, n) = Ws_{n/D}[k][n%D]) and the weight gradients
// dWs_l = dsk^T z_l, dbs_l = sum dsk (the same for every layer).
struct SkipWeightLoaderN {
  static constexpr bool kFastK = false;
  const float *params;
  const unsigned long long *skip_w;
  int D;
  __device__ float operator()(int k, int n) const {
    const int l = n / D, j = n - l * D;
    return params[skip_w[l] + (size_t)k * D + j];
  }
};
struct SkipZOnes {  // B(k', n') = z_{n'/D}[row k'][n'%D] or 1 at n' = L*D
  static constexpr bool kFastK = false;
  SkipZLoader z;
  int LD;
  __device__ float operator()(int k, int n) const { return n < LD ? z(k, n) : 1.f; }
};
struct SkipWeightGradEP {
  float *grad;
  const unsigned long long *skip_w, *skip_b;
  int D, L;
  __device__ void operator()(int m, int n, float v) const {
    if (n < L * D) {
      const int l = n / D, j = n - l * D;
      grad[skip_w[l] + (size_t)m * D + j] = v;
    } else {
      for (int l = 0; l < L; ++l) grad[skip_b[l] + m] = v;
    }
  }
};
struct StoreEP {  // C[m][n] = v (+ mask from a ReLU input when `mask` is set: v * (mask > 0))
  float *out;
  const float *mask;
  int N;
  __device__ void row4(int m, int n, const float *v, int) const {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if (n + j >= N) break;
      const size_t i = (size_t)m * N + n + j;
      out[i] = mask ? (mask[i] > 0.f ? v[j] : 0.f) : v[j];
    }
  }
};

// ------------------------------------------------------------------------------------------------
// head: h0 = relu(skip), h1 = relu(W1 h0 + b1), logits = W2 h1 + b2

struct ReluRowLoader {  // A(m, k) = relu(buf[m][k])
  static constexpr bool kFastK = true;
  const float *buf;
  int C;
  __device__ float operator()(int m, int k) const { return fmaxf(buf[(size_t)m * C + k], 0.f); }
};
struct RowLoader {
  static constexpr bool kFastK = true;
  const float *buf;
  int C;
  __device__ float operator()(int m, int k) const { return buf[(size_t)m * C + k]; }
};
struct BiasEP {  // out[m][n] = act(v + b[n])
  const float *b;
  float *out;
  int N;
  bool relu;
  __device__ void row4(int m, int n, const float *v, int) const {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      if (n + j >= N) break;
      const float a = v[j] + b[n + j];
      out[(size_t)m * N + n + j] = relu ? fmaxf(a, 0.f) : a;
    }
  }
};

// softmax cross-entropy, one warp per row: row_loss = logsumexp - logit[target];
// dlogits = (softmax - onehot) * scale. targets[m] = crops[b][rf + w].
__global__ void softmax_xent_kernel(const float *logits, const uint8_t *crops, int B, int W, int N, int rf, int Q,
                                    float scale, float *row_loss, float *dlogits) {
  const int warps = blockDim.x / 32;
  const int m = blockIdx.x * warps + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (m >= B * W) return;
  const int b = m / W, w = m - b * W;
  const int tgt = crops[(size_t)b * N + rf + w];
  const float *l = logits + (size_t)m * Q;
  float mx = -INFINITY;
  for (int q = lane; q < Q; q += 32) mx = fmaxf(mx, l[q]);
  for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  float se = 0.f;
  for (int q = lane; q < Q; q += 32) se += expf(l[q] - mx);
  for (int o = 16; o > 0; o >>= 1) se += __shfl_xor_sync(0xffffffffu, se, o);
  const float lse = mx + logf(se);
  if (lane == 0) row_loss[m] = lse - l[tgt];
  if (dlogits)
    for (int q = lane; q < Q; q += 32) dlogits[(size_t)m * Q + q] = (expf(l[q] - lse) - (q == tgt ? 1.f : 0.f)) * scale;
}

// Mean of row_loss in a fixed order (one block).
__global__ void mean_kernel(const float *v, int n, float *out) {
  __shared__ float part[256];
  float s = 0.f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) s += v[i];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = part[0] / (float)n;
}

// ------------------------------------------------------------------------------------------------
// Adam over the whole parameter buffer, the CPU's expression (native/cpu/adam.cc):
//   p -= lr * (m * c1) / (sqrt(v * c2) + eps),  c1 = 1 / (1 - beta1^t), c2 = 1 / (1 - beta2^t)
// with c1, c2 computed in double on the host and rounded to float once per step.
__global__ void adam_update_kernel(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1, float b2,
                                   float eps, float c1, float c2) {
  const float ob1 = 1.0f - b1, ob2 = 1.0f - b2;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const float gi = g[i];
    const float mi = b1 * m[i] + ob1 * gi;
    const float vi = b2 * v[i] + ob2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= lr * (mi * c1) / (sqrtf(vi * c2) + eps);
  }
}

}  // namespace cuda
}  // namespace wn
