#include "core/error.h"

namespace wn {
static thread_local std::string g_error;
void set_error(const std::string &msg) { g_error = msg; }
void clear_error() { g_error.clear(); }
wn_status fail(wn_status s, const std::string &msg) {
  g_error = msg;
  return s;
}
}  // namespace wn

extern "C" const char *wn_last_error(void) { return wn::g_error.c_str(); }
