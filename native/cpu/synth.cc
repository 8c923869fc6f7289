// CPU incremental (Fast WaveNet) synthesis for a batch of streams: see native/include/wn_synth.h.
//
// State. Layer l keeps a ring buffer of its past inputs x_l with d_l + 1 slots of [batch][Rpad]
// (all streams advance in lockstep, so one slot holds time t for every stream); x_l(t) lives in slot
// t mod (d_l + 1), so reading x_l(t - d) and writing x_l(t) never touch the same slot. After reset
// the rings are zero, which is exactly "positions before the start read zeros".
//
// One step (feeding class c[t] of every stream) is one pass through the layers:
//   x_0 = bias + E1[c[t]] + E0[c[t-1]]
//   per layer: fg = Wg.[x(t-d); x(t)] + bg; z = tanh(f) sigmoid(g); skip += Ws.z; x += Wr.z + br
//   head: logits = W2.relu(W1.relu(skip + sum bs) + b1) + b2; sample with wn_uniform(seed, t)
// Priming skips the skip/head work and the last layer (only the residual chain and the rings are
// needed), and the last layer's residual output is never computed (nothing reads it).
//
// Threads: a two-stage pipeline. Only the residual chain (gate product, gate, residual product) is
// autoregressive within a step; the skip products Ws_l.z_l feed only the head. So with two threads,
// thread 0 ("chain") runs the chain of every layer for all channels and publishes z_l (one buffer
// per layer, a release-store of a step/layer count: core/crew.h SpinSignal); thread 1 ("skip")
// waits for each z_l and accumulates Ws_l.z_l in layer order. At the end of the step the head is
// split in two fixed halves of the W1 rows: thread 1 publishes relu(skip) and takes one half, thread
// 0 the other, and thread 0 adds the two partial logits and samples. Every sync is one-way (a
// publish and a wait, no round trip): L + 2 per step, against L + 3 round-trip barriers when every
// layer was split by channels (which bought +7 % at batch 1). Default model: chain ~614k MACs per
// sample, skip ~491k, head ~131k, so the critical path is ~0.57 of one thread's work; thread 1 also
// computes the x(t - d) half of some layers' gate products for the next step (pick_offload: one more
// one-way signal per such layer), which brings it to ~0.52.
// The partition does not depend on the thread count: one thread ("solo", also every run with
// WAVENET_THREADS=1) runs the same products in the same order, so samples and logits are
// bit-identical for 1 and 2 threads.
// The stream split: from SPLIT_MIN streams (and for priming, which has no skip or head work, any
// batch of 2 or more), a parallel chunk instead gives each thread a contiguous share of the streams,
// which it runs with the solo loop: streams do not interact, so the threads never wait for each
// other within a chunk. Each stream's arithmetic does not depend on which streams share its tile
// (native/cpu/simd/synth_kernels.cc), so the split gives the same numbers as one thread too.
// Thread count: the pipeline has two roles, so below SPLIT_MIN streams synthesis uses at most two
// (a third would have to split a layer's products again with a barrier per layer; at batch 1, a few
// 10k MACs per layer, that does not pay). The split uses up to one thread per SPLIT_SHARE streams,
// so that each share still fills the batch tiles, and no more threads than default_threads().
// Measured on 2 cores only (the development machine has 2): more threads are tested for identical
// numbers, not timed.
//
// Whether the second thread runs at all is measured (Scheduler below): on a busy machine a thread
// that waits for another one 30+ times per sample can lose more than it gains.
//
// Weights are packed once into transposed panels (native/cpu/synth_pack.h) so each matrix-vector
// (batch 1) or small matrix product (batch B: every weight load feeds B streams) is a stream of
// contiguous loads and FMAs; the kernels are the per-ISA SIMD variants (native/cpu/simd).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>
#include "core/backend.h"
#include "core/crew.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "core/sample.h"
#include "core/threadpool.h"
#include "cpu/synth_pack.h"

namespace wn {
namespace {

// The model in packed form, shared by all threads (read-only after construction). (A copy per thread
// in the stream split was measured: no faster, docs/perf.md.)
struct SynthWeights {
  Buf embed, in_bias;  // [2][Q][Rpad] (tap 0 = previous class, tap 1 = current); [Rpad]
  // per layer; gate rows: f in 0..D-1, g in Dpad..Dpad+D-1; the gate product in two halves: over
  // x(t - d) (with the bias) and over x(t)
  std::vector<Packed> gate_past, gate_cur, skip, res;
  Packed head1[2], head2[2];           // the head in two halves of W1 rows (head2[0] carries b2)
  int h0[2] = {0, 0}, hk[2] = {0, 0};  // the halves: rows [h0, h0 + hk) of W1
};

// Thread-private scratch.
struct Scratch {
  std::vector<uint32_t> stage;  // bf16 inputs (bf16 precision only)
  uint32_t *stg() { return stage.empty() ? nullptr : stage.data(); }
};

class CpuSynth final : public SynthImpl {
 public:
  CpuSynth(const wn_config &c, const float *params, int batch, const wn_synth_options &opt) : c_(c), B_(batch) {
    R_ = c.residual;
    D_ = c.dilation;
    S_ = c.skip;
    H_ = c.head;
    Q_ = c.classes;
    L_ = c.n_layers;
    Rp_ = round16(R_);
    Dp_ = round16(D_);
    Sp_ = round16(S_);
    Qp_ = round16(Q_);
    pack_weights(params);
    pick_offload();
    crew_.reset(new Crew(pick_threads(batch)));
    scratch_.resize(std::max(2, crew_->size()));
    parts_ = B_ >= SPLIT_MIN && crew_->size() > 1 ? std::min(crew_->size(), B_) : 1;
    rows_ = B_ + GAP * (parts_ - 1);
    alloc_state();
    bf16_ = opt.precision == WN_SYNTH_BF16 && active_isa() == Isa::avx512 && cpu_features().avx512bf16;
    if (bf16_) make_bf16();
    if (opt.precision == WN_SYNTH_FP16) make_fp16();
    force_ = opt.mode == WN_SYNTH_MODE_SOLO ? 0 : opt.mode == WN_SYNTH_MODE_PARALLEL ? 1 : -1;
  }

  // The pending class after reset: 128 (silence) for 256 classes; half the classes for fewer
  // (the same rule as native/cuda/synth.cu).
  int silence_class() const { return Q_ > 128 ? 128 : Q_ / 2; }

  wn_status reset() override {
    rings_.zero();
    std::fill(pending_.begin(), pending_.end(), silence_class());
    std::fill(prev_.begin(), prev_.end(), -1);
    t_ = 0;
    return WN_OK;
  }

  wn_status prime(const uint8_t *classes, int n) override {
    for (size_t i = 0; i < (size_t)B_ * n; ++i)
      if (classes[i] >= Q_)
        return fail(WN_ERR_INVALID, "synth prime: class " + std::to_string(classes[i]) + " is out of range 0.." +
                                        std::to_string(Q_ - 1));
    Job j;
    j.mode = Job::PRIME;
    j.n = n - 1;
    j.classes = classes;
    j.stride = n;
    if (j.n > 0) run(j);
    for (int b = 0; b < B_; ++b) pending_[b] = classes[(size_t)b * n + n - 1];
    return WN_OK;
  }

  wn_status generate(int n, const float *temperature, const uint64_t *seed, uint8_t *out, float *logits) override {
    for (int b = 0; b < B_; ++b)
      if (!(temperature[b] >= 0.f) || !std::isfinite(temperature[b]))
        return fail(WN_ERR_INVALID,
                    "synth generate: temperature of stream " + std::to_string(b) + " must be a finite number >= 0");
    if (n == 0) return WN_OK;
    Job j;
    j.mode = Job::GENERATE;
    j.n = n;
    j.temperature = temperature;
    j.seed = seed;
    j.out = out;
    j.logits = logits;
    run(j);
    return WN_OK;
  }

 private:
  struct Job {
    enum Mode { PRIME, GENERATE } mode = PRIME;
    int n = 0;
    const uint8_t *classes = nullptr;  // prime: batch x stride
    int stride = 0;
    int i0 = 0, n_total = 0;  // this chunk's first step and the job's step count (array indexing)
    const float *temperature = nullptr;
    const uint64_t *seed = nullptr;
    uint8_t *out = nullptr;
    float *logits = nullptr;
  };

  // ---- construction

  // One thread where only one is available, or, where none was asked for (WAVENET_THREADS unset),
  // for a model whose layers are too small to hide a cross-core hand-over (~0.2 us: a few 10k MACs).
  // Else two (the pipeline), or for the stream split one per SPLIT_SHARE streams, at most
  // default_threads().
  int pick_threads(int batch) const {
    const int avail = default_threads();
    if (avail < 2) return 1;
    const double layer_macs = ((double)4 * D_ * R_ + (double)S_ * D_ + (double)R_ * D_) * batch;
    if (layer_macs < 20000 && runtime().threads == 0) return 1;
    return batch >= SPLIT_MIN ? std::max(2, std::min(avail, batch / SPLIT_SHARE)) : 2;
  }

  // The layers whose past half of the gate product the skip thread computes in the pipeline (for the
  // next step, after its skip product of that layer): m of them, spread evenly, with m chosen so
  // the two threads' multiply-adds per step balance: chain - m * past = skip + m * past (default
  // model: chain 610k, skip 492k, past 8k per layer, m = 7).
  void pick_offload() {
    const double gate = 4.0 * D_ * R_, res = (double)R_ * D_, past = gate / 2;
    const double chain = L_ * gate + (L_ - 1) * res, skip = (double)L_ * S_ * D_;
    const int m = std::max(0, std::min(L_, (int)((chain - skip) / (2 * past))));
    offload_.assign(L_, 0);
    for (int l = 0; l < L_; ++l) offload_[l] = (l + 1) * m / L_ > l * m / L_;
  }

  void pack_weights(const float *params) {
    wn_layout lay;
    wn_layout_get(&c_, &lay);
    W_.embed.resize((size_t)2 * Q_ * Rp_);
    W_.in_bias.resize(Rp_);
    for (int tap = 0; tap < 2; ++tap)
      for (int q = 0; q < Q_; ++q)
        std::memcpy(W_.embed.data() + ((size_t)tap * Q_ + q) * Rp_,
                    params + lay.input_embed + ((size_t)tap * Q_ + q) * R_, sizeof(float) * R_);
    std::memcpy(W_.in_bias.data(), params + lay.input_bias, sizeof(float) * R_);
    W_.gate_past.resize(L_);
    W_.gate_cur.resize(L_);
    W_.skip.resize(L_);
    W_.res.resize(L_);
    // the skip biases of all layers are summed (in double) into the bias of layer 0's skip product
    std::vector<double> sb(S_, 0.0);
    for (int l = 0; l < L_; ++l) {
      wn_layer_layout ll;
      wn_layer_layout_get(&c_, l, &ll);
      for (int s = 0; s < S_; ++s) sb[s] += params[ll.skip_b + s];
    }
    for (int l = 0; l < L_; ++l) pack_layer(params, l, sb);
    pack_head(params, lay);
  }

  void pack_layer(const float *params, int l, const std::vector<double> &skip_bias_sum) {
    wn_layer_layout ll;
    wn_layer_layout_get(&c_, l, &ll);
    const float *Wg = params + ll.gate_w, *bg = params + ll.gate_b;
    const float *Ws = params + ll.skip_w, *Wr = params + ll.res_w, *br = params + ll.res_b;
    const int R = R_, D = D_, Dp = Dp_;
    // rows 0..D-1: f, rows Dp..Dp+D-1: g of the same channels; the rows between are zero
    auto grow = [=](int m) { return m < Dp ? (m < D ? m : -1) : (m - Dp < D ? D + m - Dp : -1); };
    for (int half = 0; half < 2; ++half)  // columns 0..R-1 read x(t - d), R..2R-1 x(t)
      (half ? W_.gate_cur : W_.gate_past)[l].pack(
          2 * Dp, R,
          [=](int m, int kk) {
            const int r = grow(m);
            return r < 0 ? 0.f : Wg[(size_t)r * 2 * R + half * R + kk];
          },
          [=](int m) {
            const int r = grow(m);
            return r < 0 ? 0.f : bg[r];
          },
          half == 0);
    W_.skip[l].pack(
        S_, D, [=](int m, int kk) { return Ws[(size_t)m * D + kk]; },
        [&](int m) { return (float)skip_bias_sum[(size_t)m]; }, l == 0);
    if (l < L_ - 1)
      W_.res[l].pack(
          R_, D, [=](int m, int kk) { return Wr[(size_t)m * D + kk]; }, [=](int m) { return br[m]; }, true);
  }

  // The head in two fixed halves of W1 rows (units of 16; the second may be empty), independent of
  // the thread count so that one and two threads compute the same numbers.
  void pack_head(const float *params, const wn_layout &lay) {
    const float *W1 = params + lay.head1_w, *b1 = params + lay.head1_b;
    const float *W2 = params + lay.head2_w, *b2 = params + lay.head2_b;
    const int hu = (H_ + 15) / 16, first = std::max(1, hu / 2);
    W_.h0[0] = 0;
    W_.hk[0] = std::min(H_, first * 16);
    W_.h0[1] = W_.hk[0];
    W_.hk[1] = H_ - W_.hk[0];
    const int S = S_, H = H_;
    for (int p = 0; p < 2; ++p) {
      const int h0 = W_.h0[p];
      if (W_.hk[p] == 0) continue;
      W_.head1[p].pack(
          W_.hk[p], S_, [=](int m, int kk) { return W1[(size_t)(h0 + m) * S + kk]; }, [=](int m) { return b1[h0 + m]; },
          true);
      W_.head2[p].pack(
          Q_, W_.hk[p], [=](int m, int kk) { return W2[(size_t)m * H + h0 + kk]; }, [=](int m) { return b2[m]; },
          p == 0);
    }
  }

  void alloc_state() {
    ring_off_.resize(L_);
    size_t ring_total = 0;
    for (int l = 0; l < L_; ++l) {
      ring_off_[l] = ring_total;
      ring_total += (size_t)(c_.dilations[l] + 1) * rows_ * Rp_;
    }
    rings_.resize(ring_total);
    x_.resize((size_t)rows_ * Rp_);
    fg_.resize((size_t)L_ * rows_ * 2 * Dp_);
    z_.resize((size_t)L_ * rows_ * Dp_);
    skip_.resize((size_t)rows_ * Sp_);
    for (int p = 0; p < 2; ++p) {
      h1_[p].resize((size_t)rows_ * std::max(16, round16(W_.hk[p])));
      lg_[p].resize((size_t)rows_ * Qp_);
    }
    logits_.resize((size_t)rows_ * Qp_);
    pending_.assign(B_, silence_class());
    prev_.assign(B_, -1);
    cur_.assign(B_, 0);
    next_.assign(B_, 0);
    t_ = 0;
  }

  void make_bf16() {
    for (int l = 0; l < L_; ++l) {
      W_.gate_past[l].make_bf16(R_);
      W_.gate_cur[l].make_bf16(R_);
      W_.skip[l].make_bf16(D_);
      if (l < L_ - 1) W_.res[l].make_bf16(D_);
    }
    for (int p = 0; p < 2; ++p)
      if (W_.hk[p] > 0) {
        W_.head1[p].make_bf16(S_);
        W_.head2[p].make_bf16(W_.hk[p]);
      }
    const int smax = std::max(std::max(2 * R_ + 2, S_ + 1), std::max(H_ + 1, D_ + 1));
    for (auto &s : scratch_) s.stage.assign((size_t)B_ * (smax / 2 + 1), 0);
  }

  // Every product's weights (gate halves, skip, res, head) are rounded to fp16; the variants with F16C
  // (avx2, avx512) keep them as halves and convert on load (half the bytes of fp32: on a 2-core Intel
  // Xeon with 2 MiB L2 per core the pipeline threads' weights then fit in L2, docs/perf.md), the
  // generic one computes with the rounded fp32 values: the same numbers. Nothing changes when any
  // weight is beyond fp16's range.
  void make_fp16() {
    std::vector<Packed *> all;
    for (int l = 0; l < L_; ++l) {
      all.push_back(&W_.gate_past[l]);
      all.push_back(&W_.gate_cur[l]);
      all.push_back(&W_.skip[l]);
      if (l < L_ - 1) all.push_back(&W_.res[l]);
    }
    for (int p = 0; p < 2; ++p)
      if (W_.hk[p] > 0) {
        all.push_back(&W_.head1[p]);
        all.push_back(&W_.head2[p]);
      }
    for (const Packed *P : all)
      if (!P->fits_fp16()) return;
    const bool halves = active_isa() != Isa::generic;  // the SIMD variants are built with F16C
    for (Packed *P : all) P->make_fp16(halves);
  }

  // ---- scheduling

  // Runs a job in chunks of CHUNK steps. A generate chunk runs either on both threads (the pipeline)
  // or on the caller alone ("solo": the same products in the same order, so the numbers are
  // identical). The choice adapts to the measured time per step: on a machine that is busy with
  // other work, a thread that waits for another 30+ times per sample can lose far more than it
  // gains, and solo wins. The slower mode is re-tried now and then (exponential back-off).
  // A chunk run to measure a mode (first use, or a re-try of the losing one) is a short PROBE: on a
  // busy machine a parallel step can cost 10-20x a solo one, and a fresh synthesizer whose first two
  // 256-step chunks were parallel probes stalled ~450 ms in each (docs/perf.md). The very first
  // chunk (cold caches, thread wake-up) runs solo and is not measured. Priming is always solo.
  static constexpr int CHUNK = 256, PROBE = 32;
  void run(const Job &j) {
    const bool gen = j.mode == Job::GENERATE;
    const bool adaptive = gen && crew_->size() > 1 && force_ < 0;
    for (int done = 0; done < j.n;) {
      Job sub = j;
      bool par = crew_->size() > 1 && force_ != 0 && (gen || B_ >= 2), probe = false;
      if (adaptive) choose(&par, &probe);
      sub.n = std::min(probe ? PROBE : CHUNK, j.n - done);
      sub.i0 = done;
      sub.n_total = j.n;
      const auto t0 = std::chrono::steady_clock::now();
      run_chunk(sub, par);
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / sub.n;
      if (adaptive && sub.n >= PROBE / 2) record(par, dt);
      done += sub.n;
    }
  }

  struct Adapt {
    double last[2] = {0, 0};  // seconds per step of the latest measured chunk: [solo, parallel]
    bool first = true;
    long chunks = 0;
    long next_try[2] = {0, 0};
    int backoff[2] = {1, 1};
  };

  void choose(bool *par, bool *probe) const {
    const Adapt &a = adapt_;
    *probe = true;
    if (a.first)
      *par = false;  // warm up, solo
    else if (a.last[1] <= 0)
      *par = true;  // measure parallel,
    else if (a.last[0] <= 0)
      *par = false;  // then solo,
    else {           // then the faster, re-trying the slower now and then
      const int best = a.last[1] <= a.last[0] ? 1 : 0, other = 1 - best;
      *probe = a.chunks >= a.next_try[other];
      *par = (*probe ? other : best) == 1;
    }
  }

  void record(bool par, double dt) {
    Adapt &a = adapt_;
    const int m = par ? 1 : 0;
    // the latest measurement decides (an average would let one cold or preempted chunk keep a mode
    // out for many back-off periods)
    if (a.first)
      a.first = false;
    else
      a.last[m] = dt;
    a.chunks++;
    if (a.last[1 - m] > 0 && a.last[m] > a.last[1 - m]) {  // this mode lost: back off before trying it again
      a.backoff[m] = std::min(64, a.backoff[m] * 2);
      a.next_try[m] = a.chunks + a.backoff[m];
    } else {
      a.backoff[m] = 1;
    }
  }

  // A range of streams [b0, b0 + n): the whole batch, or one thread's share in the stream split.
  struct Span {
    int b0, n;
    int r0;  // the row of stream b0 in the per-stream buffers (b0, plus the gaps between shares)
  };

  // Share k of `parts` (contiguous streams); with the split layout (parts_ > 1) its rows start after
  // k gaps of GAP rows, so two threads never write neighbouring rows. Measured at 16 streams on two
  // threads: 1.07x with the gaps (8 rows; 32 no better); two separate synthesizers of 8 streams in
  // one process are still ~5 % faster, for a reason not found.
  Span share(int k, int parts) const {
    const int b0 = B_ * k / parts, b1 = B_ * (k + 1) / parts;
    return Span{b0, b1 - b0, b0 + (parts_ > 1 ? GAP * k : 0)};
  }

  // Whether a parallel chunk splits the streams between the threads (each runs the solo loop on its
  // share: no synchronisation within the chunk) rather than the pipeline. Priming has no skip work,
  // so any batch of 2 or more splits. Generation splits from SPLIT_MIN streams, where a share of
  // SPLIT_SHARE or more still fills the batch tiles (one thread, default model, avx512: batch 2 24.6k
  // samples/s, batch 4 52.2k). Measured on the quiet 2-core VM against the pipeline (docs/perf.md):
  // generation 1.05x at 8 streams, 1.09x at 16, 1.18x at 64; priming 1.55x to 1.80x; and on a busy
  // machine the split, which never waits for a descheduled partner within a chunk, keeps its rate
  // better.
  static constexpr int SPLIT_MIN = 8, SPLIT_SHARE = 4;
  bool split_streams(const Job &j) const { return j.mode == Job::PRIME ? B_ >= 2 : B_ >= SPLIT_MIN; }

  void run_chunk(const Job &j, bool par) {
    job_ = j;
    const Span all{0, B_, 0};
    if (par && split_streams(j)) {
      const int parts = parts_ > 1 ? parts_ : std::min(crew_->size(), B_);
      crew_->run([this, parts](int k) {
        if (k < parts) chain_thread(true, share(k, parts), scratch_[k].stg());
      });
    } else if (par) {
      chain_done_.reset();
      skip_done_.reset();
      half_done_.reset();
      past_done_.reset();
      crew_->run([this, all](int k) {
        if (k == 0)
          chain_thread(false, all, scratch_[0].stg());
        else if (k == 1)
          skip_thread();
      });
    } else {
      for (int k = 0; k < parts_; ++k) chain_thread(true, share(k, parts_), scratch_[0].stg());
    }
    t_ += j.n;
  }

  // ---- the step loop

  // Thread 0: the residual chain of every step, the first half of the head, sampling. solo: also
  // the skip thread's share, in the same order. s: the streams (all of them, except in the stream
  // split, where each thread runs this loop solo on its share); stg: the thread's bf16 scratch.
  void chain_thread(bool solo, Span s, uint32_t *stg) {
    const Job &j = job_;
    const bool gen = j.mode == Job::GENERATE;
    const int layers = gen ? L_ : L_ - 1;  // priming needs no gate of the last layer
    const int e = s.b0 + s.n;
    if (gen) std::copy(pending_.begin() + s.b0, pending_.begin() + e, cur_.begin() + s.b0);
    for (int i = 0; i < j.n; ++i) {
      const uint64_t t = t_ + i;
      if (!gen)
        for (int b = s.b0; b < e; ++b) cur_[b] = j.classes[(size_t)b * j.stride + j.i0 + i];
      embed(t, s);
      for (int l = 0; l < layers; ++l) {
        const bool offloaded = !solo && i > 0 && offload_[l];
        if (offloaded) past_done_.wait((uint64_t)i * L_ + l + 1);
        chain_layer(l, t, stg, s, offloaded);
        if (!gen) continue;
        if (solo)
          skip_layer(l, stg, s);
        else
          chain_done_.publish((uint64_t)i * L_ + l + 1);
      }
      if (gen) {
        if (solo)
          head_input(s);
        else
          skip_done_.wait((uint64_t)i + 1);
        head_half(0, stg, s);
        if (solo)
          head_half(1, stg, s);
        else
          half_done_.wait((uint64_t)i + 1);
        sample(i, t, s);
      }
      std::copy(cur_.begin() + s.b0, cur_.begin() + e, prev_.begin() + s.b0);
      if (gen) std::copy(next_.begin() + s.b0, next_.begin() + e, cur_.begin() + s.b0);
    }
    if (gen) std::copy(cur_.begin() + s.b0, cur_.begin() + e, pending_.begin() + s.b0);
  }

  // Thread 1 (generate only): the skip products of every layer as the chain publishes z_l, then
  // relu(skip) for the head and the second half of the head. After the skip product of an offloaded
  // layer, the past half of its gate product for the next step: x_l(t + 1 - d) is already in the
  // ring (d >= 1), and the chain has finished with fg_l of this step once z_l is published.
  void skip_thread() {
    uint32_t *stg = scratch_[1].stg();
    const Span all{0, B_, 0};
    for (int i = 0; i < job_.n; ++i) {
      for (int l = 0; l < L_; ++l) {
        chain_done_.wait((uint64_t)i * L_ + l + 1);
        skip_layer(l, stg, all);
        if (offload_[l] && i + 1 < job_.n) {
          gate_past(l, t_ + i + 1, stg, all);
          past_done_.publish((uint64_t)(i + 1) * L_ + l + 1);
        }
      }
      head_input(all);
      skip_done_.publish((uint64_t)i + 1);
      head_half(1, stg, all);
      half_done_.publish((uint64_t)i + 1);
    }
  }

  // x_0 = bias + E1[c_t] + E0[c_{t-1}], also into layer 0's ring.
  void embed(uint64_t t, Span s) {
    for (int b = s.b0; b < s.b0 + s.n; ++b) {
      float *xb = x_.data() + (size_t)(s.r0 + b - s.b0) * Rp_;
      const float *e1 = W_.embed.data() + ((size_t)Q_ + cur_[b]) * Rp_;
      const float *bi = W_.in_bias.data();
      if (prev_[b] >= 0) {
        const float *e0 = W_.embed.data() + (size_t)prev_[b] * Rp_;
        for (int r = 0; r < Rp_; ++r) xb[r] = bi[r] + e1[r] + e0[r];
      } else {
        for (int r = 0; r < Rp_; ++r) xb[r] = bi[r] + e1[r];
      }
    }
    std::memcpy(ring_slot(0, t) + (size_t)s.r0 * Rp_, x_.data() + (size_t)s.r0 * Rp_, sizeof(float) * s.n * Rp_);
  }

  // Layer l of the chain: z_l = gate(Wg.[x(t-d); x(t)] + bg), then x += Wr.z_l + br (into the next
  // layer's ring), except after the last layer.
  // past: whether fg_l already holds the past half (computed by the skip thread); else it is
  // computed here. Either way the same products in the same order: fg = bg + Wg_past.x(t - d), stored,
  // then + Wg_cur.x(t), so the numbers do not depend on who computed the first half.
  void chain_layer(int l, uint64_t t, uint32_t *stg, Span s, bool past_done = false) {
    const size_t xo = (size_t)s.r0 * Rp_;
    float *x = x_.data() + xo, *fg = fg_layer(l, s);
    float *z = z_.data() + ((size_t)l * rows_ + s.r0) * Dp_;
    if (!past_done) gate_past(l, t, stg, s);
    packed_gemm(W_.gate_cur[l], x, Rp_, R_, nullptr, 0, 0, s.n, fg, 2 * Dp_, false, true, stg);
    WN_DISPATCH(synth_gate, fg, 2 * Dp_, Dp_, D_, s.n, z, Dp_);
    if (l == L_ - 1) return;
    packed_gemm(W_.res[l], z, Dp_, D_, nullptr, 0, 0, s.n, x, Rp_, true, true, stg);
    std::memcpy(ring_slot(l + 1, t) + xo, x, sizeof(float) * s.n * Rp_);
  }

  float *fg_layer(int l, Span s) { return fg_.data() + ((size_t)l * rows_ + s.r0) * 2 * Dp_; }

  // fg_l = bg_l + Wg_past_l.x_l(t - d_l), the half of layer l's gate product that does not depend on
  // this step's x_l(t).
  void gate_past(int l, uint64_t t, uint32_t *stg, Span s) {
    const float *past = ring_slot(l, t + 1) + (size_t)s.r0 * Rp_;  // slot of t - d == t + 1 (mod d + 1)
    packed_gemm(W_.gate_past[l], past, Rp_, R_, nullptr, 0, 0, s.n, fg_layer(l, s), 2 * Dp_, true, false, stg);
  }

  // skip (+)= Ws_l.z_l; layer 0 starts from the sum of the skip biases.
  void skip_layer(int l, uint32_t *stg, Span s) {
    packed_gemm(W_.skip[l], z_.data() + ((size_t)l * rows_ + s.r0) * Dp_, Dp_, D_, nullptr, 0, 0, s.n,
                skip_.data() + (size_t)s.r0 * Sp_, Sp_, l == 0, l > 0, stg);
  }

  void head_input(Span s) {
    float *v = skip_.data() + (size_t)s.r0 * Sp_;
    for (size_t q = 0; q < (size_t)s.n * Sp_; ++q) v[q] = v[q] > 0.f ? v[q] : 0.f;
  }

  // Half p of the head: h1_p = relu(W1_p.relu(skip) + b1_p); lg_p = W2[:, half p].h1_p (+ b2 for p = 0).
  void head_half(int p, uint32_t *stg, Span s) {
    float *lg = lg_[p].data() + (size_t)s.r0 * Qp_;
    if (W_.hk[p] == 0) {
      std::memset(lg, 0, sizeof(float) * s.n * Qp_);
      return;
    }
    const int ld = std::max(16, round16(W_.hk[p]));
    float *h1 = h1_[p].data() + (size_t)s.r0 * ld;
    packed_gemm(W_.head1[p], skip_.data() + (size_t)s.r0 * Sp_, Sp_, S_, nullptr, 0, 0, s.n, h1, ld, true, false, stg);
    for (size_t q = 0; q < (size_t)s.n * ld; ++q) h1[q] = h1[q] > 0.f ? h1[q] : 0.f;
    packed_gemm(W_.head2[p], h1, ld, W_.hk[p], nullptr, 0, 0, s.n, lg, Qp_, p == 0, false, stg);
  }

  // logits = lg_0 + lg_1; sample every stream into next_ (and the caller's arrays).
  void sample(int i, uint64_t t, Span s) {
    const Job &j = job_;
    const size_t gi = (size_t)j.i0 + i;  // index in the caller's arrays
    for (int b = s.b0; b < s.b0 + s.n; ++b) {
      const size_t row = (size_t)(s.r0 + b - s.b0);
      float *lg = logits_.data() + row * Qp_;
      const float *l0 = lg_[0].data() + row * Qp_, *l1 = lg_[1].data() + row * Qp_;
      for (int q = 0; q < Q_; ++q) lg[q] = l0[q] + l1[q];
      const int s = wn_sample(lg, Q_, j.temperature[b], cut_p(b), cut_k(b), wn_uniform(j.seed[b], t));
      j.out[(size_t)b * j.n_total + gi] = (uint8_t)s;
      if (j.logits) std::memcpy(j.logits + ((size_t)b * j.n_total + gi) * Q_, lg, sizeof(float) * Q_);
      next_[b] = s;
    }
  }

  float *ring_slot(int l, uint64_t t) {
    const uint64_t slots = (uint64_t)c_.dilations[l] + 1;
    return rings_.data() + ring_off_[l] + (size_t)(t % slots) * rows_ * Rp_;
  }

  wn_config c_;
  int B_, R_, D_, S_, H_, Q_, L_, Rp_, Dp_, Sp_, Qp_;
  // the stream split's layout: parts_ shares of the streams (1: none), rows_ = B_ + GAP * (parts_ - 1)
  // rows in every per-stream buffer (the shares separated by GAP unused rows)
  static constexpr int GAP = 8;
  int parts_ = 1, rows_ = 0;
  SynthWeights W_;
  // stream state (thread 0 only)
  std::vector<size_t> ring_off_;
  Buf rings_, x_, fg_;
  std::vector<int> pending_, prev_, cur_, next_;
  uint64_t t_ = 0;
  // handed from thread 0 to thread 1 (z_, per layer) and back (skip_ after relu, lg_[1])
  Buf z_, skip_, h1_[2], lg_[2], logits_;
  std::vector<Scratch> scratch_;  // one per thread (at least 2)

  Job job_;
  Adapt adapt_;                 // generate's solo/parallel choice
  bool bf16_ = false;           // wn_synth_options.precision bf16, on CPUs with AVX512-BF16
  int force_ = -1;              // wn_synth_options.mode: -1 auto, 0 solo, 1 parallel (for tests and benchmarks)
  SpinSignal chain_done_;       // thread 0: steps * L + layers whose z (and x) are complete in this chunk
  SpinSignal skip_done_;        // thread 1: steps whose relu(skip) is complete
  SpinSignal half_done_;        // thread 1: steps whose second half of the logits is complete
  SpinSignal past_done_;        // thread 1: steps * L + layers whose past gate half is in fg_ (offloaded ones)
  std::vector<char> offload_;   // per layer: the skip thread computes its past gate half (pipeline)
  std::unique_ptr<Crew> crew_;  // last member: its threads stop before the buffers above go
};

}  // namespace

wn_status cpu_synth_create(const wn_config &c, const float *params, int batch, const wn_synth_options &opt,
                           std::unique_ptr<SynthImpl> *out) {
  if (!params) return fail(WN_ERR_INVALID, "synth: params is null");
  if (c.classes > 256) return fail(WN_ERR_INVALID, "synth: at most 256 classes");
  out->reset(new CpuSynth(c, params, batch, opt));
  return WN_OK;
}

}  // namespace wn
