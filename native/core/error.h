// Thread-local error message behind wn_last_error(), and helpers to set it.
#pragma once
#include <string>
#include "wavenet.h"

namespace wn {
void set_error(const std::string &msg);
void clear_error();
// Sets the message and returns the status, for `return fail(WN_ERR_INVALID, "...")`.
wn_status fail(wn_status s, const std::string &msg);
}  // namespace wn
