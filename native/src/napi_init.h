// One init function per section of the API; addon.cc calls each.
#pragma once
#include <napi.h>

namespace wnjs {
void InitCore(Napi::Env env, Napi::Object exports);   // napi_core.cc
void InitTrain(Napi::Env env, Napi::Object exports);  // napi_train.cc
void InitSynth(Napi::Env env, Napi::Object exports);  // napi_synth.cc
}  // namespace wnjs
