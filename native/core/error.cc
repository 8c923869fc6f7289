#include "core/error.h"

namespace wn {
static thread_local std::string g_error;
void set_error(const std::string &msg) noexcept {
  try {
    g_error = msg;
  } catch (...) {  // no memory for the message: an empty one rather than an exception out of the C API
    g_error.clear();
  }
}
void clear_error() noexcept { g_error.clear(); }
wn_status fail(wn_status s, const std::string &msg) noexcept {
  set_error(msg);
  return s;
}
wn_status fail(wn_status s, const char *msg) noexcept {
  try {
    g_error = msg;
  } catch (...) {
    g_error.clear();
  }
  return s;
}
}  // namespace wn

extern "C" const char *wn_last_error(void) { return wn::g_error.c_str(); }
