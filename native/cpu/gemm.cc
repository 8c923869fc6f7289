// Dispatch of wn::sgemm to the SIMD variant chosen at start (see gemm.h), and the naive reference.
#include "cpu/gemm.h"

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

void sgemm_naive(bool transA, bool transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                 float *C, int ldc, bool accumulate) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = accumulate ? C[(long)i * ldc + j] : 0.0;
      for (int k = 0; k < K; ++k) {
        const double a = transA ? A[(long)k * lda + i] : A[(long)i * lda + k];
        const double b = transB ? B[(long)j * ldb + k] : B[(long)k * ldb + j];
        s += a * b;
      }
      C[(long)i * ldc + j] = (float)s;
    }
}
}  // namespace wn
