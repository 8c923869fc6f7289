// Public training API (wn_train.h): checks arguments and forwards to the backend.
#include <string>
#include "core/backend.h"
#include "core/error.h"

struct wn_trainer {
  std::unique_ptr<wn::TrainerImpl> impl;
};

extern "C" wn_adam_params wn_adam_default_params(void) { return wn_adam_params{1e-3f, 0.9f, 0.999f, 1e-8f}; }

static wn_status check_shape(const wn_config *c, int batch, int window) {
  wn_status s = wn_config_check(c);
  if (s != WN_OK) return s;
  if (batch < 1 || batch > 65536) return wn::fail(WN_ERR_INVALID, "batch must be 1..65536");
  if (window < 1 || window > (1 << 24)) return wn::fail(WN_ERR_INVALID, "window must be 1..16777216");
  return WN_OK;
}

extern "C" size_t wn_trainer_memory_bytes(const wn_config *c, int batch, int window, wn_device device) {
  size_t bytes = 0;  // 0 when the estimate itself fails (the message is in wn_last_error)
  wn::guarded([&]() -> wn_status {
    bytes = device == WN_DEVICE_CUDA ? wn::cuda_trainer_memory_bytes(*c, batch, window)
                                     : wn::cpu_trainer_memory_bytes(*c, batch, window);
    return WN_OK;
  });
  return bytes;
}

extern "C" wn_status wn_trainer_create(const wn_config *c, int batch, int window, wn_device device, wn_trainer **out) {
  *out = nullptr;
  wn_status s = check_shape(c, batch, window);
  if (s != WN_OK) return s;
  return wn::guarded(
      [&]() -> wn_status {
        std::unique_ptr<wn::TrainerImpl> impl;
        wn_status st = device == WN_DEVICE_CUDA ? wn::cuda_trainer_create(*c, batch, window, &impl)
                                                : wn::cpu_trainer_create(*c, batch, window, &impl);
        if (st != WN_OK) return st;
        *out = new wn_trainer{std::move(impl)};
        return WN_OK;
      },
      "out of host memory creating the trainer (try a smaller --batch or --window)");
}

extern "C" void wn_trainer_free(wn_trainer *t) {
  wn::guarded([&]() -> wn_status {
    delete t;
    return WN_OK;
  });
}
extern "C" size_t wn_trainer_param_count(const wn_trainer *t) { return t->impl->param_count(); }

extern "C" wn_status wn_trainer_set_params(wn_trainer *t, const float *p) { WN_GUARD(t->impl->set_params(p)) }
extern "C" wn_status wn_trainer_get_params(const wn_trainer *t, float *o) { WN_GUARD(t->impl->get_params(o)) }
extern "C" wn_status wn_trainer_get_grads(const wn_trainer *t, float *o) { WN_GUARD(t->impl->get_grads(o)) }
extern "C" wn_status wn_trainer_get_adam(const wn_trainer *t, float *m, float *v, int64_t *step) {
  WN_GUARD(t->impl->get_adam(m, v, step))
}
extern "C" wn_status wn_trainer_set_adam(wn_trainer *t, const float *m, const float *v, int64_t step) {
  if (step < 0) return wn::fail(WN_ERR_INVALID, "adam step must be >= 0");
  WN_GUARD(t->impl->set_adam(m, v, step))
}
extern "C" wn_status wn_trainer_forward(wn_trainer *t, const uint8_t *crops, float *loss, float *logits) {
  WN_GUARD(t->impl->forward(crops, loss, logits))
}
extern "C" wn_status wn_trainer_forward_backward(wn_trainer *t, const uint8_t *crops, float *loss) {
  WN_GUARD(t->impl->forward_backward(crops, loss))
}
extern "C" wn_status wn_trainer_adam(wn_trainer *t, const wn_adam_params *p) { WN_GUARD(t->impl->adam(*p)) }
extern "C" wn_status wn_trainer_step(wn_trainer *t, const uint8_t *crops, const wn_adam_params *p, float *loss) {
  wn_status s = wn_trainer_forward_backward(t, crops, loss);
  if (s != WN_OK) return s;
  return wn_trainer_adam(t, p);
}
extern "C" wn_status wn_trainer_get_tensor(const wn_trainer *t, const char *name, int layer, float *out, size_t n) {
  WN_GUARD(t->impl->get_tensor(name, layer, out, n))
}
