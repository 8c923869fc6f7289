// N-API bindings for training (wn_train.h). Filled in by the training work.
#include "napi_init.h"

namespace wnjs {
void InitTrain(Napi::Env, Napi::Object) {}
}  // namespace wnjs
