// The CUDA incremental (Fast WaveNet) synthesizer: wn::SynthImpl for a batch of streams on device 0.
//
// One kernel launch runs a whole prime or generate call: every block owns G streams (G = 1, 2, 4 or 8
// by batch size) and loops over the n sample steps itself, so there is no host round trip per sample
// and no synchronisation between blocks (streams are independent). Per step and stream:
//   x_0 = bias + E1[c_t] + E0[c_{t-1}]
//   per layer l: past = ring_l[t mod d_l] (x_l(t - d_l)), ring_l[t mod d_l] = x_l(t);
//                fg = Wg.[past; x] + bg; z = tanh(f) sigmoid(g); skip += Ws.z; x += Wr.z + br
//   head: logits = W2.relu(W1.relu(skip + sum bs) + b1) + b2
//   sample: inverse CDF of softmax(logits / temperature), cut to top-p/top-k, with u = wn_uniform(seed, t):
//           the rule of core/sample.h, shared with the CPU.
// Activations of the block's streams stay in shared memory for the whole step (the gate output and z
// never go to device memory); weights are read transposed ([in][out]) so that the threads of a warp
// read consecutive outputs of one input row (coalesced), and every weight load feeds all G streams.
// The ring buffers (d_l slots of x_l per layer and stream) live in device memory; after reset they are
// zero, which is "positions before the start read zeros".
#include <cmath>
#include <cstring>
#include <string>
#include <vector>
#include "core/backend.h"
#include "core/rng.h"
#include "core/sample.h"
#include "cuda/common.cuh"

namespace wn {
namespace cuda {

struct SynthLayer {
  unsigned long long gT, bg, sT, bs, rT, br;  // offsets into the packed weight buffer
  unsigned long long ring;                    // offset (floats) of this layer in a stream's ring block
  int d;
};

struct SynthArgs {
  const float *w;            // packed weights (see CudaSynth::pack)
  const SynthLayer *layers;  // [L]
  unsigned long long embed, in_bias, bsum, h1T, b1, h2T, b2;
  float *ring;  // [batch][ring_stride]
  unsigned long long ring_stride;
  int *prev, *pending;  // [batch]
  const float *top_p;   // [batch] or null (no cut): wn_synth_set_cut
  const int *top_k;     // [batch] or null
  int batch, L, R, D, S, H, Q;
};

// out[g][o] (=|+=) act(bias[o] + sum_i WT[i][o] in[g][i]) for the block's gn streams. in/out are shared
// memory ([G][ld]); scratch holds blockDim.x * G floats. Partial sums over input slices are added in
// slice order, so the result does not depend on timing. Ends with __syncthreads().
template <int G>
__device__ void matvec(const float *__restrict__ WT, int In, int Out, const float *in, int ldin, float *out, int ldout,
                       const float *__restrict__ bias, bool accumulate, bool relu, float *scratch, int gn) {
  const int NT = blockDim.x, tid = threadIdx.x;
  int parts = NT / Out;
  if (parts > In) parts = In;
  if (parts <= 1) {
    for (int o = tid; o < Out; o += NT) {
      float acc[G];
#pragma unroll
      for (int g = 0; g < G; ++g) acc[g] = 0.f;
#pragma unroll 4
      for (int i = 0; i < In; ++i) {
        const float w = __ldg(WT + (size_t)i * Out + o);
#pragma unroll
        for (int g = 0; g < G; ++g) acc[g] = fmaf(w, in[g * ldin + i], acc[g]);
      }
#pragma unroll
      for (int g = 0; g < G; ++g) {
        if (g >= gn) break;
        float v = acc[g] + (bias ? __ldg(bias + o) : 0.f);
        if (accumulate) v += out[g * ldout + o];
        out[g * ldout + o] = relu ? fmaxf(v, 0.f) : v;
      }
    }
  } else {
    const int o = tid % Out, part = tid / Out;
    if (part < parts) {
      const int i0 = part * In / parts, i1 = (part + 1) * In / parts;
      float acc[G];
#pragma unroll
      for (int g = 0; g < G; ++g) acc[g] = 0.f;
#pragma unroll 4
      for (int i = i0; i < i1; ++i) {
        const float w = __ldg(WT + (size_t)i * Out + o);
#pragma unroll
        for (int g = 0; g < G; ++g) acc[g] = fmaf(w, in[g * ldin + i], acc[g]);
      }
#pragma unroll
      for (int g = 0; g < G; ++g) scratch[(part * G + g) * Out + o] = acc[g];
    }
    __syncthreads();
    for (int e = tid; e < gn * Out; e += NT) {
      const int g = e / Out, oo = e - g * Out;
      float v = 0.f;
      for (int p = 0; p < parts; ++p) v += scratch[(p * G + g) * Out + oo];
      v += bias ? __ldg(bias + oo) : 0.f;
      if (accumulate) v += out[g * ldout + oo];
      out[g * ldout + oo] = relu ? fmaxf(v, 0.f) : v;
    }
  }
  __syncthreads();
}

// Sample of one stream by one warp, by the rule of core/sample.h (the CPU's): the lanes find the max
// (exact in any order; lowest class on ties) and compute the weights w_q = wn_sample_weight(...) in
// place of the logits (lane k owns classes [k*per, (k+1)*per)); lane 0 then applies the cut and the
// inverse CDF with the same functions the CPU calls, summing in class order as the CPU does. `lg` is
// overwritten. Every lane returns the sample.
__device__ int sample_warp(float *lg, int Q, float temperature, float top_p, int top_k, float u) {
  const int lane = threadIdx.x & 31;
  const int per = (Q + 31) / 32;
  const int q0 = min(Q, lane * per), q1 = min(Q, q0 + per);
  float m = -INFINITY;
  int best = Q;
  for (int q = q0; q < q1; ++q)
    if (lg[q] > m) {
      m = lg[q];
      best = q;
    }
  for (int o = 16; o > 0; o >>= 1) {
    const float om = __shfl_xor_sync(0xffffffffu, m, o);
    const int ob = __shfl_xor_sync(0xffffffffu, best, o);
    if (om > m || (om == m && ob < best)) {
      m = om;
      best = ob;
    }
  }
  if (temperature == 0.f) return best;
  const float inv = 1.0f / temperature;
  for (int q = q0; q < q1; ++q) lg[q] = wn_sample_weight(lg[q], m, inv);
  __syncwarp();
  int s = 0;
  if (lane == 0) {
    float heap[WN_SAMPLE_MAX_CLASSES];
    s = wn_sample_from_weights(lg, Q, top_p, top_k, u, best, heap);
  }
  return __shfl_sync(0xffffffffu, s, 0);
}

// The block's activations in shared memory (see synth_kernel for the layout); cur/prev: the classes of
// step t and t - 1 of each of the block's streams.
struct SynthShared {
  float *xa;        // [G][2R]: past | x
  float *fg;        // [G][2D]
  float *z;         // [G][D]
  float *skip;      // [G][S]
  float *h;         // [G][S]
  float *h1;        // [G][H]
  float *lg;        // [G][Q]
  float *scratch;   // [NT][G]
  int *cur, *prev;  // [G]
};

// The stages of one sample step, in the order synth_kernel runs them (the CPU's step loop, cpu/synth.cc,
// has the same: input, residual layers, head, sample). Every thread of the block calls each stage.

// x_0 = bias + E1[c_t] + E0[c_{t-1}]; when generating, skip = the sum of the skip biases.
template <int G>
__device__ void synth_input_step(const SynthArgs &a, const SynthShared &m, int gn, bool gen) {
  const int R = a.R, S = a.S, Q = a.Q, NT = blockDim.x, tid = threadIdx.x;
  const float *w = a.w;
  for (int e = tid; e < gn * R; e += NT) {
    const int g = e / R, r = e - g * R;
    float v = w[a.in_bias + r] + w[a.embed + ((size_t)Q + m.cur[g]) * R + r];
    if (m.prev[g] >= 0) v += w[a.embed + (size_t)m.prev[g] * R + r];
    m.xa[g * 2 * R + R + r] = v;
  }
  if (gen)
    for (int e = tid; e < gn * S; e += NT) {
      const int g = e / S, s = e - g * S;
      m.skip[g * S + s] = w[a.bsum + s];
    }
  __syncthreads();
}

// Layer l at time t: swap x_l(t) into the ring (reading x_l(t - d)), gate, z = tanh(f) sigmoid(g), then
// skip += Ws.z (when generating) and x += Wr.z + br (all but the last layer).
template <int G>
__device__ void synth_residual_step(const SynthArgs &a, const SynthShared &m, int l, unsigned long long t, int b0,
                                    int gn, bool gen) {
  const int R = a.R, D = a.D, S = a.S, NT = blockDim.x, tid = threadIdx.x;
  const float *w = a.w;
  const SynthLayer ly = a.layers[l];
  const unsigned long long slot = t % (unsigned long long)ly.d;
  for (int e = tid; e < gn * R; e += NT) {
    const int g = e / R, r = e - g * R;
    float *rp = a.ring + (size_t)(b0 + g) * a.ring_stride + ly.ring + slot * R + r;
    m.xa[g * 2 * R + r] = *rp;      // x_l(t - d)
    *rp = m.xa[g * 2 * R + R + r];  // x_l(t)
  }
  __syncthreads();
  matvec<G>(w + ly.gT, 2 * R, 2 * D, m.xa, 2 * R, m.fg, 2 * D, w + ly.bg, false, false, m.scratch, gn);
  for (int e = tid; e < gn * D; e += NT) {
    const int g = e / D, j = e - g * D;
    const float f = m.fg[g * 2 * D + j], gg = m.fg[g * 2 * D + D + j];
    m.z[g * D + j] = tanhf(f) * (1.f / (1.f + expf(-gg)));
  }
  __syncthreads();
  if (gen) matvec<G>(w + ly.sT, D, S, m.z, D, m.skip, S, nullptr, true, false, m.scratch, gn);
  if (l < a.L - 1) matvec<G>(w + ly.rT, D, R, m.z, D, m.xa + R, 2 * R, w + ly.br, true, false, m.scratch, gn);
}

// logits = W2.relu(W1.relu(skip) + b1) + b2
template <int G>
__device__ void synth_head_step(const SynthArgs &a, const SynthShared &m, int gn) {
  const int S = a.S, H = a.H, Q = a.Q, NT = blockDim.x, tid = threadIdx.x;
  const float *w = a.w;
  for (int e = tid; e < gn * S; e += NT) {
    const int g = e / S, s = e - g * S;
    m.h[g * S + s] = fmaxf(m.skip[g * S + s], 0.f);
  }
  __syncthreads();
  matvec<G>(w + a.h1T, S, H, m.h, S, m.h1, H, w + a.b1, false, true, m.scratch, gn);
  matvec<G>(w + a.h2T, H, Q, m.h1, H, m.lg, Q, w + a.b2, false, false, m.scratch, gn);
}

// Warp g samples stream g (logits first copied out when asked), writes out[b][i] and moves the classes on.
template <int G>
__device__ void synth_sample_step(const SynthArgs &a, const SynthShared &m, int i, int n, unsigned long long t, int b0,
                                  int gn, const float *temperature, const unsigned long long *seed, uint8_t *out,
                                  float *logits_out) {
  const int Q = a.Q, NT = blockDim.x, tid = threadIdx.x;
  const int warp = tid / 32;
  for (int g = warp; g < gn; g += NT / 32) {
    const int b = b0 + g;
    if (logits_out)  // before sampling, which overwrites the logits with weights
      for (int q = tid & 31; q < Q; q += 32) logits_out[((size_t)b * n + i) * Q + q] = m.lg[g * Q + q];
    __syncwarp();
    const float top_p = a.top_p ? a.top_p[b] : 1.f;
    const int top_k = a.top_k ? a.top_k[b] : 0;
    const int s = sample_warp(m.lg + g * Q, Q, temperature[b], top_p, top_k, wn_uniform(seed[b], t));
    if ((tid & 31) == 0) {
      out[(size_t)b * n + i] = (uint8_t)s;
      m.prev[g] = m.cur[g];
      m.cur[g] = s;
    }
  }
  __syncthreads();
}

// mode 0: prime (fed class of step i = forced[b * fstride + i]; no head); mode 1: generate.
template <int G>
__global__ void synth_kernel(SynthArgs a, int mode, int n, unsigned long long t0, const uint8_t *forced, int fstride,
                             const float *temperature, const unsigned long long *seed, uint8_t *out,
                             float *logits_out) {
  WN_DYNAMIC_SHARED(float, sm);
  const int R = a.R, D = a.D, S = a.S, H = a.H, Q = a.Q;
  const int NT = blockDim.x, tid = threadIdx.x;
  const int b0 = blockIdx.x * G;
  const int gn = min(G, a.batch - b0);
  if (gn <= 0) return;
  SynthShared m;
  m.xa = sm;
  m.fg = m.xa + G * 2 * R;
  m.z = m.fg + G * 2 * D;
  m.skip = m.z + G * D;
  m.h = m.skip + G * S;
  m.h1 = m.h + G * S;
  m.lg = m.h1 + G * H;
  m.scratch = m.lg + G * Q;
  m.cur = reinterpret_cast<int *>(m.scratch + NT * G);
  m.prev = m.cur + G;
  const bool gen = mode == 1;

  const int total_sm = G * (2 * R + 2 * D + D + 2 * S + H + Q) + NT * G;
  for (int i = tid; i < total_sm; i += NT) sm[i] = 0.f;
  if (tid < G) {
    m.prev[tid] = tid < gn ? a.prev[b0 + tid] : -1;
    m.cur[tid] = tid < gn ? a.pending[b0 + tid] : 0;
  }
  __syncthreads();

  for (int i = 0; i < n; ++i) {
    const unsigned long long t = t0 + (unsigned long long)i;
    if (!gen && tid < gn) m.cur[tid] = forced[(size_t)(b0 + tid) * fstride + i];
    __syncthreads();
    synth_input_step<G>(a, m, gn, gen);
    for (int l = 0; l < a.L; ++l) synth_residual_step<G>(a, m, l, t, b0, gn, gen);
    if (!gen) {
      if (tid < gn) m.prev[tid] = m.cur[tid];
      __syncthreads();
      continue;
    }
    synth_head_step<G>(a, m, gn);
    synth_sample_step<G>(a, m, i, n, t, b0, gn, temperature, seed, out, logits_out);
  }
  if (tid < gn) {
    a.prev[b0 + tid] = m.prev[tid];
    if (gen) a.pending[b0 + tid] = m.cur[tid];
  }
}

class CudaSynth final : public SynthImpl {
 public:
  CudaSynth(const wn_config &c, int batch) : c_(c), B_(batch) {}
  ~CudaSynth() override {
    for (void *p : allocs_) cudaFree(p);
    if (stream_) cudaStreamDestroy(stream_);
  }

  wn_status init(const float *params) {
    WN_TRY(choose_launch());
    std::vector<float> w;
    std::vector<SynthLayer> layers(c_.n_layers);
    unsigned long long ring = 0;
    pack_weights(params, w, layers, ring);
    WN_TRY(upload(w, layers, ring));
    return reset();
  }

  // Device, stream, group size G_ (streams per block), block size and shared memory; the block size is
  // capped by what the kernel's register use allows.
  wn_status choose_launch() {
    WN_CUDA_TRY(cudaSetDevice(dev_));
    WN_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    const int R = c_.residual, D = c_.dilation, S = c_.skip, H = c_.head, Q = c_.classes;
    G_ = B_ >= 8 ? 8 : B_ >= 4 ? 4 : B_ >= 2 ? 2 : 1;
    threads_ = G_ == 1 ? 1024 : G_ == 2 ? 512 : 256;
    smem_ = (size_t)(G_ * (2 * R + 2 * D + D + 2 * S + H + Q) + threads_ * G_) * sizeof(float) + 2 * G_ * sizeof(int);
    cudaDeviceProp prop;
    WN_CUDA_TRY(cudaGetDeviceProperties(&prop, dev_));
    if (smem_ > prop.sharedMemPerBlockOptin)
      return fail(WN_ERR_UNSUPPORTED, "the CUDA synthesizer needs " + std::to_string(smem_) +
                                          " bytes of shared memory per block for this config; the GPU has " +
                                          std::to_string(prop.sharedMemPerBlockOptin));
    WN_TRY(set_smem());
    cudaFuncAttributes fa;
    switch (G_) {
      case 1:
        WN_CUDA_TRY(cudaFuncGetAttributes(&fa, synth_kernel<1>));
        break;
      case 2:
        WN_CUDA_TRY(cudaFuncGetAttributes(&fa, synth_kernel<2>));
        break;
      case 4:
        WN_CUDA_TRY(cudaFuncGetAttributes(&fa, synth_kernel<4>));
        break;
      default:
        WN_CUDA_TRY(cudaFuncGetAttributes(&fa, synth_kernel<8>));
        break;
    }
    if (threads_ > fa.maxThreadsPerBlock) {
      threads_ = fa.maxThreadsPerBlock / 32 * 32;
      smem_ = (size_t)(G_ * (2 * R + 2 * D + D + 2 * S + H + Q) + threads_ * G_) * sizeof(float) + 2 * G_ * sizeof(int);
    }
    return WN_OK;
  }

  // Packs the weights into one host array: transposed matrices [in][out], biases, the embedding as is;
  // `layers` gets each layer's offsets, `ring` the per-stream ring size (floats).
  void pack_weights(const float *params, std::vector<float> &w, std::vector<SynthLayer> &layers,
                    unsigned long long &ring) {
    const int R = c_.residual, D = c_.dilation, S = c_.skip, H = c_.head, Q = c_.classes, L = c_.n_layers;
    wn_layout lay;
    wn_layout_get(&c_, &lay);
    auto put = [&](const float *src, size_t n) {
      const size_t off = w.size();
      w.insert(w.end(), src, src + n);
      return (unsigned long long)off;
    };
    auto putT = [&](const float *M, int rows, int cols) {  // M [rows][cols] -> [cols][rows]
      const size_t off = w.size();
      w.resize(off + (size_t)rows * cols);
      for (int r = 0; r < rows; ++r)
        for (int k = 0; k < cols; ++k) w[off + (size_t)k * rows + r] = M[(size_t)r * cols + k];
      return (unsigned long long)off;
    };
    args_.embed = put(params + lay.input_embed, (size_t)2 * Q * R);
    args_.in_bias = put(params + lay.input_bias, R);
    std::vector<double> bsum(S, 0.0);
    ring = 0;
    for (int l = 0; l < L; ++l) {
      wn_layer_layout ll;
      wn_layer_layout_get(&c_, l, &ll);
      SynthLayer &y = layers[l];
      y.gT = putT(params + ll.gate_w, 2 * D, 2 * R);
      y.bg = put(params + ll.gate_b, 2 * D);
      y.sT = putT(params + ll.skip_w, S, D);
      y.bs = put(params + ll.skip_b, S);
      y.rT = putT(params + ll.res_w, R, D);
      y.br = put(params + ll.res_b, R);
      y.d = c_.dilations[l];
      y.ring = ring;
      ring += (unsigned long long)y.d * R;
      for (int k = 0; k < S; ++k) bsum[k] += params[ll.skip_b + k];
    }
    std::vector<float> bsf(bsum.begin(), bsum.end());
    args_.bsum = put(bsf.data(), S);
    args_.h1T = putT(params + lay.head1_w, H, S);
    args_.b1 = put(params + lay.head1_b, H);
    args_.h2T = putT(params + lay.head2_w, Q, H);
    args_.b2 = put(params + lay.head2_b, Q);
  }

  // Device buffers: the packed weights and layer table (copied), rings and per-stream state.
  wn_status upload(const std::vector<float> &w, const std::vector<SynthLayer> &layers, unsigned long long ring) {
    const int R = c_.residual, D = c_.dilation, S = c_.skip, H = c_.head, Q = c_.classes, L = c_.n_layers;
    wn_status s;
    float *dw = nullptr;
    SynthLayer *dl = nullptr;
    if ((s = alloc((void **)&dw, w.size() * sizeof(float))) != WN_OK) return s;
    if ((s = alloc((void **)&dl, layers.size() * sizeof(SynthLayer))) != WN_OK) return s;
    if ((s = alloc((void **)&args_.ring, (size_t)B_ * ring * sizeof(float))) != WN_OK) return s;
    if ((s = alloc((void **)&args_.prev, (size_t)B_ * sizeof(int))) != WN_OK) return s;
    if ((s = alloc((void **)&args_.pending, (size_t)B_ * sizeof(int))) != WN_OK) return s;
    if ((s = alloc((void **)&temp_, (size_t)B_ * sizeof(float))) != WN_OK) return s;
    if ((s = alloc((void **)&seed_, (size_t)B_ * sizeof(unsigned long long))) != WN_OK) return s;
    if ((s = alloc((void **)&top_p_, (size_t)B_ * sizeof(float))) != WN_OK) return s;
    if ((s = alloc((void **)&top_k_, (size_t)B_ * sizeof(int))) != WN_OK) return s;
    // (copies on the synthesizer's non-blocking stream, so the kernels are ordered after them)
    WN_CUDA_TRY(cudaMemcpyAsync(dw, w.data(), w.size() * sizeof(float), cudaMemcpyHostToDevice, stream_));
    WN_CUDA_TRY(
        cudaMemcpyAsync(dl, layers.data(), layers.size() * sizeof(SynthLayer), cudaMemcpyHostToDevice, stream_));
    WN_CUDA_TRY(cudaStreamSynchronize(stream_));
    args_.w = dw;
    args_.layers = dl;
    args_.ring_stride = ring;
    args_.batch = B_;
    args_.L = L;
    args_.R = R;
    args_.D = D;
    args_.S = S;
    args_.H = H;
    args_.Q = Q;
    return WN_OK;
  }

  wn_status reset() override {
    WN_CUDA_TRY(cudaSetDevice(dev_));
    WN_CUDA_TRY(cudaMemsetAsync(args_.ring, 0, (size_t)B_ * args_.ring_stride * sizeof(float), stream_));
    // After reset nothing was fed (prev = -1) and the pending class is 128 (silence).
    const int pend = c_.classes > 128 ? 128 : c_.classes / 2;
    std::vector<int> prev(B_, -1), pending(B_, pend);
    WN_CUDA_TRY(cudaMemcpyAsync(args_.prev, prev.data(), B_ * sizeof(int), cudaMemcpyHostToDevice, stream_));
    WN_CUDA_TRY(cudaMemcpyAsync(args_.pending, pending.data(), B_ * sizeof(int), cudaMemcpyHostToDevice, stream_));
    WN_CUDA_TRY(cudaStreamSynchronize(stream_));
    t_ = 0;
    return WN_OK;
  }

  wn_status prime(const uint8_t *classes, int n) override {
    WN_CUDA_TRY(cudaSetDevice(dev_));
    const size_t total = (size_t)B_ * n;
    for (size_t i = 0; i < total; ++i)
      if (classes[i] >= c_.classes)
        return fail(WN_ERR_INVALID, "synth prime: class " + std::to_string(classes[i]) + " is out of range 0.." +
                                        std::to_string(c_.classes - 1));
    if (n > 1) {
      uint8_t *dc = nullptr;
      wn_status s = scratch_bytes(&dc, total);
      if (s != WN_OK) return s;
      WN_CUDA_TRY(cudaMemcpyAsync(dc, classes, total, cudaMemcpyHostToDevice, stream_));
      if ((s = launch(0, n - 1, dc, n, nullptr, nullptr)) != WN_OK) return s;
      t_ += (uint64_t)(n - 1);
    }
    std::vector<int> pending(B_);
    for (int b = 0; b < B_; ++b) pending[b] = classes[(size_t)b * n + n - 1];
    WN_CUDA_TRY(cudaMemcpyAsync(args_.pending, pending.data(), B_ * sizeof(int), cudaMemcpyHostToDevice, stream_));
    WN_CUDA_TRY(cudaStreamSynchronize(stream_));
    return WN_OK;
  }

  wn_status generate(int n, const float *temperature, const uint64_t *seed, uint8_t *out, float *logits) override {
    WN_CUDA_TRY(cudaSetDevice(dev_));
    for (int b = 0; b < B_; ++b)
      if (!(temperature[b] >= 0.f) || !std::isfinite(temperature[b]))
        return fail(WN_ERR_INVALID,
                    "synth generate: temperature of stream " + std::to_string(b) + " must be a finite number >= 0");
    if (n == 0) return WN_OK;
    const size_t outn = (size_t)B_ * n;
    const size_t logn = logits ? outn * c_.classes * sizeof(float) : 0;
    uint8_t *buf = nullptr;
    wn_status s = scratch_bytes(&buf, outn + logn + 16);
    if (s != WN_OK) return s;
    uint8_t *dout = buf;
    float *dlog = logits ? reinterpret_cast<float *>(buf + ((outn + 15) / 16) * 16) : nullptr;
    WN_CUDA_TRY(cudaMemcpyAsync(temp_, temperature, B_ * sizeof(float), cudaMemcpyHostToDevice, stream_));
    WN_CUDA_TRY(cudaMemcpyAsync(seed_, seed, B_ * sizeof(uint64_t), cudaMemcpyHostToDevice, stream_));
    args_.top_p = top_p.empty() ? nullptr : top_p_;
    args_.top_k = top_k.empty() ? nullptr : top_k_;
    if (!top_p.empty())
      WN_CUDA_TRY(cudaMemcpyAsync(top_p_, top_p.data(), B_ * sizeof(float), cudaMemcpyHostToDevice, stream_));
    if (!top_k.empty())
      WN_CUDA_TRY(cudaMemcpyAsync(top_k_, top_k.data(), B_ * sizeof(int), cudaMemcpyHostToDevice, stream_));
    if ((s = launch(1, n, nullptr, 0, dout, dlog)) != WN_OK) return s;
    WN_CUDA_TRY(cudaMemcpyAsync(out, dout, outn, cudaMemcpyDeviceToHost, stream_));
    if (logits) WN_CUDA_TRY(cudaMemcpyAsync(logits, dlog, logn, cudaMemcpyDeviceToHost, stream_));
    WN_CUDA_TRY(cudaStreamSynchronize(stream_));
    t_ += (uint64_t)n;
    return WN_OK;
  }

 private:
  wn_config c_;
  int B_, G_ = 1, threads_ = 256, dev_ = 0;
  size_t smem_ = 0;
  cudaStream_t stream_ = nullptr;
  SynthArgs args_{};
  float *temp_ = nullptr;
  unsigned long long *seed_ = nullptr;
  float *top_p_ = nullptr;  // [batch] on the device (the cut of each stream)
  int *top_k_ = nullptr;
  uint8_t *scratch_ = nullptr;
  size_t scratch_size_ = 0;
  std::vector<void *> allocs_;
  uint64_t t_ = 0;

  wn_status alloc(void **p, size_t bytes) {
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 4);
    if (e != cudaSuccess) {
      *p = nullptr;
      cudaGetLastError();
      if (e == cudaErrorMemoryAllocation)
        return fail(WN_ERR_NOMEM, "out of GPU memory in the CUDA synthesizer (" + std::to_string(bytes >> 20) +
                                      " MiB more for " + std::to_string(B_) + " streams); try a smaller batch");
      return cuda_fail(e, "cudaMalloc");
    }
    allocs_.push_back(*p);
    return WN_OK;
  }
  // A reusable device buffer of at least `bytes` (grown on demand).
  wn_status scratch_bytes(uint8_t **p, size_t bytes) {
    if (bytes > scratch_size_) {
      if (scratch_) {
        WN_CUDA_TRY(cudaStreamSynchronize(stream_));
        for (size_t i = 0; i < allocs_.size(); ++i)
          if (allocs_[i] == scratch_) allocs_.erase(allocs_.begin() + i);
        WN_CUDA_TRY(cudaFree(scratch_));
        scratch_ = nullptr;
        scratch_size_ = 0;
      }
      wn_status s = alloc((void **)&scratch_, bytes);
      if (s != WN_OK) return s;
      scratch_size_ = bytes;
    }
    *p = scratch_;
    return WN_OK;
  }

  wn_status set_smem() {
    const int bytes = (int)smem_;
    switch (G_) {
      case 1:
        WN_CUDA_TRY(cudaFuncSetAttribute(synth_kernel<1>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
        break;
      case 2:
        WN_CUDA_TRY(cudaFuncSetAttribute(synth_kernel<2>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
        break;
      case 4:
        WN_CUDA_TRY(cudaFuncSetAttribute(synth_kernel<4>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
        break;
      default:
        WN_CUDA_TRY(cudaFuncSetAttribute(synth_kernel<8>, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
        break;
    }
    return WN_OK;
  }

  wn_status launch(int mode, int n, const uint8_t *forced, int fstride, uint8_t *out, float *logits) {
    const int blocks = (B_ + G_ - 1) / G_;
    const float *tp = temp_;
    const unsigned long long *sp = seed_;
    const unsigned long long t0 = t_;
    switch (G_) {
      case 1:
        WN_LAUNCH(synth_kernel<1>, blocks, threads_, smem_, stream_)
        (args_, mode, n, t0, forced, fstride, tp, sp, out, logits);
        break;
      case 2:
        WN_LAUNCH(synth_kernel<2>, blocks, threads_, smem_, stream_)
        (args_, mode, n, t0, forced, fstride, tp, sp, out, logits);
        break;
      case 4:
        WN_LAUNCH(synth_kernel<4>, blocks, threads_, smem_, stream_)
        (args_, mode, n, t0, forced, fstride, tp, sp, out, logits);
        break;
      default:
        WN_LAUNCH(synth_kernel<8>, blocks, threads_, smem_, stream_)
        (args_, mode, n, t0, forced, fstride, tp, sp, out, logits);
        break;
    }
    WN_CUDA_TRY(cudaGetLastError());
    return WN_OK;
  }
};

}  // namespace cuda

wn_status cuda_synth_create(const wn_config &c, const float *params, int batch, std::unique_ptr<SynthImpl> *out) {
  int rt = 0, drv = 0, count = 0;
  wn_status s = wn_cuda_query(&rt, &drv, &count);
  if (s != WN_OK) return s;
  std::unique_ptr<cuda::CudaSynth> syn(new cuda::CudaSynth(c, batch));
  if ((s = syn->init(params)) != WN_OK) return s;
  *out = std::move(syn);
  return WN_OK;
}

}  // namespace wn
