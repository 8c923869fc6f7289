// Built instead of native/cuda/*.cu when nvcc was not found: every CUDA entry point reports why.
#include "core/error.h"
#include "wavenet.h"

static const char *kNoCuda =
    "this build has no CUDA support (nvcc was not found when the addon was built; install the CUDA "
    "toolkit and run `npm run build:native`)";

extern "C" int wn_cuda_compiled(void) { return 0; }

extern "C" wn_status wn_cuda_query(int *runtime_version, int *driver_version, int *device_count) {
  *runtime_version = 0;
  *driver_version = 0;
  *device_count = 0;
  return wn::fail(WN_ERR_UNSUPPORTED, kNoCuda);
}

extern "C" wn_status wn_cuda_device(int, wn_cuda_device_info *) { return wn::fail(WN_ERR_UNSUPPORTED, kNoCuda); }

#include "core/backend.h"
namespace wn {
wn_status cuda_trainer_create(const wn_config &, int, int, std::unique_ptr<TrainerImpl> *) {
  return fail(WN_ERR_UNSUPPORTED, kNoCuda);
}
size_t cuda_trainer_memory_bytes(const wn_config &, int, int) { return 0; }
wn_status cuda_synth_create(const wn_config &, const float *, int, std::unique_ptr<SynthImpl> *) {
  return fail(WN_ERR_UNSUPPORTED, kNoCuda);
}
}  // namespace wn
