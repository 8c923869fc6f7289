// PLACEHOLDER until the CUDA trainer lands.
#include "core/backend.h"
#include "cuda/common.cuh"
namespace wn {
wn_status cuda_trainer_create(const wn_config &, int, int, std::unique_ptr<TrainerImpl> *) {
  return fail(WN_ERR_UNSUPPORTED, "the CUDA trainer is not implemented yet");
}
size_t cuda_trainer_memory_bytes(const wn_config &, int, int) { return 0; }
}  // namespace wn
