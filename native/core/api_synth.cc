// Public synthesis API (wn_synth.h): checks arguments and forwards to the backend.
#include <string>
#include "core/backend.h"
#include "core/error.h"

struct wn_synth {
  std::unique_ptr<wn::SynthImpl> impl;
  int batch;
};

extern "C" wn_synth_options wn_synth_default_options(void) {
  return wn_synth_options{WN_SYNTH_FP32, WN_SYNTH_MODE_AUTO};
}

extern "C" wn_status wn_synth_create(const wn_config *c, const float *params, int batch, wn_device device,
                                     const wn_synth_options *options, wn_synth **out) {
  *out = nullptr;
  wn_status s = wn_config_check(c);
  if (s != WN_OK) return s;
  if (batch < 1 || batch > 1 << 20) return wn::fail(WN_ERR_INVALID, "synth: batch must be 1..1048576");
  const wn_synth_options opt = options ? *options : wn_synth_default_options();
  if (opt.precision != WN_SYNTH_FP32 && opt.precision != WN_SYNTH_BF16 && opt.precision != WN_SYNTH_FP16)
    return wn::fail(WN_ERR_INVALID, "synth: precision must be fp32, bf16 or fp16");
  if (opt.mode != WN_SYNTH_MODE_AUTO && opt.mode != WN_SYNTH_MODE_SOLO && opt.mode != WN_SYNTH_MODE_PARALLEL)
    return wn::fail(WN_ERR_INVALID, "synth: mode must be auto, solo or parallel");
  return wn::guarded(
      [&]() -> wn_status {
        std::unique_ptr<wn::SynthImpl> impl;
        wn_status st = device == WN_DEVICE_CUDA ? wn::cuda_synth_create(*c, params, batch, &impl)
                                                : wn::cpu_synth_create(*c, params, batch, opt, &impl);
        if (st != WN_OK) return st;
        *out = new wn_synth{std::move(impl), batch};
        return WN_OK;
      },
      "out of host memory creating the synthesizer (try a smaller batch)");
}

extern "C" void wn_synth_free(wn_synth *s) {
  wn::guarded([&]() -> wn_status {
    delete s;  // joins the synthesizer's threads
    return WN_OK;
  });
}

extern "C" wn_status wn_synth_reset(wn_synth *s) { WN_GUARD(s->impl->reset()) }
extern "C" wn_status wn_synth_prime(wn_synth *s, const uint8_t *classes, int n) {
  if (n < 1) return wn::fail(WN_ERR_INVALID, "synth prime: n must be >= 1");
  WN_GUARD(s->impl->prime(classes, n))
}
extern "C" wn_status wn_synth_generate(wn_synth *s, int n, const float *temperature, const uint64_t *seed, uint8_t *out,
                                       float *logits) {
  if (n < 0) return wn::fail(WN_ERR_INVALID, "synth generate: n must be >= 0");
  WN_GUARD(s->impl->generate(n, temperature, seed, out, logits))
}
static wn_status synth_set_cut(wn_synth *s, const float *top_p, const int *top_k) {
  const int B = s->batch;
  for (int b = 0; b < B; ++b) {
    if (top_p && !(top_p[b] > 0.f && top_p[b] <= 1.f))
      return wn::fail(WN_ERR_INVALID, "synth set_cut: top_p of stream " + std::to_string(b) + " must be in (0, 1]");
    if (top_k && top_k[b] < 0)
      return wn::fail(WN_ERR_INVALID, "synth set_cut: top_k of stream " + std::to_string(b) + " must be >= 0");
  }
  s->impl->top_p.assign(top_p ? top_p : nullptr, top_p ? top_p + B : nullptr);
  s->impl->top_k.assign(top_k ? top_k : nullptr, top_k ? top_k + B : nullptr);
  return WN_OK;
}

extern "C" wn_status wn_synth_set_cut(wn_synth *s, const float *top_p, const int *top_k) {
  WN_GUARD(synth_set_cut(s, top_p, top_k))
}
