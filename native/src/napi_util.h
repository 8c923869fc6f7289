// Helpers for the thin N-API layer: argument checks and turning wn_status into JS exceptions.
#pragma once
#include <napi.h>
#include <string>
#include "wavenet.h"

namespace wnjs {

inline void throw_status(Napi::Env env, wn_status s, const char *what) {
  std::string msg = wn_last_error();
  if (msg.empty()) msg = std::string(what) + " failed (status " + std::to_string((int)s) + ")";
  Napi::Error err = Napi::Error::New(env, msg);
  const char *code = s == WN_ERR_INVALID     ? "WN_INVALID"
                     : s == WN_ERR_NOMEM     ? "WN_NOMEM"
                     : s == WN_ERR_UNSUPPORTED ? "WN_UNSUPPORTED"
                     : s == WN_ERR_DEVICE    ? "WN_DEVICE"
                     : s == WN_ERR_CANCELLED ? "WN_CANCELLED"
                                             : "WN_INTERNAL";
  err.Set("code", Napi::String::New(env, code));
  throw err;
}

#define WNJS_CHECK(env, call, what)                       \
  do {                                                    \
    wn_status wnjs_s_ = (call);                           \
    if (wnjs_s_ != WN_OK) ::wnjs::throw_status(env, wnjs_s_, what); \
  } while (0)

inline void type_error(Napi::Env env, const std::string &msg) { throw Napi::TypeError::New(env, msg); }

// Reads a config object {dilations:number[], residual, dilation, skip, head, classes}.
wn_config config_from_js(Napi::Env env, const Napi::Value &v);

}  // namespace wnjs
