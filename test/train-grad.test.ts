/**
 * The CPU trainer's gradients against central finite differences of its own loss, on a tiny model,
 * for every parameter of every group (input embedding and bias, each layer's gate/skip/res weights
 * and biases, both head layers). float32 loss, so the check is relative to the group's largest
 * gradient; the worst ratio is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../src/native.js';
import { paramLayout, type ModelConfig } from '../src/model/config.js';

const addon = native();
const config: ModelConfig = { dilations: [1, 2, 4, 1, 2], residual: 4, dilation: 3, skip: 5, head: 6, classes: 256 };
const B = 2;
const W = 6;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

test('gradients match central finite differences for every parameter group', (tc) => {
  const layout = addon.layout(config);
  const N = layout.receptiveField + W;
  const r = rng(7);
  const params = new Float32Array(layout.total);
  for (let i = 0; i < params.length; i++) params[i] = (r() * 2 - 1) * 0.5;
  // Few distinct classes so the embedding rows that are used get several contributions.
  const crops = new Uint8Array(B * N);
  for (let i = 0; i < crops.length; i++) crops[i] = [3, 17, 200, 255, 0][Math.floor(r() * 5)];

  const t = addon.Trainer ? new addon.Trainer(config, B, W, 'cpu') : null;
  assert.ok(t);
  t.setParams(params);
  t.forwardBackward(crops);
  const grads = t.getGrads();
  const eps = 4e-3;
  // The loss recomputed in float64 from the float32 logits: far less rounding noise than the float32
  // loss itself (whose last bit, ~5e-7 at 5.5 nats, would dominate the differences).
  const targets: number[] = [];
  for (let b = 0; b < B; b++) for (let w = 0; w < W; w++) targets.push(crops[b * N + layout.receptiveField + w]);
  const lossAt = (p: Float32Array) => {
    t.setParams(p);
    const { logits } = t.forward(crops, true);
    let sum = 0;
    for (let row = 0; row < B * W; row++) {
      let mx = -Infinity;
      for (let q = 0; q < 256; q++) mx = Math.max(mx, logits![row * 256 + q]);
      let z = 0;
      for (let q = 0; q < 256; q++) z += Math.exp(logits![row * 256 + q] - mx);
      sum += Math.log(z) + mx - logits![row * 256 + targets[row]];
    }
    return sum / (B * W);
  };
  const p = Float32Array.from(params);
  let worst = { ratio: 0, name: '' };
  for (const spec of paramLayout(config)) {
    let maxErr = 0;
    let maxG = 0;
    for (let i = spec.offset; i < spec.offset + spec.size; i++) {
      const v = params[i];
      p[i] = v + eps;
      const lp = lossAt(p);
      p[i] = v - eps;
      const lm = lossAt(p);
      p[i] = v;
      // the perturbation actually applied in float32
      const h = Math.fround(v + eps) - Math.fround(v - eps);
      const fd = (lp - lm) / h;
      maxErr = Math.max(maxErr, Math.abs(fd - grads[i]));
      maxG = Math.max(maxG, Math.abs(grads[i]));
    }
    const last = config.dilations.length - 1;
    if (spec.name === `layers.${last}.res.weight` || spec.name === `layers.${last}.res.bias`) {
      // The last layer's residual output feeds nothing: both gradients are exactly zero.
      assert.equal(maxG, 0, `${spec.name}: expected a zero gradient`);
      assert.ok(maxErr < 1e-6, `${spec.name}: finite differences should be zero, got ${maxErr}`);
      continue;
    }
    assert.ok(maxG > 0, `${spec.name}: the gradient is all zero`);
    const ratio = maxErr / maxG;
    if (ratio > worst.ratio) worst = { ratio, name: spec.name };
    assert.ok(ratio < 5e-3, `${spec.name}: max |fd - grad| = ${maxErr.toExponential(3)} vs max |grad| = ${maxG.toExponential(3)}`);
  }
  tc.diagnostic(`finite differences: worst max|fd-grad|/max|grad| = ${worst.ratio.toExponential(3)} (${worst.name})`);
  t.free();
});
