// The CPU incremental synthesizer (native/cpu/synth.cc) against the plain reference forward pass
// (wn_reference_logits): same logits at every position, with priming, batches, and ring wrap-around.
import { type TestContext, test } from 'node:test';
import assert from 'node:assert/strict';
import { native, type NativeConfig, type NativeSynthOptions } from '../src/native.js';
import { paramLayout, parseDilations, type ModelConfig } from '../src/model/config.js';
import { lcg, randomParams } from '../src/model/random.js';

function cfg(dil: string, R: number, D: number, S: number, H: number): ModelConfig & NativeConfig {
  return { dilations: parseDilations(dil), residual: R, dilation: D, skip: S, head: H, classes: 256 };
}

/**
 * Primes every stream with its own random classes (P of them), generates G steps with logits, and
 * compares each step's logits with the reference forward over the same sequence. Returns max |diff|.
 */
async function parity(
  c: ModelConfig,
  batch: number,
  P: number,
  G: number,
  temps?: number[],
  options?: NativeSynthOptions,
) {
  const addon = native();
  const params = randomParams(c, 7);
  const s = new addon.Synth(c, params, batch, 'cpu', options);
  const r = lcg(99);
  const prime = new Uint8Array(batch * P);
  for (let i = 0; i < prime.length; i++) prime[i] = Math.floor(r() * 256);
  await s.prime(prime, P);
  const temperature = new Float32Array(batch).map((_, b) => (temps ? temps[b % temps.length] : 1));
  const seeds = new BigUint64Array(batch).map((_, b) => BigInt(1000 + b));
  const g = await s.generate(G, temperature, seeds, true);
  assert.ok(g.logits);
  let maxDiff = 0;
  let maxAbs = 0;
  for (let b = 0; b < batch; b++) {
    // sequence fed: prime[0..P-1] then the first G-1 samples (the last sample is pending, not fed)
    const seq = new Uint8Array(P + G - 1);
    seq.set(prime.subarray(b * P, (b + 1) * P), 0);
    seq.set(g.samples.subarray(b * G, b * G + G - 1), P);
    const ref = addon.referenceLogits(c, params, seq);
    for (let i = 0; i < G; i++) {
      const pos = P - 1 + i;
      for (let q = 0; q < 256; q++) {
        const d = Math.abs(ref[pos * 256 + q] - g.logits![(b * G + i) * 256 + q]);
        maxAbs = Math.max(maxAbs, Math.abs(ref[pos * 256 + q]));
        if (d > maxDiff || Number.isNaN(d)) maxDiff = Number.isNaN(d) ? Infinity : d;
      }
    }
  }
  s.free();
  return { maxDiff, maxAbs, samples: g.samples };
}

test('incremental logits equal the reference: small configs, batch 1 and 3, odd channel counts', async (t) => {
  for (const [c, batch] of [
    [cfg('1,2,4,8', 16, 16, 32, 32), 1],
    [cfg('1,2,4,8,1,2', 24, 40, 40, 24), 3],
    [cfg('1,3', 5, 7, 9, 11), 2],
    [cfg('2', 5, 7, 9, 11), 2],
    [cfg('5x2', 32, 32, 128, 64), 5],
  ] as const) {
    const { maxDiff } = await parity(c, batch, 40, 60, [1, 0.5, 0]);
    t.diagnostic(
      `dilations ${c.dilations.join(',')} R${c.residual} D${c.dilation} S${c.skip} H${c.head} batch ${batch}: max |diff| ${maxDiff.toExponential(2)}`,
    );
    assert.ok(maxDiff <= 1e-4, `max |diff| ${maxDiff}`);
  }
});

test('incremental logits equal the reference for 10x3 at default channels, prime longer than the receptive field', async (t) => {
  // 3300 fed classes: every ring buffer (up to 513 slots) wraps around several times
  const c = cfg('10x3', 64, 64, 256, 256);
  const { maxDiff } = await parity(c, 1, 3100, 200);
  t.diagnostic(`10x3 R64 D64 S256 H256 batch 1, prime 3100 + 200 steps: max |diff| ${maxDiff.toExponential(2)}`);
  assert.ok(maxDiff <= 1e-4, `max |diff| ${maxDiff}`);
});

test('10x3 default channels with batch 4: every stream matches the reference', async (t) => {
  const c = cfg('10x3', 64, 64, 256, 256);
  const { maxDiff } = await parity(c, 4, 600, 100, [1, 0.7]);
  t.diagnostic(`10x3 batch 4, prime 600 + 100 steps: max |diff| ${maxDiff.toExponential(2)}`);
  assert.ok(maxDiff <= 1e-4, `max |diff| ${maxDiff}`);
});

test('streams are independent: stream b of a batch equals a batch-1 run with its seed and prime', async () => {
  const addon = native();
  const c = cfg('1,2,4,8,16', 32, 32, 64, 64);
  const params = randomParams(c, 3);
  const B = 5,
    P = 30,
    G = 400;
  const prime = new Uint8Array(B * P).map((_, i) => (i * 37 + 11) % 256);
  const temps = new Float32Array([1, 0.5, 0, 1.5, 1]);
  const seeds = new BigUint64Array([1n, 2n, 3n, 4n, 2n ** 63n + 5n]);
  const batch = new addon.Synth(c, params, B, 'cpu');
  await batch.prime(prime, P);
  const all = (await batch.generate(G, temps, seeds)).samples;
  for (let b = 0; b < B; b++) {
    const one = new addon.Synth(c, params, 1, 'cpu');
    await one.prime(prime.slice(b * P, (b + 1) * P), P);
    const s = (await one.generate(G, temps.slice(b, b + 1), seeds.slice(b, b + 1))).samples;
    assert.deepEqual(s, all.slice(b * G, (b + 1) * G), `stream ${b}`);
    one.free();
  }
  batch.free();
});

test('same seed gives the same samples, a different seed different ones; generating in blocks changes nothing', async () => {
  const addon = native();
  const c = cfg('1,2,4,8,16,32', 32, 32, 64, 64);
  const params = randomParams(c, 5);
  const s = new addon.Synth(c, params, 1, 'cpu');
  const run = async (seed: bigint, blocks: number[]) => {
    s.reset();
    const parts: Uint8Array[] = [];
    for (const n of blocks)
      parts.push((await s.generate(n, new Float32Array([1]), new BigUint64Array([seed]))).samples);
    return Buffer.concat(parts);
  };
  const a = await run(42n, [1000]);
  const b = await run(42n, [1000]);
  const split = await run(42n, [1, 333, 0, 666]);
  const other = await run(43n, [1000]);
  assert.deepEqual(a, b);
  assert.deepEqual(split, a);
  assert.notDeepEqual(other, a);
  assert.ok(new Set(a).size > 8, 'a random model at temperature 1 should wander over many classes');
  s.free();
});

test('temperature 0 is the argmax of the logits (lowest class on ties), whatever the seed', async () => {
  const addon = native();
  const c = cfg('1,2,4', 16, 16, 32, 32);
  const params = randomParams(c, 11);
  const s = new addon.Synth(c, params, 2, 'cpu');
  const g = await s.generate(200, new Float32Array([0, 0]), new BigUint64Array([1n, 999n]), true);
  assert.deepEqual(g.samples.slice(0, 200), g.samples.slice(200));
  for (let i = 0; i < 400; i++) {
    const row = g.logits!.subarray(i * 256, (i + 1) * 256);
    let best = 0;
    for (let q = 1; q < 256; q++) if (row[q] > row[best]) best = q;
    assert.equal(g.samples[i], best);
  }
  s.free();
});

test('sampling follows softmax(logits / T): empirical class frequencies match the probabilities', async () => {
  // Zero weights except the head bias: every step has the same logits, so the samples are i.i.d.
  const addon = native();
  const c = cfg('1,2', 8, 8, 16, 16);
  const layout = paramLayout(c);
  const params = new Float32Array(layout[layout.length - 1].offset + layout[layout.length - 1].size);
  const b2 = layout.find((t) => t.name === 'head.2.bias')!;
  const logits = [2, 1, 0, 0.5];
  for (let q = 0; q < 256; q++) params[b2.offset + q] = q < 4 ? logits[q] : -1e9;
  const s = new addon.Synth(c, params, 1, 'cpu');
  const n = 40000;
  for (const T of [1, 0.5]) {
    s.reset();
    const g = await s.generate(n, new Float32Array([T]), new BigUint64Array([7n]));
    const counts = [0, 0, 0, 0];
    for (const x of g.samples) {
      assert.ok(x < 4);
      counts[x]++;
    }
    const w = logits.map((l) => Math.exp(l / T));
    const z = w.reduce((a, b) => a + b, 0);
    for (let q = 0; q < 4; q++) {
      const p = w[q] / z;
      const sd = Math.sqrt((p * (1 - p)) / n);
      assert.ok(Math.abs(counts[q] / n - p) < 5 * sd + 1e-3, `T ${T} class ${q}: ${counts[q] / n} vs ${p}`);
    }
  }
  s.free();
});

test('bad arguments are clear errors', async () => {
  const addon = native();
  const c = cfg('1,2', 8, 8, 16, 16);
  const params = randomParams(c);
  assert.throws(() => new addon.Synth(c, params.subarray(1), 1, 'cpu'), /params has \d+ floats, the config needs/);
  assert.throws(() => new addon.Synth(c, params, 0, 'cpu'), /batch/);
  const s = new addon.Synth(c, params, 2, 'cpu');
  await assert.rejects(
    () => s.generate(5, new Float32Array([1, -1]), new BigUint64Array([1n, 2n])),
    /temperature of stream 1/,
  );
  await assert.rejects(() => s.generate(5, new Float32Array([1, NaN]), new BigUint64Array([1n, 2n])), /temperature/);
  assert.throws(
    () => s.generate(5, new Float32Array([1]), new BigUint64Array([1n, 2n])),
    /temperature must be a Float32Array of batch/,
  );
  assert.throws(() => s.prime(new Uint8Array(3), 2), /batch x n = 4/);
  const p = s.generate(5, new Float32Array([1, 1]), new BigUint64Array([1n, 2n]));
  assert.throws(() => s.generate(5, new Float32Array([1, 1]), new BigUint64Array([1n, 2n])), /still running/);
  await p;
  s.free();
  assert.throws(() => s.reset(), /after free/);
});

test('threads or not: one thread ("solo") and the 2-thread split give identical samples and logits', async () => {
  const addon = native();
  const c = cfg('1,2,4,8,16,32,64,128', 64, 64, 256, 256);
  const params = randomParams(c, 13);
  const runWith = async (mode: 'solo' | 'parallel' | 'auto', batch: number) => {
    const s = new addon.Synth(c, params, batch, 'cpu', { mode });
    await s.prime(
      new Uint8Array(batch * 300).map((_, i) => (i * 7) % 256),
      300,
    );
    const g = await s.generate(
      700,
      new Float32Array(batch).fill(1),
      new BigUint64Array(batch).map((_, b) => BigInt(b + 1)),
      true,
    );
    s.free();
    return g;
  };
  for (const batch of [1, 6, 9, 16]) {
    const a = await runWith('solo', batch);
    const b = await runWith('parallel', batch);
    const auto = await runWith('auto', batch);
    assert.deepEqual(a.samples, b.samples, `batch ${batch}`);
    assert.deepEqual(a.logits, b.logits, `batch ${batch}`);
    assert.deepEqual(auto.samples, a.samples, `batch ${batch}`);
  }
});

// A child process with its own thread count (the addon reads WAVENET_THREADS once at load): samples
// and logits of a 2-stream-batch and a 1-stream run, hashed.
const synthChild = (batch: number) => `
const a = require(${JSON.stringify(process.cwd() + '/build/Release/wavenet.node')});
const c = { dilations: [1, 2, 4, 8, 16, 32, 64, 128, 1, 2], residual: 64, dilation: 64, skip: 256, head: 256, classes: 256 };
const L = a.layout(c);
let r = 4242;
const rnd = () => ((r = (Math.imul(r, 1664525) + 1013904223) >>> 0) / 4294967296);
const p = new Float32Array(L.total).map(() => (rnd() * 2 - 1) * 0.15);
(async () => {
  const s = new a.Synth(c, p, ${batch}, 'cpu');
  await s.prime(new Uint8Array(${batch} * 200).map((_, i) => (i * 11) % 256), 200);
  const g = await s.generate(600, new Float32Array(${batch}).fill(1), new BigUint64Array(${batch}).map((_, b) => BigInt(b + 3)), true);
  const h = require('node:crypto').createHash('sha256');
  h.update(Buffer.from(g.samples.buffer)); h.update(Buffer.from(g.logits.buffer));
  console.log(JSON.stringify({ hash: h.digest('hex'), threads: a.cpuFeatures().threads, distinct: new Set(g.samples).size }));
})();
`;

test('one thread and two (or four, in the stream split) give bit-identical samples and logits (WAVENET_THREADS, child processes)', async () => {
  const { spawnSync } = await import('node:child_process');
  const run = (env: Record<string, string>, batch: number) => {
    const r = spawnSync(process.execPath, ['-e', synthChild(batch)], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { hash: string; threads: number; distinct: number };
  };
  for (const batch of [1, 3, 9]) {
    const one = run({ WAVENET_THREADS: '1', WAVENET_SYNTH_MODE: '' }, batch);
    const two = run({ WAVENET_THREADS: '2', WAVENET_SYNTH_MODE: 'parallel' }, batch);
    assert.equal(one.threads, 1);
    assert.equal(two.threads, 2);
    assert.ok(one.distinct > 8, 'the run should wander over many classes');
    assert.equal(one.hash, two.hash, `batch ${batch}`);
  }
  // the stream split takes up to one thread per 4 streams: 16 streams on 4 threads (oversubscribed
  // on a 2-core machine, which is fine for the numbers)
  const one = run({ WAVENET_THREADS: '1', WAVENET_SYNTH_MODE: '' }, 16);
  const four = run({ WAVENET_THREADS: '4', WAVENET_SYNTH_MODE: 'parallel' }, 16);
  assert.equal(four.threads, 4);
  assert.equal(one.hash, four.hash, 'batch 16 on 4 threads');
});

// Half-precision weights against the float64 reference: max |diff| <= bound * max(1, max |logit|)
// at every position, and above minDiff (the half-precision path is really in use); the small model
// runs at batch smallBatch.
async function halfPrecisionParity(
  t: TestContext,
  precision: 'bf16' | 'fp16',
  bound: number,
  minDiff: number,
  smallBatch: number,
): Promise<void> {
  const kernels = native().cpuFeatures().kernels;
  for (const [c, batch, P, G] of [
    [cfg('10x3', 64, 64, 256, 256), 1, 1200, 200],
    [cfg('10x3', 64, 64, 256, 256), 3, 300, 100],
    [cfg('1,2,4,8,1,2', 24, 40, 40, 24), smallBatch, 40, 60],
  ] as const) {
    const { maxDiff, maxAbs } = await parity(c, batch, P, G, undefined, { precision });
    t.diagnostic(
      `${precision} (${kernels}) dilations ${formatD(c)} R${c.residual} S${c.skip} batch ${batch}: max |diff| ${maxDiff.toExponential(2)}, max |logit| ${maxAbs.toFixed(2)}`,
    );
    assert.ok(maxDiff > minDiff, `the ${precision} path should actually be in use`);
    assert.ok(maxDiff <= bound * Math.max(1, maxAbs), `max |diff| ${maxDiff} vs max |logit| ${maxAbs}`);
  }
}

test('bf16 weights (precision bf16, AVX512-BF16 only): logits within the stated bound', async (t) => {
  // bf16 keeps 8 significant bits; with fp32 accumulation the stated bound is
  // max |diff| <= 0.02 * max(1, max |logit|) over every position (measured: about 1% of the largest logit at 10x3).
  const f = native().cpuFeatures();
  if (!(f.kernels === 'avx512' && f.flags.avx512bf16)) {
    t.skip('this CPU has no AVX512-BF16: the bf16 path is not used here (the fp32 path runs instead)');
    return;
  }
  await halfPrecisionParity(t, 'bf16', 0.02, 0, 3);
});

test('fp16 weights (precision fp16): logits within the stated bound; the fp16 kernels compute exactly the fp32 products of the rounded weights', async (t) => {
  // fp16 keeps 11 significant bits of each weight; inputs and sums stay fp32. Stated bound:
  // max |diff| <= 0.005 * max(1, max |logit|) against the float64 reference at every position.
  await halfPrecisionParity(t, 'fp16', 0.005, 1e-5, 9);
  // With every parameter already an fp16 value, precision fp16 changes no number: the fp16 panels
  // (converted on load where the variant has F16C) must give the fp32 kernel's samples and logits bit
  // for bit, batch 1 (pipeline) and 16 (stream split).
  const c = cfg('10x3', 64, 64, 256, 256);
  const params = randomParams(c, 7).map(roundToFp16);
  for (const batch of [1, 16]) {
    const out = [];
    for (const precision of ['fp32', 'fp16'] as const) {
      const s = new (native().Synth)(c, params, batch, 'cpu', { precision });
      const g = await s.generate(
        300,
        new Float32Array(batch).fill(1),
        new BigUint64Array(batch).map((_, b) => BigInt(b + 5)),
        true,
      );
      s.free();
      out.push(g);
    }
    assert.deepEqual(out[1].samples, out[0].samples, `batch ${batch}: samples`);
    assert.ok(out[0].logits && out[1].logits);
    assert.ok(
      Buffer.from(out[1].logits.buffer).equals(Buffer.from(out[0].logits.buffer)),
      `batch ${batch}: logits bit for bit`,
    );
  }
});

/** x rounded to the nearest IEEE half (ties to even), as a number; |x| < 65504. */
function roundToFp16(x: number): number {
  const a = Math.abs(x);
  if (a === 0) return x;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10);
  const v = a / ulp;
  const fl = Math.floor(v);
  const r = v - fl > 0.5 || (v - fl === 0.5 && fl % 2 === 1) ? fl + 1 : fl;
  return Math.sign(x) * r * ulp;
}

function formatD(c: ModelConfig) {
  return c.dilations.length > 8 ? `${c.dilations.length} layers` : c.dilations.join(',');
}
