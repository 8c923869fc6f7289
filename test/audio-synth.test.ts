// Issue 13 through the native synthesizer and the synth/render code: a model with a strong DC bias is
// blocked (and --raw is not), top-p/top-k sample only the nucleus of a known distribution, the
// readiness line, --prime dataset, encoded outputs, render's DC/levels/f32/smpl.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import wavefile from 'wavefile';
import { saveCheckpoint, loadCheckpoint } from '../src/train/checkpoint.js';
import { initParams } from '../src/train/init.js';
import { paramCount, paramLayout, parseDilations, type ModelConfig } from '../src/model/config.js';
import { Synthesizer } from '../src/synth/synthesizer.js';
import { checkSynthArgs, runSynth } from '../src/commands/synth.js';
import { readWav16, render, sha256File } from '../src/render/renderer.js';
import { planFromCount } from '../src/render/spec.js';
import { readIndex } from '../src/render/index-file.js';
import { blockDc } from '../src/render/dsp.js';
import { levelReport } from '../src/render/loudness.js';
import { findFfmpeg } from '../src/audio/ffmpeg.js';
import { wnUniform } from './helpers/wn-uniform.js';

const { WaveFile } = wavefile;
const CONFIG: ModelConfig = {
  dilations: parseDilations('1,2,4,8'),
  residual: 8,
  dilation: 8,
  skip: 16,
  head: 16,
  classes: 256,
};
let dir = '';
let biasedCk = '';
let untrainedCk = '';

/** Every weight 0 except the output bias: the logits are b2 at every step, whatever came before. */
function fixedLogits(b2: (q: number) => number): Float32Array {
  const p = new Float32Array(paramCount(CONFIG));
  const t = paramLayout(CONFIG).find((x) => x.name === 'head.2.bias')!;
  for (let q = 0; q < 256; q++) p[t.offset + q] = b2(q);
  return p;
}

async function save(runDir: string, params: Float32Array, step: number, extra: object = {}) {
  const n = paramCount(CONFIG);
  return saveCheckpoint({
    runDir,
    config: CONFIG,
    step,
    params,
    adam: { m: new Float32Array(n), v: new Float32Array(n), step },
    adamParams: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    sampler: { rng: '0'.repeat(32), drawn: 0 },
    training: { window: 64, batch: 1, lr: 1e-3, seed: 0 },
    elapsedSeconds: 1,
    dataset: join(dir, 'no-such-dataset'),
    manifestHash: '0',
    ...extra,
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wavenet-audio-synth-'));
  // classes around 200 (about +0.09 full scale after mu-law): a model that outputs a strong DC offset
  biasedCk = await save(
    join(dir, 'runs', 'biased'),
    fixedLogits((q) => -((q - 200) ** 2) / 40),
    1000,
    {
      valLoss: { bits: 3, step: 1000 },
      dataEntropyBits: 7.5,
    },
  );
  untrainedCk = await save(join(dir, 'runs', 'untrained'), initParams(CONFIG, 5), 23);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const quiet = () => {};
function args(out: string, extra: Record<string, unknown> = {}) {
  return checkSynthArgs({
    seconds: '6',
    out,
    temperature: '1',
    seed: '7',
    primeSeconds: '1',
    sampleRate: '16000',
    format: 's16',
    ...extra,
  } as Parameters<typeof checkSynthArgs>[0]);
}

test('a model with a strong DC bias: synth blocks it by default (|DC| < 0.001, every 1 s block < 0.005); --raw keeps it', async () => {
  const lines: string[] = [];
  const blocked = await runSynth({
    ...args(join(dir, 'blocked.wav')),
    model: biasedCk,
    device: 'cpu',
    json: false,
    log: (l) => lines.push(l),
  });
  const raw = await runSynth({
    ...args(join(dir, 'raw.wav'), { raw: true }),
    model: biasedCk,
    device: 'cpu',
    json: false,
    log: quiet,
  });
  assert.ok(raw.levels.dc > 0.05, `the model's own DC: ${raw.levels.dc}`);
  assert.equal(raw.dcBlocked, false);
  assert.ok(Math.abs(blocked.levels.dc) < 0.001, `blocked DC ${blocked.levels.dc}`);
  assert.ok(blocked.levels.dcMaxBlock < 0.005, `worst 1 s block ${blocked.levels.dcMaxBlock}`);
  // the summary is what is in the file
  const x = readWav16(join(dir, 'blocked.wav')).samples;
  const lv = levelReport(x, 16000);
  assert.ok(
    Math.abs(lv.dc - blocked.levels.dc) < 1e-6 &&
      lv.rmsDbfs === blocked.levels.rmsDbfs &&
      lv.peakDbfs === blocked.levels.peakDbfs,
  );
  // streamed block by block = the whole raw take through the blocker (up to the 16-bit rounding of both files)
  const r = readWav16(join(dir, 'raw.wav')).samples;
  const whole = blockDc(r, 16000);
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(whole[i] - x[i]));
  assert.ok(worst < 3e-4, `streamed vs whole: ${worst}`);
  assert.ok(
    !lines.some((l) => /knows nothing|no validation loss/.test(l)),
    'trained (val 3 of 7.5 bits): no readiness line',
  );
});

test('top-p / top-k on a known distribution sample only its nucleus, in proportion', async () => {
  // classes 10, 20, 30, 40 with probabilities 0.5, 0.25, 0.15, 0.1; everything else ~e^-40
  const probs = new Map([
    [10, 0.5],
    [20, 0.25],
    [30, 0.15],
    [40, 0.1],
  ]);
  const params = fixedLogits((q) => (probs.has(q) ? Math.log(probs.get(q)!) : -40));
  const counts = async (topP: number, topK: number) => {
    const s = new Synthesizer({
      config: CONFIG,
      params,
      device: 'cpu',
      streams: [1n, 2n, 3n, 4n].map((seed) => ({ seed, temperature: 1, topP, topK })),
    });
    try {
      const { classes } = await s.generate(5000);
      const c = new Map<number, number>();
      for (const cl of classes) for (const v of cl) c.set(v, (c.get(v) ?? 0) + 1);
      return c;
    } finally {
      s.free();
    }
  };
  const all = await counts(1, 0);
  assert.deepEqual(
    [...all.keys()].sort((a, b) => a - b),
    [10, 20, 30, 40],
    'no cut: all four',
  );
  assert.ok(Math.abs(all.get(40)! / 20000 - 0.1) < 0.015);
  // top-p 0.7: 0.5 < 0.7 <= 0.75, so the nucleus is {10, 20}, sampled 2:1
  const p7 = await counts(0.7, 0);
  assert.deepEqual(
    [...p7.keys()].sort((a, b) => a - b),
    [10, 20],
  );
  assert.ok(Math.abs(p7.get(10)! / 20000 - 2 / 3) < 0.015, `${p7.get(10)! / 20000}`);
  // top-p 0.8: {10, 20, 30}
  const p8 = await counts(0.8, 0);
  assert.deepEqual(
    [...p8.keys()].sort((a, b) => a - b),
    [10, 20, 30],
  );
  assert.ok(Math.abs(p8.get(30)! / 20000 - 0.15 / 0.9) < 0.015);
  // top-k 1 = the most likely class only; top-k 3 with top-p 0.7: the smaller set wins
  assert.deepEqual([...(await counts(1, 1)).keys()], [10]);
  assert.deepEqual(
    [...(await counts(0.7, 3)).keys()].sort((a, b) => a - b),
    [10, 20],
  );
  assert.deepEqual(
    [...(await counts(1, 3)).keys()].sort((a, b) => a - b),
    [10, 20, 30],
  );
});

/**
 * The rule of native/core/sample.h in double precision: the class, and whether the draw is a near-tie
 * (the target within 1e-5 of the total of a boundary, or the cut's mass within 1e-5 of p), where the
 * float32 kernel may legitimately differ.
 */
function referenceSample(
  lg: Float32Array,
  T: number,
  topP: number,
  topK: number,
  u: number,
): { q: number; nearTie: boolean } {
  const Q = lg.length;
  const m = Math.max(...lg);
  const w = Array.from(lg, (l) => Math.exp((l - m) / T));
  const total = w.reduce((a, b) => a + b, 0);
  let tau = 0;
  let nearTie = false;
  if (topP < 1 || (topK > 0 && topK < Q)) {
    const sorted = [...w].sort((a, b) => b - a);
    const kmax = topK > 0 && topK < Q ? topK : Q;
    let acc = 0;
    for (let i = 0; i < kmax; i++) {
      tau = sorted[i];
      acc += tau;
      if (Math.abs(acc - topP * total) < 1e-5 * total) nearTie = true;
      if (topP < 1 && acc >= topP * total) break;
    }
  }
  const kept = w.map((v) => (v >= tau ? v : 0));
  const kt = kept.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let q = 0; q < Q; q++) {
    acc += kept[q];
    if (Math.abs(u * kt - acc) < 1e-5 * kt) nearTie = true;
    if (u * kt < acc) return { q, nearTie };
  }
  return { q: Q - 1, nearTie };
}

test('the native sampling follows the rule of core/sample.h step by step (no cut = the rule of before; top-p; top-k)', async () => {
  const params = initParams(CONFIG, 9);
  for (const [T, topP, topK] of [
    [1, 1, 0],
    [1, 0.9, 0],
    [0.8, 0.6, 0],
    [1.2, 1, 5],
    [1, 0.95, 12],
  ] as const) {
    const seed = 77n;
    const s = new Synthesizer({
      config: CONFIG,
      params,
      device: 'cpu',
      streams: [{ seed, temperature: T, topP, topK }],
    });
    let checked = 0;
    let ties = 0;
    try {
      await s.start();
      // the native synth with logits (Synthesizer.generate does not return them)
      const nat = (
        s as unknown as {
          synth: {
            generate(
              n: number,
              t: Float32Array,
              s: BigUint64Array,
              l: boolean,
            ): Promise<{ samples: Uint8Array; logits: Float32Array }>;
          };
        }
      ).synth;
      const n = 1500;
      const { samples, logits } = await nat.generate(n, Float32Array.of(T), BigUint64Array.of(seed), true);
      for (let t = 0; t < n; t++) {
        const ref = referenceSample(logits.subarray(t * 256, (t + 1) * 256), T, topP, topK, wnUniform(seed, BigInt(t)));
        if (ref.nearTie) {
          ties++;
          continue;
        }
        assert.equal(samples[t], ref.q, `T ${T} top-p ${topP} top-k ${topK}: step ${t}`);
        checked++;
      }
    } finally {
      s.free();
    }
    assert.ok(checked > 1400, `checked ${checked}, near-ties ${ties}`);
  }
});

test('readiness: synth prints one line for an untrained checkpoint (no validation loss) and none for the bundled model', async () => {
  const a: string[] = [];
  const r = await runSynth({
    ...args(join(dir, 'untrained.wav'), { seconds: '0.2' }),
    model: untrainedCk,
    device: 'cpu',
    json: false,
    log: (l) => a.push(l),
  });
  const notes = a.filter((l) => /has no validation loss yet/.test(l));
  assert.equal(notes.length, 1, a.join('\n'));
  assert.match(notes[0], /step 23/);
  assert.equal(r.readiness, notes[0]);
  const b: string[] = [];
  const rb = await runSynth({
    ...args(join(dir, 'bundled.wav'), { seconds: '0.2' }),
    device: 'cpu',
    json: false,
    log: (l) => b.push(l),
  });
  assert.match(rb.model, /models\/demo\/model\.safetensors$/);
  assert.equal(rb.readiness, null);
  assert.ok(!b.some((l) => /validation loss|knows nothing/.test(l)), b.join('\n'));
});

test('--prime dataset on the bundled model primes from the bundled recordings; --keep-prime puts it in the output', async () => {
  const lines: string[] = [];
  const cut = await runSynth({
    ...args(join(dir, 'p-cut.wav'), { seconds: '0.5', primeSeconds: '0.25' }),
    prime: 'dataset',
    device: 'cpu',
    json: false,
    log: (l) => lines.push(l),
  });
  assert.match(cut.primeFrom!, /datasets\/demo\/recordings\/ambi_\w+\.flac at \d+\.\d\d s$/);
  assert.equal(cut.samples, 8000);
  const kept = await runSynth({
    ...args(join(dir, 'p-kept.wav'), { seconds: '0.5', primeSeconds: '0.25', keepPrime: true }),
    prime: 'dataset',
    device: 'cpu',
    json: false,
    log: quiet,
  });
  assert.equal(kept.primeFrom, cut.primeFrom, 'the stretch follows from the seed');
  assert.equal(kept.samples, 8000 + 4000);
  // the generated part is the same take either way
  const a = readWav16(join(dir, 'p-cut.wav')).samples;
  const b = readWav16(join(dir, 'p-kept.wav')).samples.subarray(4000);
  assert.deepEqual(b, a);
  // a run whose dataset is gone: an explicit --prime dataset is an error naming it; the default falls back to silence with a note
  await assert.rejects(
    runSynth({
      ...args(join(dir, 'p-gone.wav'), { seconds: '0.1' }),
      model: biasedCk,
      prime: 'dataset',
      device: 'cpu',
      json: false,
      log: quiet,
    }),
    /--prime dataset: the dataset .*no-such-dataset that .* was trained on is not there any more/,
  );
  assert.ok(!existsSync(join(dir, 'p-gone.wav')), 'no output file left behind');
  const d: string[] = [];
  const r = await runSynth({
    ...args(join(dir, 'p-default.wav'), { seconds: '0.1' }),
    model: biasedCk,
    device: 'cpu',
    json: false,
    log: (l) => d.push(l),
  });
  assert.equal(r.prime, null);
  assert.ok(
    d.some((l) => /^note: starting from silence/.test(l)),
    d.join('\n'),
  );
});

test('--warmup S drops the first S seconds of the take: the output is the rest of the same take', async () => {
  // one stream, no auditions (they judge each take's own opening, so they could keep other candidates)
  const whole = await runSynth({
    ...args(join(dir, 'w-whole.wav'), { seconds: '1.5', auditions: '0' }),
    model: untrainedCk,
    device: 'cpu',
    json: false,
    log: quiet,
  });
  const warm = await runSynth({
    ...args(join(dir, 'w-warm.wav'), { seconds: '1', warmup: '0.5', auditions: '0' }),
    model: untrainedCk,
    device: 'cpu',
    json: false,
    log: quiet,
  });
  assert.equal(whole.samples, 24000);
  assert.equal(warm.samples, 16000);
  assert.equal(warm.warmup, 0.5);
  assert.deepEqual(
    readWav16(join(dir, 'w-warm.wav')).samples,
    readWav16(join(dir, 'w-whole.wav')).samples.subarray(8000),
  );
  assert.throws(() => args('x.wav', { warmup: '-1' }), /--warmup '-1': expected seconds from 0 to 600/);
});

test('--out x.flac / x.ogg / x.mp3 are encoded by ffmpeg and nothing else is left', {
  skip: findFfmpeg() ? false : 'no ffmpeg',
}, async () => {
  const magic: Record<string, (b: Buffer) => boolean> = {
    flac: (b) => b.subarray(0, 4).toString('ascii') === 'fLaC',
    ogg: (b) => b.subarray(0, 4).toString('ascii') === 'OggS',
    mp3: (b) => b.subarray(0, 3).toString('ascii') === 'ID3' || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0),
  };
  for (const ext of Object.keys(magic)) {
    const out = join(dir, `take.${ext}`);
    const r = await runSynth({
      ...args(out, { seconds: '0.5' }),
      model: biasedCk,
      device: 'cpu',
      json: false,
      log: quiet,
    });
    assert.equal(r.path, out);
    assert.ok(magic[ext](readFileSync(out)), `${ext} bytes`);
    assert.ok(!existsSync(`${out}.part.wav`));
  }
});

test('render: DC blocked before the loop fold; index.json has DC, RMS, loudness; f32 and a smpl loop chunk', async () => {
  const ck = await loadCheckpoint(biasedCk);
  const model = {
    path: biasedCk,
    sha256: sha256File(biasedCk),
    step: ck.step,
    config: ck.config,
    params: ck.params,
    metadata: ck.metadata,
  };
  const out = join(dir, 'render');
  const textures = planFromCount(2, {
    seconds: 3,
    seedBase: 1,
    temperature: { from: 1, to: 1 },
    primes: [],
    loop: true,
  });
  // the same textures rendered twice: f32 with top-p here, --raw below
  const looped = {
    model,
    textures,
    crossfade: 0.5,
    fadeIn: 0,
    fadeOut: 0,
    normalize: null,
    batch: 2,
    device: 'cpu' as const,
    contactSheet: false,
  };
  await render({ ...looped, outDir: out, format: 'f32', topP: 0.95 });
  const idx = readIndex(join(out, 'index.json'));
  for (const t of idx.textures) {
    assert.ok(Math.abs(t.dc!) < 0.001 && t.dcMaxBlock! < 0.005, `${t.name}: DC ${t.dc}, 1 s blocks ${t.dcMaxBlock}`);
    assert.equal(typeof t.rmsDbfs, 'number');
    assert.equal(t.format, 'f32');
    assert.equal(t.topP, 0.95);
    assert.equal(t.dcBlock, true);
    const w = new WaveFile(readFileSync(join(out, t.file)));
    assert.equal((w.fmt as { audioFormat: number }).audioFormat, 3);
    const smpl = w.smpl as { dwNumSampleLoops: number; loops: { dwStart: number; dwEnd: number }[] };
    assert.equal(smpl.dwNumSampleLoops, 1);
    assert.deepEqual([smpl.loops[0].dwStart, smpl.loops[0].dwEnd], [0, t.samples - 1]);
  }
  // --raw: the bias stays
  const rawOut = join(dir, 'render-raw');
  await render({ ...looped, outDir: rawOut, raw: true });
  for (const t of readIndex(join(rawOut, 'index.json')).textures) assert.ok(t.dc! > 0.05, `raw DC ${t.dc}`);
});
