// Issue 16, family 1: special files where a regular file is expected (a symlink to /dev/zero or
// /dev/urandom, a FIFO, a folder) are refused with one line, never read: no hang, no unbounded memory.
// Every loader in-process, then every command that reads such a file through the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint, loadOptimizer, readCheckpointMetadata, optimizerPathFor } from '../src/train/checkpoint.js';
import { readManifest } from '../src/dataset/manifest.js';
import { planFromJob } from '../src/render/spec.js';
import { readRunConfig } from '../src/train/run.js';
import { readIndex } from '../src/render/index-file.js';
import { openDataset } from '../src/train/data.js';
import { UserError } from '../src/util/errors.js';
import { readRegularFile, checkRegularFile } from '../src/util/files.js';
import {
  makeRun,
  makeSpecial,
  SPECIAL_KINDS,
  SMALL_FLAGS,
  cliAll,
  errorLines,
  type SpecialKind,
} from './helpers/hostile.js';
import { tempDir, writeDataset, periodic } from './train-cli-helpers.js';
import { writeWav16, noise } from './helpers/audio.js';

const EXPECT = /is a (character device|FIFO \(named pipe\)|folder), expected a regular file|is a folder/;

function refused(e: unknown): boolean {
  return e instanceof UserError && EXPECT.test(e.message) && !e.message.includes('\n');
}

test('the file helper refuses each special kind before reading, and bounds the size', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  t.after(cleanup);
  for (const k of SPECIAL_KINDS) {
    const p = makeSpecial(join(dir, `x-${k}`), k);
    const t0 = Date.now();
    assert.throws(() => readRegularFile(p, { what: 'test', maxBytes: 1 << 20 }), refused, k);
    assert.throws(() => checkRegularFile(p, { what: 'test' }), refused, k);
    assert.ok(Date.now() - t0 < 2000, `${k}: refused at once`);
  }
  writeFileSync(join(dir, 'big'), Buffer.alloc(2048));
  assert.throws(
    () => readRegularFile(join(dir, 'big'), { what: 'manifest', maxBytes: 1024 }),
    /manifest .*big: 2\.0 KiB is more than such a file can be \(at most 1\.0 KiB\)/,
  );
  assert.throws(() => readRegularFile(join(dir, 'missing'), { what: '--job' }), /--job .*missing: no such file/);
});

test('every loader refuses every special kind (checkpoint, optimizer, manifest, job, prime, run config, render index, chunk)', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  t.after(cleanup);
  const good = await makeRun(join(dir, 'good'));
  const ck = await loadCheckpoint(good);
  for (const k of SPECIAL_KINDS) {
    const d = join(dir, k);
    mkdirSync(d);
    const w = makeSpecial(join(d, 'w.safetensors'), k);
    await assert.rejects(loadCheckpoint(w), refused, `checkpoint ${k}`);
    await assert.rejects(readCheckpointMetadata(w), refused, `checkpoint header ${k}`);
    // optimizer file special, weights fine
    const w2 = join(d, 'ok.safetensors');
    copyFileSync(good, w2);
    makeSpecial(optimizerPathFor(w2), k);
    await assert.rejects(loadOptimizer(w2, ck), refused, `optimizer ${k}`);
    // dataset manifest
    const ds = join(d, 'ds');
    mkdirSync(ds);
    makeSpecial(join(ds, 'manifest.json'), k);
    assert.throws(() => readManifest(ds), refused, `manifest ${k}`);
    // job file, and a job whose prime is special
    const job = makeSpecial(join(d, 'job.json'), k);
    const defaults = { seconds: 1, seedBase: 0, temperature: { lo: 1, hi: 1 }, primes: [], loop: false } as never;
    assert.throws(() => planFromJob(job, defaults), refused, `job ${k}`);
    const prime = makeSpecial(join(d, 'prime.wav'), k);
    writeFileSync(join(d, 'job2.json'), JSON.stringify([{ name: 'a', prime: 'prime.wav' }]));
    assert.throws(() => planFromJob(join(d, 'job2.json'), defaults), refused, `job prime ${k}`);
    assert.ok(prime);
    // run config.json, render index.json
    const run = join(d, 'run');
    mkdirSync(run);
    makeSpecial(join(run, 'config.json'), k);
    assert.throws(() => readRunConfig(run), refused, `run config ${k}`);
    makeSpecial(join(d, 'index.json'), k);
    assert.throws(() => readIndex(join(d, 'index.json')), refused, `render index ${k}`);
    // a chunk file of a dataset
    const ds2 = writeDataset(join(d, 'ds2'), [
      { split: 'train', data: periodic(4000, 50) },
      { split: 'val', data: periodic(4000, 50) },
    ]);
    const chunk = join(ds2, 'chunks', '000000.mulaw');
    renameSync(chunk, `${chunk}.bak`);
    makeSpecial(chunk, k);
    assert.throws(
      () => openDataset(ds2),
      (e: unknown) => e instanceof UserError && /000000\.mulaw/.test(e.message),
      `chunk ${k}`,
    );
  }
});

test('CLI: synth/render --model, render --prime, job prime, synth --prime, info, train --resume refuse each special kind with one line', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-cli-');
  t.after(cleanup);
  await makeRun(join(dir, 'runs', 'good'));
  writeWav16(join(dir, 'ok.wav'), noise(8000, 1), 16000);
  writeDataset(join(dir, 'datasets', 'd'), [
    { split: 'train', data: periodic(4000, 50) },
    { split: 'val', data: periodic(4000, 50) },
  ]);
  const jobs: { args: string[]; cwd: string; kind: SpecialKind; what: string; outDir?: string }[] = [];
  for (const k of SPECIAL_KINDS) {
    const d = join(dir, k);
    mkdirSync(d);
    makeSpecial(join(d, 'm.safetensors'), k);
    makeSpecial(join(d, 'p.wav'), k);
    writeFileSync(join(d, 'job.json'), JSON.stringify([{ name: 'a', seconds: 0.1, prime: 'p.wav' }]));
    // a run whose newest checkpoint is the special file
    const run = join(d, 'run');
    await makeRun(run);
    makeSpecial(join(run, 'checkpoints', 'step-00000009.safetensors'), k);
    const common = { cwd: d, kind: k };
    jobs.push({
      ...common,
      what: 'synth --model',
      args: ['synth', '--model', 'm.safetensors', '--seconds', '0.05', '--out', 'a.wav'],
    });
    jobs.push({
      ...common,
      what: 'render --model',
      args: ['render', '--model', 'm.safetensors', '--count', '1', '--seconds', '0.1', '--out-dir', 'r1'],
    });
    jobs.push({
      ...common,
      what: 'render --prime',
      outDir: join(d, 'r2'),
      args: [
        'render',
        '--model',
        join(dir, 'runs', 'good'),
        '--prime',
        'p.wav',
        '--count',
        '1',
        '--seconds',
        '0.1',
        '--out-dir',
        'r2',
      ],
    });
    jobs.push({
      ...common,
      what: 'render job prime',
      outDir: join(d, 'r3'),
      args: ['render', '--model', join(dir, 'runs', 'good'), '--job', 'job.json', '--out-dir', 'r3'],
    });
    jobs.push({
      ...common,
      what: 'synth --prime',
      args: ['synth', '--model', join(dir, 'runs', 'good'), '--prime', 'p.wav', '--seconds', '0.05', '--out', 'b.wav'],
    });
    jobs.push({ ...common, what: 'info', args: ['info', 'm.safetensors'] });
    jobs.push({
      ...common,
      what: 'train --resume',
      args: [
        'train',
        '--data',
        join(dir, 'datasets', 'd'),
        '--run',
        'run',
        '--resume',
        '--steps',
        '5',
        ...SMALL_FLAGS,
        '--window',
        '32',
        '--batch',
        '2',
      ],
    });
  }
  const results = await cliAll(jobs, 4);
  results.forEach((r, i) => {
    const j = jobs[i];
    const label = `${j.what} (${j.kind}): exit ${r.status} signal ${r.signal}\n${r.stderr}`;
    assert.equal(r.signal, null, label);
    assert.equal(r.status, 1, label);
    const errs = errorLines(r.stderr);
    assert.equal(errs.length, 1, label);
    assert.match(
      errs[0],
      /is a (character device|FIFO \(named pipe\)|folder)|not a regular file|no checkpoints in this folder|not a dataset \(no manifest.json\), run/,
      label,
    );
    assert.doesNotMatch(r.stderr, /internal error/, label);
    if (j.outDir) assert.ok(!existsSync(join(j.outDir, '.render.lock')), `${label}: no stale .render.lock`);
  });
});

test('ingest: special files given as inputs are rejected by kind (a FIFO never blocks the hashing)', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  t.after(cleanup);
  const { ingest } = await import('../src/dataset/ingest.js');
  const inputs = SPECIAL_KINDS.filter((k) => k !== 'folder').map((k) => makeSpecial(join(dir, `${k}.wav`), k));
  inputs.push(writeWav16(join(dir, 'ok.wav'), noise(20000, 5), 16000));
  const messages: string[] = [];
  const r = await ingest({ inputs, out: join(dir, 'ds'), jobs: 2, onMessage: (l) => messages.push(l) });
  assert.equal(r.run.added, 1);
  const reasons = new Map(r.run.rejected.map((x) => [x.path, x.reason]));
  for (const p of inputs.slice(0, 3))
    assert.match(reasons.get(p) ?? '', /^is a (character device|FIFO \(named pipe\)), expected a regular file$/, p);
});
