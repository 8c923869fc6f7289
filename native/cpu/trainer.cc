// The CPU trainer (wn::TrainerImpl): owns parameters, gradients, Adam moments and the activations of
// the last forward; runs the layers of native/cpu/layers.cc over row chunks on wn::pool().
// Determinism: chunks depend only on the shape; each chunk's weight gradient is written to its own
// slot and the slots are summed in chunk order, so the bits do not depend on the thread count.
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>
#include "core/backend.h"
#include "core/error.h"
#include "core/threadpool.h"
#include "cpu/model.h"

namespace wn {
namespace cpu {
namespace {

// pool().run with the tasks' exceptions (bad_alloc from a scratch buffer) caught inside the task, so
// none escapes a worker thread; the first one is rethrown on the calling thread once all tasks are
// done, where the C API turns it into a status.
template <class F>
void par(int n, F &&f) {
  std::atomic<bool> failed{false};
  std::exception_ptr err;
  std::mutex mu;
  pool().run(n, [&](int task, int thread) {
    if (failed.load(std::memory_order_relaxed)) return;
    try {
      f(task, thread);
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu);
      if (!err) err = std::current_exception();
      failed.store(true);
    }
  });
  if (err) std::rethrow_exception(err);
}

// Everything the trainer allocates, in floats, from the shape alone (used for memory_bytes too).
struct Plan {
  size_t params, x, gates, skip, h1, logits, row_loss, dx, dfg, layer_partials, head_partials, scratch;
  size_t total_bytes() const {
    return 4 * (4 * params + x + 2 * gates + 2 * skip + h1 + logits + row_loss + 2 * dx + dfg + layer_partials +
                head_partials + scratch);
  }
};

// Backward task t of a layer with n rows per example: example t / per, chunks [g*kGroup, ...) of it.
int groups_per_example(int n) { return ((n + kChunk - 1) / kChunk + kGroup - 1) / kGroup; }
int groups(const Shape &s, int n) { return s.B * groups_per_example(n); }
int head_chunks(const Shape &s) { return (s.B * s.W + kChunk - 1) / kChunk; }
int head_groups(const Shape &s) { return (head_chunks(s) + kGroup - 1) / kGroup; }

Plan make_plan(const Shape &s, int threads) {
  Plan p{};
  p.params = s.P;
  int max_len = 0, max_rows = 0, max_chunks = 0;
  for (int l = 0; l < s.L; ++l) {
    p.x += (size_t)s.B * s.len(l) * s.R;
    p.gates += (size_t)s.B * s.rows(l) * s.D;
    max_len = std::max(max_len, s.len(l));
    max_rows = std::max(max_rows, s.rows(l));
    max_chunks = std::max(max_chunks, groups(s, s.rows(l)));
  }
  p.skip = (size_t)s.B * s.W * s.S;  // counted twice in total_bytes: the sum and its gradient
  p.h1 = (size_t)s.B * s.W * s.H;
  p.logits = (size_t)s.B * s.W * s.Q;
  p.row_loss = (size_t)s.B * s.W;
  p.dx = (size_t)s.B * max_len * s.R;
  p.dfg = (size_t)s.B * max_rows * 2 * s.D;
  p.layer_partials = (size_t)max_chunks * s.layer_params;
  p.head_partials = (size_t)head_groups(s) * s.head_params;
  p.scratch = (size_t)threads * kChunk * (3 * s.D + s.S + s.H + s.Q);
  return p;
}

class CpuTrainer final : public TrainerImpl {
 public:
  CpuTrainer(const wn_config &c, int batch, int window) : s_(make_shape(c, batch, window)) {
    const Plan pl = make_plan(s_, pool().size());
    params_.assign(s_.P, 0.0f);
    grads_.assign(s_.P, 0.0f);
    m_.assign(s_.P, 0.0f);
    v_.assign(s_.P, 0.0f);
    x_.resize(s_.L);
    th_.resize(s_.L);
    sg_.resize(s_.L);
    for (int l = 0; l < s_.L; ++l) {
      x_[l].assign((size_t)s_.B * s_.len(l) * s_.R, 0.0f);
      th_[l].assign((size_t)s_.B * s_.rows(l) * s_.D, 0.0f);
      sg_[l].assign((size_t)s_.B * s_.rows(l) * s_.D, 0.0f);
    }
    skip_.assign(pl.skip, 0.0f);
    dskip_.assign(pl.skip, 0.0f);
    h1_.assign(pl.h1, 0.0f);
    logits_.assign(pl.logits, 0.0f);
    row_loss_.assign(pl.row_loss, 0.0f);
    targets_.assign((size_t)s_.B * s_.W, 0);
    crops_.assign((size_t)s_.B * s_.N, 0);
    dx_a_.assign(pl.dx, 0.0f);
    dx_b_.assign(pl.dx, 0.0f);
    dfg_.assign(pl.dfg, 0.0f);
    layer_part_.assign(pl.layer_partials, 0.0f);
    head_part_.assign(pl.head_partials, 0.0f);
    for (int t = 0; t < pool().size(); ++t) scratch_.emplace_back(s_);
    wn_layout_get(&c, &lay_);
    lay_l_.resize(s_.L);
    for (int l = 0; l < s_.L; ++l) wn_layer_layout_get(&c, l, &lay_l_[l]);
  }

  size_t param_count() const override { return s_.P; }
  wn_status set_params(const float *p) override {
    std::memcpy(params_.data(), p, s_.P * sizeof(float));
    return WN_OK;
  }
  wn_status get_params(float *out) const override {
    std::memcpy(out, params_.data(), s_.P * sizeof(float));
    return WN_OK;
  }
  wn_status get_grads(float *out) const override {
    std::memcpy(out, grads_.data(), s_.P * sizeof(float));
    return WN_OK;
  }
  wn_status get_adam(float *m, float *v, int64_t *step) const override {
    if (m) std::memcpy(m, m_.data(), s_.P * sizeof(float));
    if (v) std::memcpy(v, v_.data(), s_.P * sizeof(float));
    if (step) *step = step_;
    return WN_OK;
  }
  wn_status set_adam(const float *m, const float *v, int64_t step) override {
    std::memcpy(m_.data(), m, s_.P * sizeof(float));
    std::memcpy(v_.data(), v, s_.P * sizeof(float));
    step_ = step;
    return WN_OK;
  }

  wn_status forward(const uint8_t *crops, float *loss, float *logits) override {
    wn_status st = run_forward(crops, loss);
    if (st != WN_OK) return st;
    if (logits) std::memcpy(logits, logits_.data(), logits_.size() * sizeof(float));
    return WN_OK;
  }

  wn_status forward_backward(const uint8_t *crops, float *loss) override {
    wn_status st = run_forward(crops, loss);
    if (st != WN_OK) return st;
    run_backward();
    return WN_OK;
  }

  wn_status adam(const wn_adam_params &a) override {
    if (!(std::isfinite(a.lr) && a.lr >= 0.0f)) return fail(WN_ERR_INVALID, "adam: lr must be a finite number >= 0");
    if (!(a.beta1 >= 0.0f && a.beta1 < 1.0f) || !(a.beta2 >= 0.0f && a.beta2 < 1.0f))
      return fail(WN_ERR_INVALID, "adam: beta1 and beta2 must be in [0, 1)");
    if (!(a.eps > 0.0f && std::isfinite(a.eps))) return fail(WN_ERR_INVALID, "adam: eps must be > 0");
    const int64_t step = step_ + 1;
    const size_t blk = 1 << 16, n = (s_.P + blk - 1) / blk;
    par((int)n, [&](int task, int) {
      const size_t i0 = (size_t)task * blk, i1 = std::min(s_.P, i0 + blk);
      adam_update(params_.data(), grads_.data(), m_.data(), v_.data(), i0, i1, a, step);
    });
    step_ = step;
    return WN_OK;
  }

  wn_status get_tensor(const char *name, int layer, float *out, size_t n) const override {
    if (!have_forward_) return fail(WN_ERR_INVALID, "get_tensor: no forward pass has run yet");
    const std::string nm = name ? name : "";
    const size_t B = s_.B, T = s_.T, W = s_.W;
    auto need = [&](size_t want) -> wn_status {
      if (n != want)
        return fail(WN_ERR_INVALID,
                    "get_tensor " + nm + ": expected " + std::to_string(want) + " floats, got " + std::to_string(n));
      return WN_OK;
    };
    if (nm == "input" || nm == "x" || nm == "z") {
      const int l = nm == "input" ? 0 : layer;
      if (l < 0 || l >= s_.L)
        return fail(WN_ERR_INVALID, "get_tensor " + nm + ": layer must be 0.." + std::to_string(s_.L - 1));
      const size_t C = nm == "z" ? s_.D : s_.R;
      if (need(B * T * C) != WN_OK) return WN_ERR_INVALID;
      std::fill(out, out + n, 0.0f);
      const int first = nm == "z" ? s_.start[l + 1] : s_.start[l];
      const size_t rows = T - first;
      for (size_t b = 0; b < B; ++b)
        for (size_t i = 0; i < rows; ++i) {
          float *o = out + (b * T + first + i) * C;
          if (nm == "z") {
            const float *t = th_[l].data() + (b * rows + i) * C, *g = sg_[l].data() + (b * rows + i) * C;
            for (size_t j = 0; j < C; ++j) o[j] = t[j] * g[j];
          } else {
            std::memcpy(o, x_[l].data() + (b * rows + i) * C, C * sizeof(float));
          }
        }
      return WN_OK;
    }
    if (nm == "skip") {
      if (need(B * W * s_.S) != WN_OK) return WN_ERR_INVALID;
      std::memcpy(out, skip_.data(), n * sizeof(float));
      return WN_OK;
    }
    if (nm == "logits") {
      if (need(B * W * s_.Q) != WN_OK) return WN_ERR_INVALID;
      std::memcpy(out, logits_.data(), n * sizeof(float));
      return WN_OK;
    }
    return fail(WN_ERR_INVALID, "get_tensor: unknown tensor '" + nm + "' (input, x, z, skip, logits)");
  }

 private:
  LayerParams layer_params(int l) const {
    const float *p = params_.data();
    const wn_layer_layout &L = lay_l_[l];
    return LayerParams{p + L.gate_w, p + L.gate_b, p + L.skip_w, p + L.skip_b, p + L.res_w, p + L.res_b};
  }
  HeadParams head_params() const {
    const float *p = params_.data();
    return HeadParams{p + lay_.head1_w, p + lay_.head1_b, p + lay_.head2_w, p + lay_.head2_b};
  }

  wn_status run_forward(const uint8_t *crops, float *loss) {
    const size_t n = (size_t)s_.B * s_.N;
    for (size_t i = 0; i < n; ++i)
      if (crops[i] >= s_.Q)
        return fail(WN_ERR_INVALID, "crops: class " + std::to_string(crops[i]) + " at index " + std::to_string(i) +
                                        " is out of range (classes " + std::to_string(s_.Q) + ")");
    std::memcpy(crops_.data(), crops, n);
    for (int b = 0; b < s_.B; ++b) std::memcpy(&targets_[(size_t)b * s_.W], crops + (size_t)b * s_.N + s_.rf, s_.W);
    have_forward_ = false;
    const float *P = params_.data();
    // Input convolution, one task per example.
    par(s_.B, [&](int b, int) {
      input_forward(s_, P + lay_.input_embed, P + lay_.input_bias, crops + (size_t)b * s_.N,
                    x_[0].data() + (size_t)b * s_.len(0) * s_.R);
    });
    for (int l = 0; l < s_.L; ++l) {
      const LayerParams lp = layer_params(l);
      const int M = s_.rows(l), len = s_.len(l);
      const bool last = l == s_.L - 1;
      packed_.pack_forward(s_, lp);
      par(s_.chunks(M), [&](int c, int thread) {
        int b, i0, i1;
        s_.chunk(M, c, &b, &i0, &i1);
        residual_forward(s_, l, lp, packed_, x_[l].data() + (size_t)b * len * s_.R, i0, i1,
                         th_[l].data() + (size_t)b * M * s_.D, sg_[l].data() + (size_t)b * M * s_.D,
                         last ? nullptr : x_[l + 1].data() + (size_t)b * M * s_.R,
                         skip_.data() + (size_t)b * s_.W * s_.S, l == 0, scratch_[thread]);
      });
    }
    const int rows = s_.B * s_.W, nh = (rows + kChunk - 1) / kChunk;
    const HeadParams hp = head_params();
    packed_head_.pack_forward(s_, hp);
    par(nh, [&](int c, int thread) {
      const int r0 = c * kChunk, r1 = std::min(rows, r0 + kChunk);
      head_forward(s_, hp, packed_head_, skip_.data(), targets_.data(), r0, r1, h1_.data(), logits_.data(),
                   row_loss_.data(), scratch_[thread]);
    });
    double sum = 0.0;
    for (int i = 0; i < rows; ++i) sum += row_loss_[i];
    have_forward_ = true;
    *loss = (float)(sum / rows);
    return WN_OK;
  }

  // Sums `n_parts` slots of `count` floats (stride `count`) into out, in slot order.
  void reduce_parts(const float *parts, int n_parts, size_t count, float *out) {
    const size_t blk = 4096, nb = (count + blk - 1) / blk;
    par((int)nb, [&](int task, int) {
      const size_t i0 = task * blk, i1 = std::min(count, i0 + blk);
      std::memcpy(out + i0, parts + i0, (i1 - i0) * sizeof(float));
      for (int c = 1; c < n_parts; ++c) {
        const float *p = parts + (size_t)c * count;
        for (size_t i = i0; i < i1; ++i) out[i] += p[i];
      }
    });
  }

  void run_backward() {
    float *G = grads_.data();
    const int rows = s_.B * s_.W, nh = head_chunks(s_), nhg = head_groups(s_);
    const HeadParams hp = head_params();
    packed_head_.pack_backward(s_, hp);
    par(nhg, [&](int g, int thread) {
      for (int c = g * kGroup; c < std::min(nh, (g + 1) * kGroup); ++c) {
        const int r0 = c * kChunk, r1 = std::min(rows, r0 + kChunk);
        head_backward(s_, hp, packed_head_, skip_.data(), h1_.data(), logits_.data(), targets_.data(), r0, r1,
                      dskip_.data(), head_part_.data() + (size_t)g * s_.head_params, c > g * kGroup, scratch_[thread]);
      }
    });
    reduce_parts(head_part_.data(), nhg, s_.head_params, G + lay_.head1_w);

    float *dx_next = nullptr;  // gradient of x_{l+1}: none for the last layer
    float *dx = dx_a_.data(), *spare = dx_b_.data();
    for (int l = s_.L - 1; l >= 0; --l) {
      const LayerParams lp = layer_params(l);
      const int M = s_.rows(l), len = s_.len(l), per = (M + kChunk - 1) / kChunk, gpe = groups_per_example(M);
      const int ng = groups(s_, M);
      const float *dxn = dx_next;
      packed_.pack_backward(s_, lp);
      par(ng, [&](int task, int thread) {
        const int b = task / gpe, g = task % gpe;
        for (int c = g * kGroup; c < std::min(per, (g + 1) * kGroup); ++c) {
          int bb, i0, i1;
          s_.chunk(M, b * per + c, &bb, &i0, &i1);
          residual_backward(s_, l, lp, packed_, x_[l].data() + (size_t)b * len * s_.R,
                            th_[l].data() + (size_t)b * M * s_.D, sg_[l].data() + (size_t)b * M * s_.D,
                            dxn ? dxn + (size_t)b * M * s_.R : nullptr, dskip_.data() + (size_t)b * s_.W * s_.S, i0, i1,
                            dfg_.data() + (size_t)b * M * 2 * s_.D, layer_part_.data() + (size_t)task * s_.layer_params,
                            c > g * kGroup, scratch_[thread]);
        }
      });
      reduce_parts(layer_part_.data(), ng, s_.layer_params, G + lay_l_[l].gate_w);
      par(s_.chunks(len), [&](int c, int) {
        int b, j0, j1;
        s_.chunk(len, c, &b, &j0, &j1);
        residual_backward_input(s_, l, packed_, dfg_.data() + (size_t)b * M * 2 * s_.D,
                                dxn ? dxn + (size_t)b * M * s_.R : nullptr, j0, j1, dx + (size_t)b * len * s_.R);
      });
      dx_next = dx;
      std::swap(dx, spare);
    }
    // Input embedding: split the R columns (each column's sum runs in a fixed order).
    const int rblk = 16, nr = (s_.R + rblk - 1) / rblk;
    par(nr, [&](int task, int) {
      const int r0 = task * rblk, r1 = std::min(s_.R, r0 + rblk);
      input_backward(s_, crops_.data(), dx_next, G + lay_.input_embed, G + lay_.input_bias, r0, r1);
    });
  }

  Shape s_;
  wn_layout lay_;
  std::vector<wn_layer_layout> lay_l_;
  std::vector<float> params_, grads_, m_, v_;
  int64_t step_ = 0;
  std::vector<std::vector<float>> x_, th_, sg_;
  std::vector<float> skip_, dskip_, h1_, logits_, row_loss_, dx_a_, dx_b_, dfg_, layer_part_, head_part_;
  std::vector<uint8_t> targets_, crops_;
  std::vector<Scratch> scratch_;
  PackedLayer packed_;
  PackedHead packed_head_;
  bool have_forward_ = false;
};

}  // namespace
}  // namespace cpu

size_t cpu_trainer_memory_bytes(const wn_config &c, int batch, int window) {
  if (wn_config_check(&c) != WN_OK || batch < 1 || window < 1) return 0;
  const cpu::Shape s = cpu::make_shape(c, batch, window);
  return cpu::make_plan(s, pool().size()).total_bytes();
}

wn_status cpu_trainer_create(const wn_config &c, int batch, int window, std::unique_ptr<TrainerImpl> *out) {
  *out = std::make_unique<cpu::CpuTrainer>(c, batch, window);
  return WN_OK;
}

}  // namespace wn
