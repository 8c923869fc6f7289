// PLACEHOLDER until the CPU synthesizer lands.
#include "core/backend.h"
#include "core/error.h"
namespace wn {
wn_status cpu_synth_create(const wn_config &, const float *, int, std::unique_ptr<SynthImpl> *) {
  return fail(WN_ERR_UNSUPPORTED, "the CPU synthesizer is not implemented yet");
}
}  // namespace wn
