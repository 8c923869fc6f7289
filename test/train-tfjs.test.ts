/**
 * An independent autodiff reference: the tiny model written in pure-JS @tensorflow/tfjs from slice,
 * matMul and elementwise ops over every position (zero padding before the start, no trimming), with
 * the same weights and crops as the native trainer. Logits, loss and every gradient tensor must agree
 * to a relative error (max |a - b| / max |b| per tensor) of 1e-4 or better; the worst is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { native } from '../src/native.js';
import { paramLayout, type ModelConfig } from '../src/model/config.js';

const addon = native();

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

async function compare(B: number, W: number, tc: { diagnostic(s: string): void }) {
  await tf.setBackend('cpu');
  const config: ModelConfig = { dilations: [1, 2, 4, 1, 2], residual: 4, dilation: 3, skip: 5, head: 6, classes: 256 };
  const { residual: R, dilation: D, skip: S, classes: Q } = config;
  const layout = addon.layout(config);
  const rf = layout.receptiveField;
  const N = rf + W;
  const T = N - 1;
  const specs = paramLayout(config);
  const r = rng(2024);
  const params = new Float32Array(layout.total);
  for (const s of specs) {
    const scale =
      s.name === 'input.embed' ? 0.8 : s.shape.length === 1 ? 0.3 : 1.2 / Math.sqrt(s.shape[s.shape.length - 1]);
    for (let i = 0; i < s.size; i++) params[s.offset + i] = (r() * 2 - 1) * scale;
  }
  const crops = new Uint8Array(B * N);
  for (let i = 0; i < crops.length; i++) crops[i] = Math.floor(r() * 256);

  // --- native
  const t = new addon.Trainer(config, B, W, 'cpu');
  t.setParams(params);
  const { logits: nLogits } = t.forward(crops, true);
  const nLoss = t.forwardBackward(crops);
  const nGrads = t.getGrads();
  t.free();

  // --- tfjs
  const tensors = specs.map((s) => tf.tensor(params.subarray(s.offset, s.offset + s.size), s.shape));
  const byName = new Map(specs.map((s, i) => [s.name, i]));
  const cur: number[] = [];
  const prev: number[] = [];
  const targets: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < T; p++) {
      cur.push(crops[b * N + p]);
      prev.push(p >= 1 ? crops[b * N + p - 1] : -1); // -1: one-hot of nothing (zeros)
    }
    for (let w = 0; w < W; w++) targets.push(crops[b * N + rf + w]);
  }
  const ohCur = tf.oneHot(tf.tensor1d(cur, 'int32'), Q).toFloat();
  const ohPrev = tf.oneHot(tf.tensor1d(prev, 'int32'), Q).toFloat();
  const ohTarget = tf.oneHot(tf.tensor1d(targets, 'int32'), Q).toFloat();

  const model = (...ws: tf.Tensor[]) => {
    const P = (name: string) => ws[byName.get(name)!];
    const embed = P('input.embed').reshape([2 * Q, R]);
    const e0 = tf.slice(embed, [0, 0], [Q, R]);
    const e1 = tf.slice(embed, [Q, 0], [Q, R]);
    let x = tf.add(tf.add(tf.matMul(ohPrev, e0), tf.matMul(ohCur, e1)), P('input.bias')).reshape([B, T, R]);
    let skip: tf.Tensor = tf.zeros([B * T, S]);
    config.dilations.forEach((d, l) => {
      const gw = P(`layers.${l}.gate.weight`);
      const past = tf.concat([tf.zeros([B, d, R]), tf.slice(x, [0, 0, 0], [B, T - d, R])], 1).reshape([B * T, R]);
      const now = x.reshape([B * T, R]);
      const fg = tf.add(
        tf.add(
          tf.matMul(past, tf.slice(gw, [0, 0], [2 * D, R]), false, true),
          tf.matMul(now, tf.slice(gw, [0, R], [2 * D, R]), false, true),
        ),
        P(`layers.${l}.gate.bias`),
      );
      const z = tf.mul(tf.tanh(tf.slice(fg, [0, 0], [B * T, D])), tf.sigmoid(tf.slice(fg, [0, D], [B * T, D])));
      skip = tf.add(skip, tf.add(tf.matMul(z, P(`layers.${l}.skip.weight`), false, true), P(`layers.${l}.skip.bias`)));
      x = tf
        .add(now, tf.add(tf.matMul(z, P(`layers.${l}.res.weight`), false, true), P(`layers.${l}.res.bias`)))
        .reshape([B, T, R]);
    });
    const last = tf.slice(skip.reshape([B, T, S]), [0, T - W, 0], [B, W, S]).reshape([B * W, S]);
    const h = tf.relu(tf.add(tf.matMul(tf.relu(last), P('head.1.weight'), false, true), P('head.1.bias')));
    const logits = tf.add(tf.matMul(h, P('head.2.weight'), false, true), P('head.2.bias'));
    // The last layer's residual output feeds nothing; 0 * sum(x) keeps it in the graph (gradient 0).
    const loss = tf.add(
      tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, ohTarget), 1))),
      tf.mul(tf.sum(x), 0),
    );
    return { logits, loss };
  };
  const tLogits = model(...tensors).logits.dataSync();
  const { value, grads } = tf.valueAndGrads((...ws: tf.Tensor[]) => model(...ws).loss as tf.Scalar)(tensors);
  const tLoss = value.dataSync()[0];

  const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let md = 0;
    let mb = 0;
    for (let i = 0; i < b.length; i++) {
      md = Math.max(md, Math.abs(a[i] - b[i]));
      mb = Math.max(mb, Math.abs(b[i]));
    }
    return mb === 0 ? md : md / mb;
  };
  const results: [string, number][] = [];
  results.push(['logits', relErr(nLogits!, tLogits)]);
  results.push(['loss', Math.abs(nLoss - tLoss) / Math.abs(tLoss)]);
  for (const [i, s] of specs.entries()) {
    const g = grads[i].dataSync();
    const mine = nGrads.subarray(s.offset, s.offset + s.size);
    results.push([`grad ${s.name}`, relErr(mine, g)]);
  }
  results.sort((a, b) => b[1] - a[1]);
  tc.diagnostic(
    `batch ${B}, window ${W}: worst relative error vs tfjs: ${results[0][1].toExponential(3)} (${results[0][0]}); loss ${nLoss} vs ${tLoss}`,
  );
  for (const [name, e] of results) assert.ok(e <= 1e-4, `${name}: relative error ${e} > 1e-4`);
  tf.disposeVariables();
}

test('trainer matches a tfjs autodiff reference (logits, loss, every gradient)', async (tc) => {
  await compare(2, 8, tc);
});

test('the same with several row chunks per example and per head (chunked, grouped gradient sums)', async (tc) => {
  // window 700: each layer has 3 chunks of at most 256 rows per example, summed in groups; the head
  // has 6 chunks over the batch.
  await compare(2, 700, tc);
});
