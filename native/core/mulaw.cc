// Continuous mu-law codec over whole buffers (see wavenet.h).
#include <cmath>
#include "wavenet.h"

extern "C" void wn_mulaw_encode(const float *x, size_t n, int mu, uint8_t *out) {
  // Evaluated in double, like the TypeScript reference (src/audio/mulaw.ts), so both give the same
  // class for every float32 input, bin edges included.
  const double dmu = (double)mu;
  const double log_mu = std::log1p(dmu);
  for (size_t i = 0; i < n; ++i) {
    double v = x[i];
    if (!(v == v)) v = 0.0;  // NaN -> silence
    v = v > 1.0 ? 1.0 : (v < -1.0 ? -1.0 : v);
    const double y = std::copysign(std::log1p(dmu * std::fabs(v)) / log_mu, v);
    long q = (long)std::floor((y + 1.0) * 0.5 * dmu + 0.5);  // round half up, as Math.round
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
