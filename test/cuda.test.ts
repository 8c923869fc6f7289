// The CUDA backend against the CPU reference backend, tensor by tensor (native/cuda vs native/cpu):
// forward activations, logits, loss, every gradient tensor, one Adam update, bitwise determinism,
// incremental synthesis logits and samples (differences allowed only at near-ties, counted), and the
// out-of-memory message. Every comparison is |cuda - cpu| <= atol + rtol * |cpu| and prints the worst
// error. Skips with the reason where no CUDA GPU is usable (this build has no nvcc, no driver, no GPU).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, type NativeConfig } from '../src/native.js';
import { DEFAULT_CONFIG, paramLayout, parseDilations, receptiveField, type ModelConfig } from '../src/model/config.js';
import { lcg, randomParams } from '../src/model/random.js';
import { wnUniform } from './helpers/wn-uniform.js';

const query = native().cudaQuery();
const skip = query.usable ? false : `no usable CUDA GPU (${query.reason ?? 'unknown reason'})`;

function randomCrops(c: ModelConfig, batch: number, window: number, seed: number): Uint8Array {
  const N = receptiveField(c) + window;
  const r = lcg(seed);
  // a slowly varying signal plus noise, so the classes are not uniform
  const out = new Uint8Array(batch * N);
  for (let b = 0; b < batch; b++) {
    let v = 128;
    for (let i = 0; i < N; i++) {
      v = Math.min(255, Math.max(0, v + Math.floor((r() - 0.5) * 24)));
      out[b * N + i] = v;
    }
  }
  return out;
}

interface Report {
  name: string;
  n: number;
  worst: number;
  ratio: number;
}

/** |a-b| <= atol + rtol*|b| everywhere (b is the CPU reference); returns the worst error. */
function compare(name: string, a: Float32Array, b: Float32Array, atol: number, rtol: number, reports: Report[]) {
  assert.equal(a.length, b.length, `${name}: length ${a.length} vs ${b.length}`);
  let worst = 0;
  let ratio = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    const lim = atol + rtol * Math.abs(b[i]);
    if (!(e <= lim)) {
      assert.fail(
        `${name}[${i}]: cuda ${a[i]} vs cpu ${b[i]} (|diff| ${e.toExponential(3)} > ${lim.toExponential(3)})`,
      );
    }
    if (e / lim > ratio) {
      ratio = e / lim;
      worst = e;
      at = i;
    }
  }
  void at;
  reports.push({ name, n: a.length, worst, ratio });
}

function printReports(t: { diagnostic(s: string): void }, reports: Report[]) {
  for (const r of reports)
    t.diagnostic(
      `${r.name.padEnd(28)} n=${String(r.n).padEnd(9)} worst |cuda-cpu| ${r.worst.toExponential(2)} (${(r.ratio * 100).toFixed(2)}% of tolerance)`,
    );
}

function cfg(dil: string, R: number, D: number, S: number, H: number): ModelConfig & NativeConfig {
  return { dilations: parseDilations(dil), residual: R, dilation: D, skip: S, head: H, classes: 256 };
}

async function trainerParity(
  t: { diagnostic(s: string): void },
  c: ModelConfig & NativeConfig,
  batch: number,
  window: number,
) {
  const addon = native();
  const params = randomParams(c, 11);
  const crops = randomCrops(c, batch, window, 5);
  const cpu = new addon.Trainer(c, batch, window, 'cpu');
  const gpu = new addon.Trainer(c, batch, window, 'cuda');
  const reports: Report[] = [];
  try {
    assert.equal(gpu.paramCount, cpu.paramCount);
    cpu.setParams(params);
    gpu.setParams(params);
    const fc = cpu.forward(crops, true);
    const fg = gpu.forward(crops, true);
    compare('forward loss', Float32Array.of(fg.loss), Float32Array.of(fc.loss), 1e-5, 1e-5, reports);
    compare('forward logits', fg.logits!, fc.logits!, 1e-4, 1e-3, reports);
    const lc = cpu.forwardBackward(crops);
    const lg = gpu.forwardBackward(crops);
    compare('loss', Float32Array.of(lg), Float32Array.of(lc), 1e-5, 1e-5, reports);
    compare('input', gpu.getTensor('input'), cpu.getTensor('input'), 1e-5, 1e-5, reports);
    for (let l = 0; l < c.dilations.length; l++) {
      compare(`x[${l}]`, gpu.getTensor('x', l), cpu.getTensor('x', l), 1e-4, 1e-3, reports);
      compare(`z[${l}]`, gpu.getTensor('z', l), cpu.getTensor('z', l), 1e-4, 1e-3, reports);
    }
    compare('skip', gpu.getTensor('skip'), cpu.getTensor('skip'), 1e-4, 1e-3, reports);
    compare('logits', gpu.getTensor('logits'), cpu.getTensor('logits'), 1e-4, 1e-3, reports);
    const gc = cpu.getGrads();
    const gg = gpu.getGrads();
    for (const spec of paramLayout(c)) {
      const a = gg.subarray(spec.offset, spec.offset + spec.size);
      const b = gc.subarray(spec.offset, spec.offset + spec.size);
      let scale = 0;
      for (const v of b) scale = Math.max(scale, Math.abs(v));
      // absolute part relative to the tensor's largest gradient (sums of thousands of terms)
      compare(`grad ${spec.name}`, a, b, 1e-3 * scale + 1e-9, 1e-3, reports);
    }
    // bitwise determinism: the same step again
    gpu.forwardBackward(crops);
    const gg2 = gpu.getGrads();
    assert.ok(
      Buffer.from(gg.buffer).equals(Buffer.from(gg2.buffer)),
      'CUDA gradients differ between two identical steps',
    );
    // one Adam update from the same moments
    const r = lcg(3);
    const m = new Float32Array(gc.length).map(() => (r() - 0.5) * 0.02);
    const v = new Float32Array(gc.length).map(() => r() * 1e-4);
    cpu.setAdam(m, v, 7);
    gpu.setAdam(m, v, 7);
    cpu.adam({ lr: 1e-3 });
    gpu.adam({ lr: 1e-3 });
    compare('adam params', gpu.getParams(), cpu.getParams(), 1e-6, 1e-5, reports);
    const ac = cpu.getAdam();
    const ag = gpu.getAdam();
    compare('adam m', ag.m, ac.m, 1e-7, 1e-4, reports);
    compare('adam v', ag.v, ac.v, 1e-10, 1e-4, reports);
    assert.equal(ag.step, 8);
    assert.equal(ac.step, 8);
  } finally {
    printReports(t, reports);
    cpu.free();
    gpu.free();
  }
}

test('CUDA trainer = CPU trainer, small model with sizes off the GEMM tiles', { skip }, async (t) => {
  await trainerParity(t, cfg('1,2,4,1,3', 12, 10, 24, 20), 3, 37);
});

test('CUDA trainer = CPU trainer, sizes across several tiles', { skip }, async (t) => {
  await trainerParity(t, cfg('8,1,16', 70, 66, 130, 72), 2, 200);
});

test('CUDA trainer = CPU trainer at the default config (batch 2, window 256)', { skip }, async (t) => {
  await trainerParity(t, { ...DEFAULT_CONFIG, dilations: [...DEFAULT_CONFIG.dilations] }, 2, 256);
});

test('CUDA trainer: asking for more GPU memory than there is gives a clear error', { skip }, () => {
  const addon = native();
  assert.throws(
    () => new addon.Trainer({ ...DEFAULT_CONFIG, dilations: [...DEFAULT_CONFIG.dilations] }, 4096, 65536, 'cuda'),
    /out of GPU memory.*--batch or --window/,
  );
  // and the device still works afterwards
  const tr = new addon.Trainer(cfg('1,2', 8, 8, 8, 8), 1, 8, 'cuda');
  tr.free();
});

/** Softmax CDF boundaries from logits, for near-tie detection. */
function nearTie(logits: Float32Array, temperature: number, u: number): boolean {
  const Q = logits.length;
  let m = -Infinity;
  for (const x of logits) m = Math.max(m, x);
  if (temperature === 0) {
    // two classes within float noise of the maximum
    let close = 0;
    for (const x of logits) if (m - x <= 1e-4 * Math.max(1, Math.abs(m))) close++;
    return close > 1;
  }
  const w = new Float64Array(Q);
  let total = 0;
  for (let q = 0; q < Q; q++) {
    w[q] = Math.exp((logits[q] - m) / temperature);
    total += w[q];
  }
  const target = u * total;
  let acc = 0;
  for (let q = 0; q < Q; q++) {
    acc += w[q];
    if (Math.abs(acc - target) <= 1e-4 * total) return true;
  }
  return false;
}

interface Generated {
  samples: Uint8Array;
  logits?: Float32Array;
}

/**
 * Per stream, compares the logits step by step while the samples agree; a differing sample must be a
 * near-tie of the CPU's softmax CDF (after it the streams have different histories). t0: the counter
 * of the first generated step. Returns [equal samples, streams that diverged at a near-tie, worst diff].
 */
function compareStreams(
  gc: Generated,
  gg: Generated,
  batch: number,
  G: number,
  t0: number,
  temperature: Float32Array,
  seeds: BigUint64Array,
) {
  const Q = 256;
  let equal = 0;
  let ties = 0;
  let worst = 0;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < G; i++) {
      const a = gg.logits!.subarray((b * G + i) * Q, (b * G + i + 1) * Q);
      const ref = gc.logits!.subarray((b * G + i) * Q, (b * G + i + 1) * Q);
      compare(`synth logits stream ${b} step ${i}`, a, ref, 1e-4, 1e-3, []);
      for (let q = 0; q < Q; q++) worst = Math.max(worst, Math.abs(a[q] - ref[q]));
      if (gg.samples[b * G + i] === gc.samples[b * G + i]) {
        equal++;
        continue;
      }
      const u = wnUniform(seeds[b], BigInt(t0 + i));
      assert.ok(
        nearTie(ref, temperature[b], u),
        `stream ${b} step ${i}: samples ${gg.samples[b * G + i]} (cuda) vs ${gc.samples[b * G + i]} (cpu) differ away from a near-tie`,
      );
      ties++;
      break;
    }
  }
  return { equal, ties, worst };
}

async function synthParity(
  t: { diagnostic(s: string): void },
  c: ModelConfig & NativeConfig,
  batch: number,
  P: number,
  G: number,
) {
  const addon = native();
  const params = randomParams(c, 21);
  const cpu = new addon.Synth(c, params, batch, 'cpu');
  const gpu = new addon.Synth(c, params, batch, 'cuda');
  try {
    const r = lcg(77);
    const prime = new Uint8Array(batch * P).map(() => Math.floor(r() * 256));
    await cpu.prime(prime, P);
    await gpu.prime(prime, P);
    const temps = [1, 0, 0.7, 1.3];
    const temperature = new Float32Array(batch).map((_, b) => temps[b % temps.length]);
    const seeds = new BigUint64Array(batch).map((_, b) => BigInt(1000 + 13 * b));
    const gc = await cpu.generate(G, temperature, seeds, true);
    const gg = await gpu.generate(G, temperature, seeds, true);
    const a = compareStreams(gc, gg, batch, G, P - 1, temperature, seeds);
    t.diagnostic(
      `primed, batch ${batch}: ${a.equal}/${batch * G} samples equal, ${a.ties} stream(s) diverged at a near-tie, worst logit |cuda-cpu| ${a.worst.toExponential(2)}`,
    );
    // after reset both start again from silence
    cpu.reset();
    gpu.reset();
    const hc = await cpu.generate(G, temperature, seeds, true);
    const hg = await gpu.generate(G, temperature, seeds, true);
    const b = compareStreams(hc, hg, batch, G, 0, temperature, seeds);
    t.diagnostic(
      `after reset, batch ${batch}: ${b.equal}/${batch * G} samples equal, ${b.ties} near-tie(s), worst logit |cuda-cpu| ${b.worst.toExponential(2)}`,
    );
  } finally {
    cpu.free();
    gpu.free();
  }
}

test('CUDA synth = CPU synth, batch 1 (one block)', { skip }, async (t) => {
  await synthParity(t, cfg('1,2,4,8,1,2,4,8', 16, 12, 24, 20), 1, 20, 64);
});

test('CUDA synth = CPU synth, batch 9 (a partly empty block)', { skip }, async (t) => {
  await synthParity(t, cfg('1,2,4,8,1,2,4,8', 16, 12, 24, 20), 9, 20, 64);
});

test('CUDA synth = CPU synth at the default config, batch 4', { skip }, async (t) => {
  await synthParity(t, { ...DEFAULT_CONFIG, dilations: [...DEFAULT_CONFIG.dilations] }, 4, 600, 200);
});
