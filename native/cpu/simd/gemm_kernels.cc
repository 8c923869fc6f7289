// Register-blocked SGEMM (see cpu/gemm.h for the contract). Compiled once per instruction set
// (namespace WN_ISA = generic / avx2 / avx512); the vector width and the register tile follow it:
//   avx512: 6 x 64 tile (24 zmm accumulators, 4 B loads + 6 broadcasts per k),
//   avx2:   6 x 16 (12 ymm),   generic: 4 x 8 (8 xmm).
// B is packed per K block of KC into NR-wide column panels (k-major, zero padded), so the kernel
// always computes whole NR columns and stores only the valid ones. A is read in place, whichever way
// it is stored (the broadcasts read A[i][k] at a + i*rs + k*ks), so the activations, the large
// operand here, are never copied; only a last partial panel of fewer than MR rows is copied into a
// zero-padded tile.
// No standard-library templates here (std::vector, std::min, std::fill...): an instantiation in this file
// would be a COMDAT symbol compiled for this ISA that the linker may keep for shared code (see
// native/cpu/dispatch.h). Only C functions (malloc, memcpy) and code in this namespace.
#include <cstdlib>
#include <new>
#include "cpu/gemm.h"
#include "cpu/simd/vec.h"

namespace WN_ISA {
namespace {
inline int imin(int a, int b) { return a < b ? a : b; }
inline void zero_row(float *p, int n) {
  for (int j = 0; j < n; ++j) p[j] = 0.0f;
}
#if defined(__AVX512F__)
constexpr int MR = 6, NV = 4;
#elif defined(__AVX2__)
constexpr int MR = 6, NV = 2;
#else
constexpr int MR = 4, NV = 2;
#endif
constexpr int NR = NV * VW;
constexpr int KC = 256;

struct Scratch {
  float *b = nullptr;  // packed B panels, malloc'ed, grown on demand
  size_t cap = 0;      // floats
  alignas(64) float a_edge[KC * MR];
  float *packed_b(size_t need) {
    if (cap < need) {
      std::free(b);
      b = static_cast<float *>(std::malloc(need * sizeof(float)));
      cap = b ? need : 0;
      if (!b) throw std::bad_alloc();
    }
    return b;
  }
  ~Scratch() { std::free(b); }
};
Scratch &scratch() {
  static thread_local Scratch s;
  return s;
}

// Packs op(B)[k0:k0+kc][0:N] into ceil(N/NR) panels of kc x NR.
void pack_b(bool transB, int N, int k0, int kc, const float *B, int ldb, float *out) {
  for (int j0 = 0; j0 < N; j0 += NR) {
    const int nr = imin(NR, N - j0);
    float *o = out + (size_t)(j0 / NR) * kc * NR;
    if (!transB) {
      for (int k = 0; k < kc; ++k) {
        const float *src = B + (size_t)(k0 + k) * ldb + j0;
        float *dst = o + (size_t)k * NR;
        if (nr == NR) {
          for (int j = 0; j < NR; j += VW) vstore(dst + j, vload(src + j));
        } else {
          int j = 0;
          for (; j < nr; ++j) dst[j] = src[j];
          for (; j < NR; ++j) dst[j] = 0.0f;
        }
      }
    } else {
      for (int j = 0; j < nr; ++j) {
        const float *src = B + (size_t)(j0 + j) * ldb + k0;
        for (int k = 0; k < kc; ++k) o[(size_t)k * NR + j] = src[k];
      }
      for (int j = nr; j < NR; ++j)
        for (int k = 0; k < kc; ++k) o[(size_t)k * NR + j] = 0.0f;
    }
  }
}

// C[0:MR][0:nr] (+)= A (MR x kc, element (i, k) at a[i*rs + k*ks]) * Bpanel (kc x NR).
template <bool ATRANS>
inline void micro_kernel(int kc, const float *__restrict a, long lda, const float *__restrict b, float *c, int ldc,
                         int mr, int nr, bool acc) {
  vf s[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) s[i][j] = vf{};
  for (int k = 0; k < kc; ++k) {
    vf bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = vload(b + j * VW);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const vf av = vset1(ATRANS ? a[i] : a[i * lda]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) s[i][j] += av * bv[j];
    }
    a += ATRANS ? lda : 1;
    b += NR;
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) {
        float *p = c + (size_t)i * ldc + j * VW;
        vstore(p, acc ? vload(p) + s[i][j] : s[i][j]);
      }
  } else {
    alignas(64) float tmp[MR][NR];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NV; ++j) vstore(&tmp[i][j * VW], s[i][j]);
    for (int i = 0; i < mr; ++i)
      for (int j = 0; j < nr; ++j) {
        float *p = c + (size_t)i * ldc + j;
        *p = acc ? *p + tmp[i][j] : tmp[i][j];
      }
  }
}

template <bool ATRANS>
void run_blocks(int M, int N, int kc, int k0, const float *A, int lda, const float *bp, float *C, int ldc, bool acc,
                float *a_edge) {
  const int npan = (N + NR - 1) / NR;
  for (int i0 = 0; i0 < M; i0 += MR) {
    const int mr = imin(MR, M - i0);
    const float *a;
    long ld;
    if (mr == MR) {
      a = ATRANS ? A + (size_t)k0 * lda + i0 : A + (size_t)i0 * lda + k0;
      ld = lda;
    } else {
      // Copy the last rows into a zero-padded tile with the same orientation.
      if (ATRANS) {
        for (int k = 0; k < kc; ++k)
          for (int i = 0; i < MR; ++i) a_edge[k * MR + i] = i < mr ? A[(size_t)(k0 + k) * lda + i0 + i] : 0.0f;
        ld = MR;
      } else {
        for (int i = 0; i < MR; ++i)
          for (int k = 0; k < kc; ++k) a_edge[i * kc + k] = i < mr ? A[(size_t)(i0 + i) * lda + k0 + k] : 0.0f;
        ld = kc;
      }
      a = a_edge;
    }
    for (int jp = 0; jp < npan; ++jp) {
      const int j0 = jp * NR, nr = imin(NR, N - j0);
      micro_kernel<ATRANS>(kc, a, ld, bp + (size_t)jp * kc * NR, C + (size_t)i0 * ldc + j0, ldc, mr, nr, acc);
    }
  }
}

// C (+)= op(A) B over the K blocks of KC; block_b(s, k0, kc) returns the packed B panels of a block.
template <typename BlockB>
void sgemm_blocks(bool transA, int M, int N, int K, const float *A, int lda, float *C, int ldc, bool accumulate,
                  BlockB block_b) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int i = 0; i < M; ++i) zero_row(C + (size_t)i * ldc, N);
    return;
  }
  Scratch &s = scratch();
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = imin(KC, K - k0);
    const bool acc = accumulate || k0 > 0;
    const float *bp = block_b(s, k0, kc);
    if (transA)
      run_blocks<true>(M, N, kc, k0, A, lda, bp, C, ldc, acc, s.a_edge);
    else
      run_blocks<false>(M, N, kc, k0, A, lda, bp, C, ldc, acc, s.a_edge);
  }
}
}  // namespace

void sgemm(bool transA, bool transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
           int ldc, bool accumulate) {
  const size_t npan = (N + NR - 1) / NR;
  sgemm_blocks(transA, M, N, K, A, lda, C, ldc, accumulate, [&](Scratch &s, int k0, int kc) {
    float *bp = s.packed_b(npan * NR * imin(K, KC));  // one buffer for all blocks (sized at the first)
    pack_b(transB, N, k0, kc, B, ldb, bp);
    return (const float *)bp;
  });
}

// Pre-packed B: the K blocks of pack_b one after the other (block k0 starts at npan * NR * k0).
size_t sgemm_packed_size(int N, int K) { return (size_t)((N + NR - 1) / NR) * NR * (size_t)(K > 0 ? K : 0); }

void sgemm_pack(bool transB, int N, int K, const float *B, int ldb, float *out) {
  const size_t npan = (N + NR - 1) / NR;
  for (int k0 = 0; k0 < K; k0 += KC) pack_b(transB, N, k0, imin(KC, K - k0), B, ldb, out + npan * NR * k0);
}

void sgemm_prepacked(bool transA, int M, int N, int K, const float *A, int lda, const float *Bp, float *C, int ldc,
                     bool accumulate) {
  const size_t npan = (N + NR - 1) / NR;
  sgemm_blocks(transA, M, N, K, A, lda, C, ldc, accumulate,
               [&](Scratch &, int k0, int) { return Bp + npan * NR * k0; });
}
}  // namespace WN_ISA
