// Issue 16, families 2, 3 and 4 (and 8 for checkpoints): one validation of a checkpoint's config and
// optimizer state shared by every command; non-finite or huge weights refused; memory estimated
// before allocating and refused with the figure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { loadCheckpoint, loadOptimizer, readCheckpointMetadata } from '../src/train/checkpoint.js';
import { checkConfig, CONFIG_LIMITS, paramCount, parseDilations, type ModelConfig } from '../src/model/config.js';
import { checkSynthMemory, synthMemoryBytes } from '../src/model/memory.js';
import { initParams } from '../src/train/init.js';
import { UserError } from '../src/util/errors.js';
import { SMALL, makeRun, writeCheckpoint, writeOptimizer, cliAll, errorLines } from './helpers/hostile.js';
import { tempDir } from './train-cli-helpers.js';

const oneLineUserError = (re: RegExp) => (e: unknown) =>
  e instanceof UserError && re.test(e.message) && !e.message.includes('\n');

/** Config values that must be refused, by field (each a different way to be wrong). */
const BAD_DILATIONS: unknown[] = [
  [1, -2, 4, 8],
  [1, 0, 4],
  [2 ** 40],
  [4294967297],
  [2.5],
  [null],
  8,
  {},
  null,
  '1,2,4',
  [],
  new Array(257).fill(1),
  [CONFIG_LIMITS.maxDilation + 1],
  new Array(5).fill(65536),
];

test('checkConfig refuses every bad dilations value and channel count with a UserError (never a TypeError)', () => {
  for (const d of BAD_DILATIONS) {
    assert.throws(
      () => checkConfig({ ...SMALL, dilations: d } as ModelConfig),
      oneLineUserError(/dilation|layer|receptive field/),
      JSON.stringify(d)?.slice(0, 40),
    );
  }
  for (const v of [0, -1, 2.5, 1025, 1e9, '8', null, NaN, Infinity]) {
    assert.throws(
      () => checkConfig({ ...SMALL, residual: v } as ModelConfig),
      oneLineUserError(/--residual-channels/),
      String(v),
    );
    assert.throws(
      () => checkConfig({ ...SMALL, residual: v } as ModelConfig, 'fields'),
      oneLineUserError(/^residual /),
      String(v),
    );
  }
  assert.throws(() => checkConfig({ ...SMALL, classes: 255 }), oneLineUserError(/classes must be 256/));
  for (const c of [null, 7, 'x', []])
    assert.throws(() => checkConfig(c as never), oneLineUserError(/config: expected an object/));
  // too many parameters, each field within its limit
  assert.throws(
    () =>
      checkConfig({
        dilations: new Array(256).fill(1),
        residual: 1024,
        dilation: 1024,
        skip: 1024,
        head: 1024,
        classes: 256,
      }),
    oneLineUserError(/parameters is more than the limit/),
  );
  // the flag parser uses the same limits
  assert.throws(() => parseDilations('1,131072'), oneLineUserError(/--dilations/));
  assert.throws(() => parseDilations('18x1'), oneLineUserError(/--dilations/));
  assert.equal(parseDilations('17x1').length, 17);
  assert.deepEqual(checkConfig(SMALL), SMALL);
});

test('loadCheckpoint and readCheckpointMetadata refuse bad configs, versions and steps in the metadata', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  t.after(cleanup);
  let i = 0;
  const bad = async (meta: Record<string, string>, re: RegExp) => {
    const p = writeCheckpoint(join(dir, `c${i++}.safetensors`), meta);
    await assert.rejects(loadCheckpoint(p), oneLineUserError(re), JSON.stringify(meta).slice(0, 80));
    await assert.rejects(readCheckpointMetadata(p), oneLineUserError(re), JSON.stringify(meta).slice(0, 80));
  };
  for (const d of BAD_DILATIONS)
    await bad({ config: JSON.stringify({ ...SMALL, dilations: d }) }, /its config is invalid/);
  await bad({ config: '{not json' }, /config is not valid JSON/);
  await bad({ config: '[]' }, /its config is invalid \(config: expected an object/);
  await bad({ format_version: undefined as never }, /has no format_version/);
  await bad({ format_version: '2' }, /format version 2 is newer/);
  await bad({ format_version: 'abc' }, /format_version "abc" is not a version number/);
  await bad({ step: '-1' }, /step "-1" is not a step number/);
  await bad({ step: '1e400' }, /is not a step number/);
});

test('non-finite or implausibly large weights are refused, with or without params_sha256', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  t.after(cleanup);
  let i = 0;
  for (const v of [NaN, Infinity, -Infinity, 1e30, -2e6]) {
    for (const withSha of [true, false]) {
      const p = initParams(SMALL, 1);
      p[1000 + i] = v;
      const meta: Record<string, string> = withSha
        ? { params_sha256: createHash('sha256').update(Buffer.from(p.buffer)).digest('hex') }
        : {};
      const path = writeCheckpoint(join(dir, `w${i++}.safetensors`), meta, p);
      await assert.rejects(
        loadCheckpoint(path),
        oneLineUserError(/weight value \d+ is .*the file is corrupt/),
        `${v} sha=${withSha}`,
      );
    }
  }
  // a checkpoint without params_sha256 is still checked structurally: a missing tensor is refused
  const ok = writeCheckpoint(join(dir, 'ok.safetensors'), {});
  assert.equal((await loadCheckpoint(ok)).params.length, paramCount(SMALL));
  const wrongShape = writeCheckpoint(join(dir, 'shape.safetensors'), {
    config: JSON.stringify({ ...SMALL, skip: 17 }),
  });
  await assert.rejects(loadCheckpoint(wrongShape), oneLineUserError(/tensor .* has shape/));
});

test('loadOptimizer: one validation of adam, sampler and training state', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  t.after(cleanup);
  const weights = await makeRun(join(dir, 'run'));
  const ck = await loadCheckpoint(weights);
  const sha = ck.metadata.params_sha256;
  const adam = (o: object) => ({
    adam: JSON.stringify({ step: 3, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, ...o }),
  });
  const cases: [Record<string, string>, RegExp][] = [
    [adam({ step: -1 }), /adam\.step is -1/],
    [adam({ step: 2.5 }), /adam\.step is 2\.5/],
    [adam({ step: 'x' }), /adam\.step is "x"/],
    [adam({ lr: -1 }), /adam\.lr/],
    [adam({ beta1: 1 }), /adam\.beta1/],
    [adam({ eps: 0 }), /adam\.eps/],
    [{ adam: 'nope' }, /__metadata__\.adam is not valid JSON/],
    [{ adam: '[1]' }, /__metadata__\.adam is missing or not an object/],
    [{ sampler: JSON.stringify({ rng: 'abc', drawn: 1 }) }, /sampler\.rng is "abc"/],
    [{ sampler: JSON.stringify({ rng: 7, drawn: 1 }) }, /sampler\.rng is 7/],
    [{ sampler: JSON.stringify({ rng: '0'.repeat(32), drawn: 1 }) }, /not all zero/],
    [{ sampler: JSON.stringify({ rng: 'a'.repeat(32), drawn: -3 }) }, /sampler\.drawn is -3/],
    [{ training: JSON.stringify({ window: 0, batch: 2, lr: 1e-3, seed: 1 }) }, /training\.window is 0/],
    [{ training: JSON.stringify({ window: 32, batch: 1e9, lr: 1e-3, seed: 1 }) }, /training\.batch/],
    [{ elapsed_seconds: 'soon' }, /elapsed_seconds "soon"/],
    [{ format_version: '9' }, /format version 9 is newer/],
    [{ step: '4' }, /does not belong to/],
  ];
  for (const [meta, re] of cases) {
    writeOptimizer(weights, sha, meta);
    await assert.rejects(loadOptimizer(weights, ck), oneLineUserError(re), JSON.stringify(meta));
  }
  for (const v of [NaN, -1, Infinity]) {
    const arr = new Float32Array(paramCount(SMALL));
    arr[5] = v;
    writeOptimizer(weights, sha, {}, undefined, arr);
    await assert.rejects(loadOptimizer(weights, ck), oneLineUserError(/adam\.v value 5/), String(v));
  }
  writeOptimizer(weights, sha, {});
  const o = await loadOptimizer(weights, ck);
  assert.equal(o.adam.step, 3);
  assert.equal(o.sampler.drawn, 6);
});

test('memory: synthesis estimates grow with dilations, streams and channels, and what will not fit is refused with the figure', () => {
  const small = synthMemoryBytes(SMALL, 1, 'cpu').host;
  const wide = { ...SMALL, dilations: new Array(4).fill(65536) };
  assert.ok(synthMemoryBytes(wide, 1, 'cpu').host > small * 100);
  assert.ok(synthMemoryBytes(wide, 8, 'cpu').host > synthMemoryBytes(wide, 1, 'cpu').host * 7);
  assert.ok(synthMemoryBytes(wide, 8, 'cuda').device > synthMemoryBytes(wide, 1, 'cuda').device * 7);
  const env = { total: 8 * 2 ** 30, available: 4 * 2 ** 30, gpu: 16 * 2 ** 30 };
  // 256 layers of 1024 (within the limits) with 1024 residual channels and 64 streams: far too much
  const big: ModelConfig = {
    dilations: new Array(256).fill(1024),
    residual: 1024,
    dilation: 16,
    skip: 16,
    head: 16,
    classes: 256,
  };
  assert.throws(
    () => checkSynthMemory(big, 64, 'cpu', 0, env),
    oneLineUserError(/needs about [\d.]+ GiB of memory; this machine has 8\.0 GiB; use a smaller --batch/),
  );
  assert.throws(
    () => checkSynthMemory(big, 64, 'cuda', 0, env),
    oneLineUserError(/needs about [\d.]+ GiB of GPU memory; the GPU has 16\.0 GiB/),
  );
  const mid: ModelConfig = { ...big, dilations: new Array(64).fill(1024) }; // ~1.1 GiB on one stream per 4
  assert.throws(
    () => checkSynthMemory(mid, 16, 'cpu', 0, { ...env, available: 2 ** 30 }),
    oneLineUserError(/is available now/),
  );
  checkSynthMemory(SMALL, 1, 'cpu', 16000 * 30, env);
});

test('CLI: synth and render give one clear line (exit 1, never 70) for bad configs, and render refuses a batch that cannot fit', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-cli-');
  t.after(cleanup);
  const jobs: { args: string[]; cwd: string; re: RegExp }[] = [];
  const cases: unknown[] = [
    [1, -2, 4, 8],
    2 ** 40,
    null,
    8,
    {},
    new Array(257).fill(1),
    [4294967297],
    [2.5],
    new Array(256).fill(1048576),
  ];
  cases.forEach((d, i) => {
    const p = writeCheckpoint(join(dir, `bad${i}.safetensors`), { config: JSON.stringify({ ...SMALL, dilations: d }) });
    jobs.push({
      cwd: dir,
      re: /its config is invalid/,
      args: ['synth', '--model', p, '--seconds', '0.05', '--out', `s${i}.wav`],
    });
    jobs.push({
      cwd: dir,
      re: /its config is invalid/,
      args: ['render', '--model', p, '--count', '1', '--seconds', '0.05', '--out-dir', `r${i}`],
    });
  });
  // a model whose rings are 805 MB per stream: 400 streams cannot fit in any test machine
  const wide: ModelConfig = {
    dilations: new Array(3).fill(65536),
    residual: 1024,
    dilation: 4,
    skip: 4,
    head: 4,
    classes: 256,
  };
  const w = await makeRun(join(dir, 'wide'), wide);
  jobs.push({
    cwd: dir,
    re: /synthesis with this model .* needs about [\d.]+ GiB of memory/,
    args: [
      'render',
      '--model',
      w,
      '--count',
      '400',
      '--batch',
      '400',
      '--seconds',
      '0.05',
      '--out-dir',
      'rw',
      '--no-sheet',
    ],
  });
  // train: the native trainer's plan for a huge batch is refused before the trainer exists
  const { writeDataset, periodic } = await import('./train-cli-helpers.js');
  writeDataset(join(dir, 'ds'), [
    { split: 'train', data: periodic(8000, 50) },
    { split: 'val', data: periodic(8000, 50) },
  ]);
  jobs.push({
    cwd: dir,
    re: /training with this config needs about [\d.]+ (GiB|TiB) of memory/,
    args: [
      'train',
      '--data',
      'ds',
      '--run',
      'runs/huge',
      '--steps',
      '1',
      '--dilations',
      '1,2',
      '--residual-channels',
      '1024',
      '--dilation-channels',
      '1024',
      '--skip-channels',
      '1024',
      '--head-channels',
      '1024',
      '--window',
      '4096',
      '--batch',
      '60000',
    ],
  });
  // --seed states the real limit (seeds are recorded as JSON numbers)
  jobs.push({
    cwd: dir,
    re: /--seed 18446744073709551615: at most 9007199254740991$/,
    args: ['synth', '--model', w, '--seconds', '0.05', '--out', 'seed.wav', '--seed', '18446744073709551615'],
  });
  jobs.push({
    cwd: dir,
    re: /--seed 'x': expected a whole number from 0 to 9007199254740991$/,
    args: ['synth', '--model', w, '--seconds', '0.05', '--out', 'seed.wav', '--seed', 'x'],
  });
  const rs = await cliAll(jobs, 4);
  rs.forEach((r, i) => {
    const label = `${jobs[i].args.slice(0, 3).join(' ')}: exit ${r.status} ${r.signal}\n${r.stderr}`;
    assert.equal(r.status, 1, label);
    const errs = errorLines(r.stderr);
    assert.equal(errs.length, 1, label);
    assert.match(errs[0], jobs[i].re, label);
  });
});
