// Helpers for the thin N-API layer: argument checks and turning wn_status into JS exceptions.
#pragma once
#include <napi.h>
#include <string>
#include "wavenet.h"

namespace wnjs {

// The one mapping from wn_status to the `code` property of the JavaScript error (src/native.ts).
inline const char *status_code(wn_status s) {
  switch (s) {
    case WN_ERR_INVALID:
      return "WN_INVALID";
    case WN_ERR_NOMEM:
      return "WN_NOMEM";
    case WN_ERR_UNSUPPORTED:
      return "WN_UNSUPPORTED";
    case WN_ERR_DEVICE:
      return "WN_DEVICE";
    case WN_ERR_CANCELLED:
      return "WN_CANCELLED";
    default:
      return "WN_INTERNAL";
  }
}

// The message of a failed call: wn_last_error() of the calling thread, or "<what> failed (status N)".
// Call it on the thread that made the C API call (an AsyncWorker's Execute for async work).
inline std::string status_message(wn_status s, const char *what) {
  std::string msg = wn_last_error();
  if (msg.empty()) msg = std::string(what) + " failed (status " + std::to_string((int)s) + ")";
  return msg;
}

// A JavaScript Error with the message and the status code set.
inline Napi::Error status_error(Napi::Env env, wn_status s, const std::string &msg) {
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, status_code(s)));
  return err;
}

inline void throw_status(Napi::Env env, wn_status s, const char *what) {
  throw status_error(env, s, status_message(s, what));
}

#define WNJS_CHECK(env, call, what)                                 \
  do {                                                              \
    wn_status wnjs_s_ = (call);                                     \
    if (wnjs_s_ != WN_OK) ::wnjs::throw_status(env, wnjs_s_, what); \
  } while (0)

inline void type_error(Napi::Env env, const std::string &msg) { throw Napi::TypeError::New(env, msg); }

// Reads a config object {dilations:number[], residual, dilation, skip, head, classes}.
wn_config config_from_js(Napi::Env env, const Napi::Value &v);

}  // namespace wnjs
