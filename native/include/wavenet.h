/* wavenet: the native core's public C API.
 *
 * Flat C functions over opaque handles. Every fallible call returns a wn_status; on failure
 * wn_last_error() gives a message for the calling thread. Library code never exits or aborts.
 *
 * The CPU implementation is the reference. The CUDA implementation has the same functions with the
 * device chosen by a wn_device argument (WN_DEVICE_CPU / WN_DEVICE_CUDA) at creation time.
 *
 * Sections:
 *   core      status codes, errors, mu-law, CPU features, CUDA device query   (this file)
 *   model     configuration and the parameter layout                           (this file)
 *   train     forward, backward and Adam on a batch of windows                (wn_train.h)
 *   synth     incremental (Fast WaveNet) generation for a batch of streams     (wn_synth.h)
 */
#ifndef WAVENET_H
#define WAVENET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- core */

typedef enum {
  WN_OK = 0,
  WN_ERR_INVALID = 1,     /* a bad argument; the message names it */
  WN_ERR_NOMEM = 2,       /* host or device memory exhausted */
  WN_ERR_UNSUPPORTED = 3, /* feature not compiled in or not available (e.g. no CUDA device) */
  WN_ERR_DEVICE = 4,      /* a CUDA error; the message carries CUDA's text */
  WN_ERR_CANCELLED = 5,   /* the caller asked to stop */
  WN_ERR_INTERNAL = 6
} wn_status;

typedef enum { WN_DEVICE_CPU = 0, WN_DEVICE_CUDA = 1 } wn_device;

/* Message of the last failed call on this thread ("" when none). */
const char *wn_last_error(void);

/* Continuous mu-law companding (WaveNet's, not G.711):
 *   y = sign(x) * ln(1 + mu|x|) / ln(1 + mu),  class = round((y + 1) / 2 * mu), in 0..mu.
 * x is clamped to [-1, 1]. Class 0 <-> -1.0, class mu/2 rounded up (128 for mu 255) <-> ~0.0,
 * class mu <-> 1.0. decode maps a class to the centre value of its bin. */
void wn_mulaw_encode(const float *x, size_t n, int mu, uint8_t *out);
void wn_mulaw_decode(const uint8_t *q, size_t n, int mu, float *out);

typedef struct {
  const char *arch; /* "x86_64", "aarch64", ... */
  int sse42, avx, avx2, fma, f16c;
  int avx512f, avx512bw, avx512vl, avx512dq, avx512bf16;
  int neon;
  const char *kernels; /* the SIMD variant the library dispatches to: "avx512", "avx2" or "generic" */
  int threads;         /* hardware threads the library will use */
} wn_cpu_features;

void wn_cpu_features_get(wn_cpu_features *out);

/* A measurement for benchmarks (`wavenet bench synth --kernels`): the rate of the CPU GEMM that
 * training runs (the packed kernel of the SIMD variant in use, on the calling thread) on n x n x n
 * products: one warm-up call, then the best of at least 3 timed calls and as many as fit in `seconds`.
 * gflops: per wall-clock second; gflops_per_cpu: per second of the process's CPU time. n: 1..4096. */
typedef struct {
  double gflops, gflops_per_cpu;
} wn_gemm_rate;

wn_status wn_cpu_gemm_rate(int n, double seconds, wn_gemm_rate *out);

/* Process-wide run-time choices. The library reads no environment variable: the program does, once,
 * and passes what it found here (the addon reads WAVENET_KERNELS, WAVENET_THREADS and
 * WAVENET_CUDA_GRAPHS once when it loads: native/src/napi_env.cc). The first use of the CPU kernels or of the thread
 * pool fixes them: a later call with other values fails with WN_ERR_INVALID. */
typedef struct {
  const char *kernels; /* NULL or "auto": the best variant the CPU has; "generic", "avx2", "avx512":
                          that variant when the CPU has it (else the best one) */
  int threads;         /* 0: the hardware threads; 1..1024: that many, also for layers too small to
                          pay for a second thread */
  int cuda_graphs;     /* 1: replay each CUDA training step as a graph; 0: launch eagerly (debugging) */
} wn_runtime_options;

wn_runtime_options wn_runtime_default_options(void);
wn_status wn_runtime_configure(const wn_runtime_options *o);

typedef struct {
  char name[256];
  int major, minor;    /* compute capability */
  size_t total_memory; /* bytes */
  int multiprocessors;
} wn_cuda_device_info;

/* 1 when the library was built with nvcc, else 0. */
int wn_cuda_compiled(void);
/* Fills runtime/driver versions (e.g. 13000) and the device count. Returns WN_ERR_UNSUPPORTED with
 * the exact reason (not compiled in, no driver, no device, version mismatch) when none is usable. */
wn_status wn_cuda_query(int *runtime_version, int *driver_version, int *device_count);
wn_status wn_cuda_device(int index, wn_cuda_device_info *out);

/* ---------------------------------------------------------------- model */

#define WN_MAX_LAYERS 256

typedef struct {
  int n_layers;
  int dilations[WN_MAX_LAYERS];
  int residual; /* R */
  int dilation; /* D (gate channels) */
  int skip;     /* S */
  int head;     /* H */
  int classes;  /* Q, 256 */
} wn_config;

/* Receptive field in samples: 2 + sum of dilations. */
int wn_receptive_field(const wn_config *c);
wn_status wn_config_check(const wn_config *c);

/* The parameter layout: every tensor lives at an offset (in floats) of one contiguous buffer.
 * Tensor order and shapes (row-major, [out][in] for matrices):
 *   input.embed            [2, Q, R]   tap 0 multiplies onehot(c[t-1]), tap 1 onehot(c[t])
 *   input.bias             [R]
 *   for each layer l:
 *     layers.l.gate.weight [2D, 2R]    rows 0..D-1 filter f, rows D..2D-1 gate g;
 *                                      columns 0..R-1 read x[t-d], columns R..2R-1 read x[t]
 *     layers.l.gate.bias   [2D]
 *     layers.l.skip.weight [S, D]
 *     layers.l.skip.bias   [S]
 *     layers.l.res.weight  [R, D]
 *     layers.l.res.bias    [R]
 *   head.1.weight          [H, S]
 *   head.1.bias            [H]
 *   head.2.weight          [Q, H]
 *   head.2.bias            [Q]
 */
typedef struct {
  size_t input_embed, input_bias;
  size_t head1_w, head1_b, head2_w, head2_b;
  size_t total;
} wn_layout;

typedef struct {
  size_t gate_w, gate_b, skip_w, skip_b, res_w, res_b;
} wn_layer_layout;

void wn_layout_get(const wn_config *c, wn_layout *out);
void wn_layer_layout_get(const wn_config *c, int layer, wn_layer_layout *out);

#ifdef __cplusplus
}
#endif

#endif /* WAVENET_H */
