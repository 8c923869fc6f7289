/* wavenet: incremental (Fast WaveNet) synthesis for a batch of independent streams. CPU and CUDA.
 *
 * Each stream is the sequence s[0], s[1], ... of classes fed to the network. A stream holds its
 * per-layer history (a ring buffer of past layer inputs) and a pending class, the next one to feed;
 * after reset the history is all zeros (as before the start of a sequence in the full forward) and
 * the pending class is 128 (silence; Q/2 for a model of Q <= 128 classes).
 *
 *   generate step: feed the pending class s[t]; the logits predict s[t+1]; sample it from
 *                  softmax(logits / temperature) with u = wn_uniform(seed, t) (inverse CDF over
 *                  classes 0..Q-1 in order; temperature 0 = argmax, lowest class on ties);
 *                  the sample is written out and becomes the pending class. With a cut set by
 *                  wn_synth_set_cut the sampled distribution is cut to its nucleus first (the rule,
 *                  shared by both backends, is in native/core/sample.h).
 *   prime(c[0..n-1]): feeds c[0..n-2] and makes c[n-1] the pending class.
 *
 * So the logits of step t equal the full forward pass's logits at position t of the sequence
 * (wn_reference_logits), which the tests check. The counter t counts every fed class since reset.
 */
#ifndef WN_SYNTH_H
#define WN_SYNTH_H
#include "wavenet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wn_synth wn_synth;

typedef enum { WN_SYNTH_FP32 = 0, WN_SYNTH_BF16 = 1, WN_SYNTH_FP16 = 2 } wn_synth_precision;
typedef enum { WN_SYNTH_MODE_AUTO = 0, WN_SYNTH_MODE_SOLO = 1, WN_SYNTH_MODE_PARALLEL = 2 } wn_synth_mode;

/* Per-synthesizer choices (CPU backend; CUDA ignores them).
 *   precision  WN_SYNTH_BF16 keeps the weights in bf16 where the CPU has AVX512-BF16 (else fp32);
 *              WN_SYNTH_FP16 rounds the weights to fp16 (inputs and sums stay fp32) and, where the
 *              kernels have F16C (avx2, avx512), keeps them as fp16: half the bytes to read per sample.
 *              A model with a weight beyond fp16's range (65504) keeps fp32.
 *   mode       AUTO measures one and two threads and keeps the faster; SOLO / PARALLEL force one.
 *              Below 8 streams synthesis uses at most two threads (a pipeline); from 8 streams up to
 *              one thread per 4 streams, each running its share of the streams (native/cpu/synth.cc).
 *              The samples and logits are the same for any number of threads. */
typedef struct {
  wn_synth_precision precision;
  wn_synth_mode mode;
} wn_synth_options;

wn_synth_options wn_synth_default_options(void);

/* options: NULL for wn_synth_default_options(). */
wn_status wn_synth_create(const wn_config *c, const float *params, int batch, wn_device device,
                          const wn_synth_options *options, wn_synth **out);
void wn_synth_free(wn_synth *s);
wn_status wn_synth_reset(wn_synth *s);
/* classes: batch x n, row-major (stream-major). n >= 1. */
wn_status wn_synth_prime(wn_synth *s, const uint8_t *classes, int n);
/* Cuts the distribution of each stream before sampling: top_p[batch] in (0, 1] (nucleus: the most
 * likely classes holding that mass), top_k[batch] >= 0 (at most that many classes; 0 = no limit).
 * Either pointer may be null (no cut of that kind). Kept across reset. */
wn_status wn_synth_set_cut(wn_synth *s, const float *top_p, const int *top_k);
/* n steps for every stream. temperature[batch], seed[batch]. out: batch x n classes.
 * logits (optional, batch x n x Q): the logits of each step, for tests. */
wn_status wn_synth_generate(wn_synth *s, int n, const float *temperature, const uint64_t *seed, uint8_t *out,
                            float *logits);

#ifdef __cplusplus
}
#endif
#endif
