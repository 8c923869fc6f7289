// Adam (Kingma & Ba) with bias correction over the whole parameter buffer, float32 moments:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// The bias corrections are computed in double and rounded to float once per step; the CUDA backend
// uses the same expression so both give the same update.
#include <cmath>
#include "cpu/model.h"

namespace wn {
namespace cpu {
void adam_update(float *p, const float *g, float *m, float *v, size_t i0, size_t i1, const wn_adam_params &a,
                 int64_t step) {
  const float b1 = a.beta1, b2 = a.beta2, lr = a.lr, eps = a.eps;
  const float c1 = (float)(1.0 / (1.0 - std::pow((double)a.beta1, (double)step)));
  const float c2 = (float)(1.0 / (1.0 - std::pow((double)a.beta2, (double)step)));
  const float ob1 = 1.0f - b1, ob2 = 1.0f - b2;
  for (size_t i = i0; i < i1; ++i) {
    const float gi = g[i];
    const float mi = b1 * m[i] + ob1 * gi;
    const float vi = b2 * v[i] + ob2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= lr * (mi * c1) / (std::sqrt(vi * c2) + eps);
  }
}
}  // namespace cpu
}  // namespace wn
