// The process-wide run-time options (wn_runtime_configure in wavenet.h), fixed at first use.
#pragma once
#include "wavenet.h"

namespace wn {
// The options in force; the first call fixes them (later wn_runtime_configure calls must agree).
const wn_runtime_options &runtime();
}  // namespace wn
