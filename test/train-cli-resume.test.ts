/**
 * Exact resume of `wavenet train` on CPU: an uninterrupted run and an interrupted + resumed one end
 * with bitwise identical weights and Adam state, whether the interruption is a clean stop, a kill -9
 * at any moment (including in the middle of writing a checkpoint, via the test-only
 * WAVENET_TEST_CHECKPOINT_CRASH hook), or a kill -9 from outside at an arbitrary time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { loadCheckpoint, loadOptimizer, listCheckpoints, checkpointFileName } from '../src/train/checkpoint.ts';
import { readLog } from '../src/train/run.ts';
import { writeDataset, periodic, tempDir, runCli, spawnCli, TINY } from './train-cli-helpers.ts';

const FLAGS = [...TINY, '--val-every', '2', '--device', 'cpu'];

function setup() {
  const t = tempDir('wn-resume-');
  const data = Uint8Array.from({ length: 3000 }, (_, i) => (periodic(3000, 29)[i] + ((i * 2654435761) >>> 28)) & 255);
  writeDataset(join(t.dir, 'datasets', 'd'), [
    { split: 'train', data },
    { split: 'train', data: periodic(1500, 17, 3) },
    { split: 'val', data: periodic(800, 23) },
  ]);
  return t;
}

async function state(runDir: string, step: number) {
  const path = join(runDir, 'checkpoints', checkpointFileName(step));
  assert.ok(existsSync(path), `${path} exists`);
  const ck = await loadCheckpoint(path);
  const o = await loadOptimizer(path, ck);
  return {
    params: Buffer.from(ck.params.buffer),
    m: Buffer.from(o.adam.m.buffer),
    v: Buffer.from(o.adam.v.buffer),
    adamStep: o.adam.step,
    sampler: o.sampler,
  };
}

async function assertSame(a: string, b: string, step: number) {
  const x = await state(a, step);
  const y = await state(b, step);
  assert.equal(x.adamStep, step);
  assert.ok(x.params.equals(y.params), `weights at step ${step} are bitwise identical`);
  assert.ok(x.m.equals(y.m) && x.v.equals(y.v), `Adam moments at step ${step} are bitwise identical`);
  assert.equal(x.adamStep, y.adamStep);
  assert.deepEqual(x.sampler, y.sampler);
}

function ok(r: ReturnType<typeof runCli>) {
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr}`);
}

test('4 steps in one go == 2 steps + --resume + 2 steps, bitwise (weights, Adam, sampler)', async (t) => {
  const { dir, cleanup } = setup();
  t.after(cleanup);
  ok(runCli(['train', ...FLAGS, '--steps', '4', '--run', 'runs/ref'], dir));
  ok(runCli(['train', ...FLAGS, '--steps', '2', '--run', 'runs/b'], dir));
  ok(runCli(['train', '--resume', '--steps', '4', '--run', 'runs/b', '--device', 'cpu'], dir));
  await assertSame(join(dir, 'runs/ref'), join(dir, 'runs/b'), 4);
  // The log of the resumed run has each step once, in order.
  assert.deepEqual(
    readLog(join(dir, 'runs/b')).map((r) => r.step),
    [1, 2, 3, 4],
  );
  // A different seed gives different weights (the comparison can fail).
  ok(runCli(['train', ...FLAGS, '--steps', '4', '--run', 'runs/other', '--seed', '9'], dir));
  const o = await state(join(dir, 'runs/other'), 4);
  const r = await state(join(dir, 'runs/ref'), 4);
  assert.ok(!o.params.equals(r.params));
});

for (const phase of ['optim-partial', 'after-optim', 'weights-partial']) {
  test(`kill -9 while writing a checkpoint (${phase}) leaves a run that resumes exactly`, async (t) => {
    const { dir, cleanup } = setup();
    t.after(cleanup);
    ok(runCli(['train', ...FLAGS, '--steps', '6', '--run', 'runs/ref'], dir));
    const crashed = runCli(['train', ...FLAGS, '--steps', '6', '--checkpoint-every', '2', '--run', 'runs/c'], dir, {
      WAVENET_TEST_CHECKPOINT_CRASH: `4:${phase}`,
    });
    assert.equal(
      crashed.signal,
      'SIGKILL',
      `killed during the step-4 checkpoint\n${crashed.stdout}\n${crashed.stderr}`,
    );
    const runDir = join(dir, 'runs/c');
    assert.deepEqual(
      listCheckpoints(runDir).map((c) => c.step),
      [2],
      'only the step-2 checkpoint is committed',
    );
    // `info` still reads the run.
    const info = runCli(['info', 'runs/c', '--json'], dir);
    ok(info);
    assert.equal(JSON.parse(info.stdout).step, 2);
    ok(runCli(['train', '--resume', '--steps', '6', '--run', 'runs/c', '--device', 'cpu'], dir));
    await assertSame(join(dir, 'runs/ref'), runDir, 6);
    const names = readdirSync(join(runDir, 'checkpoints'));
    assert.ok(!names.some((n) => n.includes('.tmp-')), `no temporaries left: ${names}`);
    assert.deepEqual(
      readLog(runDir).map((r) => r.step),
      [1, 2, 3, 4, 5, 6],
    );
  });
}

test('kill -9 from outside at an arbitrary moment, then --resume: same weights as an uninterrupted run', async (t) => {
  const { dir, cleanup } = setup();
  t.after(cleanup);
  const child = spawnCli(['train', ...FLAGS, '--checkpoint-every', '3', '--keep', '2', '--run', 'runs/k'], dir);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, s) => res(s)));
  // Wait until a few checkpoints were written, then kill at a pseudo-random moment.
  const t0 = Date.now();
  while ((out.match(/^checkpoint /gm) ?? []).length < 3) {
    if (Date.now() - t0 > 60_000) throw new Error(`no checkpoints after 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 40)));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  const runDir = join(dir, 'runs/k');
  const cks = listCheckpoints(runDir);
  assert.ok(cks.length >= 1);
  const resumedFrom = cks[cks.length - 1].step;
  const target = resumedFrom + 3;
  ok(runCli(['train', '--resume', '--steps', String(target), '--run', 'runs/k', '--device', 'cpu'], dir));
  ok(runCli(['train', ...FLAGS, '--steps', String(target), '--run', 'runs/ref'], dir));
  await assertSame(join(dir, 'runs/ref'), runDir, target);
});
