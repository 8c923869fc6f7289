// The addon's entry: the environment read once (napi_env.cc), then the table of exports. Each section lives in its own
// napi_*.cc.
#include <napi.h>
#include "napi_init.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  wnjs::ConfigureFromEnvironment();
  wnjs::InitCore(env, exports);
  wnjs::InitTrain(env, exports);
  wnjs::InitSynth(env, exports);
  return exports;
}

NODE_API_MODULE(wavenet, Init)
