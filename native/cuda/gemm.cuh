// A plain shared-memory tiled fp32 GEMM for the CUDA trainer (no cuBLAS):
//
//   C[m][n] = sum over k in this block's K chunk of A(m, k) * B(k, n)
//
// A and B are read through loader functors, so one kernel serves every product of the model: the
// dilated gate input (x[t-d] | x[t]) is gathered on the fly instead of being materialised, weight
// matrices are read transposed or not, and an extra "ones" column turns a weight-gradient product into
// weight and bias gradients at once. The result goes to an epilogue functor (bias, activations,
// gating, residual add...) so activations make one trip to device memory.
//
// Determinism: every C element is accumulated by one thread in a fixed k order. Weight gradients use
// split-K: block z sums its own K chunk into partial[z] and gemm_reduce adds the partials in order
// z = 0, 1, ... (no atomics), so the same inputs give the same bits on every run.
//
// Loader contract (device functors):
//   float operator()(int m, int k) const   for A,   float operator()(int k, int n) const   for B;
//   static constexpr bool kFastK           true when consecutive k are adjacent in memory (choose the
//                                          thread mapping of the tile load for coalescing).
// Epilogue contract:
//   void row4(int m, int n, const float v[4], int z) const   v[j] is C[m][n + j]; n is a multiple of 4;
//                                                             the epilogue must ignore n + j >= N.
#pragma once
#include "cuda/common.cuh"

namespace wn {
namespace cuda {

constexpr int kGemmBM = 64, kGemmBN = 64, kGemmBK = 16, kGemmThreads = 256;

template <class LA, class LB, class EP>
__global__ void __launch_bounds__(kGemmThreads) gemm_kernel(int M, int N, int K, int kchunk, LA la, LB lb, EP ep) {
  constexpr int BM = kGemmBM, BN = kGemmBN, BK = kGemmBK;
  __shared__ __align__(16) float As[BK][BM + 4];  // As[k][m]
  __shared__ __align__(16) float Bs[BK][BN + 4];  // Bs[k][n]
  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
  const int kbeg = blockIdx.z * kchunk;
  const int kend = min(K, kbeg + kchunk);
  float acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) acc[i][j] = 0.f;

  for (int k0 = kbeg; k0 < kend; k0 += BK) {
    // A tile: BM x BK elements, 4 per thread.
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int e = tid + i * kGemmThreads;
      int mm, kk;
      if (LA::kFastK) {
        kk = e % BK;
        mm = e / BK;
      } else {
        mm = e % BM;
        kk = e / BM;
      }
      const int m = m0 + mm, k = k0 + kk;
      As[kk][mm] = (m < M && k < kend) ? la(m, k) : 0.f;
    }
    // B tile: BK x BN elements, 4 per thread.
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int e = tid + i * kGemmThreads;
      int nn, kk;
      if (LB::kFastK) {
        kk = e % BK;
        nn = e / BK;
      } else {
        nn = e % BN;
        kk = e / BN;
      }
      const int n = n0 + nn, k = k0 + kk;
      Bs[kk][nn] = (n < N && k < kend) ? lb(k, n) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      const float4 a = *reinterpret_cast<const float4 *>(&As[kk][ty * 4]);
      const float4 b = *reinterpret_cast<const float4 *>(&Bs[kk][tx * 4]);
      const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
  const int n = n0 + tx * 4;
  if (n >= N) return;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int m = m0 + ty * 4 + i;
    if (m < M) ep.row4(m, n, acc[i], blockIdx.z);
  }
}

// Split-K partial store: partial[z][m][n].
struct PartialEP {
  float *partial;
  int M, N;
  __device__ void row4(int m, int n, const float *v, int z) const {
    float *p = partial + ((size_t)z * M + m) * N;
#pragma unroll
    for (int j = 0; j < 4; ++j)
      if (n + j < N) p[n + j] = v[j];
  }
};

// Fixed-order sum of the split-K partials, then ep(m, n, value).
template <class EP>
__global__ void gemm_reduce_kernel(const float *partial, int M, int N, int splits, EP ep) {
  const size_t MN = (size_t)M * N;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < MN; i += (size_t)gridDim.x * blockDim.x) {
    float s = 0.f;
    for (int z = 0; z < splits; ++z) s += partial[z * MN + i];
    ep((int)(i / N), (int)(i % N), s);
  }
}

// The split count of a weight-gradient product depends only on its shape (never on the GPU), so the
// bits of a gradient are the same on every device of one architecture.
struct SplitK {
  int splits, kchunk;
};
inline SplitK gemm_split(int M, int N, int K) {
  const int tiles = ((M + kGemmBM - 1) / kGemmBM) * ((N + kGemmBN - 1) / kGemmBN);
  int want = (512 + tiles - 1) / tiles;
  const int maxs = (K + 8 * kGemmBK - 1) / (8 * kGemmBK);  // chunks of at least 128
  if (want > maxs) want = maxs;
  if (want > 128) want = 128;
  if (want < 1) want = 1;
  int kchunk = (K + want - 1) / want;
  kchunk = (kchunk + kGemmBK - 1) / kGemmBK * kGemmBK;
  if (kchunk < kGemmBK) kchunk = kGemmBK;
  SplitK s;
  s.kchunk = kchunk;
  s.splits = K > 0 ? (K + kchunk - 1) / kchunk : 1;
  return s;
}

// C = A.B with the epilogue applied directly (no split: each C element has all of K).
template <class LA, class LB, class EP>
wn_status gemm(cudaStream_t st, int M, int N, int K, LA la, LB lb, EP ep) {
  if (M <= 0 || N <= 0) return WN_OK;
  dim3 grid((M + kGemmBM - 1) / kGemmBM, (N + kGemmBN - 1) / kGemmBN, 1);
  auto *kernel = gemm_kernel<LA, LB, EP>;
  WN_LAUNCH(kernel, grid, kGemmThreads, 0, st)(M, N, K, K > 0 ? K : 1, la, lb, ep);
  WN_CUDA_TRY(cudaGetLastError());
  return WN_OK;
}

// Deterministic split-K product for weight gradients: partial sums then ep(m, n, v) in gemm_reduce.
// partial must hold gemm_split(M, N, K).splits * M * N floats.
template <class LA, class LB, class EP>
wn_status gemm_splitk(cudaStream_t st, int M, int N, int K, LA la, LB lb, float *partial, EP ep) {
  if (M <= 0 || N <= 0) return WN_OK;
  const SplitK s = gemm_split(M, N, K);
  dim3 grid((M + kGemmBM - 1) / kGemmBM, (N + kGemmBN - 1) / kGemmBN, s.splits);
  auto *kernel = gemm_kernel<LA, LB, PartialEP>;
  WN_LAUNCH(kernel, grid, kGemmThreads, 0, st)(M, N, K, s.kchunk, la, lb, PartialEP{partial, M, N});
  WN_CUDA_TRY(cudaGetLastError());
  const size_t MN = (size_t)M * N;
  int blocks = (int)((MN + 255) / 256);
  if (blocks > 4096) blocks = 4096;
  auto *reduce = gemm_reduce_kernel<EP>;
  WN_LAUNCH(reduce, blocks, 256, 0, st)(partial, M, N, s.splits, ep);
  WN_CUDA_TRY(cudaGetLastError());
  return WN_OK;
}

}  // namespace cuda
}  // namespace wn
