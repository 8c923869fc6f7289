// Thread-local error message behind wn_last_error(), and helpers to set it.
#pragma once
#include <new>
#include <stdexcept>
#include <string>
#include "wavenet.h"

namespace wn {
// Never throw: when the message cannot be stored (no memory) it is left empty.
void set_error(const std::string &msg) noexcept;
void clear_error() noexcept;
// Sets the message and returns the status, for `return fail(WN_ERR_INVALID, "...")`. A message built
// with std::string (to_string, +) can itself throw std::bad_alloc: build it inside wn::guarded.
wn_status fail(wn_status s, const std::string &msg) noexcept;
wn_status fail(wn_status s, const char *msg) noexcept;
}  // namespace wn

#include <system_error>

namespace wn {
// fail() with the message prefix + what; the prefix alone when there is no memory to join them.
inline wn_status fail_with(wn_status s, const char *prefix, const char *what) noexcept {
  try {
    return fail(s, std::string(prefix) + what);
  } catch (...) {
    return fail(s, prefix);
  }
}

// Runs f() (which returns a wn_status) and turns any C++ exception into a status with a message:
// no exception ever crosses the C API. `nomem` is the message for std::bad_alloc (say what to shrink).
template <class F>
wn_status guarded(F &&f, const char *nomem = "out of host memory") noexcept {
  try {
    return f();
  } catch (const std::bad_alloc &) {
    return fail(WN_ERR_NOMEM, nomem);
  } catch (const std::system_error &e) {  // e.g. std::thread could not start a thread
    return fail_with(WN_ERR_INTERNAL, "system error: ", e.what());
  } catch (const std::exception &e) {
    return fail_with(WN_ERR_INTERNAL, "internal error: ", e.what());
  } catch (...) {
    return fail(WN_ERR_INTERNAL, "internal error: unknown exception");
  }
}
}  // namespace wn

// Returns from the enclosing function when expr (a wn_status) is not WN_OK.
#define WN_TRY(expr)                          \
  do {                                        \
    const wn_status wn_try_s_ = (expr);       \
    if (wn_try_s_ != WN_OK) return wn_try_s_; \
  } while (0)

// Body of a C API function that forwards to C++: returns expr's status through wn::guarded.
#define WN_GUARD(expr) return ::wn::guarded([&]() -> wn_status { return (expr); });
