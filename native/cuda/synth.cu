// PLACEHOLDER until the CUDA synthesizer lands.
#include "core/backend.h"
#include "cuda/common.cuh"
namespace wn {
wn_status cuda_synth_create(const wn_config &, const float *, int, std::unique_ptr<SynthImpl> *) {
  return fail(WN_ERR_UNSUPPORTED, "the CUDA synthesizer is not implemented yet");
}
}  // namespace wn
