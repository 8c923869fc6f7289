// isa_name(): the SIMD variant's own name, one per variant (isa_name.cc).
#pragma once
#include "cpu/dispatch.h"
#define WN_PROBE_DECL(ns) \
  namespace ns {          \
  const char *isa_name(); \
  }
WN_FOR_EACH_ISA(WN_PROBE_DECL)
