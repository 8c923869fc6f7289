// N-API bindings for synthesis (wn_synth.h). Filled in by the synthesis work.
#include "napi_init.h"

namespace wnjs {
void InitSynth(Napi::Env, Napi::Object) {}
}  // namespace wnjs
