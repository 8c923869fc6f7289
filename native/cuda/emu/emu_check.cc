// CUDA backend vs CPU backend through the public C API, with the CUDA code running on the CPU
// emulation of native/cuda/emu/cuda_emu.h (see run.sh). Checks, on a small model whose sizes are not
// multiples of the GEMM tiles: loss, logits, every intermediate ("input", "x", "z", "skip"), every
// gradient tensor, one Adam update, bitwise determinism of the gradients, incremental synthesis
// logits and samples (batch 1 and a batch that leaves a block partly empty), prime, reset, and the
// out-of-memory message. Exit status 0 when everything is within tolerance.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>
#include "wavenet.h"
#include "wn_synth.h"
#include "wn_train.h"

// emu_alloc_limit(): from cuda_emu.h (this file is compiled with -include cuda_emu.h)

static int failures = 0;

static void check(const char *what, const float *a, const float *b, size_t n, double atol, double rtol) {
  double worst = 0, worst_ratio = 0;
  size_t bad = 0, nan = 0, at = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) {
      ++nan;
      continue;
    }
    const double e = std::fabs((double)a[i] - b[i]);
    const double lim = atol + rtol * std::fabs((double)b[i]);
    if (e > lim) ++bad;
    if (e / lim > worst_ratio) {
      worst_ratio = e / lim;
      worst = e;
      at = i;
    }
  }
  const bool ok = bad == 0 && nan == 0;
  if (!ok) ++failures;
  std::printf("%-4s %-28s n=%-8zu worst |a-b|=%.3g (at %zu, %.3g of tolerance) bad=%zu nonfinite=%zu\n",
              ok ? "ok" : "FAIL", what, n, worst, at, worst_ratio, bad, nan);
}

static void expect(bool c, const std::string &what) {
  std::printf("%-4s %s\n", c ? "ok" : "FAIL", what.c_str());
  if (!c) ++failures;
}

#define TRY(x)                                                          \
  do {                                                                  \
    wn_status s_ = (x);                                                 \
    if (s_ != WN_OK) {                                                  \
      std::printf("FAIL %s -> %d: %s\n", #x, (int)s_, wn_last_error()); \
      return 1;                                                         \
    }                                                                   \
  } while (0)

// Every intermediate of the last forward pass ("input", "x", "z", "skip", "logits"): CUDA against CPU.
static int check_intermediates(wn_trainer *cpu, wn_trainer *gpu, const wn_config &c, int B, int W) {
  const int T = wn_receptive_field(&c) + W - 1;
  std::vector<float> a((size_t)B * T * c.residual), b(a.size());
  TRY(wn_trainer_get_tensor(cpu, "input", 0, b.data(), b.size()));
  TRY(wn_trainer_get_tensor(gpu, "input", 0, a.data(), a.size()));
  check("input", a.data(), b.data(), a.size(), 1e-5, 1e-5);
  for (int l = 0; l < c.n_layers; ++l) {
    TRY(wn_trainer_get_tensor(cpu, "x", l, b.data(), b.size()));
    TRY(wn_trainer_get_tensor(gpu, "x", l, a.data(), a.size()));
    check(("x[" + std::to_string(l) + "]").c_str(), a.data(), b.data(), a.size(), 1e-4, 1e-4);
  }
  std::vector<float> za((size_t)B * T * c.dilation), zb(za.size());
  for (int l = 0; l < c.n_layers; ++l) {
    TRY(wn_trainer_get_tensor(cpu, "z", l, zb.data(), zb.size()));
    TRY(wn_trainer_get_tensor(gpu, "z", l, za.data(), za.size()));
    check(("z[" + std::to_string(l) + "]").c_str(), za.data(), zb.data(), za.size(), 1e-4, 1e-4);
  }
  std::vector<float> sa((size_t)B * W * c.skip), sb(sa.size());
  TRY(wn_trainer_get_tensor(cpu, "skip", 0, sb.data(), sb.size()));
  TRY(wn_trainer_get_tensor(gpu, "skip", 0, sa.data(), sa.size()));
  check("skip", sa.data(), sb.data(), sa.size(), 1e-4, 1e-4);
  std::vector<float> logc((size_t)B * W * c.classes), logg(logc.size());
  TRY(wn_trainer_get_tensor(cpu, "logits", 0, logc.data(), logc.size()));
  TRY(wn_trainer_get_tensor(gpu, "logits", 0, logg.data(), logg.size()));
  check("logits", logg.data(), logc.data(), logc.size(), 1e-4, 1e-4);
  return 0;
}

// Every gradient tensor, with tolerances relative to the tensor's scale.
static void check_grads(const wn_config &c, const std::vector<float> &gc, const std::vector<float> &gg) {
  wn_layout L;
  wn_layout_get(&c, &L);
  auto tensor = [&](const std::string &name, size_t off, size_t n) {
    double scale = 0;
    for (size_t i = 0; i < n; ++i) scale = std::max(scale, (double)std::fabs(gc[off + i]));
    check(("grad " + name).c_str(), gg.data() + off, gc.data() + off, n, 1e-4 * scale + 1e-9, 1e-3);
  };
  tensor("input.embed", L.input_embed, L.input_bias - L.input_embed);
  tensor("input.bias", L.input_bias, c.residual);
  for (int l = 0; l < c.n_layers; ++l) {
    wn_layer_layout ll;
    wn_layer_layout_get(&c, l, &ll);
    const std::string p = "layers." + std::to_string(l) + ".";
    tensor(p + "gate.weight", ll.gate_w, ll.gate_b - ll.gate_w);
    tensor(p + "gate.bias", ll.gate_b, ll.skip_w - ll.gate_b);
    tensor(p + "skip.weight", ll.skip_w, ll.skip_b - ll.skip_w);
    tensor(p + "skip.bias", ll.skip_b, ll.res_w - ll.skip_b);
    tensor(p + "res.weight", ll.res_w, ll.res_b - ll.res_w);
    tensor(p + "res.bias", ll.res_b, c.residual);
  }
  tensor("head.1.weight", L.head1_w, L.head1_b - L.head1_w);
  tensor("head.1.bias", L.head1_b, c.head);
  tensor("head.2.weight", L.head2_w, L.head2_b - L.head2_w);
  tensor("head.2.bias", L.head2_b, c.classes);
}

// One Adam update from the same moments on both devices: parameters, moments and step count.
static int check_adam(wn_trainer *cpu, wn_trainer *gpu, size_t P, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> m(P), v(P);
  for (size_t i = 0; i < P; ++i) {
    m[i] = 0.01f * u(rng);
    v[i] = 1e-4f * std::fabs(u(rng));
  }
  TRY(wn_trainer_set_adam(cpu, m.data(), v.data(), 7));
  TRY(wn_trainer_set_adam(gpu, m.data(), v.data(), 7));
  wn_adam_params ap = wn_adam_default_params();
  TRY(wn_trainer_adam(cpu, &ap));
  TRY(wn_trainer_adam(gpu, &ap));
  std::vector<float> pc(P), pg(P), mc(P), mg(P), vc(P), vg(P);
  int64_t sc = 0, sg = 0;
  TRY(wn_trainer_get_params(cpu, pc.data()));
  TRY(wn_trainer_get_params(gpu, pg.data()));
  TRY(wn_trainer_get_adam(cpu, mc.data(), vc.data(), &sc));
  TRY(wn_trainer_get_adam(gpu, mg.data(), vg.data(), &sg));
  check("adam params", pg.data(), pc.data(), P, 1e-6, 1e-5);
  check("adam m", mg.data(), mc.data(), P, 1e-7, 1e-4);
  check("adam v", vg.data(), vc.data(), P, 1e-9, 1e-4);
  expect(sc == 8 && sg == 8, "adam step " + std::to_string(sg));
  return 0;
}

// get_tensor with a bad layer, name or size is refused.
static void check_bad_tensor_args(wn_trainer *gpu, const wn_config &c) {
  std::vector<float> small(3);
  wn_status bad = wn_trainer_get_tensor(gpu, "z", c.n_layers, small.data(), small.size());
  expect(bad == WN_ERR_INVALID, std::string("bad layer: ") + wn_last_error());
  bad = wn_trainer_get_tensor(gpu, "nope", 0, small.data(), small.size());
  expect(bad == WN_ERR_INVALID, std::string("bad name: ") + wn_last_error());
  bad = wn_trainer_get_tensor(gpu, "skip", 0, small.data(), small.size());
  expect(bad == WN_ERR_INVALID, std::string("bad size: ") + wn_last_error());
}

static int train_check(const wn_config &c, int B, int W, uint32_t seed) {
  std::printf("-- trainer: %d layers, R=%d D=%d S=%d H=%d Q=%d, batch %d, window %d\n", c.n_layers, c.residual,
              c.dilation, c.skip, c.head, c.classes, B, W);
  wn_trainer *cpu = nullptr, *gpu = nullptr;
  TRY(wn_trainer_create(&c, B, W, WN_DEVICE_CPU, &cpu));
  TRY(wn_trainer_create(&c, B, W, WN_DEVICE_CUDA, &gpu));
  const size_t P = wn_trainer_param_count(cpu);
  expect(P == wn_trainer_param_count(gpu), "param count");
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> params(P);
  for (auto &p : params) p = 0.3f * u(rng);
  const int N = wn_receptive_field(&c) + W;
  std::vector<uint8_t> crops((size_t)B * N);
  for (auto &x : crops) x = (uint8_t)(rng() % c.classes);
  TRY(wn_trainer_set_params(cpu, params.data()));
  TRY(wn_trainer_set_params(gpu, params.data()));

  float lc = 0, lg = 0;
  std::vector<float> logc((size_t)B * W * c.classes), logg(logc.size());
  TRY(wn_trainer_forward(cpu, crops.data(), &lc, logc.data()));
  TRY(wn_trainer_forward(gpu, crops.data(), &lg, logg.data()));
  check("forward loss", &lg, &lc, 1, 1e-5, 1e-5);
  check("forward logits", logg.data(), logc.data(), logc.size(), 1e-4, 1e-4);

  TRY(wn_trainer_forward_backward(cpu, crops.data(), &lc));
  TRY(wn_trainer_forward_backward(gpu, crops.data(), &lg));
  check("loss", &lg, &lc, 1, 1e-5, 1e-5);
  if (check_intermediates(cpu, gpu, c, B, W)) return 1;
  std::vector<float> gc(P), gg(P), gg2(P);
  TRY(wn_trainer_get_grads(cpu, gc.data()));
  TRY(wn_trainer_get_grads(gpu, gg.data()));
  check_grads(c, gc, gg);
  // determinism: the same step again gives the same bits
  TRY(wn_trainer_forward_backward(gpu, crops.data(), &lg));
  TRY(wn_trainer_get_grads(gpu, gg2.data()));
  expect(std::memcmp(gg.data(), gg2.data(), P * sizeof(float)) == 0, "gradients bitwise identical on a second run");
  if (check_adam(cpu, gpu, P, rng)) return 1;
  check_bad_tensor_args(gpu, c);
  wn_trainer_free(cpu);
  wn_trainer_free(gpu);
  return 0;
}

static int synth_check(const wn_config &c, int B, uint32_t seed) {
  std::printf("-- synth: batch %d\n", B);
  const size_t P = [&] {
    wn_layout L;
    wn_layout_get(&c, &L);
    return L.total;
  }();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> params(P);
  for (auto &p : params) p = 0.3f * u(rng);
  wn_synth *cpu = nullptr, *gpu = nullptr;
  TRY(wn_synth_create(&c, params.data(), B, WN_DEVICE_CPU, nullptr, &cpu));
  TRY(wn_synth_create(&c, params.data(), B, WN_DEVICE_CUDA, nullptr, &gpu));
  const int np = 13, n = 24, Q = c.classes;
  std::vector<uint8_t> prime((size_t)B * np);
  for (auto &x : prime) x = (uint8_t)(rng() % Q);
  std::vector<float> temp(B);
  std::vector<uint64_t> seeds(B);
  for (int b = 0; b < B; ++b) {
    temp[b] = b % 3 == 0 ? 1.0f : b % 3 == 1 ? 0.f : 0.7f;
    seeds[b] = 1000 + 17 * b;
  }
  // round 2: the same after reset with a cut per stream (top-p 0.3 / 0.8 / 1, top-k 0 / 4 / 2)
  std::vector<float> top_p(B);
  std::vector<int> top_k(B);
  for (int b = 0; b < B; ++b) {
    top_p[b] = b % 3 == 0 ? 0.3f : b % 3 == 1 ? 0.8f : 1.f;
    top_k[b] = b % 3 == 0 ? 0 : b % 3 == 1 ? 4 : 2;
  }
  for (int round = 0; round < 3; ++round) {
    std::vector<uint8_t> oc((size_t)B * n), og(oc.size());
    std::vector<float> lc((size_t)B * n * Q), lgv(lc.size());
    if (round == 2) {
      TRY(wn_synth_set_cut(cpu, top_p.data(), top_k.data()));
      TRY(wn_synth_set_cut(gpu, top_p.data(), top_k.data()));
      for (int b = 0; b < B; ++b)
        if (temp[b] == 0.f) temp[b] = 1.2f;  // (argmax ignores the cut)
    }
    if (round == 0) {
      TRY(wn_synth_prime(cpu, prime.data(), np));
      TRY(wn_synth_prime(gpu, prime.data(), np));
    } else {
      TRY(wn_synth_reset(cpu));
      TRY(wn_synth_reset(gpu));
    }
    TRY(wn_synth_generate(cpu, n, temp.data(), seeds.data(), oc.data(), lc.data()));
    TRY(wn_synth_generate(gpu, n, temp.data(), seeds.data(), og.data(), lgv.data()));
    // the logits of a step depend on the samples before it, so compare while the samples agree
    int same = 0, first_diff = -1;
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < n; ++i) {
        if (oc[(size_t)b * n + i] == og[(size_t)b * n + i])
          ++same;
        else if (first_diff < 0)
          first_diff = b * n + i;
      }
    const std::string tag = round == 0 ? "primed" : round == 1 ? "after reset" : "top-p/top-k cut";
    check(("synth logits " + tag).c_str(), lgv.data(), lc.data(), lc.size(), 1e-4, 1e-4);
    expect(same == B * n, "synth samples " + tag + ": " + std::to_string(same) + "/" + std::to_string(B * n) +
                              " equal" +
                              (first_diff >= 0 ? " (first difference at " + std::to_string(first_diff) + ")" : ""));
    // a second generate call continues the streams
    TRY(wn_synth_generate(cpu, 5, temp.data(), seeds.data(), oc.data(), nullptr));
    TRY(wn_synth_generate(gpu, 5, temp.data(), seeds.data(), og.data(), nullptr));
    expect(std::memcmp(oc.data(), og.data(), (size_t)B * 5) == 0, "synth continuation " + tag);
  }
  wn_synth_free(cpu);
  wn_synth_free(gpu);
  return 0;
}

int main(int argc, char **argv) {
  // `emu_check synth`: the synthesizer checks only (sampling changes need nothing else)
  const bool synth_only = argc > 1 && std::strcmp(argv[1], "synth") == 0;
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress visible when piped to a file
  wn_config c{};
  const int dil[] = {1, 2, 4, 1, 3};
  c.n_layers = 5;
  for (int i = 0; i < 5; ++i) c.dilations[i] = dil[i];
  c.residual = 12;
  c.dilation = 10;
  c.skip = 24;
  c.head = 20;
  c.classes = 256;
  if (!synth_only && train_check(c, 3, 37, 1)) return 1;
  wn_config c2 = c;  // sizes across several GEMM tiles, one layer
  c2.n_layers = 2;
  c2.dilations[0] = 8;
  c2.dilations[1] = 1;
  c2.residual = 70;
  c2.dilation = 66;
  c2.skip = 130;
  c2.head = 72;
  if (!synth_only && train_check(c2, 2, 90, 2)) return 1;
  if (synth_check(c, 1, 3)) return 1;
  if (synth_check(c, 3, 4)) return 1;
  if (synth_check(c2, 9, 5)) return 1;
  // allocation failure: a clear NOMEM message, no crash
  emu_alloc_limit() = 1 << 16;
  wn_trainer *t = nullptr;
  const wn_status s = wn_trainer_create(&c, 64, 4096, WN_DEVICE_CUDA, &t);
  expect(s == WN_ERR_NOMEM && std::strstr(wn_last_error(), "--batch"),
         std::string("out of memory: ") + wn_last_error());
  emu_alloc_limit() = (size_t)-1;
  std::printf("%s (%d failures)\n", failures ? "FAILED" : "ALL OK", failures);
  return failures ? 1 : 0;
}
