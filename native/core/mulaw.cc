// Continuous mu-law codec over whole buffers (see wavenet.h).
#include <cmath>
#include "wavenet.h"

extern "C" void wn_mulaw_encode(const float *x, size_t n, int mu, uint8_t *out) {
  const float fmu = (float)mu;
  const float inv_log = 1.0f / std::log1p(fmu);
  for (size_t i = 0; i < n; ++i) {
    float v = x[i];
    if (!(v == v)) v = 0.0f;  // NaN -> silence
    v = v > 1.0f ? 1.0f : (v < -1.0f ? -1.0f : v);
    const float y = std::copysign(std::log1p(fmu * std::fabs(v)) * inv_log, v);
    long q = std::lround((y + 1.0f) * 0.5f * fmu);
    out[i] = (uint8_t)(q < 0 ? 0 : (q > mu ? mu : q));
  }
}

extern "C" void wn_mulaw_decode(const uint8_t *q, size_t n, int mu, float *out) {
  const float fmu = (float)mu;
  for (size_t i = 0; i < n; ++i) {
    const float y = 2.0f * (float)q[i] / fmu - 1.0f;
    out[i] = std::copysign((std::pow(1.0f + fmu, std::fabs(y)) - 1.0f) / fmu, y);
  }
}
