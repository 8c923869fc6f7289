/**
 * Issue 15, "a CLI that guides": each papercut a new user hit, run as a process, with the exact line
 * it prints now. Items: 1 negative values, 2 --data an audio folder, 3 which dataset, 4 no command /
 * did you mean / failed ingest, 5 render names its model, 6 checkpoints by time, 7 estimates,
 * 8 steady ETA and rounded temperatures, 9 the split, 10 the demo's folder.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ROOT, TINY, periodic, runCli, spawnCli, tempDir, writeDataset } from './train-cli-helpers.ts';
import { noise, writeWav16 } from './helpers/audio.ts';
import { commands } from '../src/commands/index.ts';
import { commandName, flagTable, joinNegativeValues, unknownArgumentsLine } from '../src/commands/flags.ts';
import { parseEvery, formatEvery } from '../src/commands/train.ts';
import { listCheckpoints } from '../src/train/checkpoint.ts';
import { readManifest } from '../src/dataset/manifest.ts';
import { RateMeter } from '../src/util/progress.ts';
import { DurationEstimate, formatTemperature } from '../src/util/estimate.ts';

let work: { dir: string; cleanup: () => void };
before(() => {
  work = tempDir('wn-guide-');
});
after(() => work.cleanup());

/** A fresh folder under the test's temp folder. */
function folder(name: string): string {
  const d = join(work.dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}

const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');
const oneLine = (r: ReturnType<typeof runCli>) => {
  assert.notEqual(r.status, 0, `expected a failure\n${r.stdout}\n${r.stderr}`);
  assert.equal(lines(r.stderr).length, 1, `one line:\n${r.stderr}`);
  return r.stderr.trim();
};

/** A small trained run in DIR/runs/d (2 steps of the tiny model). */
function tinyRun(dir: string): void {
  writeDataset(join(dir, 'datasets', 'd'), [
    { split: 'train', data: periodic(3000, 20) },
    { split: 'val', data: periodic(500, 20) },
  ]);
  const r = runCli(['train', ...TINY, '--device', 'cpu', '--steps', '2'], dir);
  assert.equal(r.status, 0, r.stderr);
}

// ---- 1. negative values in the space-separated form
test('1: every value-taking flag of every command accepts a value starting with a minus sign', () => {
  let checked = 0;
  for (const c of commands) {
    const name = commandName(c);
    const t = flagTable(c);
    for (const f of t.all) {
      if (t.boolean.has(f) || f === 'help' || f === 'version') continue;
      assert.deepEqual(
        joinNegativeValues([name, `--${f}`, '-50dB'], commands),
        [name, `--${f}=-50dB`],
        `${name} --${f}`,
      );
      assert.deepEqual(joinNegativeValues([name, `--${f}`, '-.5'], commands), [name, `--${f}=-.5`], `${name} --${f}`);
      checked++;
    }
    // booleans and `--` are left alone
    assert.deepEqual(joinNegativeValues([name, '--json', '-5'], commands), [name, '--json', '-5']);
  }
  assert.ok(checked >= 30, `checked ${checked} flags`);
  assert.deepEqual(joinNegativeValues(['ingest', 'a', '--', '--out', '-5'], commands), [
    'ingest',
    'a',
    '--',
    '--out',
    '-5',
  ]);
});

test('1: --trim-silence -50dB, --normalize -16LUFS, --lr -1, --temperature -0.5 parse as values', () => {
  const dir = folder('neg');
  const wav = writeWav16(join(dir, 'a.wav'), noise(16000 * 2, 3), 16000);
  const r = runCli(['ingest', wav, '--out', 'datasets/mix', '--trim-silence', '-50dB', '--json'], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readManifest(join(dir, 'datasets', 'mix')).trimSilenceDb, -50);
  assert.equal(
    oneLine(runCli(['ingest', wav, '--out', 'datasets/x', '--trim-silence', '-5x'], dir)),
    'wavenet: --trim-silence -5x: expected off or a level like -50dB',
  );
  assert.equal(
    oneLine(runCli(['render', '--normalize', '-16LU', '--count', '1'], dir)),
    "wavenet: --normalize '-16LU': expected a peak level like -1dBFS or a loudness like -16LUFS",
  );
  assert.equal(
    oneLine(runCli(['render', '--normalize', '-1dBFS', '--temperature', '-0.5..1', '--count', '2'], dir)),
    "wavenet: --temperature '-0.5..1': expected a number like 1 or a range like 0.8..1.1",
  );
  assert.equal(
    oneLine(runCli(['train', ...TINY, '--lr', '-1'], dir)),
    'wavenet: --lr -1: must be a number above 0 (and at most 10)',
  );
  assert.equal(
    oneLine(runCli(['synth', '--temperature', '-0.5', '--out', 'x.wav'], dir)),
    "wavenet: --temperature '-0.5': expected a number from 0 (argmax) to 100",
  );
});

// ---- 2. --data that is an audio folder
test('2: train --data AUDIO_FOLDER says it is not a dataset and how to make one, with or without --run, even next to a run', () => {
  const dir = folder('data-audio');
  tinyRun(dir);
  mkdirSync(join(dir, 'd'));
  writeWav16(join(dir, 'd', 'a.wav'), noise(1600, 1), 16000);
  // runs/d holds a run (the name the audio folder would map to)
  const want = 'wavenet: --data ./d: not a dataset (no manifest.json); the dataset made from it is --data datasets/d';
  assert.equal(oneLine(runCli(['train', '--data', './d'], dir)), want);
  assert.equal(oneLine(runCli(['train', '--data', './d', '--run', 'runs/x'], dir)), want);
  mkdirSync(join(dir, 'eno'));
  assert.equal(
    oneLine(runCli(['train', '--data', './eno'], dir)),
    'wavenet: --data ./eno: not a dataset (no manifest.json); create one with `wavenet ingest ./eno` (then train with --data datasets/eno)',
  );
});

// ---- 3. which dataset
test('3: several datasets and no --data: a note names the one chosen and how to pick another; two fresh ones: refused', () => {
  const dir = folder('choice');
  const mk = (name: string) =>
    writeDataset(join(dir, 'datasets', name), [
      { split: 'train', data: periodic(3000, 20) },
      { split: 'val', data: periodic(500, 20) },
    ]);
  mk('eno');
  mk('x');
  const r = runCli(['train', ...TINY, '--device', 'cpu', '--steps', '1'], dir);
  oneLine(r);
  assert.match(
    r.stderr,
    /^wavenet: 2 datasets were written in the last hour \(datasets\/(x|eno) \d+s ago, datasets\/(x|eno) \d+s ago\); say which to train on: --data datasets\/(x|eno) or --data datasets\/(x|eno)\n$/,
  );
  // eno was made yesterday: x is the newest, and a note says so
  const old = (Date.now() - 26 * 3600_000) / 1000;
  utimesSync(join(dir, 'datasets', 'eno', 'manifest.json'), old, old);
  const ok = runCli(['train', ...TINY, '--device', 'cpu', '--steps', '1'], dir);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(
    lines(ok.stderr)[0],
    /^note: training on datasets\/x, the newest of 2 datasets \(written \d+s ago; also: eno\); choose another with --data datasets\/NAME$/,
  );
  // one dataset: no note
  const single = folder('choice1');
  writeDataset(join(single, 'datasets', 'd'), [{ split: 'train', data: periodic(3000, 20) }]);
  const s = runCli(['train', ...TINY, '--device', 'cpu', '--steps', '1', '--val-every', '0'], single);
  assert.equal(s.status, 0, s.stderr);
  assert.doesNotMatch(s.stderr, /note:/);
});

// ---- 4. no command, did you mean, failed ingest
test('4: no command is one line; misspelled commands and flags get a "did you mean"', () => {
  const dir = folder('typos');
  const none = runCli([], dir);
  assert.equal(
    oneLine(none),
    'wavenet: give a command: info, ingest, train, render, synth, bench (see wavenet --help)',
  );
  assert.equal(
    oneLine(runCli(['trian'], dir)),
    "wavenet: unknown command 'trian'; did you mean `wavenet train`? (see wavenet --help)",
  );
  assert.equal(
    oneLine(runCli(['xyzzy'], dir)),
    "wavenet: unknown command 'xyzzy'; commands: info, ingest, train, render, synth, bench (see wavenet --help)",
  );
  assert.equal(
    oneLine(runCli(['synth', '--secnds', '3', '--out', 'a.wav'], dir)),
    'wavenet: synth: unknown flag --secnds (did you mean --seconds?) (see wavenet synth --help)',
  );
  assert.equal(
    oneLine(runCli(['train', '--dilatoins', '4', '--frobnicate'], dir)),
    'wavenet: train: unknown flag --dilatoins (did you mean --dilations?); unknown flag --frobnicate (see wavenet train --help)',
  );
  assert.equal(unknownArgumentsLine('Missing required argument: x', [], commands), undefined);
});

test('4: a failed ingest prints its reasons and one error line, no summary of zeros', () => {
  const dir = folder('failed-ingest');
  writeFileSync(join(dir, 'bad.wav'), 'RIFF nonsense');
  const r = runCli(['ingest', 'bad.wav', 'missing.flac', '--out', 'datasets/x'], dir);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  const l = lines(r.stderr);
  assert.equal(l.length, 3, r.stderr);
  assert.match(l[0], /^wavenet: rejected .*missing\.flac: no such file or folder$/);
  assert.match(l[1], /^wavenet: rejected .*bad\.wav: /);
  assert.equal(l[2], 'wavenet: nothing was ingested: 2 input(s) rejected (listed above; no dataset was created)');
});

// ---- 5 and 8. render names its model; temperatures rounded
test('5, 8: render names the model it uses; temperatures are printed rounded', () => {
  const dir = folder('render');
  tinyRun(dir);
  const r = runCli(
    ['render', '--count', '4', '--seconds', '0.05', '--temperature', '0.9..1.1', '--no-sheet', '--device', 'cpu'],
    dir,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.ok(
    lines(r.stderr).includes(
      `model ${join(dir, 'runs/d/checkpoints/step-00000002.safetensors')} (step 2, dilations 3x1, receptive field 9 samples)`,
    ),
    r.stderr,
  );
  const temps = lines(r.stdout)
    .filter((l) => l.includes('texture-'))
    .map((l) => /temperature (\S+)/.exec(l)![1]);
  assert.deepEqual(temps, ['0.9', '0.967', '1.033', '1.1']);
});

// ---- 6. checkpoints by time
test('6: --checkpoint-every / --val-every take steps, a time, or both; defaults are both', () => {
  assert.deepEqual(parseEvery('500', '--checkpoint-every', false), { steps: 500, seconds: 0 });
  assert.deepEqual(parseEvery('10m', '--checkpoint-every', false), { steps: 0, seconds: 600 });
  assert.deepEqual(parseEvery('500,10m', '--checkpoint-every', false), { steps: 500, seconds: 600 });
  assert.deepEqual(parseEvery(250, '--val-every', true), { steps: 250, seconds: 0 });
  assert.deepEqual(parseEvery('0', '--val-every', true), { steps: 0, seconds: 0 });
  assert.throws(
    () => parseEvery('0', '--checkpoint-every', false),
    /^UserError: --checkpoint-every 0: expected steps \(500\), a time \(10m\), or both \(500,10m\)$/,
  );
  assert.throws(() => parseEvery('soon', '--val-every', true), /--val-every soon: expected steps .*; 0 turns it off/);
  assert.equal(formatEvery({ steps: 500, seconds: 600 }), '500 steps or 10m');
  assert.equal(formatEvery({ steps: 0, seconds: 90 }), '1m30s');
  const help = runCli(['train', '--help'], work.dir);
  assert.match(
    help.stdout,
    /--checkpoint-every[\s\S]*whichever\s+comes first \(500,10m\)[\s\S]*\[default:\s+500,10m\]/,
  );
  assert.match(help.stdout, /--val-every[\s\S]*\[default:\s+250,5m\]/);
});

test('6: open-ended training checkpoints by time and shows elapsed time and time to the next checkpoint', async () => {
  const dir = folder('by-time');
  writeDataset(join(dir, 'datasets', 'd'), [
    { split: 'train', data: periodic(3000, 20) },
    { split: 'val', data: periodic(500, 20) },
  ]);
  const child = spawnCli(['train', ...TINY, '--device', 'cpu', '--checkpoint-every', '1s', '--val-every', '1s'], dir);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  const t0 = Date.now();
  while ((out.match(/^checkpoint /gm) ?? []).length < 2) {
    if (Date.now() - t0 > 60_000) throw new Error(`no two checkpoints after 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGINT');
  assert.equal(await exited, 0, out);
  assert.ok(
    lines(out).includes('training   lr 0.001, seed 0, until Ctrl-C, checkpoint every 1s (keep 3), validation every 1s'),
    out,
  );
  const progress = lines(out).filter((l) => l.startsWith('step '));
  assert.ok(progress.length > 0, out);
  // durations as formatDuration writes them: 9.5s below 10 s, then 12s, 1m05s (a loaded machine gets past 10 s)
  const duration = String.raw`(?:\d\.\d|\d+|\d+m\d\d)s`;
  const progressLine = new RegExp(
    String.raw`^step \d+  loss \d+\.\d{3}(  val \d+\.\d{3})? bits/sample  [\d,]+ samples/s  elapsed ${duration}  next checkpoint in ${duration}$`,
  );
  for (const l of progress) assert.match(l, progressLine);
  // time decided: the checkpoints are far apart in steps (no step trigger at this speed)
  const steps = [...out.matchAll(/^checkpoint \S+ \(step (\d+)\)$/gm)].map((m) => Number(m[1]));
  assert.ok(steps.length >= 2 && steps[0] > 1, `checkpoints at ${steps}`);
  assert.ok(listCheckpoints(join(dir, 'runs', 'd')).length >= 2);
});

// ---- 7. estimates before long work
/** Starts the command, waits for a line matching `re` on stderr, then Ctrl-C. Returns stderr. */
async function firstLines(args: string[], dir: string, re: RegExp): Promise<string> {
  const child = spawnCli(args, dir);
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  child.stdout.resume();
  const exited = new Promise((res) => child.on('exit', res));
  const t0 = Date.now();
  while (!re.test(err)) {
    if (Date.now() - t0 > 90_000 || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`no line matching ${re}:\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGINT');
  await exited;
  return err;
}

test('7: synth and render say how long a job over a minute will take, from a measured warm-up, and what is faster', async () => {
  const dir = folder('estimate');
  // the bundled demo model (no runs here); 20 minutes of audio is minutes of work on any CPU
  const s = await firstLines(
    ['synth', '--seconds', '1200', '--out', 'long.wav', '--device', 'cpu', '--seed', '1'],
    dir,
    /^synth: this will take/m,
  );
  const sl = lines(s).find((l) => l.startsWith('synth: this will take'))!;
  assert.match(
    sl,
    /^synth: this will take about (\d+m\d\ds|\d+h\d\dm) \(measured \d+ samples\/s, \d+\.\d\dx real time over \d+\.\d s\); faster: .*WAVENET_SYNTH_PRECISION=fp16 or bf16 \(half-size weights; bf16 on CPUs with AVX512-BF16\), --device cuda \(an NVIDIA GPU\)$/,
  );
  // it comes before the bulk of the work: at most a few seconds of audio are done by then
  assert.ok(existsSync(join(dir, 'long.wav')));
  const r = await firstLines(
    ['render', '--count', '2', '--seconds', '10m', '--no-sheet', '--device', 'cpu'],
    dir,
    /^render: this will take/m,
  );
  assert.ok(
    lines(r).some((l) =>
      /^model \S+model\.safetensors \(step \d+, dilations 10x2, receptive field 2048 samples\)$/.test(l),
    ),
    r,
  );
  assert.match(
    lines(r).find((l) => l.startsWith('render: this will take'))!,
    /^render: this will take about (\d+m\d\ds|\d+h\d\dm) \(measured \d+\.\d\dx real time over \d+\.\d s\); faster: .*--device cuda \(an NVIDIA GPU\)$/,
  );
});

test('7: the estimate leaves the first call out and waits for 3 s and three more calls', () => {
  const total = 480000;
  const est = new DurationEstimate({ what: 'synth', total, hints: ['x'] });
  const blocks: number[] = [];
  let done = 0;
  let t = 0;
  let line: string | undefined;
  while (!line && done < total) {
    const n = est.nextBlock(4096, total - done);
    blocks.push(n);
    done += n;
    t += blocks.length === 1 ? 5000 : n / 2; // a slow first call, then 2000 samples/s
    line = est.record(done, t);
  }
  assert.deepEqual(blocks, [1024, 1024, 2048, 4096]); // 3.6 s over 3 calls after the first
  assert.equal(
    line,
    `synth: this will take about ${Math.floor((total - done) / 2000 / 60)}m${String(Math.round(((total - done) / 2000) % 60)).padStart(2, '0')}s (measured 2000.0/s over ${((t - 5000) / 1000).toFixed(1)} s); faster: x`,
  );
  // the later half counts: a warm-up that speeds up is measured at its later pace
  const ramp = new DurationEstimate({ what: 'render', total: 1000 });
  ramp.record(1, 0);
  ramp.record(2, 1000); // 1 unit/s
  ramp.record(3, 2000);
  assert.equal(ramp.record(13, 3000), 'render: this will take about 2m59s (measured 5.5/s over 3.0 s)'); // 11 units from 1 s to 3 s; 987 left
  // a job under a minute says nothing
  const short = new DurationEstimate({ what: 'synth', total: 100_000 });
  let d = 0;
  let u = 0;
  for (let i = 0; i < 20 && d < 100_000; i++) {
    d += short.nextBlock(4096, 100_000 - d);
    u += 1000;
    assert.equal(short.record(d, u), undefined);
  }
});

test('7: a short job prints no estimate', () => {
  const dir = folder('estimate-short');
  const r = runCli(['synth', '--seconds', '0.5', '--out', 'short.wav', '--device', 'cpu', '--seed', '1'], dir);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /this will take/);
});

test('8: the progress ETA does not swing while blocks land seconds apart', () => {
  // a synth-like job: 10 s of start-up, then a block of 4096 samples every 12 s
  const total = 40960;
  const m = new RateMeter(0);
  const etas: number[] = [];
  const naive: number[] = [];
  let done = 0;
  let next = 22_000;
  for (let now = 0; now <= 130_000; now += 100) {
    if (now >= next && done < total) {
      done += 4096;
      m.observe(done, now);
      next += 12_000;
    }
    if (now >= 34_000 && done < total) {
      etas.push(m.eta(total, now));
      naive.push((total - done) / (done / (now / 1000))); // rate = done / elapsed, as it was
    }
  }
  assert.ok(etas.length > 500);
  // how far the ETA ever climbs back above its lowest value so far
  const worstRise = (xs: number[]) => {
    let low = Infinity;
    let worst = 0;
    for (const x of xs) {
      low = Math.min(low, x);
      worst = Math.max(worst, x - low);
    }
    return worst;
  };
  // the old way rose by tens of seconds between blocks (the 2m32s, 4m52s, 2m31s of the issue)
  assert.ok(worstRise(naive) > 10, `naive ETA rose at most ${worstRise(naive)} s`);
  // now it counts down with the clock and never rises
  assert.ok(worstRise(etas) <= 1e-9, `ETA rose by ${worstRise(etas)} s`);
});

test('8: RateMeter: rate from the first advance on, ETA counts down between advances', () => {
  const m = new RateMeter(0);
  m.observe(4096, 22_000); // start-up and the first block
  assert.ok(Math.abs(m.rate() - 4096 / 22) < 1e-9);
  m.observe(8192, 34_000);
  assert.ok(Math.abs(m.rate() - 4096 / 12) < 1e-9, 'start-up left out');
  const eta = m.eta(40960, 34_000);
  assert.ok(Math.abs(eta - (40960 - 8192) / (4096 / 12)) < 1e-9);
  assert.ok(Math.abs(m.eta(40960, 40_000) - (eta - 6)) < 1e-9);
  assert.equal(formatTemperature(0.9666666667), '0.967');
  assert.equal(formatTemperature(1), '1');
});

// ---- 9. the split
test('9: info lists the sources in validation; many sources split by source, one by chunk, close to --val', () => {
  const dir = folder('split');
  mkdirSync(join(dir, 'many'));
  for (let i = 0; i < 10; i++) writeWav16(join(dir, 'many', `t${i}.wav`), noise(16000 * 3, i + 1), 16000);
  mkdirSync(join(dir, 'one'));
  writeWav16(join(dir, 'one', 'long.wav'), noise(16000 * 9, 99), 16000);
  assert.equal(runCli(['ingest', 'many', '--chunk', '1s', '--val', '0.1'], dir).status, 0);
  assert.equal(runCli(['ingest', 'one', '--chunk', '1s', '--val', '0.1'], dir).status, 0);
  const many = lines(runCli(['info', 'datasets/many'], dir).stdout);
  assert.ok(many.includes('  chunks:   27 train (27.0 s), 3 val (3.0 s, 10% of the audio)'), many.join('\n'));
  assert.ok(many.includes('  validation: 1 of 10 sources, whole recordings'), many.join('\n'));
  assert.equal(
    many.filter((l) => /^ {4}.*many\/t\d\.wav: whole, 3 chunks \(3\.0 s\)$/.test(l)).length,
    1,
    many.join('\n'),
  );
  const one = lines(runCli(['info', 'datasets/one'], dir).stdout);
  assert.ok(one.includes('  chunks:   8 train (8.0 s), 1 val (1.0 s, 11% of the audio)'), one.join('\n'));
  assert.ok(one.includes('  validation: 1 of 1 source, part of it'), one.join('\n'));
  assert.ok(
    one.some((l) => /^ {4}.*one\/long\.wav: 1 of 9 chunks \(1\.0 s\)$/.test(l)),
    one.join('\n'),
  );
  // deterministic: the same files in another order give the same split
  const again = runCli(
    [
      'ingest',
      ...readdirSync(join(dir, 'many'))
        .reverse()
        .map((f) => join('many', f)),
      '--out',
      'datasets/many2',
      '--chunk',
      '1s',
    ],
    dir,
  );
  assert.equal(again.status, 0, again.stderr);
  const split = (d: string) => {
    const m = readManifest(join(dir, 'datasets', d));
    return m.chunks.map((c) => `${m.sources[c.source].sha256}:${c.offset}:${c.split}`).sort();
  };
  assert.deepEqual(split('many2'), split('many'));
});

test('9: a dataset made before (split stored per chunk, no new fields) still loads, trains and is described', () => {
  const dir = folder('old-manifest');
  writeDataset(join(dir, 'datasets', 'old'), [
    { split: 'train', data: periodic(3000, 20) },
    { split: 'val', data: periodic(500, 20) },
  ]);
  const info = runCli(['info', 'datasets/old'], dir);
  assert.equal(info.status, 0, info.stderr);
  assert.ok(lines(info.stdout).includes('    generated: 1 of 2 chunks (0.0 s)'), info.stdout);
  const t = runCli(['train', ...TINY, '--device', 'cpu', '--steps', '1'], dir);
  assert.equal(t.status, 0, t.stderr);
  assert.match(
    t.stdout,
    /^dataset {4}datasets\/old: 1 training chunks \(0\.2s of audio\), 1 validation \(0\.0s, 14% of the audio, from 1 of 1 source\)$/m,
  );
});

// ---- 10. the demo
test('10: npm run demo works in a folder it is given (or a temporary one) and writes nothing into the checkout', () => {
  const status = () => spawnSync('git', ['status', '--porcelain', '--ignored'], { cwd: ROOT, encoding: 'utf8' }).stdout;
  const before = status();
  const dir = folder('demo');
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'demo.sh'), dir], {
    encoding: 'utf8',
    env: { ...process.env, WAVENET_DEMO_STEPS: '2' },
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.equal(lines(r.stdout).at(-2), `demo: everything is in ${dir}`);
  for (const f of [
    'datasets/demo-ambient/manifest.json',
    'runs/demo-quick/config.json',
    'demo-quick.wav',
    'demo-bundled.wav',
  ]) {
    assert.ok(existsSync(join(dir, f)), f);
  }
  assert.equal(status(), before, 'the checkout is unchanged');
  const inside = spawnSync('bash', [join(ROOT, 'scripts', 'demo.sh'), join(ROOT, 'tmp-demo')], { encoding: 'utf8' });
  assert.equal(inside.status, 2);
  assert.match(inside.stderr, /^demo: .*tmp-demo is inside the checkout; give a folder outside it\n$/);
  spawnSync('rmdir', [join(ROOT, 'tmp-demo')]);
  assert.ok(readFileSync(join(ROOT, 'package.json'), 'utf8').includes('"demo": "bash scripts/demo.sh"'));
});
