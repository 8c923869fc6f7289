/** The training loop used without the CLI: divergence handling, and learning on real audio. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { native, type NativeTrainer } from '../src/native.ts';
import { TrainingSession, type TrainOptions } from '../src/train/loop.ts';
import { listCheckpoints } from '../src/train/checkpoint.ts';
import { readLog } from '../src/train/run.ts';
import { toNative, type ModelConfig } from '../src/model/config.ts';
import { writeDataset, periodic, tempDir, ROOT } from './train-cli-helpers.ts';

const TINY_CFG: ModelConfig = { dilations: [1, 2, 4], residual: 4, dilation: 4, skip: 8, head: 8, classes: 256 };

function options(dir: string, over: Partial<TrainOptions> = {}): TrainOptions {
  return {
    runDir: join(dir, 'runs', 'r'),
    datasetDir: join(dir, 'datasets', 'd'),
    config: TINY_CFG,
    training: { window: 32, batch: 2, lr: 1e-3, seed: 3 },
    steps: 10,
    checkpointEvery: 2,
    keep: 5,
    valEvery: 0,
    device: 'cpu',
    resume: false,
    command: 'test',
    ...over,
  };
}

/** A real native trainer whose step() goes through `step` (to inject a NaN loss or a failure). */
function trainerWithStep(step: (real: NativeTrainer, crops: Uint8Array, p: { lr: number }) => Promise<number>) {
  return (c: ModelConfig, b: number, w: number, d: 'cpu' | 'cuda'): NativeTrainer => {
    const real = new (native().Trainer)(toNative(c), b, w, d);
    return new Proxy(real, {
      get(target, prop) {
        if (prop === 'step') return (crops: Uint8Array, p: { lr: number }) => step(target, crops, p);
        const v = (target as unknown as Record<string | symbol, unknown>)[prop];
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  };
}

test('a NaN loss stops training with an error naming the step; the last good checkpoint stays', async (t) => {
  const { dir, cleanup } = tempDir('wn-loop-');
  t.after(cleanup);
  writeDataset(join(dir, 'datasets', 'd'), [{ split: 'train', data: periodic(2000, 13) }]);
  let calls = 0;
  const createTrainer = trainerWithStep(async (real, crops, p) => {
    const loss = await real.step(crops, p);
    return ++calls === 3 ? NaN : loss;
  });
  const notes: string[] = [];
  const s = await TrainingSession.open(options(dir, { createTrainer }), { note: (m) => notes.push(m) });
  await assert.rejects(
    s.run(),
    /training diverged: the loss is NaN at step 3; the last good checkpoint \(step 2\) is kept; try a lower --lr/,
  );
  const runDir = join(dir, 'runs', 'r');
  assert.deepEqual(
    listCheckpoints(runDir).map((c) => c.step),
    [2],
  );
  assert.deepEqual(
    readLog(runDir).map((r) => r.step),
    [1, 2],
  );
  assert.ok(!existsSync(join(runDir, '.lock')));
  assert.ok(notes.some((n) => /no validation chunks/.test(n)) === false, 'validation is off here, so no note about it');
  // The run resumes from the good checkpoint.
  const r = await (await TrainingSession.open(options(dir, { resume: true, steps: 4 }))).run();
  assert.equal(r.step, 4);
  assert.equal(r.startStep, 2);
});

test('a failing trainer step is reported with the step and the kept checkpoint', async (t) => {
  const { dir, cleanup } = tempDir('wn-loop-');
  t.after(cleanup);
  writeDataset(join(dir, 'datasets', 'd'), [{ split: 'train', data: periodic(2000, 13) }]);
  let calls = 0;
  const createTrainer = trainerWithStep(async (real, crops, p) => {
    if (++calls === 4) throw new Error('device lost');
    return real.step(crops, p);
  });
  const s = await TrainingSession.open(options(dir, { createTrainer }));
  await assert.rejects(
    s.run(),
    /the cpu trainer failed at step 4: device lost; the last good checkpoint \(step 2\) is kept/,
  );
  assert.deepEqual(
    listCheckpoints(join(dir, 'runs', 'r')).map((c) => c.step),
    [2],
  );
});

test('no validation chunk that fits: one note, training goes on without validation', async (t) => {
  const { dir, cleanup } = tempDir('wn-loop-');
  t.after(cleanup);
  writeDataset(join(dir, 'datasets', 'd'), [
    { split: 'train', data: periodic(2000, 13) },
    { split: 'val', data: periodic(20, 13) },
  ]);
  const notes: string[] = [];
  const steps: number[] = [];
  const s = await TrainingSession.open(options(dir, { valEvery: 1, steps: 3 }), {
    note: (m) => notes.push(m),
    step: (row) => steps.push(row.step),
  });
  const r = await s.run();
  assert.equal(r.valLoss, null);
  assert.deepEqual(steps, [1, 2, 3]);
  assert.equal(
    notes.filter((n) => /no validation chunk holds a crop of 41 samples \(longest 20\); validation is skipped/.test(n))
      .length,
    1,
    notes.join('\n'),
  );
});

const AUDIO = join(ROOT, '..', 'shared', 'audio', 'speech', 'whisper_jfk.flac');
const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
const audioSkip = !existsSync(AUDIO)
  ? `${AUDIO} is absent (../shared/audio)`
  : !hasFfmpeg
    ? 'ffmpeg is not installed'
    : false;

test('the loss on real audio (speech from ../shared/audio) decreases', { skip: audioSkip }, async (t) => {
  const { dir, cleanup } = tempDir('wn-loop-');
  t.after(cleanup);
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', AUDIO, '-ac', '1', '-ar', '16000', '-f', 'f32le', '-'], {
    maxBuffer: 1 << 28,
  });
  assert.equal(r.status, 0, String(r.stderr));
  const x = new Float32Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length / 4);
  const q = native().mulawEncode(Float32Array.from(x));
  const chunk = 16000;
  const chunks = [];
  for (let i = 0, k = 0; i + chunk <= q.length; i += chunk, k++)
    chunks.push({ split: (k % 5 === 4 ? 'val' : 'train') as 'train' | 'val', data: q.slice(i, i + chunk) });
  assert.ok(chunks.length >= 5);
  writeDataset(join(dir, 'datasets', 'd'), chunks);
  const s = await TrainingSession.open(
    options(dir, {
      config: {
        dilations: [1, 2, 4, 8, 16, 32, 1, 2, 4, 8, 16, 32],
        residual: 16,
        dilation: 16,
        skip: 32,
        head: 32,
        classes: 256,
      },
      training: { window: 256, batch: 4, lr: 2e-3, seed: 1 },
      steps: 300,
      checkpointEvery: 1000,
      valEvery: 50,
      valCrops: 16,
    }),
  );
  const res = await s.run();
  const rows = readLog(join(dir, 'runs', 'r'));
  const mean = (a: number[]) => a.reduce((p, c) => p + c, 0) / a.length;
  const first = mean(rows.slice(0, 20).map((x) => x.loss));
  const last = mean(rows.slice(-20).map((x) => x.loss));
  const vals = rows.filter((x) => x.valLoss !== undefined).map((x) => x.valLoss!);
  t.diagnostic(
    `train loss ${first.toFixed(3)} -> ${last.toFixed(3)} bits/sample; val ${vals.map((v) => v.toFixed(3)).join(' -> ')}`,
  );
  assert.ok(last < first - 1, `training loss fell by more than 1 bit: ${first} -> ${last}`);
  assert.ok(vals[vals.length - 1] < vals[0], `validation loss fell: ${vals}`);
  assert.equal(res.step, 300);
});
