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
// Priming skips the skip/head work (only the residual chain and the rings are needed) and the last
// layer's residual output is never computed (nothing reads it).
//
// Threads. T threads (the caller plus T-1 dedicated workers that sleep between calls and spin only
// while a prime/generate call runs) split every layer by gate channels: thread k owns channels
// J_k of D, computes f/g/z for them, its partial Wr[:,J_k].z_k and Ws[:,J_k].z_k. The residual
// partials are exchanged through a spin barrier (one per layer), and every thread adds them in the
// same order, so all threads hold bit-identical x. Skip partials stay private until the head, which
// is split by W1 rows (H) with partial logits exchanged the same way. Sampling is done redundantly
// by every thread for small batches, or split by stream (plus one barrier) for larger ones.
//
// Weights are repacked per thread into transposed panels (native/cpu/simd/synth_kernels.h) so each
// matrix-vector (batch 1) or small matrix product (batch B: every weight load feeds B streams) is a
// stream of contiguous loads and FMAs; the kernels are the per-ISA SIMD variants.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include "core/backend.h"
#include "core/error.h"
#include "core/platform.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "core/sample.h"
#include "core/threadpool.h"
#include "cpu/synth_pack.h"

static inline void spin_pause() { wn::cpu_relax(); }  // x86 pause, arm64 yield (core/platform.h)

namespace wn {
namespace {

// Per-thread share of the model.
struct ThreadPart {
  int j0 = 0, dk = 0, dkpad = 0;  // gate channels [j0, j0 + dk)
  int h0 = 0, hk = 0, hkpad = 0;  // head rows [h0, h0 + hk)
  std::vector<Packed> gate, skip, res;  // per layer
  Packed head1, head2;
  // private work buffers
  Buf x, fg, z, h, h1, tmp, logits;
  std::vector<uint32_t> stage;  // bf16 inputs
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
    Sp_ = round16(S_);
    Qp_ = round16(Q_);
    wn_layout lay;
    wn_layout_get(&c, &lay);

    // Threads: split gate channels and head rows in units of 16.
    int T = default_threads();
    T = std::min(T, (D_ + 15) / 16);
    T = std::min(T, (H_ + 15) / 16);
    if (L_ < 2) T = 1;  // the per-layer exchange is what orders the ring buffers between threads
    // Threads pay off only when a layer has enough work to hide a barrier (~0.2 us): a few 10k MACs.
    const double layer_macs = ((double)4 * D_ * R_ + (double)S_ * D_ + (double)R_ * D_) * batch;
    if (layer_macs < 20000 && runtime().threads == 0) T = 1;  // unless a thread count was asked for
    T = std::max(1, std::min(T, 64));
    T_ = T;

    // Input embedding and bias, kept as plain rows.
    embed_.resize((size_t)2 * Q_ * Rp_);
    in_bias_.resize(Rp_);
    for (int tap = 0; tap < 2; ++tap)
      for (int q = 0; q < Q_; ++q)
        std::memcpy(embed_.data() + ((size_t)tap * Q_ + q) * Rp_, params + lay.input_embed + ((size_t)tap * Q_ + q) * R_,
                    sizeof(float) * R_);
    std::memcpy(in_bias_.data(), params + lay.input_bias, sizeof(float) * R_);

    // Per-layer residual bias (added once, by every thread, in the same order) and the skip bias sum.
    res_bias_.resize((size_t)L_ * Rp_);
    skip_bias_.resize(Sp_);
    std::vector<double> sb(S_, 0.0);
    for (int l = 0; l < L_; ++l) {
      wn_layer_layout ll;
      wn_layer_layout_get(&c, l, &ll);
      std::memcpy(res_bias_.data() + (size_t)l * Rp_, params + ll.res_b, sizeof(float) * R_);
      for (int s = 0; s < S_; ++s) sb[s] += params[ll.skip_b + s];
    }
    for (int s = 0; s < S_; ++s) skip_bias_.data()[s] = (float)sb[s];
    head2_bias_.resize(Qp_);
    std::memcpy(head2_bias_.data(), params + lay.head2_b, sizeof(float) * Q_);

    // Partition.
    parts_.resize(T_);
    const int du = (D_ + 15) / 16, hu = (H_ + 15) / 16;
    for (int k = 0; k < T_; ++k) {
      ThreadPart &tp = parts_[k];
      int a = du * k / T_, b = du * (k + 1) / T_;
      tp.j0 = std::min(D_, a * 16);
      tp.dk = std::min(D_, b * 16) - tp.j0;
      tp.dkpad = round16(tp.dk);
      a = hu * k / T_;
      b = hu * (k + 1) / T_;
      tp.h0 = std::min(H_, a * 16);
      tp.hk = std::min(H_, b * 16) - tp.h0;
      tp.hkpad = round16(tp.hk);
      tp.gate.resize(L_);
      tp.skip.resize(L_);
      tp.res.resize(L_);
      for (int l = 0; l < L_; ++l) {
        wn_layer_layout ll;
        wn_layer_layout_get(&c, l, &ll);
        const float *Wg = params + ll.gate_w, *bg = params + ll.gate_b;
        const float *Ws = params + ll.skip_w, *Wr = params + ll.res_w;
        const int j0 = tp.j0, dk = tp.dk, dkp = tp.dkpad, R = R_, D = D_;
        // rows 0..dk-1: f of channels j0.., rows dkp..dkp+dk-1: g of the same channels; others zero.
        auto grow = [=](int m) { return m < dkp ? (m < dk ? j0 + m : -1) : (m - dkp < dk ? D + j0 + m - dkp : -1); };
        tp.gate[l].pack(
            2 * dkp, 2 * R,
            [=](int m, int kk) {
              int r = grow(m);
              return r < 0 ? 0.f : Wg[(size_t)r * 2 * R + kk];
            },
            [=](int m) {
              int r = grow(m);
              return r < 0 ? 0.f : bg[r];
            },
            true);
        tp.skip[l].pack(
            S_, dk, [=](int m, int kk) { return Ws[(size_t)m * D + j0 + kk]; }, [](int) { return 0.f; }, false);
        if (l < L_ - 1)
          tp.res[l].pack(
              R_, dk, [=](int m, int kk) { return Wr[(size_t)m * D + j0 + kk]; }, [](int) { return 0.f; }, false);
      }
      const float *W1 = params + lay.head1_w, *b1 = params + lay.head1_b, *W2 = params + lay.head2_w;
      const int h0 = tp.h0, S = S_, H = H_;
      tp.head1.pack(
          tp.hk, S_, [=](int m, int kk) { return W1[(size_t)(h0 + m) * S + kk]; }, [=](int m) { return b1[h0 + m]; },
          true);
      tp.head2.pack(
          Q_, tp.hk, [=](int m, int kk) { return W2[(size_t)m * H + h0 + kk]; }, [](int) { return 0.f; }, false);
      tp.x.resize((size_t)B_ * Rp_);
      tp.fg.resize((size_t)B_ * 2 * tp.dkpad);
      tp.z.resize((size_t)B_ * tp.dkpad);
      tp.h.resize((size_t)B_ * Sp_);
      tp.h1.resize((size_t)B_ * std::max(16, tp.hkpad));
      tp.tmp.resize((size_t)B_ * Rp_);
      tp.logits.resize((size_t)B_ * Qp_);
    }

    // Shared state.
    ring_off_.resize(L_);
    size_t ring_total = 0;
    for (int l = 0; l < L_; ++l) {
      ring_off_[l] = ring_total;
      ring_total += (size_t)(c.dilations[l] + 1) * B_ * Rp_;
    }
    rings_.resize(ring_total);
    xbuf_.resize((size_t)2 * T_ * B_ * Rp_);
    skipx_.resize((size_t)T_ * B_ * Sp_);
    lbuf_.resize((size_t)T_ * B_ * Qp_);
    pending_.assign(B_, silence_class());
    prev_.assign(B_, -1);
    cls_.assign(B_, 0);
    t_ = 0;

    if (opt.precision == WN_SYNTH_BF16 && active_isa() == Isa::avx512 && cpu_features().avx512bf16) bf16_ = true;
    if (bf16_) {
      const int smax = std::max(std::max(2 * R_ + 2, S_ + 1), std::max(H_ + 1, D_ + 1));
      for (auto &tp : parts_) {
        for (int l = 0; l < L_; ++l) {
          tp.gate[l].make_bf16(R_);
          tp.skip[l].make_bf16(tp.dk);
          if (l < L_ - 1) tp.res[l].make_bf16(tp.dk);
        }
        tp.head1.make_bf16(S_);
        tp.head2.make_bf16(tp.hk);
        tp.stage.assign((size_t)B_ * (smax / 2 + 1), 0);
      }
    }
    force_ = opt.mode == WN_SYNTH_MODE_SOLO ? 0 : opt.mode == WN_SYNTH_MODE_PARALLEL ? 1 : -1;
    arrive_.reset(new Flag[T_]);
    for (int k = 1; k < T_; ++k) workers_.emplace_back([this, k] { worker_loop(k); });
  }

  ~CpuSynth() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto &w : workers_) w.join();
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
        return fail(WN_ERR_INVALID, "synth generate: temperature of stream " + std::to_string(b) +
                                        " must be a finite number >= 0");
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

  // ---- threads

  // Runs a job in chunks of CHUNK steps. Each chunk runs either on all T threads or on the caller
  // alone ("solo": the caller computes every thread's share itself, in the same order, so the
  // numbers are identical). The choice adapts to the measured time per step: on a machine that is
  // busy with other work, threads that must meet at a barrier 30+ times per sample lose far more
  // than they gain, and solo wins. The slower mode is re-tried now and then (exponential back-off).
  // A chunk run to measure a mode (first use, or a re-try of the losing one) is a short PROBE: on a
  // busy machine a parallel step can cost 10-20x a solo one, and a fresh synthesizer whose first two
  // 256-step chunks were parallel probes stalled ~450 ms in each (docs/perf.md). The very first
  // chunk (cold caches, thread wake-up) runs solo and is not measured.
  static constexpr int CHUNK = 256, PROBE = 32;
  void run(const Job &j) {
    const int mode = j.mode == Job::GENERATE ? 1 : 0;
    for (int done = 0; done < j.n;) {
      Job sub = j;
      bool par = T_ > 1 && force_ != 0;
      bool probe = false;
      if (par && force_ < 0) {
        Adapt &a = adapt_[mode];
        if (a.first) par = false, probe = true;                 // warm up, solo
        else if (a.ema[1] <= 0) par = true, probe = true;       // measure parallel,
        else if (a.ema[0] <= 0) par = false, probe = true;      // then solo,
        else {                                                  // then the faster, re-trying the slower now and then
          const int best = a.ema[1] <= a.ema[0] ? 1 : 0, other = 1 - best;
          probe = a.chunks >= a.next_try[other];
          par = (probe ? other : best) == 1;
        }
      }
      sub.n = std::min(probe ? PROBE : CHUNK, j.n - done);
      sub.i0 = done;
      sub.n_total = j.n;
      const auto t0 = std::chrono::steady_clock::now();
      run_chunk(sub, par);
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / sub.n;
      if (T_ > 1 && force_ < 0 && sub.n >= PROBE / 2) {
        Adapt &a = adapt_[mode];
        const int m = par ? 1 : 0;
        // the latest measurement decides (an average would let one cold or preempted chunk keep
        // a mode out for many back-off periods)
        if (a.first) a.first = false;
        else a.ema[m] = dt;
        a.chunks++;
        if (a.ema[1 - m] > 0 && a.ema[m] > a.ema[1 - m]) {  // this mode lost: back off before trying it again
          a.backoff[m] = std::min(64, a.backoff[m] * 2);
          a.next_try[m] = a.chunks + a.backoff[m];
        } else {
          a.backoff[m] = 1;
        }
      }
      done += sub.n;
    }
  }

  void run_chunk(const Job &j, bool par) {
    job_ = j;
    for (int q = 0; q < T_; ++q) arrive_[q].v.store(0, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    if (par) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        ++job_id_;
      }
      cv_.notify_all();
      work(0, false);
      int spins = 0;
      while (done_.load(std::memory_order_acquire) != T_ - 1) {
        if (++spins < 2000) spin_pause();
        else std::this_thread::yield();
      }
    } else {
      work(0, true);
    }
    // advance the shared stream state (the workers are idle now)
    prev_ = end_prev_;
    if (j.mode == Job::GENERATE) pending_ = end_cur_;
    t_ += j.n;
  }

  void worker_loop(int k) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || job_id_ != seen; });
        if (stop_) return;
        seen = job_id_;
      }
      work(k, false);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  // All T threads arrive; returns when every one has. `n` counts this thread's barriers in the chunk.
  // Each thread publishes its count in its own cache line and reads the others' (no shared
  // read-modify-write), so for two threads a barrier is one cache-line transfer each way.
  inline void barrier(int k, uint64_t &n) {
    ++n;
    arrive_[k].v.store(n, std::memory_order_release);
    for (int j = 0; j < T_; ++j) {
      if (j == k) continue;
      int spins = 0;
      while (arrive_[j].v.load(std::memory_order_acquire) < n) {
        if (++spins < 2000) spin_pause();
        else std::this_thread::yield();
      }
    }
  }

  // The step loop of thread k for the current chunk; solo: thread 0 alone does every part.
  void work(int k, bool solo) {
    const Job &j = job_;
    ThreadPart &me = parts_[k];  // this thread's private buffers
    const int p_lo = solo ? 0 : k, p_hi = solo ? T_ : k + 1;
    const bool gen = j.mode == Job::GENERATE;
    const int B = B_, R = R_, Rp = Rp_, S = S_, Sp = Sp_, Q = Q_, Qp = Qp_, T = T_;
    // sampling split by stream when the batch is large enough, else every thread samples every stream
    const bool split_sample = !solo && B >= 2 * T && T > 1;
    const bool sync = !solo && T > 1;
    uint64_t nb = 0;  // barriers passed
    std::vector<int> prev(prev_.begin(), prev_.end());
    std::vector<int> cur(B), next(B);
    if (gen) for (int b = 0; b < B; ++b) cur[b] = pending_[b];
    float *x = me.x.data();
    uint32_t *stg = bf16_ ? me.stage.data() : nullptr;  // bf16 input staging (null: fp32)

    for (int i = 0; i < j.n; ++i) {
      const uint64_t t = t_ + i;
      const size_t gi = (size_t)j.i0 + i;  // index in the caller's arrays
      if (!gen)
        for (int b = 0; b < B; ++b) cur[b] = j.classes[(size_t)b * j.stride + gi];
      // x_0 = bias + E1[c_t] + E0[c_{t-1}]
      for (int b = 0; b < B; ++b) {
        float *xb = x + (size_t)b * Rp;
        const float *e1 = embed_.data() + ((size_t)Q + cur[b]) * Rp;
        const float *bi = in_bias_.data();
        if (prev[b] >= 0) {
          const float *e0 = embed_.data() + (size_t)prev[b] * Rp;
          for (int r = 0; r < Rp; ++r) xb[r] = bi[r] + e1[r] + e0[r];
        } else {
          for (int r = 0; r < Rp; ++r) xb[r] = bi[r] + e1[r];
        }
      }
      if (k == 0) std::memcpy(ring_slot(0, t), x, sizeof(float) * B * Rp);

      for (int l = 0; l < L_; ++l) {
        const float *past = ring_slot(l, t + 1);  // slot of t - d == t + 1 (mod d + 1)
        const int par = (int)(nb & 1);
        for (int p = p_lo; p < p_hi; ++p) {
          ThreadPart &tp = parts_[p];
          packed_gemm(tp.gate[l], past, Rp, R, x, Rp, R, B, tp.fg.data(), 2 * tp.dkpad, true, false, stg);
          WN_DISPATCH(synth_gate, tp.fg.data(), 2 * tp.dkpad, tp.dkpad, tp.dk, B, tp.z.data(), tp.dkpad);
          if (gen)
            packed_gemm(tp.skip[l], tp.z.data(), tp.dkpad, tp.dk, nullptr, 0, 0, B, skipx_.data() + (size_t)p * B * Sp, Sp,
                 false, l > 0, stg);
          if (l < L_ - 1)
            packed_gemm(tp.res[l], tp.z.data(), tp.dkpad, tp.dk, nullptr, 0, 0, B,
                 xbuf_.data() + ((size_t)par * T + p) * B * Rp, Rp, false, false, stg);
        }
        if (l < L_ - 1) {
          if (sync) barrier(k, nb);
          const float *rb = res_bias_.data() + (size_t)l * Rp;
          for (int b = 0; b < B; ++b) {
            float *xb = x + (size_t)b * Rp;
            for (int r = 0; r < Rp; ++r) xb[r] += rb[r];
            for (int q = 0; q < T; ++q) {
              const float *pp = xbuf_.data() + ((size_t)par * T + q) * B * Rp + (size_t)b * Rp;
              for (int r = 0; r < Rp; ++r) xb[r] += pp[r];
            }
          }
          if (k == 0) std::memcpy(ring_slot(l + 1, t), x, sizeof(float) * B * Rp);
        }
      }
      if (!gen) {
        for (int b = 0; b < B; ++b) prev[b] = cur[b];
        continue;
      }

      // head
      if (sync) barrier(k, nb);  // skip partials complete
      float *h = me.h.data();
      for (int b = 0; b < B; ++b) {
        float *hb = h + (size_t)b * Sp;
        const float *sb = skip_bias_.data();
        for (int s = 0; s < Sp; ++s) hb[s] = sb[s];
        for (int q = 0; q < T; ++q) {
          const float *pp = skipx_.data() + ((size_t)q * B + b) * Sp;
          for (int s = 0; s < Sp; ++s) hb[s] += pp[s];
        }
        for (int s = 0; s < Sp; ++s) hb[s] = hb[s] > 0.f ? hb[s] : 0.f;
      }
      for (int p = p_lo; p < p_hi; ++p) {
        ThreadPart &tp = parts_[p];
        const int h1ld = std::max(16, tp.hkpad);
        float *plog = lbuf_.data() + (size_t)p * B * Qp;
        if (tp.hk > 0) {
          packed_gemm(tp.head1, h, Sp, S, nullptr, 0, 0, B, tp.h1.data(), h1ld, true, false, stg);
          float *h1 = tp.h1.data();
          for (size_t q = 0; q < (size_t)B * h1ld; ++q) h1[q] = h1[q] > 0.f ? h1[q] : 0.f;
          packed_gemm(tp.head2, h1, h1ld, tp.hk, nullptr, 0, 0, B, plog, Qp, false, false, stg);
        } else {
          std::memset(plog, 0, sizeof(float) * B * Qp);
        }
      }
      if (sync) barrier(k, nb);  // partial logits complete
      for (int b = 0; b < B; ++b) {
        if (split_sample && b % T != k) continue;
        float *lg = me.logits.data() + (size_t)b * Qp;
        const float *b2 = head2_bias_.data();
        for (int q = 0; q < Q; ++q) lg[q] = b2[q];
        for (int p = 0; p < T; ++p) {
          const float *pl = lbuf_.data() + ((size_t)p * B + b) * Qp;
          for (int q = 0; q < Q; ++q) lg[q] += pl[q];
        }
        const int s = wn_sample(lg, Q, j.temperature[b], cut_p(b), cut_k(b), wn_uniform(j.seed[b], t));
        if (split_sample || k == 0) {
          j.out[(size_t)b * j.n_total + gi] = (uint8_t)s;
          if (j.logits) std::memcpy(j.logits + ((size_t)b * j.n_total + gi) * Q, lg, sizeof(float) * Q);
        }
        if (split_sample) cls_[b] = s;
        else next[b] = s;
      }
      if (split_sample) barrier(k, nb);  // every stream's class is in cls_
      for (int b = 0; b < B; ++b) {
        prev[b] = cur[b];
        cur[b] = split_sample ? cls_[b] : next[b];
      }
    }
    if (k == 0) {
      end_prev_ = prev;
      end_cur_ = cur;
    }
  }

  float *ring_slot(int l, uint64_t t) {
    const uint64_t slots = (uint64_t)c_.dilations[l] + 1;
    return rings_.data() + ring_off_[l] + (size_t)(t % slots) * B_ * Rp_;
  }

  wn_config c_;
  int B_, R_, D_, S_, H_, Q_, L_, Rp_, Sp_, Qp_, T_ = 1;
  Buf embed_, in_bias_, res_bias_, skip_bias_, head2_bias_;
  std::vector<ThreadPart> parts_;
  std::vector<size_t> ring_off_;
  Buf rings_, xbuf_, skipx_, lbuf_;
  std::vector<int> pending_, prev_, cls_, end_prev_, end_cur_;
  uint64_t t_ = 0;

  Job job_;
  struct Adapt {
    double ema[2] = {0, 0};  // seconds per step of the latest measured chunk: [solo, parallel]
    bool first = true;
    long chunks = 0;
    long next_try[2] = {0, 0};
    int backoff[2] = {1, 1};
  };
  Adapt adapt_[2];  // [prime, generate]
  bool bf16_ = false;  // wn_synth_options.precision bf16, on CPUs with AVX512-BF16
  int force_ = -1;  // wn_synth_options.mode: -1 auto, 0 solo, 1 parallel (for tests and benchmarks)
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t job_id_ = 0;
  bool stop_ = false;
  struct alignas(64) Flag {
    std::atomic<uint64_t> v{0};
  };
  std::unique_ptr<Flag[]> arrive_;  // per-thread barrier counts
  std::atomic<int> done_{0};
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
