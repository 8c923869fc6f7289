/** Model flags of a tiny model for the `bench synth` tests (dilations 1,2,4,8: receptive field 17). */
export const TINY_MODEL_FLAGS = [
  '--dilations',
  '1,2,4,8',
  '--residual-channels',
  '16',
  '--dilation-channels',
  '16',
  '--skip-channels',
  '32',
  '--head-channels',
  '32',
];
