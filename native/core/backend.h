// The backends behind the public C API. wn_trainer / wn_synth (native/core/api_*.cc) hold one
// implementation object; the CPU one is in native/cpu, the CUDA one in native/cuda (or, when built
// without nvcc, native/cuda/absent.cc whose factories fail with the reason).
// Both backends implement the same interface, so the C API and everything above it is identical.
#pragma once
#include <memory>
#include <vector>
#include "wavenet.h"
#include "wn_synth.h"
#include "wn_train.h"

namespace wn {

class TrainerImpl {
 public:
  virtual ~TrainerImpl() = default;
  virtual size_t param_count() const = 0;
  virtual wn_status set_params(const float *p) = 0;
  virtual wn_status get_params(float *out) const = 0;
  virtual wn_status get_grads(float *out) const = 0;
  virtual wn_status get_adam(float *m, float *v, int64_t *step) const = 0;
  virtual wn_status set_adam(const float *m, const float *v, int64_t step) = 0;
  virtual wn_status forward(const uint8_t *crops, float *loss, float *logits) = 0;
  virtual wn_status forward_backward(const uint8_t *crops, float *loss) = 0;
  virtual wn_status adam(const wn_adam_params &p) = 0;
  virtual wn_status get_tensor(const char *name, int layer, float *out, size_t n) const = 0;
};

class SynthImpl {
 public:
  virtual ~SynthImpl() = default;
  virtual wn_status reset() = 0;
  virtual wn_status prime(const uint8_t *classes, int n) = 0;
  virtual wn_status generate(int n, const float *temperature, const uint64_t *seed, uint8_t *out, float *logits) = 0;

  // The cut of each stream's distribution (core/sample.h), set by wn_synth_set_cut; kept across
  // reset. Empty = no cut for any stream. Backends read them in generate.
  std::vector<float> top_p;
  std::vector<int> top_k;
  float cut_p(int b) const { return top_p.empty() ? 1.f : top_p[(size_t)b]; }
  int cut_k(int b) const { return top_k.empty() ? 0 : top_k[(size_t)b]; }
};

// Factories: return WN_OK and set *out, or a status with the message set.
wn_status cpu_trainer_create(const wn_config &c, int batch, int window, std::unique_ptr<TrainerImpl> *out);
wn_status cuda_trainer_create(const wn_config &c, int batch, int window, std::unique_ptr<TrainerImpl> *out);
size_t cpu_trainer_memory_bytes(const wn_config &c, int batch, int window);
size_t cuda_trainer_memory_bytes(const wn_config &c, int batch, int window);
wn_status cpu_synth_create(const wn_config &c, const float *params, int batch, const wn_synth_options &opt,
                           std::unique_ptr<SynthImpl> *out);
wn_status cuda_synth_create(const wn_config &c, const float *params, int batch, std::unique_ptr<SynthImpl> *out);

}  // namespace wn
