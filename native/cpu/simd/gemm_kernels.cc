// Packed, register-blocked SGEMM (see cpu/gemm.h for the contract). Compiled once per instruction set
// (namespace WN_ISA = generic / avx2 / avx512); the vector width and the register tile follow it:
//   avx512: 12 x 32 tile (24 zmm accumulators), avx2: 6 x 16 (12 ymm), generic: 4 x 8 (8 xmm).
// Blocking: K in blocks of KC; B packed once per K block into NR-wide column panels (k-major);
// A packed per MC-row block into MR-row panels (k-major); the micro-kernel walks one B panel (kept in
// L1) across the A panels of the block (in L2). Padding in the packed panels is zero, so the kernel
// always computes whole tiles and stores only the valid part.
#include <algorithm>
#include <vector>
#include "cpu/gemm.h"
#include "cpu/simd/vec.h"

namespace WN_ISA {
namespace {
#if defined(__AVX512F__)
constexpr int MR = 12, NV = 2;
#elif defined(__AVX2__)
constexpr int MR = 6, NV = 2;
#else
constexpr int MR = 4, NV = 2;
#endif
constexpr int NR = NV * VW;
constexpr int KC = 256;
constexpr int MC = 96;  // a multiple of every MR above

struct Scratch {
  std::vector<float> a, b;
};
Scratch &scratch() {
  static thread_local Scratch s;
  return s;
}

// Packs op(B)[k0:k0+kc][0:N] into ceil(N/NR) panels of kc x NR.
void pack_b(bool transB, int N, int k0, int kc, const float *B, int ldb, float *out) {
  for (int j0 = 0; j0 < N; j0 += NR) {
    const int nr = std::min(NR, N - j0);
    float *o = out + (size_t)(j0 / NR) * kc * NR;
    if (!transB) {
      for (int k = 0; k < kc; ++k) {
        const float *src = B + (size_t)(k0 + k) * ldb + j0;
        float *dst = o + (size_t)k * NR;
        int j = 0;
        for (; j < nr; ++j) dst[j] = src[j];
        for (; j < NR; ++j) dst[j] = 0.0f;
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

// Packs op(A)[i0:i0+mc][k0:k0+kc] into ceil(mc/MR) panels of kc x MR.
void pack_a(bool transA, int i0, int mc, int k0, int kc, const float *A, int lda, float *out) {
  for (int p0 = 0; p0 < mc; p0 += MR) {
    const int mr = std::min(MR, mc - p0);
    float *o = out + (size_t)(p0 / MR) * kc * MR;
    if (transA) {
      for (int k = 0; k < kc; ++k) {
        const float *src = A + (size_t)(k0 + k) * lda + i0 + p0;
        float *dst = o + (size_t)k * MR;
        int i = 0;
        for (; i < mr; ++i) dst[i] = src[i];
        for (; i < MR; ++i) dst[i] = 0.0f;
      }
    } else {
      for (int i = 0; i < mr; ++i) {
        const float *src = A + (size_t)(i0 + p0 + i) * lda + k0;
        for (int k = 0; k < kc; ++k) o[(size_t)k * MR + i] = src[k];
      }
      for (int i = mr; i < MR; ++i)
        for (int k = 0; k < kc; ++k) o[(size_t)k * MR + i] = 0.0f;
    }
  }
}

// C[0:mr][0:nr] (+)= Apanel (kc x MR) * Bpanel (kc x NR).
inline void micro_kernel(int kc, const float *__restrict a, const float *__restrict b, float *c, int ldc, int mr,
                         int nr, bool acc) {
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
      const vf av = vset1(a[i]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) s[i][j] += av * bv[j];
    }
    a += MR;
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
}  // namespace

void sgemm(bool transA, bool transB, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
           int ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int i = 0; i < M; ++i) std::fill(C + (size_t)i * ldc, C + (size_t)i * ldc + N, 0.0f);
    return;
  }
  Scratch &s = scratch();
  const int npan = (N + NR - 1) / NR;
  const size_t need_b = (size_t)npan * NR * std::min(K, KC);
  const size_t need_a = (size_t)MC * std::min(K, KC);
  if (s.b.size() < need_b) s.b.resize(need_b);
  if (s.a.size() < need_a) s.a.resize(need_a);
  float *bp = s.b.data(), *ap = s.a.data();
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = std::min(KC, K - k0);
    const bool acc = accumulate || k0 > 0;
    pack_b(transB, N, k0, kc, B, ldb, bp);
    for (int i0 = 0; i0 < M; i0 += MC) {
      const int mc = std::min(MC, M - i0);
      pack_a(transA, i0, mc, k0, kc, A, lda, ap);
      for (int jp = 0; jp < npan; ++jp) {
        const int j0 = jp * NR, nr = std::min(NR, N - j0);
        const float *bpan = bp + (size_t)jp * kc * NR;
        for (int p0 = 0; p0 < mc; p0 += MR) {
          const int mr = std::min(MR, mc - p0);
          micro_kernel(kc, ap + (size_t)(p0 / MR) * kc * MR, bpan, C + (size_t)(i0 + p0) * ldc + j0, ldc, mr, nr, acc);
        }
      }
    }
  }
}
}  // namespace WN_ISA
