// Thread-local error message behind wn_last_error(), and helpers to set it.
#pragma once
#include <new>
#include <stdexcept>
#include <string>
#include "wavenet.h"

namespace wn {
void set_error(const std::string &msg);
void clear_error();
// Sets the message and returns the status, for `return fail(WN_ERR_INVALID, "...")`.
wn_status fail(wn_status s, const std::string &msg);
}  // namespace wn

// Body of a C API function that forwards to C++: returns expr's status, and turns a C++ exception
// into a status with a message (no exception ever crosses the C API).
#define WN_GUARD(expr)                                                             \
  try {                                                                            \
    return (expr);                                                                 \
  } catch (const std::bad_alloc &) {                                               \
    return ::wn::fail(WN_ERR_NOMEM, "out of host memory");                         \
  } catch (const std::exception &e) {                                              \
    return ::wn::fail(WN_ERR_INTERNAL, std::string("internal error: ") + e.what()); \
  }
