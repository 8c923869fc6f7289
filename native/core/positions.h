// The position plan of a training crop, shared by the CPU trainer (native/cpu/layers.cc make_shape)
// and the CUDA trainer (native/cuda/train.cu TrainPlan), so the two cannot drift.
//
// A crop holds N = rf + W classes; T = N - 1 positions have an input and a next-sample target.
// Only the last W positions reach the loss, so layer l needs its input x_l only at [start[l], T):
//   start[L] = T - W,  start[l] = start[l+1] - d_l   (start[0] = 1: nothing ever reads before 0).
#pragma once
#include <vector>
#include "wavenet.h"

namespace wn {

struct CropPositions {
  int rf, N, T;
  std::vector<int> start;  // n_layers + 1 entries
};

inline CropPositions crop_positions(const wn_config &c, int window) {
  CropPositions p;
  p.rf = wn_receptive_field(&c);
  p.N = p.rf + window;
  p.T = p.N - 1;
  p.start.assign(c.n_layers + 1, 0);
  p.start[c.n_layers] = p.T - window;
  for (int l = c.n_layers - 1; l >= 0; --l) p.start[l] = p.start[l + 1] - c.dilations[l];
  return p;
}

}  // namespace wn
