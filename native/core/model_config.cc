// Model configuration checks and the parameter layout (see wavenet.h for the order and shapes).
#include <string>
#include "core/error.h"
#include "wavenet.h"

extern "C" int wn_receptive_field(const wn_config *c) {
  int rf = 2;
  for (int i = 0; i < c->n_layers; ++i) rf += c->dilations[i];
  return rf;
}

// Guards the library against misuse (a config no caller should build): the limits users see, with
// messages naming their flags and files, are validated once in TypeScript (src/model/config.ts) before a
// config reaches the C API. These bounds only keep the native code's sizes and indices in range.
static wn_status config_check(const wn_config *c) {
  if (c->n_layers < 1 || c->n_layers > WN_MAX_LAYERS)
    return wn::fail(WN_ERR_INVALID, "config: layer count must be 1.." + std::to_string(WN_MAX_LAYERS));
  for (int i = 0; i < c->n_layers; ++i)
    if (c->dilations[i] < 1 || c->dilations[i] > (1 << 20))
      return wn::fail(WN_ERR_INVALID, "config: dilation of layer " + std::to_string(i) + " must be 1..1048576");
  const struct {
    const char *name;
    int v;
  } sizes[] = {{"residual", c->residual},
               {"dilation", c->dilation},
               {"skip", c->skip},
               {"head", c->head},
               {"classes", c->classes}};
  for (auto &s : sizes)
    if (s.v < 1 || s.v > 8192)
      return wn::fail(WN_ERR_INVALID, std::string("config: ") + s.name + " channels must be 1..8192");
  if (c->classes > 256) return wn::fail(WN_ERR_INVALID, "config: classes must be at most 256");
  return WN_OK;
}

extern "C" wn_status wn_config_check(const wn_config *c) { WN_GUARD(config_check(c)) }

static size_t layer_size(const wn_config *c) {
  const size_t R = c->residual, D = c->dilation, S = c->skip;
  return 2 * D * 2 * R + 2 * D + S * D + S + R * D + R;
}

// The next region of n floats: returns where it starts and moves off past it.
static size_t take(size_t &off, size_t n) {
  const size_t at = off;
  off += n;
  return at;
}

extern "C" void wn_layout_get(const wn_config *c, wn_layout *o) {
  const size_t R = c->residual, S = c->skip, H = c->head, Q = c->classes;
  size_t off = 0;
  o->input_embed = take(off, 2 * Q * R);
  o->input_bias = take(off, R);
  off += layer_size(c) * (size_t)c->n_layers;
  o->head1_w = take(off, H * S);
  o->head1_b = take(off, H);
  o->head2_w = take(off, Q * H);
  o->head2_b = take(off, Q);
  o->total = off;
}

extern "C" void wn_layer_layout_get(const wn_config *c, int layer, wn_layer_layout *o) {
  const size_t R = c->residual, D = c->dilation, S = c->skip, Q = c->classes;
  size_t off = 2 * Q * R + R + layer_size(c) * (size_t)layer;
  o->gate_w = take(off, 2 * D * 2 * R);
  o->gate_b = take(off, 2 * D);
  o->skip_w = take(off, S * D);
  o->skip_b = take(off, S);
  o->res_w = take(off, R * D);
  o->res_b = take(off, R);
}
