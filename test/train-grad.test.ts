/**
 * The CPU trainer's gradients against central finite differences of its own loss, on a tiny model,
 * for every parameter of every group (input embedding and bias, each layer's gate/skip/res weights
 * and biases, both head layers). float32 loss, so the check is relative to the group's largest
 * gradient; the worst ratio is printed.
 */
import { test } from 'node:test';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { native } from '../src/native.js';
import { paramLayout, type ModelConfig } from '../src/model/config.js';

const addon = native();
const require = createRequire(import.meta.url);
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
    assert.ok(
      ratio < 5e-3,
      `${spec.name}: max |fd - grad| = ${maxErr.toExponential(3)} vs max |grad| = ${maxG.toExponential(3)}`,
    );
  }
  tc.diagnostic(`finite differences: worst max|fd-grad|/max|grad| = ${worst.ratio.toExponential(3)} (${worst.name})`);
  t.free();
});

// ------------------------------------------------------------------ forward, determinism, learning

/** Deterministic weights: uniform in +-1/sqrt(fan-in) for matrices, +-0.1 for biases and the embedding. */
function initParams(config: ModelConfig, seed: number): Float32Array {
  const r = rng(seed);
  const specs = paramLayout(config);
  const last = specs[specs.length - 1];
  const p = new Float32Array(last.offset + last.size);
  for (const s of specs) {
    const scale =
      s.name === 'input.embed' ? 0.5 : s.shape.length === 1 ? 0.1 : 1 / Math.sqrt(s.shape[s.shape.length - 1]);
    for (let i = 0; i < s.size; i++) p[s.offset + i] = (r() * 2 - 1) * scale;
  }
  return p;
}

function randomCrops(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const c = new Uint8Array(n);
  for (let i = 0; i < n; i++) c[i] = Math.floor(r() * 256);
  return c;
}

const DEFAULT: ModelConfig = {
  dilations: Array.from({ length: 30 }, (_, i) => 2 ** (i % 10)),
  residual: 64,
  dilation: 64,
  skip: 256,
  head: 256,
  classes: 256,
};

test('trainer logits and tensors match the plain reference forward (default config, short window)', (tc) => {
  const B2 = 2;
  const W2 = 12;
  const layout = addon.layout(DEFAULT);
  const N = layout.receptiveField + W2;
  const params = initParams(DEFAULT, 11);
  const crops = randomCrops(B2 * N, 12);
  const t = new addon.Trainer(DEFAULT, B2, W2, 'cpu');
  t.setParams(params);
  const { loss, logits } = t.forward(crops, true);
  assert.ok(logits && logits.length === B2 * W2 * 256);
  assert.deepEqual(t.getTensor('logits'), logits);
  let worst = 0;
  let lossRef = 0;
  for (let b = 0; b < B2; b++) {
    // The reference sees the N-1 network inputs of the crop; its last W outputs are the trainer's.
    const ref = addon.referenceLogits(DEFAULT, params, crops.subarray(b * N, b * N + N - 1));
    let maxAbs = 0;
    let maxDiff = 0;
    for (let w = 0; w < W2; w++) {
      const row = (N - 1 - W2 + w) * 256;
      let mx = -Infinity;
      for (let q = 0; q < 256; q++) {
        const a = logits[(b * W2 + w) * 256 + q];
        const e = ref[row + q];
        maxAbs = Math.max(maxAbs, Math.abs(e));
        maxDiff = Math.max(maxDiff, Math.abs(a - e));
        mx = Math.max(mx, e);
      }
      let z = 0;
      for (let q = 0; q < 256; q++) z += Math.exp(ref[row + q] - mx);
      lossRef += Math.log(z) + mx - ref[row + crops[b * N + layout.receptiveField + w]];
    }
    worst = Math.max(worst, maxDiff / maxAbs);
  }
  lossRef /= B2 * W2;
  tc.diagnostic(
    `default config: max |logit - reference| / max |reference| = ${worst.toExponential(3)}; loss ${loss} vs ${lossRef}`,
  );
  assert.ok(worst < 1e-4, `logits differ from the reference: ${worst}`);
  assert.ok(Math.abs(loss - lossRef) < 1e-4 * lossRef, `loss ${loss} vs reference ${lossRef}`);
  // Intermediates: shapes, and positions before a layer's first needed position are zero.
  const T = N - 1;
  const x0 = t.getTensor('input');
  assert.equal(x0.length, B2 * T * 64);
  const e = x0.subarray(64, 128); // position 1 of example 0: bias + embed[0][c0] + embed[1][c1]
  for (let r = 0; r < 64; r++) {
    const want =
      params[layout.inputBias + r] +
      params[layout.inputEmbed + crops[0] * 64 + r] +
      params[layout.inputEmbed + (256 + crops[1]) * 64 + r];
    assert.ok(Math.abs(e[r] - want) < 1e-6);
  }
  assert.deepEqual(t.getTensor('x', 0), x0);
  const zLast = t.getTensor('z', 29);
  assert.equal(zLast.length, B2 * T * 64);
  assert.ok(
    zLast.subarray(0, (T - W2) * 64).every((v) => v === 0),
    'z of the last layer is only computed on the window',
  );
  assert.ok(zLast.subarray((T - W2) * 64, T * 64).some((v) => v !== 0));
  assert.equal(t.getTensor('skip').length, B2 * W2 * 256);
  assert.throws(() => t.getTensor('nope'), /unknown tensor/);
  assert.throws(() => t.getTensor('x', 30), /layer must be/);
  t.free();
});

test('bad arguments give clear errors', () => {
  const config: ModelConfig = { dilations: [1, 2], residual: 4, dilation: 4, skip: 4, head: 4, classes: 256 };
  assert.throws(() => new addon.Trainer(config, 0, 8, 'cpu'), /batch/);
  const t = new addon.Trainer(config, 2, 8, 'cpu');
  assert.throws(() => t.forward(new Uint8Array(5)), /crops must hold batch x \(receptive field \+ window\) = 26/);
  assert.throws(() => t.setParams(new Float32Array(3)), /setParams: expected/);
  assert.throws(() => t.adam({ lr: NaN }), /lr/);
  assert.throws(() => t.getTensor('logits'), /no forward pass/);
  const crops = new Uint8Array(26);
  assert.equal(t.forwardBackward(crops), t.forward(crops).loss);
  t.free();
  assert.throws(() => t.getParams(), /freed/);
});

test('a step is deterministic: same inputs give the same bits', async () => {
  const config: ModelConfig = {
    dilations: [1, 2, 4, 8, 16, 1, 2, 4],
    residual: 16,
    dilation: 12,
    skip: 24,
    head: 20,
    classes: 256,
  };
  const B2 = 3;
  const W2 = 300; // several row chunks per example
  const layout = addon.layout(config);
  const crops = randomCrops(B2 * (layout.receptiveField + W2), 5);
  const run = async () => {
    const t = new addon.Trainer(config, B2, W2, 'cpu');
    t.setParams(initParams(config, 3));
    const losses = [await t.step(crops, { lr: 1e-3 }), await t.step(crops, { lr: 1e-3 })];
    const out = { losses, params: t.getParams(), grads: t.getGrads(), adam: t.getAdam() };
    t.free();
    return out;
  };
  const a = await run();
  const b = await run();
  assert.deepEqual(a.losses, b.losses);
  assert.equal(a.adam.step, 2);
  assert.ok(Buffer.from(a.params.buffer).equals(Buffer.from(b.params.buffer)));
  assert.ok(Buffer.from(a.grads.buffer).equals(Buffer.from(b.grads.buffer)));
  assert.ok(Buffer.from(a.adam.v.buffer).equals(Buffer.from(b.adam.v.buffer)));
});

const childScript = (configJson: string, B2: number, W2: number) => `
const { createRequire } = require('node:module');
const a = require(${JSON.stringify(process.cwd() + '/build/Release/wavenet.node')});
const config = ${configJson};
const B = ${B2}, W = ${W2};
const L = a.layout(config);
let s = 12345;
const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
const p = new Float32Array(L.total);
for (let i = 0; i < p.length; i++) p[i] = (r() * 2 - 1) * 0.2;
const crops = new Uint8Array(B * (L.receptiveField + W));
for (let i = 0; i < crops.length; i++) crops[i] = Math.floor(r() * 256);
const t = new a.Trainer(config, B, W, 'cpu');
t.setParams(p);
const l1 = t.forwardBackward(crops); t.adam({ lr: 1e-3 });
const l2 = t.forwardBackward(crops); t.adam({ lr: 1e-3 });
const h = require('node:crypto').createHash('sha256');
h.update(Buffer.from(t.getParams().buffer)); h.update(Buffer.from(t.getGrads().buffer));
console.log(JSON.stringify({ loss: [l1, l2], hash: h.digest('hex'), kernels: a.cpuFeatures().kernels, threads: a.cpuFeatures().threads }));
`;

function runChild(env: Record<string, string>, configJson: string, B2: number, W2: number) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(process.execPath, ['-e', childScript(configJson, B2, W2)], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    loss: number[];
    hash: string;
    kernels: string;
    threads: number;
  };
}

test('results do not depend on the thread count (WAVENET_THREADS=1 vs 2, child processes)', () => {
  const config = JSON.stringify({
    dilations: [1, 2, 4, 8, 16, 32, 1, 2],
    residual: 32,
    dilation: 32,
    skip: 64,
    head: 64,
    classes: 256,
  });
  const one = runChild({ WAVENET_THREADS: '1' }, config, 5, 400);
  const two = runChild({ WAVENET_THREADS: '2' }, config, 5, 400);
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  assert.deepEqual(one.loss, two.loss);
  assert.equal(one.hash, two.hash);
});

test('a tiny model learns a periodic signal far below its unigram entropy', async (tc) => {
  const config: ModelConfig = { dilations: [1, 2, 4, 8], residual: 16, dilation: 16, skip: 32, head: 32, classes: 256 };
  const period = 12;
  const cycle = Array.from({ length: period }, (_, i) =>
    Math.round(128 + 100 * Math.sin((2 * Math.PI * i) / period + 0.3)),
  );
  // unigram entropy of the signal, in bits
  const counts = new Map<number, number>();
  for (const c of cycle) counts.set(c, (counts.get(c) ?? 0) + 1);
  let entropy = 0;
  for (const n of counts.values()) entropy -= (n / period) * Math.log2(n / period);
  const layout = addon.layout(config);
  const B2 = 4;
  const W2 = 48;
  const N = layout.receptiveField + W2;
  const t = new addon.Trainer(config, B2, W2, 'cpu');
  t.setParams(initParams(config, 21));
  const r = rng(99);
  let loss = 0;
  let first = 0;
  for (let step = 0; step < 300; step++) {
    const crops = new Uint8Array(B2 * N);
    for (let b = 0; b < B2; b++) {
      const phase = Math.floor(r() * period);
      for (let i = 0; i < N; i++) crops[b * N + i] = cycle[(phase + i) % period];
    }
    loss = (await t.step(crops, { lr: 3e-3 })) / Math.LN2;
    if (step === 0) first = loss;
  }
  tc.diagnostic(
    `periodic signal: unigram entropy ${entropy.toFixed(3)} bits; loss ${first.toFixed(3)} -> ${loss.toFixed(4)} bits/sample`,
  );
  assert.ok(loss < 0.1 * entropy, `loss ${loss} bits is not far below the entropy ${entropy}`);
  t.free();
});

test('async step: errors reject with the native message; other calls wait their turn', async () => {
  const config = { dilations: [1, 2], residual: 4, dilation: 4, skip: 4, head: 4, classes: 200 };
  const t = new addon.Trainer(config, 1, 8, 'cpu');
  const bad = new Uint8Array(5 + 8).fill(3);
  bad[7] = 250;
  await assert.rejects(t.step(bad, { lr: 1e-3 }), /class 250 at index 7 is out of range/);
  const p = t.step(new Uint8Array(13), { lr: 1e-3 });
  assert.throws(() => t.getParams(), /still running/);
  assert.throws(() => t.free(), /still running/);
  assert.equal(typeof (await p), 'number');
  assert.equal(t.getAdam().step, 1);
  await assert.rejects(async () => t.step(new Uint8Array(13), { lr: -1 }), /lr/);
  t.free();
});
