// One init function per section of the API; addon.cc calls each.
#pragma once
#include <napi.h>
#include "wn_synth.h"

namespace wnjs {
void InitCore(Napi::Env env, Napi::Object exports);   // napi_core.cc
void InitTrain(Napi::Env env, Napi::Object exports);  // napi_train.cc
void InitSynth(Napi::Env env, Napi::Object exports);  // napi_synth.cc
void ConfigureFromEnvironment();                      // napi_env.cc: the environment, read once at load
// Defaults of new synthesizers (WAVENET_SYNTH_PRECISION, WAVENET_SYNTH_MODE); napi_env.cc.
const wn_synth_options &synth_defaults();
}  // namespace wnjs
