// Single-precision matrix products for the CPU trainer (and the CUDA port's reference shapes).
//
//   C[M][N] = op(A) * op(B)        (accumulate = false)
//   C[M][N] += op(A) * op(B)       (accumulate = true)
//   op(A) = transA ? A^T (A stored [K][M], row stride lda) : A (stored [M][K])
//   op(B) = transB ? B^T (B stored [N][K], row stride ldb) : B (stored [K][N])
//
// The three forms the network uses: Y = X W^T (transB), dX = dY W (plain), dW = dY^T X (transA).
// One call runs on the calling thread only (the trainer parallelises over row chunks); the result
// does not depend on anything but the arguments and the SIMD variant. The packed, register-blocked
// kernels live in native/cpu/simd/gemm_kernels.cc, compiled once per instruction set.
#pragma once
#include <cstddef>
#include "cpu/dispatch.h"

#define WN_GEMM_DECL(ns)                                                                                              \
  namespace ns {                                                                                                      \
  void sgemm(bool transA, bool transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb,         \
             float *C, int ldc, bool accumulate);                                                                     \
  size_t sgemm_packed_size(int N, int K);                                                                             \
  void sgemm_pack(bool transB, int N, int K, const float *B, int ldb, float *out);                                    \
  void sgemm_prepacked(bool transA, int M, int N, int K, const float *A, int lda, const float *Bp, float *C, int ldc, \
                       bool accumulate);                                                                              \
  }
WN_FOR_EACH_ISA(WN_GEMM_DECL)
#undef WN_GEMM_DECL

namespace wn {
void sgemm(bool transA, bool transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
           int ldc, bool accumulate);
// The same product with op(B) packed beforehand (for a B used by many calls: the weights). The packed
// layout belongs to the SIMD variant in use; sgemm_packed_size gives its size in floats.
size_t sgemm_packed_size(int N, int K);
void sgemm_pack(bool transB, int N, int K, const float *B, int ldb, float *out);
void sgemm_prepacked(bool transA, int M, int N, int K, const float *A, int lda, const float *Bp, float *C, int ldc,
                     bool accumulate);
}  // namespace wn

// Elementwise kernels fused after the GEMMs (native/cpu/simd/gemm_epilogue.cc), per SIMD variant:
//   gate_forward:   th = tanh(f + bf), sg = sigmoid(g + bg), z = th * sg   (fg rows [m][2D]: f then g)
//   gate_backward:  df = dz * sg * (1 - th^2), dg = dz * th * sg * (1 - sg) -> dfg [m][2D]
//   gate_product:   z = th * sg (n values)
//   col_sums:       out[j] (+)= sum over rows i of a[i][j], rows summed in order
//   rows_plus_bias: dst[i][j] = src[i][j] + bias[j]
//   softmax_xent:   per row of Q logits: loss = logsumexp - logit[target]; when dlogits != NULL,
//                   dlogits = (softmax - onehot(target)) * scale
#define WN_EPILOGUE_DECL(ns)                                                                                      \
  namespace ns {                                                                                                  \
  void gate_forward(int m, int D, const float *fg, const float *bias, float *th, float *sg, float *z);            \
  void gate_backward(int m, int D, const float *dz, const float *th, const float *sg, float *dfg);                \
  void gate_product(long n, const float *th, const float *sg, float *z);                                          \
  void col_sums(int m, int n, const float *a, int ld, float *out, bool accumulate);                               \
  void rows_plus_bias(int m, int n, const float *src, int lds, const float *bias, float *dst, int ldd);           \
  void softmax_xent(int m, int Q, const float *logits, const unsigned char *targets, float *loss, float *dlogits, \
                    float scale);                                                                                 \
  }
WN_FOR_EACH_ISA(WN_EPILOGUE_DECL)
#undef WN_EPILOGUE_DECL
