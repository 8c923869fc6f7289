// `wavenet synth` end to end: reproducibility, formats, priming, interruption, bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  rmSync,
  readFileSync,
  writeFileSync,
  existsSync,
  statSync,
  truncateSync,
  mkdirSync,
  chmodSync,
} from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import wavefile from 'wavefile';

const { WaveFile } = wavefile;
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { initParams } from '../src/train/init.js';
import { paramCount, parseDilations, type ModelConfig } from '../src/model/config.js';
import { findFfmpeg } from '../src/audio/ffmpeg.js';
import { WavWriter } from '../src/audio/wav-writer.js';
import { TINY_MODEL_FLAGS } from './helpers/bench.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'src', 'cli.ts');
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

let dir = '';
let ckpt = '';

function cli(args: string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
}

function ok(r: SpawnSyncReturns<string>) {
  assert.equal(r.status, 0, `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** Parses a WAV with wavefile and checks its header against the file size. */
function readWav(path: string) {
  const buf = readFileSync(path);
  const w = new WaveFile(buf);
  const fmt = w.fmt as { sampleRate: number; bitsPerSample: number; audioFormat: number; numChannels: number };
  const data = w.data as { chunkSize: number };
  const samples = w.getSamples(false, Float64Array) as unknown as Float64Array;
  return { buf, fmt, dataBytes: data.chunkSize, samples };
}

async function writeRun(runDir: string, config: ModelConfig, step: number) {
  const n = paramCount(config);
  return saveCheckpoint({
    runDir,
    config,
    step,
    params: initParams(config, 3),
    adam: { m: new Float32Array(n), v: new Float32Array(n), step },
    adamParams: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    sampler: { rng: '0'.repeat(32), drawn: 0 },
    training: { window: 64, batch: 1, lr: 1e-3, seed: 0 },
    elapsedSeconds: 1,
    dataset: 'test',
    manifestHash: '0',
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wavenet-synth-cli-'));
  const config: ModelConfig = {
    dilations: parseDilations('8x2'),
    residual: 32,
    dilation: 32,
    skip: 64,
    head: 64,
    classes: 256,
  };
  ckpt = await writeRun(join(dir, 'runs', 'tiny'), config, 20);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('synth writes a valid 16 kHz s16 WAV from the newest run; same seed same bytes, other seed other audio', () => {
  const r = ok(cli(['synth', '--seconds', '0.5', '--out', 'a.wav', '--seed', '11']));
  assert.match(
    r.stdout,
    /wrote a\.wav: 0\.50 s, 16000 Hz s16, seed 11, temperature 1; \d+ samples\/s \([\d.]+x real time\)/,
  );
  assert.match(r.stderr, /seed 11/);
  const a = readWav(join(dir, 'a.wav'));
  assert.equal(a.fmt.sampleRate, 16000);
  assert.equal(a.fmt.bitsPerSample, 16);
  assert.equal(a.fmt.numChannels, 1);
  assert.equal(a.samples.length, 8000);
  assert.equal(a.dataBytes, statSync(join(dir, 'a.wav')).size - 44);
  ok(cli(['synth', '--seconds', '0.5', '--out', 'b.wav', '--seed', '11']));
  assert.deepEqual(readFileSync(join(dir, 'b.wav')), a.buf);
  ok(cli(['synth', '--seconds', '0.5', '--out', 'c.wav', '--seed', '12']));
  assert.notDeepEqual(readFileSync(join(dir, 'c.wav')), a.buf);
  assert.ok(new Set(a.samples).size > 4, 'the audio should not be constant');
});

test('a random seed is chosen and printed when none is given; temperature 0 ignores the seed', () => {
  const r = ok(cli(['synth', '--seconds', '0.2', '--out', 'r.wav', '--json']));
  const j = JSON.parse(r.stdout);
  assert.equal(typeof j.seed, 'number');
  assert.equal(j.path, 'r.wav');
  assert.equal(j.seconds, 0.2);
  assert.equal(j.model, ckpt);
  assert.equal(j.step, 20);
  assert.ok(j.samplesPerSecond > 0);
  assert.match(r.stderr, new RegExp(`seed ${j.seed}`));
  // reproduce it from the printed seed
  ok(cli(['synth', '--seconds', '0.2', '--out', 'r2.wav', '--seed', String(j.seed)]));
  assert.deepEqual(readFileSync(join(dir, 'r2.wav')), readFileSync(join(dir, 'r.wav')));
  ok(cli(['synth', '--seconds', '0.3', '--out', 't0a.wav', '--seed', '1', '--temperature', '0']));
  ok(cli(['synth', '--seconds', '0.3', '--out', 't0b.wav', '--seed', '2', '--temperature', '0']));
  assert.deepEqual(readFileSync(join(dir, 't0a.wav')), readFileSync(join(dir, 't0b.wav')));
});

test('--format f32 and --sample-rate 48000 give a float WAV at 48 kHz that wavefile and ffmpeg read', () => {
  ok(cli(['synth', '--seconds', '0.5', '--out', 'f.wav', '--seed', '3', '--format', 'f32', '--sample-rate', '48000']));
  const f = readWav(join(dir, 'f.wav'));
  assert.equal(f.fmt.sampleRate, 48000);
  assert.equal(f.fmt.bitsPerSample, 32);
  assert.equal(f.fmt.audioFormat, 3);
  assert.ok(Math.abs(f.samples.length - 24000) <= 2, `${f.samples.length} samples`);
  // float output keeps the resampler's small overshoot beyond [-1, 1] (no clipping in f32)
  assert.ok(f.samples.every((x) => Number.isFinite(x) && Math.abs(x) < 1.5));
  const ff = findFfmpeg();
  if (ff) {
    for (const name of ['f.wav', 'a.wav']) {
      const p: SpawnSyncReturns<Buffer> = spawnSync(
        ff.path,
        ['-v', 'error', '-i', join(dir, name), '-f', 'f32le', '-'],
        { maxBuffer: 1 << 26 },
      );
      assert.equal(p.status, 0, `ffmpeg failed on ${name}: ${p.stderr}`);
      assert.ok(p.stdout.length > 0);
    }
  }
});

test('--prime feeds the end of an audio file first and changes the audio', () => {
  // a 440 Hz tone as the prime
  const w = new WavWriter(join(dir, 'tone.wav'), 22050, 's16');
  const x = new Float32Array(22050);
  for (let i = 0; i < x.length; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * 440 * i) / 22050);
  w.write(x);
  w.close();
  const r = ok(
    cli([
      'synth',
      '--seconds',
      '0.3',
      '--out',
      'p.wav',
      '--seed',
      '11',
      '--prime',
      'tone.wav',
      '--prime-seconds',
      '0.5',
      '--json',
    ]),
  );
  const j = JSON.parse(r.stdout);
  assert.equal(j.prime, 'tone.wav');
  assert.equal(j.primeSeconds, 0.5);
  ok(cli(['synth', '--seconds', '0.3', '--out', 'np.wav', '--seed', '11']));
  assert.notDeepEqual(readFileSync(join(dir, 'p.wav')), readFileSync(join(dir, 'np.wav')));
});

async function interrupted(signal: 'SIGINT' | 'SIGKILL') {
  const out = join(dir, `int-${signal}.wav`);
  const child = spawn(
    process.execPath,
    ['--import', TSX, CLI, 'synth', '--seconds', '3600', '--out', out, '--seed', '1'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  // wait until a few blocks are on disk
  const t0 = Date.now();
  while (!(existsSync(out) && statSync(out).size > 44 + 2 * 3 * 4096)) {
    if (Date.now() - t0 > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`no progress within 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill(signal);
  const code = await exited;
  const w = readWav(out);
  assert.equal(w.fmt.sampleRate, 16000);
  assert.ok(w.samples.length >= 3 * 4096 && w.samples.length < 3600 * 16000, `${w.samples.length} samples`);
  assert.ok(w.dataBytes <= statSync(out).size - 44);
  return { code, stderr, w, out };
}

test('Ctrl-C stops after the current block and leaves a valid, shorter WAV', async () => {
  const { code, stderr, w, out } = await interrupted('SIGINT');
  assert.equal(code, 130, stderr);
  assert.match(stderr, /stopping after the current block/);
  assert.equal(w.dataBytes, statSync(out).size - 44, 'the header covers every sample written');
  assert.equal(w.samples.length % 4096, 0);
});

test('kill -9 mid-run leaves a valid WAV too', async () => {
  const { w } = await interrupted('SIGKILL');
  assert.ok(w.samples.length > 0);
});

test('--auditions N: an untrained model (noise) is auditioned N times and told so; the kept take reproduces alone with --auditions 0', () => {
  const r = ok(cli(['synth', '--seconds', '1', '--out', 'au.wav', '--seed', '5', '--auditions', '3', '--json']));
  const j = JSON.parse(r.stdout);
  assert.equal(j.auditions.tried, 3);
  assert.equal(j.auditions.max, 3);
  assert.equal(j.auditions.allNoisy, true);
  assert.equal(j.auditions.allRefused, true);
  assert.equal(j.auditions.openingSeconds, 1);
  assert.equal(j.auditions.flatness.length, 3);
  assert.ok(
    j.auditions.flatness.every((v: number) => v >= 0.85),
    `an untrained model's openings are noise: ${j.auditions.flatness}`,
  );
  assert.ok(
    j.auditions.extraSeconds >= 2 - 1e-9,
    `two openings of 1 s computed and dropped: ${j.auditions.extraSeconds}`,
  );
  const line = r.stderr.split('\n').filter((l) => l.startsWith('auditions:'));
  assert.equal(line.length, 1, r.stderr);
  assert.match(
    line[0],
    new RegExp(
      `all 3 openings were broadband noise; kept the least noisy, candidate ${j.auditions.kept + 1} \\(seed ${j.auditions.keptSeed}; --seed ${j.auditions.keptSeed} --auditions 0 gives it alone\\)\\. This model's texture may be noise`,
    ),
  );
  // the kept candidate alone: the same samples
  const alone = ok(
    cli([
      'synth',
      '--seconds',
      '1',
      '--out',
      'au-alone.wav',
      '--seed',
      String(j.auditions.keptSeed),
      '--auditions',
      '0',
      '--json',
    ]),
  );
  assert.equal(JSON.parse(alone.stdout).auditions, null);
  assert.ok(!alone.stderr.includes('auditions:'), alone.stderr);
  assert.deepEqual(readFileSync(join(dir, 'au-alone.wav')), readFileSync(join(dir, 'au.wav')));
  // the same flags give the same take
  ok(cli(['synth', '--seconds', '1', '--out', 'au2.wav', '--seed', '5', '--auditions', '3']));
  assert.deepEqual(readFileSync(join(dir, 'au2.wav')), readFileSync(join(dir, 'au.wav')));
  for (const bad of ['-1', '2.5', 'x', '65']) {
    const e = cli(['synth', '--out', 'bad.wav', '--auditions', bad]);
    assert.notEqual(e.status, 0);
    assert.match(
      e.stderr,
      new RegExp(`--auditions '${bad}': expected a whole number of candidate openings from 0 \\(off\\) to 64`),
    );
    assert.equal(e.stderr.trim().split('\n').length, 1);
    assert.ok(!existsSync(join(dir, 'bad.wav')));
  }
});

test('bad input fails before any compute with a clear one-line error and leaves no file', () => {
  const cases: [string[], RegExp][] = [
    [['--seconds', '0'], /--seconds '0': expected a positive number of seconds/],
    [['--seconds', '-3'], /--seconds '-3': expected a positive number/],
    [['--seconds', 'abc'], /--seconds 'abc'/],
    [['--seconds', '1e9'], /--seconds 1000000000: at most 86400 seconds/],
    [['--temperature', '-1'], /--temperature '-1'/],
    [['--seed', 'x1'], /--seed 'x1'/],
    [['--sample-rate', '44.1'], /--sample-rate '44.1'/],
    [['--model', 'nope'], /--model nope: no such file or folder/],
    [['--prime', 'missing.flac'], /missing\.flac/],
  ];
  for (const [args, re] of cases) {
    const r = cli(['synth', '--out', 'bad.wav', ...args]);
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.ok(!existsSync(join(dir, 'bad.wav')), `no output file after ${args.join(' ')}`);
  }
  const noOut = cli(['synth', '--seconds', '1']);
  assert.match(noOut.stderr, /--out FILE\.wav is required/);
  const badDir = cli(['synth', '--seconds', '1', '--out', join('no', 'such', 'dir', 'x.wav')]);
  assert.match(badDir.stderr, /x\.wav: cannot write the output file \(its folder does not exist\)/);
  writeFileSync(join(dir, 'garbage.wav'), 'this is not audio at all');
  const badPrime = cli(['synth', '--seconds', '1', '--out', 'bad.wav', '--prime', 'garbage.wav']);
  assert.notEqual(badPrime.status, 0);
  assert.match(badPrime.stderr, /garbage\.wav/);
  assert.ok(!existsSync(join(dir, 'bad.wav')));
});

test('missing, truncated and corrupt checkpoints are clear errors, not crashes', () => {
  const empty = join(dir, 'empty-run');
  mkdirSync(empty);
  const r0 = cli(['synth', '--out', 'bad.wav', '--model', 'empty-run']);
  assert.match(r0.stderr, /no checkpoints in this folder/);
  const bytes = readFileSync(ckpt);
  const trunc = join(dir, 'trunc.safetensors');
  writeFileSync(trunc, bytes);
  truncateSync(trunc, Math.floor(bytes.length / 2));
  const r1 = cli(['synth', '--out', 'bad.wav', '--model', trunc]);
  assert.equal(r1.status, 1, r1.stderr);
  assert.match(r1.stderr, /^wavenet: .*trunc\.safetensors/);
  const corrupt = join(dir, 'corrupt.safetensors');
  const c = Buffer.from(bytes);
  for (let i = c.length - 400; i < c.length - 300; i++) c[i] ^= 0x5a;
  writeFileSync(corrupt, c);
  const r2 = cli(['synth', '--out', 'bad.wav', '--model', corrupt]);
  assert.equal(r2.status, 1, r2.stderr);
  assert.match(r2.stderr, /corrupt/);
  // no runs here: the bundled demo model is used, and the user is told (test/bundled.test.ts covers the rest)
  const noRuns = spawnSync(process.execPath, ['--import', TSX, CLI, 'synth', '--out', 'x.wav', '--seconds', '0.2'], {
    cwd: empty,
    encoding: 'utf8',
  });
  assert.equal(noRuns.status, 0, noRuns.stderr);
  assert.match(noRuns.stderr, /no trained runs under \.\/runs: using the bundled demo model/);
  assert.ok(!existsSync(join(dir, 'bad.wav')));
  void chmodSync;
});

test('bench synth runs on a small model and reports rates, GFLOP/s and the naive speed-up as JSON', () => {
  const r = ok(
    cli([
      'bench',
      'synth',
      ...TINY_MODEL_FLAGS,
      '--batch',
      '2',
      '--seconds',
      '0.1',
      '--repeats',
      '1',
      '--naive-seconds',
      '0.2',
      '--json',
    ]),
  );
  const j = JSON.parse(r.stdout);
  assert.equal(j.batch, 2);
  assert.equal(j.receptiveField, 17);
  assert.ok(j.samplesPerSecondPerStream > 0 && j.samplesPerSecondAggregate === 2 * j.samplesPerSecondPerStream);
  assert.ok(j.gflops > 0);
  assert.equal(j.naive.length, 2);
  assert.ok(j.speedup > 0);
});

test('primeFromFile keeps only the last --prime-seconds of a streamed file (the whole file when shorter)', async () => {
  const { primeFromFile } = await import('../src/synth/synthesizer.js');
  const { decodeFile } = await import('../src/audio/decode.js');
  const { native } = await import('../src/native.js');
  const path = join(dir, 'ramp.wav');
  const w = new WavWriter(path, 16000, 'f32');
  const x = new Float32Array(40000).map((_, i) => Math.sin(i / 50) * (i / 40000));
  w.write(x);
  w.close();
  const full = await decodeFile(path, { rate: 16000 });
  const p1 = await primeFromFile(path, 1);
  assert.equal(p1.length, 16000);
  assert.deepEqual(p1, native().mulawEncode(full.subarray(full.length - 16000)));
  const p9 = await primeFromFile(path, 9);
  assert.equal(p9.length, full.length);
  assert.deepEqual(p9, native().mulawEncode(full));
});
