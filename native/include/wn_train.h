/* wavenet: training API (forward, backward and Adam on a batch of windows). CPU and CUDA share it.
 *
 * An example is a crop of N = rf + W classes (rf = wn_receptive_field, W = window). The network runs
 * over positions 0..N-2; the output at position p predicts class p+1. The loss is the mean
 * cross-entropy (nats) of the W predictions of classes rf..N-1, averaged over the batch too.
 * Positions before the start of a crop read zeros in every layer (and in the input convolution).
 *
 * Determinism: for the same inputs and parameters a step gives the same bits on every run, whatever
 * the thread count (reductions run over fixed chunks in a fixed order).
 */
#ifndef WN_TRAIN_H
#define WN_TRAIN_H
#include "wavenet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wn_trainer wn_trainer;

typedef struct {
  float lr;    /* learning rate */
  float beta1; /* 0.9 */
  float beta2; /* 0.999 */
  float eps;   /* 1e-8 */
} wn_adam_params;

wn_adam_params wn_adam_default_params(void);

/* Bytes the trainer will allocate on `device` for this shape (parameters, gradients, Adam moments,
 * activations), so the caller can print it or refuse before starting. 0 when the device's backend
 * is not compiled in. */
size_t wn_trainer_memory_bytes(const wn_config *c, int batch, int window, wn_device device);

/* Parameters start at zero; set them with wn_trainer_set_params. */
wn_status wn_trainer_create(const wn_config *c, int batch, int window, wn_device device, wn_trainer **out);
void wn_trainer_free(wn_trainer *t);
size_t wn_trainer_param_count(const wn_trainer *t);

wn_status wn_trainer_set_params(wn_trainer *t, const float *params);
wn_status wn_trainer_get_params(const wn_trainer *t, float *out);
/* Gradient of the mean loss from the last wn_trainer_forward_backward / wn_trainer_step. */
wn_status wn_trainer_get_grads(const wn_trainer *t, float *out);
wn_status wn_trainer_get_adam(const wn_trainer *t, float *m, float *v, int64_t *step);
wn_status wn_trainer_set_adam(wn_trainer *t, const float *m, const float *v, int64_t step);

/* Forward only: mean loss (nats) over the batch; logits (B x W x Q) when logits != NULL. */
wn_status wn_trainer_forward(wn_trainer *t, const uint8_t *crops, float *loss, float *logits);
/* Forward and backward: loss and gradients (kept in the trainer). */
wn_status wn_trainer_forward_backward(wn_trainer *t, const uint8_t *crops, float *loss);
/* One Adam update from the stored gradients (increments the step). */
wn_status wn_trainer_adam(wn_trainer *t, const wn_adam_params *p);
/* forward_backward + adam. */
wn_status wn_trainer_step(wn_trainer *t, const uint8_t *crops, const wn_adam_params *p, float *loss);

/* Intermediates of the last forward, for layer-by-layer comparison between backends.
 * name: "input" (layer 0 input x, B x (N-1) x R), "x" (input of `layer`, B x (N-1) x R),
 *       "z" (gated output of `layer`, B x (N-1) x D), "skip" (skip sum before ReLU, B x W x S),
 *       "logits" (B x W x Q). Positions a layer did not need to compute are written as 0.
 * n must equal the tensor's element count. */
wn_status wn_trainer_get_tensor(const wn_trainer *t, const char *name, int layer, float *out, size_t n);

/* The plain reference forward (CPU, straightforward loops, float64 accumulation): logits at every
 * position of one sequence of T classes, out is T x Q. Used by tests and the naive generator. */
wn_status wn_reference_logits(const wn_config *c, const float *params, const uint8_t *classes, int T, float *out);

#ifdef __cplusplus
}
#endif
#endif
