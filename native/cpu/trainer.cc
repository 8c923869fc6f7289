// PLACEHOLDER until the CPU trainer lands: the factory reports that training is not built yet.
#include "core/backend.h"
#include "core/error.h"
namespace wn {
wn_status cpu_trainer_create(const wn_config &, int, int, std::unique_ptr<TrainerImpl> *) {
  return fail(WN_ERR_UNSUPPORTED, "the CPU trainer is not implemented yet");
}
size_t cpu_trainer_memory_bytes(const wn_config &, int, int) { return 0; }
}  // namespace wn
