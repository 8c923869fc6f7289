// Dispatch of wn::sgemm to the SIMD variant chosen at start (see gemm.h), and the GEMM rate of
// wn_cpu_gemm_rate (wavenet.h), a measurement for benchmarks.
#include "cpu/gemm.h"
#include <algorithm>
#include <chrono>
#include <ctime>
#include <vector>
#include "core/error.h"
#include "wavenet.h"

namespace wn {
void sgemm(bool transA, bool transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
           int ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  WN_DISPATCH(sgemm, transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}

size_t sgemm_packed_size(int N, int K) { return WN_DISPATCH(sgemm_packed_size, N, K); }

void sgemm_pack(bool transB, int N, int K, const float *B, int ldb, float *out) {
  WN_DISPATCH(sgemm_pack, transB, N, K, B, ldb, out);
}

void sgemm_prepacked(bool transA, int M, int N, int K, const float *A, int lda, const float *Bp, float *C, int ldc,
                     bool accumulate) {
  if (M <= 0 || N <= 0) return;
  WN_DISPATCH(sgemm_prepacked, transA, M, N, K, A, lda, Bp, C, ldc, accumulate);
}
}  // namespace wn

extern "C" wn_status wn_cpu_gemm_rate(int n, double seconds, wn_gemm_rate *out) {
  *out = wn_gemm_rate{0.0, 0.0};
  if (n < 1 || n > 4096) return wn::fail(WN_ERR_INVALID, "gemm rate: n must be 1..4096");
  if (!(seconds >= 0.0 && seconds <= 3600.0)) return wn::fail(WN_ERR_INVALID, "gemm rate: seconds must be 0..3600");
  return wn::guarded([&]() -> wn_status {
    using clock = std::chrono::steady_clock;
    const size_t nn = (size_t)n * n;
    std::vector<float> A(nn), B(nn), C(nn);
    for (size_t i = 0; i < nn; ++i) {
      A[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
      B[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    }
    const double flops = 2.0 * n * n * n;
    wn::sgemm(false, false, n, n, n, A.data(), n, B.data(), n, C.data(), n, false);  // warm-up
    const auto start = clock::now();
    for (int i = 0; i < 3 || std::chrono::duration<double>(clock::now() - start).count() < seconds; ++i) {
      const auto t0 = clock::now();
      const std::clock_t c0 = std::clock();
      wn::sgemm(false, false, n, n, n, A.data(), n, B.data(), n, C.data(), n, false);
      const double wall = std::chrono::duration<double>(clock::now() - t0).count();
      const double cpu = (double)(std::clock() - c0) / CLOCKS_PER_SEC;
      if (wall > 0) out->gflops = std::max(out->gflops, flops / wall / 1e9);
      const double per_cpu = cpu > 0 ? cpu : wall;  // a call shorter than the CPU clock's tick counts its wall time
      if (per_cpu > 0) out->gflops_per_cpu = std::max(out->gflops_per_cpu, flops / per_cpu / 1e9);
    }
    return WN_OK;
  });
}
