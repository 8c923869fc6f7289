// Native test of the core over its flat C API (native/include/*.h), without Node: built and run by
// scripts/check-platforms.sh on x86-64 (once per SIMD variant, named as its first argument) and cross-compiled for
// arm64 (run under qemu-aarch64). Build: native/test/build.sh. Exit status 0 when every check passes;
// each check prints one line with its measured error.
//
// Checks (tolerances are |a - b| <= atol + rtol * |b|, b the reference):
//   mulaw        encode/decode round trip, the fixed classes of -1, 0 and 1, monotonicity
//   synth        incremental synthesis logits == the reference forward (float64) at every position,
//                3 streams with different temperatures, ring buffers wrapping around
//   gradients    one training step's gradients against central finite differences, every tensor
//   adam         the update against a float64 re-computation from the returned gradients
//   determinism  the same step and the same synthesis twice give identical bits
//   fp16         the weight rounding to fp16 (native/cpu/synth_pack.cc) against the compiler's half type
//                on ~586,000 floats; a synth in precision fp16 equals an fp32 synth bit for bit when
//                every parameter is already an fp16 value (batch 1 and 9, both thread modes)
//   sample-cut   the top-p/top-k threshold of the CPU (grouped by exponent) equals the heap's (the CUDA
//                kernel's) bit for bit, and so does the sample, over flat, peaked, tied and underflowing
//                distributions of 1 to 256 classes and every kind of cut
//   errors       a bad config is refused with a message
//   no-throw     every C API call made with the allocation number k failing (for each k in turn, until
//                a run needs fewer) returns a status: no exception crosses the C API, thread pool start
//                included (this test runs first, so it also creates the pool)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>
#include "core/rng.h"
#include "core/sample.h"
#include "cpu/synth_pack.h"
#include "wavenet.h"
#include "wn_synth.h"
#include "wn_train.h"

// Allocation fault injection for the no-throw check: when g_fail_at >= 0, the allocation with that
// number (counting from 0) throws std::bad_alloc, once.
static long g_fail_at = -1;
static bool g_fail_fired = false;

void *operator new(std::size_t n) {
  if (g_fail_at >= 0 && g_fail_at-- == 0) {
    g_fail_fired = true;
    throw std::bad_alloc();
  }
  if (void *p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void *operator new[](std::size_t n) { return operator new(n); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }

namespace {

int g_failures = 0;

void report(bool ok, const char *name, const std::string &detail) {
  std::printf("%s %-12s %s\n", ok ? "ok  " : "FAIL", name, detail.c_str());
  if (!ok) ++g_failures;
}

std::string fmt(const char *f, double a, double b = 0, double c = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

#define CHECK_OK(call)                                                            \
  do {                                                                            \
    wn_status s_ = (call);                                                        \
    if (s_ != WN_OK) {                                                            \
      std::printf("FAIL %s -> status %d: %s\n", #call, (int)s_, wn_last_error()); \
      ++g_failures;                                                               \
      return;                                                                     \
    }                                                                             \
  } while (0)

struct Lcg {
  uint32_t s;
  explicit Lcg(uint32_t seed) : s(seed) {}
  double next() {  // [0, 1)
    s = s * 1664525u + 1013904223u;
    return s / 4294967296.0;
  }
};

wn_config make_config(const std::vector<int> &dil, int R, int D, int S, int H) {
  wn_config c;
  std::memset(&c, 0, sizeof c);
  c.n_layers = (int)dil.size();
  for (size_t i = 0; i < dil.size(); ++i) c.dilations[i] = dil[i];
  c.residual = R;
  c.dilation = D;
  c.skip = S;
  c.head = H;
  c.classes = 256;
  return c;
}

// Uniform +-1/sqrt(fan-in) for matrices, +-0.1 for biases, +-0.5 for the embedding.
std::vector<float> init_params(const wn_config &c, uint32_t seed) {
  wn_layout L;
  wn_layout_get(&c, &L);
  std::vector<float> p(L.total);
  Lcg r(seed);
  auto fill = [&](size_t off, size_t n, double scale) {
    for (size_t i = 0; i < n; ++i) p[off + i] = (float)((r.next() * 2 - 1) * scale);
  };
  const int R = c.residual, D = c.dilation, S = c.skip, H = c.head, Q = c.classes;
  fill(L.input_embed, (size_t)2 * Q * R, 0.5);
  fill(L.input_bias, R, 0.1);
  for (int l = 0; l < c.n_layers; ++l) {
    wn_layer_layout ll;
    wn_layer_layout_get(&c, l, &ll);
    fill(ll.gate_w, (size_t)2 * D * 2 * R, 1 / std::sqrt(2.0 * R));
    fill(ll.gate_b, 2 * D, 0.1);
    fill(ll.skip_w, (size_t)S * D, 1 / std::sqrt((double)D));
    fill(ll.skip_b, S, 0.1);
    fill(ll.res_w, (size_t)R * D, 1 / std::sqrt((double)D));
    fill(ll.res_b, R, 0.1);
  }
  fill(L.head1_w, (size_t)H * S, 1 / std::sqrt((double)S));
  fill(L.head1_b, H, 0.1);
  fill(L.head2_w, (size_t)Q * H, 1 / std::sqrt((double)H));
  fill(L.head2_b, Q, 0.1);
  return p;
}

// ---------------------------------------------------------------------------------------- mu-law
void test_mulaw() {
  const int n = 20001;
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i) x[i] = -1.0f + 2.0f * i / (n - 1);
  std::vector<uint8_t> q(n);
  wn_mulaw_encode(x.data(), n, 255, q.data());
  wn_mulaw_decode(q.data(), n, 255, y.data());
  // class = round((y + 1) / 2 * mu) with y = mulaw(x): x and the centre of its bin are at most half a class
  // (1/mu) apart in y
  auto mulaw_y = [](double v) { return (v < 0 ? -1 : 1) * std::log1p(255.0 * std::fabs(v)) / std::log(256.0); };
  bool monotone = true;
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    if (i && q[i] < q[i - 1]) monotone = false;
    worst = std::max(worst, std::fabs(mulaw_y(x[i]) - mulaw_y(y[i])) * 127.5);  // in classes
  }
  // every class decodes to a value that encodes back to it
  uint8_t all[256], back[256];
  float centre[256];
  for (int i = 0; i < 256; ++i) all[i] = (uint8_t)i;
  wn_mulaw_decode(all, 256, 255, centre);
  wn_mulaw_encode(centre, 256, 255, back);
  const bool stable = std::memcmp(all, back, 256) == 0;
  const float fixed[3] = {-1.0f, 0.0f, 1.0f};
  uint8_t fq[3];
  wn_mulaw_encode(fixed, 3, 255, fq);
  float big[2] = {-7.0f, 7.0f};
  uint8_t bq[2];
  wn_mulaw_encode(big, 2, 255, bq);
  const bool ok = monotone && stable && worst <= 0.5 + 1e-4 && fq[0] == 0 && fq[1] == 128 && fq[2] == 255 &&
                  bq[0] == 0 && bq[1] == 255;
  report(
      ok, "mulaw",
      fmt("x vs its bin centre: %.4f of a class in mu-law space (<= 0.5); -1,0,1 -> %g,%g,255", worst, fq[0], fq[1]) +
          (monotone ? "; monotone" : "; NOT monotone") +
          (stable ? "; 256 centres re-encode to themselves" : "; a centre re-encodes to ANOTHER class"));
}

// ------------------------------------------------------------------------ synth vs reference
void test_synth(const wn_config &c, int batch, int steps, const char *name, wn_synth_mode mode = WN_SYNTH_MODE_AUTO) {
  const std::vector<float> p = init_params(c, 11);
  wn_synth *s = nullptr;
  wn_synth_options opt = wn_synth_default_options();
  opt.mode = mode;
  CHECK_OK(wn_synth_create(&c, p.data(), batch, WN_DEVICE_CPU, &opt, &s));
  std::vector<float> temp(batch), logits((size_t)batch * steps * c.classes);
  std::vector<uint64_t> seed(batch);
  for (int b = 0; b < batch; ++b) {
    temp[b] = b == 0 ? 1.0f : b == 1 ? 0.6f : 0.0f;
    seed[b] = 1000 + b;
  }
  std::vector<uint8_t> out((size_t)batch * steps);
  // two calls, so state carries across generate calls too
  const int first = steps / 3;
  CHECK_OK(wn_synth_generate(s, first, temp.data(), seed.data(), out.data(), logits.data()));
  std::vector<uint8_t> out2((size_t)batch * (steps - first));
  std::vector<float> logits2((size_t)batch * (steps - first) * c.classes);
  CHECK_OK(wn_synth_generate(s, steps - first, temp.data(), seed.data(), out2.data(), logits2.data()));
  wn_synth_free(s);
  double worst = 0, maxabs = 0;
  bool ok = true;
  for (int b = 0; b < batch; ++b) {
    // the fed sequence: 128 (the pending class after reset), then every sample but the last
    std::vector<uint8_t> seq(steps);
    seq[0] = 128;
    for (int t = 1; t < steps; ++t)
      seq[t] = t - 1 < first ? out[(size_t)b * first + t - 1] : out2[(size_t)b * (steps - first) + t - 1 - first];
    std::vector<float> ref((size_t)steps * c.classes);
    wn_status st = wn_reference_logits(&c, p.data(), seq.data(), steps, ref.data());
    if (st != WN_OK) {
      report(false, name, std::string("wn_reference_logits: ") + wn_last_error());
      return;
    }
    for (int t = 0; t < steps; ++t)
      for (int q = 0; q < c.classes; ++q) {
        const float g = t < first ? logits[((size_t)b * first + t) * c.classes + q]
                                  : logits2[((size_t)b * (steps - first) + t - first) * c.classes + q];
        const double r = ref[(size_t)t * c.classes + q];
        const double d = std::fabs(g - r);
        if (!(d <= 1e-4 + 1e-4 * std::fabs(r))) ok = false;
        worst = std::max(worst, std::isnan(d) ? INFINITY : d);
        maxabs = std::max(maxabs, std::fabs(r));
      }
  }
  report(ok, name,
         fmt("batch %g x %g steps: max |incremental - reference| %.2e", batch, steps, worst) +
             fmt(" (max |logit| %.2f; tolerance 1e-4 + 1e-4|ref|)", maxabs));
}

// ------------------------------------------------------------------- gradients, Adam, determinism
struct TrainCase {
  wn_config c;
  int B, W, N;
  std::vector<float> p;
  std::vector<uint8_t> crops;
};

TrainCase train_case() {
  TrainCase k;
  k.c = make_config({1, 2, 4, 1, 2}, 4, 3, 5, 6);
  k.B = 2;
  k.W = 6;
  k.N = wn_receptive_field(&k.c) + k.W;
  // uniform +-0.5 everywhere (as test/train-grad.test.ts): pre-activations far from the ReLU kinks,
  // which a +-eps perturbation must not cross
  wn_layout L;
  wn_layout_get(&k.c, &L);
  k.p.resize(L.total);
  Lcg r(7);
  for (auto &v : k.p) v = (float)((r.next() * 2 - 1) * 0.5);
  const uint8_t pick[5] = {3, 17, 200, 255, 0};  // few classes: used embedding rows get several terms
  k.crops.resize((size_t)k.B * k.N);
  for (auto &v : k.crops) v = pick[(int)(r.next() * 5)];
  return k;
}

// The mean loss recomputed in float64 from the float32 logits (far less rounding noise than the float32 loss).
double loss64(wn_trainer *t, const TrainCase &k, const std::vector<float> &p, std::vector<float> &logits) {
  wn_trainer_set_params(t, p.data());
  float l32;
  wn_trainer_forward(t, k.crops.data(), &l32, logits.data());
  const int rf = wn_receptive_field(&k.c), Q = k.c.classes;
  double sum = 0;
  for (int b = 0; b < k.B; ++b)
    for (int w = 0; w < k.W; ++w) {
      const float *x = &logits[((size_t)b * k.W + w) * Q];
      double mx = -INFINITY, z = 0;
      for (int q = 0; q < Q; ++q) mx = std::max(mx, (double)x[q]);
      for (int q = 0; q < Q; ++q) z += std::exp(x[q] - mx);
      sum += std::log(z) + mx - x[k.crops[(size_t)b * k.N + rf + w]];
    }
  return sum / (k.B * k.W);
}

void test_gradients() {
  TrainCase k = train_case();
  wn_trainer *t = nullptr;
  CHECK_OK(wn_trainer_create(&k.c, k.B, k.W, WN_DEVICE_CPU, &t));
  const size_t P = wn_trainer_param_count(t);
  std::vector<float> g(P), logits((size_t)k.B * k.W * k.c.classes);
  float loss;
  CHECK_OK(wn_trainer_set_params(t, k.p.data()));
  CHECK_OK(wn_trainer_forward_backward(t, k.crops.data(), &loss));
  CHECK_OK(wn_trainer_get_grads(t, g.data()));
  // every tensor, checked as a group: max |fd - grad| relative to the group's largest gradient
  struct Group {
    std::string name;
    size_t off, n;
  };
  std::vector<Group> groups;
  wn_layout L;
  wn_layout_get(&k.c, &L);
  const int R = k.c.residual, D = k.c.dilation, S = k.c.skip, H = k.c.head, Q = k.c.classes;
  groups.push_back({"input.embed", L.input_embed, (size_t)2 * Q * R});
  groups.push_back({"input.bias", L.input_bias, (size_t)R});
  const int last = k.c.n_layers - 1;
  for (int l = 0; l < k.c.n_layers; ++l) {
    wn_layer_layout ll;
    wn_layer_layout_get(&k.c, l, &ll);
    const std::string n = "layers." + std::to_string(l);
    groups.push_back({n + ".gate.weight", ll.gate_w, (size_t)4 * D * R});
    groups.push_back({n + ".gate.bias", ll.gate_b, (size_t)2 * D});
    groups.push_back({n + ".skip.weight", ll.skip_w, (size_t)S * D});
    groups.push_back({n + ".skip.bias", ll.skip_b, (size_t)S});
    if (l != last) {  // the last layer's residual output feeds nothing: checked to be exactly zero below
      groups.push_back({n + ".res.weight", ll.res_w, (size_t)R * D});
      groups.push_back({n + ".res.bias", ll.res_b, (size_t)R});
    }
  }
  groups.push_back({"head.1.weight", L.head1_w, (size_t)H * S});
  groups.push_back({"head.1.bias", L.head1_b, (size_t)H});
  groups.push_back({"head.2.weight", L.head2_w, (size_t)Q * H});
  groups.push_back({"head.2.bias", L.head2_b, (size_t)Q});
  std::vector<float> p = k.p;
  const float eps = 4e-3f;
  double worst = 0;
  std::string worst_name;
  bool ok = true;
  size_t checked = 0;
  for (const Group &gr : groups) {
    // at most ~16 entries of a tensor, evenly spread (the check runs under emulation too); of the
    // embedding (2 x 256 x R, mostly rows of classes the crops do not use) the rows of the used classes
    double max_err = 0, max_g = 0;
    const size_t stride = gr.name == "input.embed" ? 1 : (gr.n + 15) / 16;
    for (size_t i = 0; i < gr.n; i += stride) {
      const size_t j = gr.off + i;
      if (gr.name == "input.embed") {
        const size_t cls = (i / R) % Q;
        if (!(cls == 3 || cls == 17 || cls == 200 || cls == 255 || cls == 0)) continue;
      }
      const float v = k.p[j];
      p[j] = v + eps;
      const double lp = loss64(t, k, p, logits);
      p[j] = v - eps;
      const double lm = loss64(t, k, p, logits);
      p[j] = v;
      const double h = (double)(v + eps) - (double)(v - eps);
      const double fd = (lp - lm) / h;
      max_err = std::max(max_err, std::fabs(fd - g[j]));
      max_g = std::max(max_g, (double)std::fabs(g[j]));
      ++checked;
    }
    const double ratio = max_g > 0 ? max_err / max_g : INFINITY;
    if (!(ratio < 5e-3)) {
      ok = false;
      std::printf("     %s: max |fd - grad| %.3e vs max |grad| %.3e\n", gr.name.c_str(), max_err, max_g);
    }
    if (ratio > worst) {
      worst = ratio;
      worst_name = gr.name;
    }
  }
  wn_layer_layout ll;
  wn_layer_layout_get(&k.c, last, &ll);
  for (size_t i = 0; i < (size_t)R * D; ++i) ok = ok && g[ll.res_w + i] == 0.0f;
  for (size_t i = 0; i < (size_t)R; ++i) ok = ok && g[ll.res_b + i] == 0.0f;
  wn_trainer_free(t);
  report(ok, "gradients",
         fmt("%g parameters in %g tensors: worst max|fd-grad|/max|grad| %.2e (< 5e-3)", (double)checked,
             (double)groups.size(), worst) +
             " (" + worst_name + "); last res.* exactly 0");
}

void test_adam() {
  TrainCase k = train_case();
  wn_trainer *t = nullptr;
  CHECK_OK(wn_trainer_create(&k.c, k.B, k.W, WN_DEVICE_CPU, &t));
  const size_t P = wn_trainer_param_count(t);
  CHECK_OK(wn_trainer_set_params(t, k.p.data()));
  wn_adam_params ap = wn_adam_default_params();
  ap.lr = 1e-2f;
  std::vector<double> m(P, 0), v(P, 0), ref(k.p.begin(), k.p.end());
  std::vector<float> g(P), got(P), gm(P), gv(P);
  float loss;
  double worst = 0;
  bool ok = true;
  for (int step = 1; step <= 3; ++step) {
    CHECK_OK(wn_trainer_forward_backward(t, k.crops.data(), &loss));
    CHECK_OK(wn_trainer_get_grads(t, g.data()));
    CHECK_OK(wn_trainer_adam(t, &ap));
    CHECK_OK(wn_trainer_get_params(t, got.data()));
    int64_t st = 0;
    CHECK_OK(wn_trainer_get_adam(t, gm.data(), gv.data(), &st));
    ok = ok && st == step;
    const double c1 = 1 / (1 - std::pow((double)ap.beta1, step)), c2 = 1 / (1 - std::pow((double)ap.beta2, step));
    for (size_t i = 0; i < P; ++i) {
      m[i] = ap.beta1 * m[i] + (1 - ap.beta1) * g[i];
      v[i] = ap.beta2 * v[i] + (1 - ap.beta2) * (double)g[i] * g[i];
      ref[i] -= ap.lr * (m[i] * c1) / (std::sqrt(v[i] * c2) + ap.eps);
      const double d = std::fabs(got[i] - ref[i]);
      worst = std::max(worst, d);
      if (!(d <= 1e-6 + 1e-5 * std::fabs(ref[i]))) ok = false;
      if (!(std::fabs(gm[i] - m[i]) <= 1e-7 + 1e-5 * std::fabs(m[i]))) ok = false;
      if (!(std::fabs(gv[i] - v[i]) <= 1e-12 + 1e-5 * std::fabs(v[i]))) ok = false;
    }
    // keep the float64 reference on the library's float32 trajectory (its rounding is not the check)
    for (size_t i = 0; i < P; ++i) ref[i] = got[i];
  }
  wn_trainer_free(t);
  report(ok, "adam",
         fmt("3 steps, lr %g: max |param - float64 update| %.2e; moments and step count match", ap.lr, worst));
}

void test_determinism() {
  TrainCase k = train_case();
  const wn_adam_params ap = wn_adam_default_params();
  std::vector<float> res[2], grads[2];
  float losses[2];
  for (int run = 0; run < 2; ++run) {
    wn_trainer *t = nullptr;
    CHECK_OK(wn_trainer_create(&k.c, k.B, k.W, WN_DEVICE_CPU, &t));
    const size_t P = wn_trainer_param_count(t);
    CHECK_OK(wn_trainer_set_params(t, k.p.data()));
    for (int i = 0; i < 2; ++i) CHECK_OK(wn_trainer_step(t, k.crops.data(), &ap, &losses[run]));
    res[run].resize(P);
    grads[run].resize(P);
    CHECK_OK(wn_trainer_get_params(t, res[run].data()));
    CHECK_OK(wn_trainer_get_grads(t, grads[run].data()));
    wn_trainer_free(t);
  }
  const bool train_same = std::memcmp(&losses[0], &losses[1], sizeof(float)) == 0 && res[0] == res[1] &&
                          std::memcmp(grads[0].data(), grads[1].data(), grads[0].size() * sizeof(float)) == 0;
  // synthesis: same weights and seeds -> same classes and logit bits, whatever happened before (reset)
  const wn_config c = make_config({1, 2, 4, 8, 16, 1, 2}, 16, 16, 32, 24);
  const std::vector<float> p = init_params(c, 5);
  const int batch = 3, n = 300;
  std::vector<uint8_t> out[2];
  std::vector<float> lg[2];
  const float temp[3] = {1.0f, 0.9f, 1.1f};
  const uint64_t seed[3] = {1, 2, 3};
  wn_synth *s = nullptr;
  CHECK_OK(wn_synth_create(&c, p.data(), batch, WN_DEVICE_CPU, nullptr, &s));
  for (int run = 0; run < 2; ++run) {
    out[run].resize((size_t)batch * n);
    lg[run].resize((size_t)batch * n * c.classes);
    CHECK_OK(wn_synth_reset(s));
    CHECK_OK(wn_synth_generate(s, n, temp, seed, out[run].data(), lg[run].data()));
  }
  wn_synth_free(s);
  const bool synth_same =
      out[0] == out[1] && std::memcmp(lg[0].data(), lg[1].data(), lg[0].size() * sizeof(float)) == 0;
  // different seeds must give different streams (the check above could otherwise pass on a constant)
  const bool streams_differ = std::memcmp(out[0].data(), out[0].data() + n, n) != 0;
  report(train_same && synth_same && streams_differ, "determinism",
         std::string("2 training steps twice: ") + (train_same ? "identical" : "DIFFERENT") +
             "; synthesis 3 x 300 twice after reset: " + (synth_same ? "identical" : "DIFFERENT") +
             (streams_differ ? "; seeds give different streams" : "; streams of different seeds are EQUAL"));
}

// ------------------------------------------------------------------------------------------ fp16
// Classes and logits of one synth run (batch streams, n steps).
bool synth_run(const wn_config &c, const std::vector<float> &p, int batch, int n, wn_synth_options opt,
               std::vector<uint8_t> *out, std::vector<float> *lg) {
  wn_synth *s = nullptr;
  if (wn_synth_create(&c, p.data(), batch, WN_DEVICE_CPU, &opt, &s) != WN_OK) return false;
  std::vector<float> temp(batch, 1.0f);
  std::vector<uint64_t> seed(batch);
  for (int b = 0; b < batch; ++b) seed[b] = 40 + b;
  out->resize((size_t)batch * n);
  lg->resize((size_t)batch * n * c.classes);
  const bool ok = wn_synth_generate(s, n, temp.data(), seed.data(), out->data(), lg->data()) == WN_OK;
  wn_synth_free(s);
  return ok;
}

// The compiler's own IEEE half type, where it has one usable in C++ (GCC 12 defines __FLT16_MAX__ on
// arm64 but has _Float16 in C++ only on x86; arm64 has __fp16, IEEE format by default).
#if defined(__aarch64__)
#define WN_TEST_HALF __fp16
#define WN_TEST_HALF_NAME "__fp16"
#elif defined(__FLT16_MAX__)
#define WN_TEST_HALF _Float16
#define WN_TEST_HALF_NAME "_Float16"
#endif

void test_fp16() {
  // the conversion: every 4097th float bit pattern from 0 to 65504 (normal, subnormal, ties), both signs
  long bad = 0;
#if defined(WN_TEST_HALF)
  long tried = 0;
  std::string first;
  for (uint32_t u = 0; u <= 0x477fe000u; u += 4096 + 1) {
    for (const uint32_t sign : {0u, 0x80000000u}) {
      float f;
      const uint32_t v = u | sign;
      std::memcpy(&f, &v, 4);
      const WN_TEST_HALF ref = (WN_TEST_HALF)f;
      uint16_t rb;
      std::memcpy(&rb, &ref, 2);
      const uint16_t h = wn::Packed::to_fp16(f);
      const float back = wn::Packed::from_fp16(h), rf = (float)ref;
      ++tried;
      if (h != rb || std::memcmp(&back, &rf, 4) != 0) {
        if (!bad++) first = fmt("first at %.9g", f);
      }
    }
  }
  const std::string conv = fmt("%g floats rounded as the compiler's " WN_TEST_HALF_NAME ", ", (double)(tried - bad)) +
                           fmt("%g differ", (double)bad) + (bad ? " (" + first + ")" : "");
#else
  const std::string conv = "no half type in this compiler: conversion not compared";
#endif
  // the kernels: fp16 panels (converted on load where the variant has F16C) == fp32 panels of the
  // same values
  const wn_config c = make_config({1, 2, 4, 8, 1, 2}, 24, 40, 40, 24);
  std::vector<float> p = init_params(c, 3);
  for (auto &v : p) v = wn::Packed::from_fp16(wn::Packed::to_fp16(v));
  bool same = true;
  for (const int batch : {1, 9})
    for (const wn_synth_mode mode : {WN_SYNTH_MODE_SOLO, WN_SYNTH_MODE_PARALLEL}) {
      std::vector<uint8_t> o32, o16;
      std::vector<float> l32, l16;
      wn_synth_options opt = wn_synth_default_options();
      opt.mode = mode;
      const bool r32 = synth_run(c, p, batch, 120, opt, &o32, &l32);
      opt.precision = WN_SYNTH_FP16;
      const bool r16 = synth_run(c, p, batch, 120, opt, &o16, &l16);
      if (!r32 || !r16 || o32 != o16 || std::memcmp(l32.data(), l16.data(), l32.size() * sizeof(float)) != 0)
        same = false;
    }
  report(bad == 0 && same, "fp16",
         conv + (same ? "; fp16 synth == fp32 synth on fp16 values (batch 1, 9; solo, parallel)"
                      : "; fp16 synth DIFFERS from fp32 on fp16 values"));
}

void test_sample_cut() {
  const int Qs[] = {256, 255, 200, 33, 17, 16, 2, 1};
  const float scales[] = {0.f, 0.001f, 0.05f, 1.f, 3.f, 10.f, 60.f};
  const float cuts[][2] = {{0.1f, 0}, {0.5f, 0}, {0.9f, 0}, {0.95f, 0},  {0.999f, 0}, {0.99999f, 0},
                           {1.f, 1},  {1.f, 5},  {1.f, 40}, {0.95f, 20}, {0.5f, 3},   {0.9999f, 250}};
  long cases = 0, bad = 0;
  std::string first;
  uint64_t seed = 0;
  for (const int Q : Qs)
    for (const float scale : scales)
      for (int quantised = 0; quantised < 2; ++quantised)
        for (int rep = 0; rep < 6; ++rep) {
          ++seed;
          float lg[WN_SAMPLE_MAX_CLASSES], w[WN_SAMPLE_MAX_CLASSES], heap[WN_SAMPLE_MAX_CLASSES];
          float scratch[3 * WN_SAMPLE_MAX_CLASSES];
          float m = -INFINITY;
          for (int q = 0; q < Q; ++q) {
            // a sum of uniforms: a rough bell, with rep 0 skewed towards a few large logits
            float l = (wn_uniform(seed, 3 * q) + wn_uniform(seed, 3 * q + 1) - 1.f) * scale;
            if (rep == 0) l += wn_uniform(seed, 3 * q + 2) < 0.05f ? 3 * scale : 0.f;
            if (quantised) l = std::round(l * 2.f) / 2.f;  // many ties
            lg[q] = l;
            m = std::max(m, l);
          }
          for (int q = 0; q < Q; ++q) w[q] = wn_sample_weight(lg[q], m, 1.f);
          const float total = wn_sample_total(w, Q);
          for (const auto &cut : cuts) {
            ++cases;
            const float a = wn_sample_cut(w, Q, total, cut[0], (int)cut[1], scratch);
            const float b = wn_sample_cut_heap(w, Q, total, cut[0], (int)cut[1], heap);
            const float u = wn_uniform(seed, 1000 + cases);
            const int sa = wn_sample(lg, Q, 1.f, cut[0], (int)cut[1], u);
            const int sb = wn_sample_from_weights(w, Q, cut[0], (int)cut[1], u, 0, heap);
            if (std::memcmp(&a, &b, sizeof a) != 0 || sa != sb) {
              if (!bad++)
                first = fmt("first: Q %g scale %g", Q, scale) + fmt(" top-p %g", cut[0]) + fmt(" top-k %g:", cut[1]) +
                        fmt(" tau %.9g", a) + fmt(" vs %.9g", b);
            }
          }
        }
  report(bad == 0, "sample-cut",
         fmt("%g cuts", (double)cases) + fmt(", %g differ from the heap's", (double)bad) +
             (bad ? " (" + first + ")" : ""));
}

void test_errors() {
  wn_config c = make_config({1, 2}, 4, 4, 4, 4);
  c.residual = 0;
  wn_trainer *t = nullptr;
  const wn_status s = wn_trainer_create(&c, 1, 4, WN_DEVICE_CPU, &t);
  const bool ok = s == WN_ERR_INVALID && t == nullptr && std::strlen(wn_last_error()) > 0;
  report(ok, "errors", std::string("residual 0 refused: \"") + wn_last_error() + "\"");
}

// One run of C API calls (training and synthesis on a small model, the option and config checks) with
// the k-th allocation failing. Returns the name of a call an exception escaped from, or null. Each call
// may fail (with a status and, memory permitting, a message) or succeed; nothing else.
const char *no_throw_run(long k, int *statuses_failed) {
  const wn_config c = make_config({1, 2}, 8, 8, 8, 8);
  const wn_config one = make_config({1}, 8, 8, 8, 8);  // one layer: the synthesizer starts no threads
  const std::vector<float> p = init_params(c, 5), p1 = init_params(one, 5);
  const int B = 2, W = 8, n = 4;
  std::vector<uint8_t> crops((size_t)B * (wn_receptive_field(&c) + W), 7), out((size_t)B * n);
  const float temp[2] = {1.0f, 1.0f}, top_p[2] = {0.9f, 1.0f};
  const uint64_t seed[2] = {1, 2};
  wn_config bad = c;
  bad.dilations[1] = 0;
  wn_runtime_options rt = wn_runtime_default_options();
  rt.kernels = "nonsense";
  const wn_adam_params adam = wn_adam_default_params();
  float loss = 0;
  int failed = 0;
  auto st = [&](wn_status s) { failed += s != WN_OK; };
  std::vector<float> lg(8 * 256);
  const char *where = "?";
  g_fail_fired = false;
  g_fail_at = k;
  try {
    where = "wn_config_check";
    st(wn_config_check(&bad));
    where = "wn_runtime_configure";
    st(wn_runtime_configure(&rt));
    where = "wn_trainer_create";
    wn_trainer *t = nullptr;
    st(wn_trainer_create(&c, B, W, WN_DEVICE_CPU, &t));
    if (t) {
      where = "wn_trainer_step";
      st(wn_trainer_step(t, crops.data(), &adam, &loss));
      where = "wn_trainer_forward";
      st(wn_trainer_forward(t, crops.data(), &loss, nullptr));
      where = "wn_trainer_free";
      wn_trainer_free(t);
    }
    where = "wn_trainer_memory_bytes";
    wn_trainer_memory_bytes(&c, B, W, WN_DEVICE_CPU);
    where = "wn_synth_create";
    wn_synth *s = nullptr;
    st(wn_synth_create(&one, p1.data(), B, WN_DEVICE_CPU, nullptr, &s));
    if (s) {
      where = "wn_synth_set_cut";
      st(wn_synth_set_cut(s, top_p, nullptr));
      where = "wn_synth_generate";
      st(wn_synth_generate(s, n, temp, seed, out.data(), nullptr));
      where = "wn_synth_free";
      wn_synth_free(s);
    }
    where = "wn_reference_logits";
    st(wn_reference_logits(&c, p.data(), crops.data(), 8, lg.data()));
  } catch (...) {
    g_fail_at = -1;
    return where;
  }
  g_fail_at = -1;
  *statuses_failed = failed;
  return nullptr;
}

void test_no_throw() {
  long k = 0;
  int worst_failed = 0;
  for (;; ++k) {
    int failed = 0;
    const char *escaped = no_throw_run(k, &failed);
    if (escaped) {
      report(false, "no-throw",
             fmt("an exception escaped from the C API (allocation %.0f failing)", (double)k) + ": " + escaped);
      return;
    }
    worst_failed = std::max(worst_failed, failed);
    if (!g_fail_fired) break;  // the run made fewer than k + 1 allocations: every one has failed once
  }
  // the run without a fault: only the two misuse calls fail
  int failed = 0;
  const bool clean = no_throw_run(-1, &failed) == nullptr && failed == 2;
  report(clean && k > 10, "no-throw",
         fmt("each of %.0f allocations failed in turn: every call returned a status (at most %.0f failed per run)",
             (double)k, (double)worst_failed) +
             (clean ? "" : "; the run without a fault did not give exactly the 2 expected refusals"));
}

}  // namespace

// Usage: core_test [generic|avx2|avx512 [THREADS]]: the SIMD variant to force (when the CPU has it)
// and the thread count, passed to the library as options (wn_runtime_configure).
int main(int argc, char **argv) {
  wn_runtime_options rt = wn_runtime_default_options();
  if (argc > 1) rt.kernels = argv[1];
  if (argc > 2) rt.threads = std::atoi(argv[2]);
  if (wn_runtime_configure(&rt) != WN_OK) {
    std::printf("core_test: %s\n", wn_last_error());
    return 2;
  }
  wn_cpu_features f;
  wn_cpu_features_get(&f);
  std::printf("core_test: %s, kernels %s, %d threads\n", f.arch, f.kernels, f.threads);
  test_no_throw();  // first: it also starts the thread pool with allocations failing
  test_mulaw();
  test_synth(make_config({1, 2, 4, 8}, 16, 16, 32, 32), 1, 60, "synth");
  test_synth(make_config({1, 2, 4, 8, 1, 2}, 24, 40, 40, 24), 3, 80, "synth-batch");
  test_synth(make_config({1, 3}, 5, 7, 9, 11), 2, 40, "synth-odd");
  // two threads forced: the pipeline (batch 3) and the stream split (batch 9), where the machine has 2 cores
  test_synth(make_config({1, 2, 4, 8, 1, 2}, 24, 40, 40, 24), 3, 80, "synth-pipeline", WN_SYNTH_MODE_PARALLEL);
  test_synth(make_config({1, 2, 4, 8, 1, 2}, 24, 40, 40, 24), 9, 80, "synth-split", WN_SYNTH_MODE_PARALLEL);
  test_gradients();
  test_adam();
  test_determinism();
  test_fp16();
  test_sample_cut();
  test_errors();
  if (g_failures)
    std::printf("core_test: %d check(s) FAILED\n", g_failures);
  else
    std::printf("core_test: all checks passed\n");
  return g_failures ? 1 : 0;
}
