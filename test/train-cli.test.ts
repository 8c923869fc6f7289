/** `wavenet train` from the command line: bad input, training, Ctrl-C / SIGTERM, info, outputs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { listCheckpoints, checkpointFileName } from '../src/train/checkpoint.ts';
import { readLog } from '../src/train/run.ts';
import { buildOptions } from '../src/commands/train.ts';
import { writeDataset, periodic, tempDir, runCli, spawnCli, TINY, tiny } from './train-cli-helpers.ts';
import { SMALL_FLAGS } from './helpers/hostile.ts';

function err(r: ReturnType<typeof runCli>, re: RegExp) {
  assert.notEqual(r.status, 0, `expected a failure\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, re);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
}

function ok(r: ReturnType<typeof runCli>) {
  assert.equal(r.status, 0, `exit ${r.status} ${r.signal ?? ''}\n${r.stdout}\n${r.stderr}`);
}

test('flag values are checked first, each error naming its flag (in-process)', () => {
  const base = { device: 'cpu' as const, resume: false, json: false, data: '/nonexistent-dataset-folder' };
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ dilations: '1,0,2' }, /--dilations 1,0,2: every dilation must be a whole number/],
    [{ dilations: '0x3' }, /--dilations 0x3: expected LxS/],
    [{ residualChannels: 0 }, /--residual-channels 0: must be a whole number from 1/],
    [{ dilationChannels: -1 }, /--dilation-channels -1/],
    [{ skipChannels: 1.5 }, /--skip-channels 1\.5/],
    [{ headChannels: 0 }, /--head-channels 0/],
    [{ window: -5 }, /--window -5: must be a whole number from 1/],
    [{ batch: 0 }, /--batch 0: must be a whole number/],
    [{ batch: NaN }, /--batch: expected a number/],
    [{ batch: [2, 3] }, /--batch was given more than once/],
    [{ lr: 0 }, /--lr 0: must be a number above 0/],
    [{ lr: -1e-3 }, /--lr -0\.001/],
    [{ steps: 2.5 }, /--steps 2\.5: must be a whole number/],
    [{ steps: 0 }, /--steps 0/],
    [{ keep: 0 }, /--keep 0/],
    [{ checkpointEvery: 0 }, /--checkpoint-every 0/],
    [{ valEvery: -1 }, /--val-every -1/],
    [{ seed: -2 }, /--seed -2/],
  ];
  for (const [over, re] of cases) {
    assert.throws(() => buildOptions({ ...base, ...over } as never, 'test'), re, JSON.stringify(over));
  }
  // Valid flags get as far as the dataset.
  assert.throws(
    () => buildOptions({ ...base, valEvery: 0 } as never, 'test'),
    /--data \/nonexistent-dataset-folder: no such folder/,
  );
});

test('bad input is refused with one clear line before any work', async (t) => {
  const { dir, cleanup } = tempDir('wn-train-');
  t.after(cleanup);
  err(runCli(['train', ...TINY], dir), /no datasets found .*wavenet ingest/);
  err(runCli(['train', ...TINY, '--data', 'nope'], dir), /--data nope: no such folder/);
  writeDataset(join(dir, 'datasets', 'empty'), []);
  err(runCli(['train', ...TINY, '--data', 'datasets/empty'], dir), /has no chunks/);
  writeDataset(join(dir, 'datasets', 'short'), [
    { split: 'train', data: periodic(500, 10) },
    { split: 'val', data: periodic(300, 10) },
  ]);
  // Receptive field of 1,2,4 is 9: a 600-sample window does not fit a 500-sample chunk; 491 would.
  err(
    runCli(['train', ...tiny({ '--window': '600' }), '--data', 'datasets/short'], dir),
    /no training chunk is long enough .* longest has 500 samples .*--window 491 or less/,
  );
  err(
    runCli(['train', '--dilations', '10y3', '--data', 'datasets/short'], dir),
    /--dilations '10y3': expected stacks like 10x3/,
  );
  err(runCli(['train', ...tiny({ '--batch': 'two' }), '--data', 'datasets/short'], dir), /--batch: expected a number/);
  const dev = runCli(['train', ...TINY, '--device', 'tpu', '--data', 'datasets/short'], dir);
  assert.notEqual(dev.status, 0);
  assert.match(dev.stderr, /device.*tpu/is); // yargs' own choices message
  err(
    runCli(['train', ...TINY, '--resume', '--data', 'datasets/short'], dir),
    /--resume: there is no run in runs\/short to resume; drop --resume/,
  );
  assert.ok(!existsSync(join(dir, 'runs')), 'nothing was written');

  // An existing run: same config without --resume, another config without --resume.
  ok(runCli(['train', ...tiny({ '--steps': '2' }), '--data', 'datasets/short'], dir));
  err(
    runCli(['train', ...tiny({ '--steps': '4' }), '--data', 'datasets/short'], dir),
    /runs\/short already holds a run \(newest checkpoint: step 2\); pass --resume to continue it, or --run DIR/,
  );
  err(
    runCli(['train', ...tiny({ '--residual-channels': '6' }), '--data', 'datasets/short'], dir),
    /runs\/short already holds a run with another config \(--residual-channels 4 vs 6.*\); pass --run DIR .* or --resume/,
  );
  err(
    runCli(['train', ...tiny({ '--residual-channels': '6' }), '--resume', '--data', 'datasets/short'], dir),
    /was trained with another config \(--residual-channels 4 vs 6/,
  );
  err(
    runCli(['train', '--resume', '--window', '16', '--data', 'datasets/short'], dir),
    /was trained with --window 32 \(given 16\); drop --window/,
  );
  err(runCli(['train', '--resume', '--steps', '1', '--data', 'datasets/short'], dir), /already at step 2/);

  // A truncated checkpoint, and one from another config, are refused on --resume.
  const ck = join(dir, 'runs', 'short', 'checkpoints', checkpointFileName(2));
  const good = readFileSync(ck);
  writeFileSync(ck, good.subarray(0, good.length - 64));
  err(
    runCli(['train', '--resume', '--steps', '4', '--data', 'datasets/short'], dir),
    /step-00000002\.safetensors: truncated/,
  );
  writeFileSync(ck, good);
  ok(
    runCli(
      [
        'train',
        ...tiny({ '--residual-channels': '5' }),
        '--steps',
        '3',
        '--data',
        'datasets/short',
        '--run',
        'runs/other',
      ],
      dir,
    ),
  );
  const foreign = join(dir, 'runs', 'other', 'checkpoints', checkpointFileName(3));
  copyFileSync(foreign, join(dir, 'runs', 'short', 'checkpoints', checkpointFileName(3)));
  copyFileSync(
    foreign.replace('.safetensors', '.optim.safetensors'),
    join(dir, 'runs', 'short', 'checkpoints', checkpointFileName(3).replace('.safetensors', '.optim.safetensors')),
  );
  err(
    runCli(['train', '--resume', '--steps', '4', '--data', 'datasets/short'], dir),
    /step-00000003\.safetensors is from another config \(--residual-channels 5 vs 4/,
  );
});

test('training a tiny model on a periodic signal drives the loss far below its unigram entropy; outputs and info', async (t) => {
  const { dir, cleanup } = tempDir('wn-train-');
  t.after(cleanup);
  const sig = periodic(6000, 37);
  writeDataset(join(dir, 'datasets', 'sine'), [
    { split: 'train', data: sig.subarray(0, 4000) },
    { split: 'train', data: periodic(3000, 37, 5) },
    { split: 'val', data: periodic(2000, 37, 11) },
  ]);
  // Unigram entropy of the signal, bits per sample.
  const counts = new Map<number, number>();
  for (const v of sig) counts.set(v, (counts.get(v) ?? 0) + 1);
  let H = 0;
  for (const c of counts.values()) H -= (c / sig.length) * Math.log2(c / sig.length);
  const r = runCli(
    [
      'train',
      ...SMALL_FLAGS,
      '--window',
      '64',
      '--batch',
      '4',
      '--lr',
      '3e-3',
      '--steps',
      '300',
      '--val-every',
      '50',
      '--checkpoint-every',
      '100',
      '--keep',
      '2',
      '--json',
      '--device',
      'cpu',
    ],
    dir,
  );
  ok(r);
  const res = JSON.parse(r.stdout);
  assert.equal(res.step, 300);
  assert.equal(res.runDir, join('runs', 'sine'));
  assert.equal(res.receptiveField, 17);
  assert.ok(res.paramCount > 0 && res.memoryBytes > 0);
  assert.match(r.stderr, /receptive field 17 samples/);
  assert.match(r.stderr, /parameters [\d,]+/);
  assert.match(r.stderr, /memory +about [\d.]+ (KiB|MiB|GiB)/);
  const rows = readLog(join(dir, 'runs', 'sine'));
  assert.deepEqual(
    rows.map((x) => x.step),
    Array.from({ length: 300 }, (_, i) => i + 1),
  );
  for (const row of rows) {
    assert.ok(Number.isFinite(row.loss) && row.lr === 3e-3 && row.samplesPerSec > 0 && row.elapsedSeconds >= 0);
  }
  const vals = rows.filter((x) => x.valLoss !== undefined);
  assert.deepEqual(
    vals.map((x) => x.step),
    [50, 100, 150, 200, 250, 300],
  );
  assert.ok(rows[0].loss > 7, `starts near 8 bits (uniform): ${rows[0].loss}`);
  assert.ok(res.valLoss < 0.2 * H, `final val loss ${res.valLoss} bits vs unigram entropy ${H.toFixed(2)} bits`);
  assert.ok(res.loss < 0.2 * H, `final loss ${res.loss}`);
  assert.deepEqual(
    listCheckpoints(join(dir, 'runs', 'sine')).map((c) => c.step),
    [200, 300],
    '--keep 2',
  );
  // loss.png is a PNG of the expected size.
  const png = readFileSync(join(dir, 'runs', 'sine', 'loss.png'));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.readUInt32BE(16), 900);
  assert.equal(png.readUInt32BE(20), 500);
  const cfg = JSON.parse(readFileSync(join(dir, 'runs', 'sine', 'config.json'), 'utf8'));
  assert.match(cfg.command, /^wavenet train --dilations 1,2,4,8 .*--steps 300/);
  assert.equal(cfg.dataset.manifestHash.length, 64);
  // info on the run and on a checkpoint.
  const ir = runCli(['info', 'runs/sine', '--json'], dir);
  ok(ir);
  const ij = JSON.parse(ir.stdout);
  assert.equal(ij.kind, 'run');
  assert.equal(ij.step, 300);
  assert.equal(ij.receptiveField, 17);
  assert.equal(ij.paramCount, res.paramCount);
  assert.ok(Math.abs(ij.valLoss - res.valLoss) < 1e-12);
  assert.match(ij.dataset.path, /datasets[/\\]sine$/);
  const it = runCli(['info', 'runs/sine'], dir);
  ok(it);
  assert.match(it.stdout, /receptive field 17 samples; parameters/);
  assert.match(it.stdout, /step +300/);
  assert.match(it.stdout, /last losses +loss \d+\.\d+ bits\/sample, val/);
  const ic = runCli(['info', join('runs', 'sine', 'checkpoints', checkpointFileName(200)), '--json'], dir);
  ok(ic);
  const cj = JSON.parse(ic.stdout);
  assert.equal(cj.kind, 'checkpoint');
  assert.equal(cj.step, 200);
  assert.deepEqual(cj.config.dilations, [1, 2, 4, 8]);
  assert.ok(Math.abs(cj.loss - rows[199].loss) < 1e-12);
  assert.equal(cj.resumable, true);
  const ict = runCli(['info', join('runs', 'sine', 'checkpoints', checkpointFileName(200))], dir);
  ok(ict);
  assert.match(ict.stdout, /step +200 \(resumable/);
});

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  test(`${sig}: finishes the step, writes a checkpoint, exits 0; the run resumes`, async (t) => {
    const { dir, cleanup } = tempDir('wn-train-');
    t.after(cleanup);
    writeDataset(join(dir, 'datasets', 'd'), [
      { split: 'train', data: periodic(3000, 20) },
      { split: 'val', data: periodic(500, 20) },
    ]);
    const child = spawnCli(['train', ...TINY, '--device', 'cpu', '--checkpoint-every', '100000'], dir);
    let out = '';
    let errOut = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      errOut += d;
    });
    const done = new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (c, s) => res([c, s])));
    const t0 = Date.now();
    while (!/^step \d+/m.test(out)) {
      if (Date.now() - t0 > 60_000) throw new Error(`no progress line after 60 s:\n${out}\n${errOut}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    child.kill(sig);
    const [code, signal] = await done;
    assert.equal(signal, null, errOut);
    assert.equal(code, 0, `${out}\n${errOut}`);
    assert.match(errOut, new RegExp(`${sig}: finishing this step and writing a checkpoint`));
    const runDir = join(dir, 'runs', 'd');
    const cks = listCheckpoints(runDir);
    assert.equal(cks.length, 1);
    const rows = readLog(runDir);
    assert.ok(rows.length > 0);
    assert.equal(cks[0].step, rows[rows.length - 1].step, 'the checkpoint holds the last finished step');
    assert.match(out, new RegExp(`stopped at step ${cks[0].step}`));
    assert.ok(existsSync(join(runDir, 'loss.png')));
    assert.ok(!existsSync(join(runDir, '.lock')), 'the run lock is released');
    ok(runCli(['train', '--resume', '--steps', String(cks[0].step + 2)], dir));
    assert.deepEqual(
      listCheckpoints(runDir).map((c) => c.step),
      [cks[0].step, cks[0].step + 2],
    );
  });
}

test('--help lists every flag with its default', () => {
  const r = runCli(['train', '--help'], process.cwd());
  ok(r);
  for (const f of [
    '--data',
    '--run',
    '--dilations',
    '--residual-channels',
    '--dilation-channels',
    '--skip-channels',
    '--head-channels',
    '--window',
    '--batch',
    '--lr',
    '--steps',
    '--checkpoint-every',
    '--keep',
    '--val-every',
    '--seed',
    '--device',
    '--resume',
    '--json',
  ]) {
    assert.ok(r.stdout.includes(f), `help mentions ${f}`);
  }
  assert.match(r.stdout, /default: 10x3/);
  assert.match(r.stdout, /default: 500/);
});
