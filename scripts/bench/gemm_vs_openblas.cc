// The matrix products of one WaveNet layer (and the head) at a given config, timed with the trainer's
// GEMM (native/cpu/simd/gemm_kernels.cc, each SIMD variant) and with OpenBLAS cblas_sgemm on the same
// shapes, in the same process. Built and run by scripts/bench-train.ts; prints one JSON object.
//
//   gemm_vs_openblas R D S H rows [min_seconds]
//
// rows: rows of activations in one layer call (batch x window at the default config).
// Single thread: one call on the whole shape each. Two threads: OpenBLAS on the whole shape with 2
// threads; ours the way the trainer does it: row chunks of 256 on wn::pool() (2 threads), and for
// weight gradients one partial product per chunk summed in chunk order.
#include <cblas.h>
#include <time.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include "core/threadpool.h"
#include "cpu/gemm.h"

struct Shape {
  const char *name;
  bool ta, tb;
  int M, N, K, lda, ldb;
  double per_layer;  // how many times per layer (or per step for the head) the trainer issues it
};

using Fn = void (*)(bool, bool, int, int, int, const float *, int, const float *, int, float *, int, bool);

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
// CPU time of the calling thread: unaffected by other processes taking the core (single-thread runs).
static double thread_cpu() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

// A number for JSON: null when not measured (a variant the CPU cannot run).
static std::string js(double x) {
  if (std::isnan(x)) return "null";
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", x);
  return b;
}

struct Timing {
  double wall, cpu;  // medians (or minima with WN_BENCH_STAT=min) of wall and calling-thread CPU time
};

template <class F>
static Timing time_median(F &&f, double min_s) {
  f();  // warm-up
  std::vector<double> ts, cs;
  const double start = now();
  while (ts.size() < 5 || (now() - start < min_s && ts.size() < 1000)) {
    const double c0 = thread_cpu(), t0 = now();
    f();
    ts.push_back(now() - t0);
    cs.push_back(thread_cpu() - c0);
  }
  std::sort(ts.begin(), ts.end());
  std::sort(cs.begin(), cs.end());
  // WN_BENCH_STAT=min: the fastest repetition (for development on a busy machine); default median.
  static const bool use_min = std::getenv("WN_BENCH_STAT") && std::string(std::getenv("WN_BENCH_STAT")) == "min";
  return use_min ? Timing{ts[0], cs[0]} : Timing{ts[ts.size() / 2], cs[cs.size() / 2]};
}

int main(int argc, char **argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: gemm_vs_openblas R D S H rows [min_seconds]\n");
    return 2;
  }
  const int R = std::atoi(argv[1]), D = std::atoi(argv[2]), S = std::atoi(argv[3]), H = std::atoi(argv[4]),
            rows = std::atoi(argv[5]);
  const double min_s = argc > 6 ? std::atof(argv[6]) : 0.3;
  const int Q = 256;
  const Shape shapes[] = {
      // forward: Y = X W^T
      {"gate f,g = x Wg^T (per tap)", false, true, rows, 2 * D, R, R, 2 * R, 2},
      {"res x' = z Wr^T", false, true, rows, R, D, D, D, 1},
      {"skip s = z Ws^T", false, true, rows, S, D, D, D, 1},
      // backward: dX = dY W
      {"dz = dx' Wr", false, false, rows, D, R, R, D, 1},
      {"dz += ds Ws", false, false, rows, D, S, S, D, 1},
      {"dx = dfg Wg (per tap)", false, false, rows, R, 2 * D, 2 * D, 2 * R, 2},
      // backward: dW = dY^T X
      {"dWr = dx'^T z", true, false, R, D, rows, R, D, 1},
      {"dWs = ds^T z", true, false, S, D, rows, S, D, 1},
      {"dWg = dfg^T x (per tap)", true, false, 2 * D, R, rows, 2 * D, R, 2},
      // head (once per step)
      {"head h = relu(s) W1^T", false, true, rows, H, S, S, S, 1},
      {"head logits = h W2^T", false, true, rows, Q, H, H, H, 1},
      {"head dh = dl W2", false, false, rows, H, Q, Q, H, 1},
      {"head ds = dh W1", false, false, rows, S, H, H, S, 1},
      {"head dW2 = dl^T h", true, false, Q, H, rows, Q, H, 1},
      {"head dW1 = dh^T relu(s)", true, false, H, S, rows, H, S, 1},
  };
  const Fn variants[] = {&avx512::sgemm, &avx2::sgemm, &generic::sgemm};
  const char *vnames[] = {"avx512", "avx2", "generic"};
  __builtin_cpu_init();
  const bool has512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  const bool has2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const int best = has512 ? 0 : has2 ? 1 : 2;
  wn::ThreadPool &pool = wn::pool();
  const int chunk = 256;

  std::printf("{\"threads\": %d, \"best\": \"%s\", \"rows\": %d, \"shapes\": [\n", pool.size(), vnames[best], rows);
  bool first = true;
  for (const Shape &sh : shapes) {
    const size_t na = (size_t)(sh.ta ? sh.K : sh.M) * sh.lda, nb = (size_t)(sh.tb ? sh.N : sh.K) * sh.ldb;
    std::vector<float> A(na), B(nb), C((size_t)sh.M * sh.N), Cref((size_t)sh.M * sh.N);
    unsigned s = 1;
    auto rnd = [&] { return (float)((s = s * 1664525u + 1013904223u) >> 8) / (1 << 24) - 0.5f; };
    for (auto &v : A) v = rnd();
    for (auto &v : B) v = rnd();
    const double flops = 2.0 * sh.M * sh.N * sh.K;
    auto blas = [&] {
      cblas_sgemm(CblasRowMajor, sh.ta ? CblasTrans : CblasNoTrans, sh.tb ? CblasTrans : CblasNoTrans, sh.M, sh.N,
                  sh.K, 1.0f, A.data(), sh.lda, B.data(), sh.ldb, 0.0f, Cref.data(), sh.N);
    };
    openblas_set_num_threads(1);
    const Timing t_blas1 = time_median(blas, min_s);
    openblas_set_num_threads(2);
    const double t_blas2 = time_median(blas, min_s).wall;
    Timing t1[3] = {{NAN, NAN}, {NAN, NAN}, {NAN, NAN}};
    double err[3] = {NAN, NAN, NAN};
    for (int v = 0; v < 3; ++v) {
      if ((v == 0 && !has512) || (v == 1 && !has2)) continue;
      Fn f = variants[v];
      t1[v] = time_median([&] { f(sh.ta, sh.tb, sh.M, sh.N, sh.K, A.data(), sh.lda, B.data(), sh.ldb, C.data(), sh.N, false); },
                          min_s);
      double e = 0, m = 0;
      for (size_t i = 0; i < C.size(); ++i) {
        e = std::max(e, (double)std::fabs(C[i] - Cref[i]));
        m = std::max(m, (double)std::fabs(Cref[i]));
      }
      err[v] = e / m;
    }
    // Two threads, as the trainer splits the work.
    Fn f = variants[best];
    Timing t2;
    if (!sh.ta) {
      const int nc = (sh.M + chunk - 1) / chunk;
      t2 = time_median(
          [&] {
            pool.run(nc, [&](int c, int) {
              const int i0 = c * chunk, m = std::min(chunk, sh.M - i0);
              f(false, sh.tb, m, sh.N, sh.K, A.data() + (size_t)i0 * sh.lda, sh.lda, B.data(), sh.ldb,
                C.data() + (size_t)i0 * sh.N, sh.N, false);
            });
          },
          min_s);
    } else {
      const int nc = (sh.K + chunk - 1) / chunk;
      std::vector<float> parts((size_t)nc * sh.M * sh.N);
      const size_t cnt = (size_t)sh.M * sh.N;
      t2 = time_median(
          [&] {
            pool.run(nc, [&](int c, int) {
              const int k0 = c * chunk, kc = std::min(chunk, sh.K - k0);
              f(true, false, sh.M, sh.N, kc, A.data() + (size_t)k0 * sh.lda, sh.lda, B.data() + (size_t)k0 * sh.ldb,
                sh.ldb, parts.data() + (size_t)c * cnt, sh.N, false);
            });
            const size_t blk = 4096;
            pool.run((int)((cnt + blk - 1) / blk), [&](int task, int) {
              const size_t i0 = task * blk, i1 = std::min(cnt, i0 + blk);
              for (size_t i = i0; i < i1; ++i) C[i] = parts[i];
              for (int c = 1; c < nc; ++c)
                for (size_t i = i0; i < i1; ++i) C[i] += parts[(size_t)c * cnt + i];
            });
          },
          min_s);
    }
    double e2 = 0, m2 = 0;
    for (size_t i = 0; i < C.size(); ++i) {
      e2 = std::max(e2, (double)std::fabs(C[i] - Cref[i]));
      m2 = std::max(m2, (double)std::fabs(Cref[i]));
    }
    std::printf(
        "%s{\"name\": \"%s\", \"form\": \"%s\", \"M\": %d, \"N\": %d, \"K\": %d, \"perLayer\": %g, \"flop\": %.0f,"
        " \"openblas1\": %s, \"openblas2\": %s, \"avx512_1\": %s, \"avx2_1\": %s, \"generic_1\": %s, \"ours2\": %s,"
        " \"cpu\": {\"openblas1\": %s, \"avx512_1\": %s, \"avx2_1\": %s, \"generic_1\": %s},"
        " \"relErr\": [%s, %s, %s, %s]}",
        first ? "" : ",\n", sh.name, sh.ta ? "TN" : sh.tb ? "NT" : "NN", sh.M, sh.N, sh.K, sh.per_layer, flops,
        js(t_blas1.wall).c_str(), js(t_blas2).c_str(), js(t1[0].wall).c_str(), js(t1[1].wall).c_str(),
        js(t1[2].wall).c_str(), js(t2.wall).c_str(), js(t_blas1.cpu).c_str(), js(t1[0].cpu).c_str(),
        js(t1[1].cpu).c_str(), js(t1[2].cpu).c_str(), js(err[0]).c_str(), js(err[1]).c_str(), js(err[2]).c_str(),
        js(e2 / m2).c_str());
    first = false;
  }
  std::printf("\n]}\n");
  return 0;
}
