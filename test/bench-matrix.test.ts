// `wavenet bench synth`: the --kernels variant-order check re-measures a loss side by side before it
// reports it (the cells are run by a stand-in here, rates chosen per call, so the logic is tested
// without timing anything); the matrix end to end on a tiny model; --precision against the environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchSynthMatrix, type CellResult, type CellSpec } from '../src/bench/synth-matrix.ts';
import type { SynthBenchResult } from '../src/bench/synth.ts';
import { DEFAULT_CONFIG } from '../src/model/config.ts';
import { TINY_MODEL_FLAGS } from './helpers/bench.js';

/** A cell runner whose samples/s per CPU-second come from `rate(kernels, n)` (n: this variant's nth run). */
function fakeCells(rate: (kernels: string, n: number) => number) {
  const calls: string[] = [];
  const seen = new Map<string, number>();
  const run = async (spec: CellSpec, env: NodeJS.ProcessEnv): Promise<CellResult> => {
    const k = env.WAVENET_KERNELS ?? '?';
    calls.push(k);
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    const r = rate(k, n);
    const result = {
      batch: spec.batch,
      macsPerSample: 1e6,
      samplesPerCpuSecond: r,
      samplesPerSecondAggregate: r,
      xRealTimePerStream: r / 16000 / spec.batch,
      gflops: (2e6 * r) / 1e9,
      naive: [],
      speedup: null,
    } as unknown as SynthBenchResult;
    return { kernels: k, result, sgemmGflops: spec.sgemm ? 50 : null, sgemmGflopsPerCpu: spec.sgemm ? 50 : null };
  };
  return { run, calls };
}

const base = {
  config: DEFAULT_CONFIG,
  kernels: ['generic', 'avx2'] as ('generic' | 'avx2')[],
  threads: [1],
  batches: [1],
  seconds: 0.1,
  repeats: 1,
};
const orderCheck = (m: Awaited<ReturnType<typeof benchSynthMatrix>>) =>
  m.checks.find((c) => c.name === 'avx2 >= generic, 1 thread(s), batch 1')!;

test('a loss in the matrix that side-by-side pairs do not confirm passes, with both figures shown', async () => {
  // avx2's matrix cell is 20 % slow (a noisy moment); every later run is level with generic
  const f = fakeCells((k, n) => (k === 'avx2' && n === 1 ? 800 : 1000));
  const m = await benchSynthMatrix({ ...base, runCell: f.run });
  const c = orderCheck(m);
  assert.equal(c.ok, true, c.detail);
  assert.match(
    c.detail,
    /^1\.00x per CPU-s side by side \(median of 3 alternating pairs: 1\.00, 1\.00, 1\.00; the matrix cells gave 0\.80x\)$/,
  );
  assert.equal(m.rows.find((r) => r.kernels === 'avx2')!.vsSuperseded, 1);
  // the matrix (generic, avx2), then 3 pairs, who goes first alternating
  assert.deepEqual(f.calls, ['generic', 'avx2', 'generic', 'avx2', 'avx2', 'generic', 'generic', 'avx2']);
});

test('a loss that the pairs confirm fails with the paired ratio', async () => {
  const f = fakeCells((k, n) => (k === 'avx2' ? [800, 850, 900, 700][n - 1] : 1000));
  const m = await benchSynthMatrix({ ...base, runCell: f.run });
  const c = orderCheck(m);
  assert.equal(c.ok, false);
  assert.match(c.detail, /^0\.85x per CPU-s side by side \(median of 3 alternating pairs: 0\.85, 0\.90, 0\.70;/);
});

test('no re-measurement without a loss, or with confirmPairs 0', async () => {
  const level = fakeCells(() => 1000);
  const m = await benchSynthMatrix({ ...base, runCell: level.run });
  assert.deepEqual(level.calls, ['generic', 'avx2']);
  assert.deepEqual(orderCheck(m), {
    name: 'avx2 >= generic, 1 thread(s), batch 1',
    ok: true,
    detail: '1.00x per CPU-s',
  });
  const slow = fakeCells((k) => (k === 'avx2' ? 900 : 1000));
  const m0 = await benchSynthMatrix({ ...base, confirmPairs: 0, runCell: slow.run });
  assert.deepEqual(slow.calls, ['generic', 'avx2']);
  assert.deepEqual(orderCheck(m0), {
    name: 'avx2 >= generic, 1 thread(s), batch 1',
    ok: false,
    detail: '0.90x per CPU-s',
  });
  // within the 5 % tolerance: no pairs either
  const close = fakeCells((k) => (k === 'avx2' ? 960 : 1000));
  assert.equal(orderCheck(await benchSynthMatrix({ ...base, runCell: close.run })).ok, true);
  assert.deepEqual(close.calls, ['generic', 'avx2']);
});

/** `wavenet bench synth ARGS --json` on the tiny model (a second or two); the parsed JSON. */
function benchSynthCli(args: string[], env: Record<string, string> = {}) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      tsx,
      join(root, 'src', 'cli.ts'),
      'bench',
      'synth',
      ...TINY_MODEL_FLAGS,
      '--seconds',
      '0.05',
      '--repeats',
      '1',
      '--naive-seconds',
      '0',
      ...args,
      '--json',
    ],
    { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('bench synth --kernels generic runs the matrix end to end on a small model (child processes, JSON)', () => {
  const m = benchSynthCli(['--kernels', 'generic', '--thread-list', '1']);
  assert.deepEqual(
    m.rows.map((x: { kernels: string; threads: number; batch: number }) => [x.kernels, x.threads, x.batch]),
    [
      ['generic', 1, 1],
      ['generic', 1, 16],
    ],
  );
  for (const x of m.rows) assert.ok(x.samplesPerCpuSecond > 0 && x.gflops > 0);
  assert.ok(m.rows[0].sgemmGflops > 0, 'the sgemm roof is measured in the first cell');
  assert.ok(m.rows[1].batchGain > 0);
  assert.deepEqual(
    m.checks.map((c: { name: string }) => c.name),
    ['generic x1: batch 16 aggregate >= 4x batch 1'],
  );
});

test('bench synth follows WAVENET_SYNTH_PRECISION unless --precision is given (as synth does)', () => {
  const cpu = ['--device', 'cpu']; // fp16 is a CPU setting (CUDA runs fp32)
  assert.equal(benchSynthCli(cpu, { WAVENET_SYNTH_PRECISION: '' }).precision, 'fp32');
  assert.equal(benchSynthCli(cpu, { WAVENET_SYNTH_PRECISION: 'fp16' }).precision, 'fp16');
  assert.equal(benchSynthCli([...cpu, '--precision', 'fp32'], { WAVENET_SYNTH_PRECISION: 'fp16' }).precision, 'fp32');
  assert.equal(benchSynthCli(cpu, { WAVENET_SYNTH_PRECISION: 'nonsense' }).precision, 'fp32');
});
