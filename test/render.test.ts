// `wavenet render` end to end with tiny models through the native batched synthesizer:
// determinism, --count/--job outputs and index, loop seam, normalization, fades, resampling, primes,
// kill -9 and resume, CLI errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paramLayout, type ModelConfig } from '../src/model/config.ts';
import { initParams } from '../src/train/init.ts';
import { saveCheckpoint } from '../src/train/checkpoint.ts';
import { render, readWav16, sha256File, encodeWav16, type RenderOptions } from '../src/render/renderer.ts';
import { planFromCount } from '../src/render/spec.ts';
import { integratedLoudness, peakDbfs } from '../src/render/loudness.ts';
import { mulawDecodeValue } from '../src/audio/mulaw.ts';
import { readIndex } from '../src/render/index-file.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'src', 'cli.ts');
const TSX = import.meta.resolve('tsx'); // absolute, so the CLI can run with another working folder

let dir = '';
let noiseCk = ''; // random weights: noisy textures
let walkCk = ''; // a hand-made model whose output is a smooth random walk over classes

const NOISE: ModelConfig = { dilations: [1, 2, 4, 8], residual: 8, dilation: 8, skip: 16, head: 16, classes: 256 };
const WALK: ModelConfig = { dilations: [1, 2], residual: 4, dilation: 4, skip: 4, head: 4, classes: 256 };

/**
 * Weights of a model whose output is a smooth, mean-reverting random walk over classes: the next class
 * is drawn around m = 190 + a (c - 190), c the current class, from
 * logits[q] = 2k q m - k q^2 = -k (q - m)^2 + const, a Gaussian of sigma 1/sqrt(2k) = 0.5 class at
 * temperature 1: an AR(1) walk that leaves silence (class 128, where every stream starts) within
 * ~0.1 s and then wanders about 8 classes around class 190 (amplitude ~0.06).
 * The current class reaches the head through layer 0's first gate channel:
 * embed -> atanh(0.9 c / 255) -> tanh(.) * sigmoid(20) -> skip -> x 255/0.9 -> h = c.
 */
function walkParams(): Float32Array {
  const c = WALK;
  const p = new Float32Array(paramLayout(c).reduce((a, t) => a + t.size, 0));
  const at = (name: string) => paramLayout(c).find((t) => t.name === name)!;
  const R = c.residual;
  const D = c.dilation;
  const embed = at('input.embed'); // [2][Q][R], [1] is the current class
  for (let q = 0; q < 256; q++) p[embed.offset + (256 + q) * R + 0] = Math.atanh((0.9 * q) / 255);
  const gw = at('layers.0.gate.weight'); // [2D][2R], rows f then g, columns [past; current]
  p[gw.offset + 0 * 2 * R + R + 0] = 1; // f0 = x_cur[0]
  const gb = at('layers.0.gate.bias');
  p[gb.offset + D + 0] = 20; // g0: sigmoid ~ 1
  const sw = at('layers.0.skip.weight'); // [S][D]
  p[sw.offset + 0] = 1;
  const h1 = at('head.1.weight'); // [H][S]
  p[h1.offset + 0] = 255 / 0.9;
  const k = 2;
  const a = 0.998;
  const h2 = at('head.2.weight'); // [Q][H]
  const b2 = at('head.2.bias');
  for (let q = 0; q < 256; q++) {
    p[h2.offset + q * c.head + 0] = 2 * k * a * q;
    p[b2.offset + q] = 2 * k * q * 190 * (1 - a) - k * q * q;
  }
  return p;
}

async function checkpoint(runDir: string, config: ModelConfig, params: Float32Array): Promise<string> {
  const n = params.length;
  return saveCheckpoint({
    runDir,
    config,
    step: 1,
    params,
    adam: { m: new Float32Array(n), v: new Float32Array(n), step: 0 },
    adamParams: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    sampler: { rng: '0'.repeat(32), drawn: 0 },
    training: { window: 32, batch: 1, lr: 1e-3, seed: 1 },
    elapsedSeconds: 0,
    dataset: 'test',
    manifestHash: '0',
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wavenet-render-'));
  noiseCk = await checkpoint(join(dir, 'runs', 'noise'), NOISE, initParams(NOISE, 3));
  walkCk = await checkpoint(join(dir, 'runs', 'walk'), WALK, walkParams());
});
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
}

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function wavs(out: string): string[] {
  return readdirSync(out)
    .filter((f) => f.endsWith('.wav'))
    .sort();
}

async function loadModel(path: string) {
  const { loadCheckpoint } = await import('../src/train/checkpoint.ts');
  const ck = await loadCheckpoint(path);
  return { path, sha256: sha256File(path), step: ck.step, config: ck.config, params: ck.params };
}

function baseOptions(outDir: string, model: Awaited<ReturnType<typeof loadModel>>): Omit<RenderOptions, 'textures'> {
  return {
    outDir,
    model,
    crossfade: 0,
    fadeIn: 0,
    fadeOut: 0,
    normalize: null,
    batch: 8,
    device: 'cpu',
    contactSheet: false,
  };
}

const defaults = { seconds: 0.5, seedBase: 10, temperature: { from: 1, to: 1 }, primes: [] as string[], loop: false };

/** `render --count` from the noise model, 0.5 s each, temperatures 0.8 to 1.2, into `outDir`. */
function renderCount(count: string, seed: string, outDir: string, ...more: string[]) {
  return cli([
    'render',
    '--model',
    noiseCk,
    '--count',
    count,
    '--seconds',
    '0.5',
    '--seed',
    seed,
    '--temperature',
    '0.8..1.2',
    '--out-dir',
    outDir,
    ...more,
  ]);
}

test('--count: named files, a valid index, a contact sheet; same seeds give the same files', () => {
  const a = join(dir, 'count-a');
  const r = renderCount('3', '5', a, '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(wavs(a), ['texture-001.wav', 'texture-002.wav', 'texture-003.wav']);
  const idx = readIndex(join(a, 'index.json'));
  assert.equal(idx.model!.checkpoint, noiseCk);
  assert.equal(idx.model!.sha256, sha(noiseCk));
  assert.deepEqual(
    idx.textures.map((t) => t.seed),
    [5, 6, 7],
  );
  assert.deepEqual(
    idx.textures.map((t) => t.temperature),
    [0.8, 1, 1.2],
  );
  for (const t of idx.textures) {
    const w = readWav16(join(a, t.file));
    assert.equal(w.rate, 16000);
    assert.equal(w.samples.length, 8000);
    assert.equal(t.samples, 8000);
    assert.equal(t.duration, 0.5);
    assert.equal(t.sha256, sha(join(a, t.file)));
    assert.ok(Math.abs(t.peakDbfs! - peakDbfs(w.samples)) < 0.01);
    assert.ok(Math.abs(t.loudnessLufs! - integratedLoudness(w.samples, 16000)) < 0.01);
  }
  assert.equal(out.rendered.length, 3);
  const png = readFileSync(join(a, 'contact-sheet.png'));
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  assert.equal(idx.contactSheet, 'contact-sheet.png');

  // The same command into another folder: identical files. Other seeds: different files.
  const b = join(dir, 'count-b');
  assert.equal(renderCount('3', '5', b).status, 0);
  for (const f of wavs(a)) assert.equal(sha(join(a, f)), sha(join(b, f)), f);
  const c = join(dir, 'count-c');
  assert.equal(renderCount('2', '6', c, '--no-sheet').status, 0);
  assert.notEqual(sha(join(a, 'texture-001.wav')), sha(join(c, 'texture-001.wav')));
  assert.ok(!existsSync(join(c, 'contact-sheet.png')));
});

test('a texture depends neither on the batch it is rendered in nor on the steps per call', async () => {
  const model = await loadModel(noiseCk);
  const textures = planFromCount(5, defaults);
  const one = join(dir, 'batch-1');
  const all = join(dir, 'batch-5');
  const odd = join(dir, 'batch-3-chunk-7');
  await render({ ...baseOptions(one, model), textures, batch: 1 });
  await render({ ...baseOptions(all, model), textures, batch: 5, chunk: 1000 });
  await render({ ...baseOptions(odd, model), textures, batch: 3, chunk: 7 });
  assert.equal(wavs(one).length, 5);
  for (const f of wavs(one)) {
    assert.equal(sha(join(one, f)), sha(join(all, f)), f);
    assert.equal(sha(join(one, f)), sha(join(odd, f)), f);
  }
});

test('--job: named files (subfolders too), per-entry settings, a valid index', () => {
  const jobFile = join(dir, 'job.json');
  writeFileSync(
    jobFile,
    JSON.stringify([
      { name: 'forest', seconds: 0.5, seed: 42, temperature: 0.9 },
      { name: 'beds/river', seconds: 0.75, loop: true },
      { name: 'cave.wav' },
    ]),
  );
  const out = join(dir, 'job-out');
  const r = cli([
    'render',
    '--model',
    noiseCk,
    '--job',
    jobFile,
    '--seconds',
    '0.25',
    '--seed',
    '100',
    '--crossfade',
    '0.1s',
    '--out-dir',
    out,
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(
    existsSync(join(out, 'forest.wav')) &&
      existsSync(join(out, 'beds', 'river.wav')) &&
      existsSync(join(out, 'cave.wav')),
  );
  const idx = readIndex(join(out, 'index.json'));
  assert.deepEqual(
    idx.textures.map((t) => [t.name, t.seed, t.temperature, t.seconds, t.loop, t.samples]),
    [
      ['forest', 42, 0.9, 0.5, false, 8000],
      ['beds/river', 101, 1, 0.75, true, 12000],
      ['cave', 102, 1, 0.25, false, 4000],
    ],
  );
  assert.equal(idx.textures[1].crossfade, 0.1);
});

test('bad job files and flags get one-line errors naming the file, the entry and the field', () => {
  const jobFile = join(dir, 'bad-job.json');
  writeFileSync(jobFile, JSON.stringify([{ name: 'ok' }, { name: '../../etc/evil' }]));
  const r = cli(['render', '--model', noiseCk, '--job', jobFile, '--out-dir', join(dir, 'bad-out')]);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /^wavenet: --job .*bad-job\.json: entry 1: field "name" '\.\.\/\.\.\/etc\/evil': '\.\.' would escape the output folder\n$/,
  );
  assert.ok(!existsSync(join(dir, 'bad-out')), 'nothing is written when the job is invalid');
  writeFileSync(jobFile, JSON.stringify([{ name: 'a', seconds: 'long' }]));
  assert.match(cli(['render', '--model', noiseCk, '--job', jobFile]).stderr, /entry 0 \("a"\): field "seconds"/);
  const flags: [string[], RegExp][] = [
    [['--normalize', 'loud'], /--normalize 'loud'/],
    [['--seconds', '0'], /--seconds '0'/],
    [['--temperature', 'x'], /--temperature 'x'/],
    [['--loop', '--seconds', '1', '--crossfade', '3s'], /--crossfade 3s is longer than texture texture-001/],
    [['--prime', 'missing.wav'], /--prime missing\.wav: no such file/],
    [['--count', '2', '--job', jobFile], /--count and --job cannot be used together/],
  ];
  for (const [args, re] of flags) {
    const x = cli(['render', '--model', noiseCk, ...args]);
    assert.equal(x.status, 1, args.join(' '));
    assert.match(x.stderr, re);
  }
});

test('--loop: the jump across the loop point is an ordinary one (below the 99.9th percentile inside)', async () => {
  const model = await loadModel(walkCk);
  const out = join(dir, 'loop');
  const textures = planFromCount(4, { ...defaults, seconds: 2, loop: true });
  await render({ ...baseOptions(out, model), textures, crossfade: 0.25 });
  const plain = join(dir, 'loop-plain');
  // (raw: the DC blocker would pull the walk's end back towards 0 and hide the wrap's click)
  await render({ ...baseOptions(plain, model), textures: planFromCount(4, { ...defaults, seconds: 2 }), raw: true });
  let plainClicks = 0;
  for (const f of wavs(out)) {
    const x = readWav16(join(out, f)).samples;
    assert.equal(x.length, 32000);
    const jumps = Array.from({ length: x.length - 1 }, (_, i) => Math.abs(x[i + 1] - x[i])).sort((a, b) => a - b);
    const p999 = jumps[Math.floor(0.999 * jumps.length)];
    const seam = Math.abs(x[0] - x[x.length - 1]);
    assert.ok(seam <= p999, `${f}: seam jump ${seam} above the 99.9th percentile ${p999}`);
    // The same texture without --loop clicks when looped (it starts from silence and ends near class
    // 190), so this measure does catch a click, e.g. a crossfade folded the wrong way round.
    const y = readWav16(join(plain, f)).samples;
    const yj = Array.from({ length: y.length - 1 }, (_, i) => Math.abs(y[i + 1] - y[i])).sort((a, b) => a - b);
    if (Math.abs(y[0] - y[y.length - 1]) > yj[Math.floor(0.999 * yj.length)]) plainClicks++;
  }
  assert.equal(plainClicks, 4, 'every unlooped walk clicks at the wrap');
});

test('--normalize: peak and loudness targets within 0.5 dB, measured on the written files', async () => {
  const model = await loadModel(noiseCk);
  const textures = planFromCount(3, { ...defaults, seconds: 2 });
  const peak = join(dir, 'norm-peak');
  await render({ ...baseOptions(peak, model), textures, normalize: { kind: 'peak', db: -1 } });
  const lufs = join(dir, 'norm-lufs');
  await render({ ...baseOptions(lufs, model), textures, normalize: { kind: 'lufs', lufs: -20 } });
  const ip = readIndex(join(peak, 'index.json'));
  const il = readIndex(join(lufs, 'index.json'));
  for (let i = 0; i < 3; i++) {
    const p = readWav16(join(peak, ip.textures[i].file)).samples;
    assert.ok(Math.abs(peakDbfs(p) - -1) < 0.5, `peak ${peakDbfs(p)}`);
    assert.ok(Math.abs(ip.textures[i].peakDbfs! - -1) < 0.01);
    const l = readWav16(join(lufs, il.textures[i].file)).samples;
    assert.ok(peakDbfs(l) <= -1 + 0.01, `peak of a loudness-normalized texture ${peakDbfs(l)}`);
    const rec = il.textures[i];
    if (!rec.limited)
      assert.ok(Math.abs(integratedLoudness(l, 16000) - -20) < 0.5, `loudness ${integratedLoudness(l, 16000)}`);
    else assert.ok(rec.limiterReductionDb > 0 && integratedLoudness(l, 16000) < -20 + 0.5);
    assert.ok(Math.abs(rec.loudnessLufs! - integratedLoudness(l, 16000)) < 0.01);
    assert.equal(rec.normalize, '-20LUFS');
  }
});

test('--fade-in/--fade-out start and end exactly at silence; --sample-rate resamples', async () => {
  const model = await loadModel(noiseCk);
  const out = join(dir, 'fades');
  await render({
    ...baseOptions(out, model),
    textures: planFromCount(2, defaults),
    fadeIn: 0.1,
    fadeOut: 0.1,
    sampleRate: 44100,
    resample: (await import('../src/audio/decode.ts')).resample,
  });
  for (const f of wavs(out)) {
    const w = readWav16(join(out, f));
    assert.equal(w.rate, 44100);
    assert.equal(w.samples.length, 22050);
    assert.equal(w.samples[0], 0);
    assert.equal(w.samples[w.samples.length - 1], 0);
    assert.ok(Math.abs(w.samples[1]) < 1e-3 && Math.abs(w.samples[w.samples.length - 2]) < 1e-3);
    assert.ok(peakDbfs(w.samples.subarray(5000, 17000)) > -40, 'the middle is not silent');
  }
});

test('--prime: primed streams continue from the end of their (round-robin) prime file', async () => {
  const model = await loadModel(walkCk);
  // Two constant primes at the levels of mu-law classes 40 and 220; the walk continues from there.
  const primeFile = (name: string, cls: number) => {
    const p = join(dir, name);
    writeFileSync(p, encodeWav16(new Float32Array(4000).fill(mulawDecodeValue(cls)), 16000).bytes);
    return p;
  };
  const lo = primeFile('lo.wav', 40);
  const hi = primeFile('hi.wav', 220);
  const out = join(dir, 'primed');
  const textures = planFromCount(4, { ...defaults, primes: [lo, hi] });
  textures[3].prime = null; // one unprimed texture in the mix
  await render({
    ...baseOptions(out, model),
    textures,
    decodePrime: async (p, rate) => (await import('../src/audio/decode.ts')).decodeFile(p, { rate }),
  });
  const idx = readIndex(join(out, 'index.json'));
  assert.deepEqual(
    idx.textures.map((t) => t.prime),
    [lo, hi, lo, null],
  );
  assert.equal(idx.textures[0].primeSha256, sha(lo));
  const first = (f: string) => readWav16(join(out, f)).samples[0];
  const near = (v: number, cls: number) =>
    Math.abs(v - mulawDecodeValue(cls)) < Math.abs(mulawDecodeValue(cls + 12) - mulawDecodeValue(cls));
  assert.ok(near(first('texture-001.wav'), 40), `starts at ${first('texture-001.wav')}`);
  assert.ok(near(first('texture-002.wav'), 220));
  assert.ok(near(first('texture-003.wav'), 40));
  assert.ok(near(first('texture-004.wav'), 128), 'unprimed starts from silence');
});

/** Runs the CLI, returns when it exits (code, signal). */
function runAsync(args: string[], env: Record<string, string> = {}, onSpawn?: (p: ReturnType<typeof spawn>) => void) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr!.on('data', (d) => (stderr += d));
    onSpawn?.(p);
    p.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

test('kill -9 at every step of finishing a texture, then resume: complete, identical files', async () => {
  const args = (out: string) => [
    'render',
    '--model',
    noiseCk,
    '--count',
    '4',
    '--batch',
    '1',
    '--seconds',
    '0.5',
    '--out-dir',
    out,
    '--no-sheet',
  ];
  const ref = join(dir, 'resume-ref');
  assert.equal((await runAsync(args(ref))).code, 0);
  for (const phase of ['wav-partial', 'after-wav', 'after-index']) {
    const out = join(dir, `resume-${phase}`);
    const killed = await runAsync(args(out), { WAVENET_TEST_RENDER_CRASH: `3:${phase}` });
    assert.equal(killed.signal, 'SIGKILL', `${phase}: ${killed.stderr}`);
    const idx = readIndex(join(out, 'index.json'));
    // only complete textures are listed, and what is listed is complete
    assert.deepEqual(
      idx.textures.map((t) => t.name),
      phase === 'after-index' ? ['texture-001', 'texture-002', 'texture-003'] : ['texture-001', 'texture-002'],
    );
    for (const t of idx.textures) assert.equal(sha(join(out, t.file)), t.sha256);
    if (phase === 'wav-partial') {
      assert.ok(!existsSync(join(out, 'texture-003.wav')), 'no truncated file under the final name');
      assert.ok(
        readdirSync(out).some((f) => f.startsWith('.texture-003.wav.tmp-')),
        'the partial file is a temporary',
      );
    }
    const before = Object.fromEntries(idx.textures.map((t) => [t.name, statSync(join(out, t.file)).mtimeMs]));
    const resumed = await runAsync([...args(out), '--json'], {});
    assert.equal(resumed.code, 0, resumed.stderr);
    const done = readIndex(join(out, 'index.json'));
    assert.equal(done.textures.length, 4);
    for (const t of idx.textures)
      assert.equal(statSync(join(out, t.file)).mtimeMs, before[t.name], `${t.name} was skipped, not redone`);
    for (const f of wavs(ref)) assert.equal(sha(join(out, f)), sha(join(ref, f)), `${phase}: ${f}`);
    assert.ok(!readdirSync(out).some((f) => f.includes('.tmp-')), 'temporaries are cleaned up');
  }
});

test('kill -9 from outside mid-render, then resume', async () => {
  const out = join(dir, 'resume-ext');
  const args = [
    'render',
    '--model',
    noiseCk,
    '--count',
    '6',
    '--batch',
    '2',
    '--seconds',
    '20',
    '--out-dir',
    out,
    '--no-sheet',
  ];
  const killed = await runAsync(args, {}, (p) => {
    const poll = setInterval(() => {
      try {
        if (readIndex(join(out, 'index.json')).textures.length >= 2) {
          clearInterval(poll);
          p.kill('SIGKILL');
        }
      } catch {
        /* not there yet */
      }
    }, 10);
    p.on('exit', () => clearInterval(poll));
  });
  assert.equal(killed.signal, 'SIGKILL', 'the render finished before it could be killed; make it longer');
  const partial = readIndex(join(out, 'index.json'));
  assert.ok(partial.textures.length >= 2 && partial.textures.length < 6);
  for (const t of partial.textures) assert.equal(sha(join(out, t.file)), t.sha256);
  const resumed = await runAsync([...args, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const idx = readIndex(join(out, 'index.json'));
  assert.equal(idx.textures.length, 6);
  for (const t of idx.textures) assert.equal(sha(join(out, t.file)), t.sha256);
  assert.deepEqual(wavs(out), [
    'texture-001.wav',
    'texture-002.wav',
    'texture-003.wav',
    'texture-004.wav',
    'texture-005.wav',
    'texture-006.wav',
  ]);
});

test('Ctrl-C stops after the current step, keeps finished textures and says how to resume', async () => {
  const out = join(dir, 'sigint');
  const args = ['render', '--model', noiseCk, '--count', '4', '--batch', '1', '--seconds', '20', '--out-dir', out];
  const r = await runAsync(args, {}, (p) => {
    const poll = setInterval(() => {
      try {
        if (readIndex(join(out, 'index.json')).textures.length >= 1) {
          clearInterval(poll);
          p.kill('SIGINT');
        }
      } catch {
        /* not there yet */
      }
    }, 10);
    p.on('exit', () => clearInterval(poll));
  });
  assert.equal(r.code, 130, r.stderr);
  assert.match(
    r.stderr,
    /render interrupted: \d of 4 textures are complete in .*; run the same command again to finish the rest/,
  );
  const idx = readIndex(join(out, 'index.json'));
  assert.ok(idx.textures.length >= 1 && idx.textures.length < 4);
  for (const t of idx.textures) assert.equal(sha(join(out, t.file)), t.sha256);
  assert.ok(!readdirSync(out).some((f) => f.includes('.tmp-')));
  assert.ok(!existsSync(join(out, 'contact-sheet.png')), 'no sheet for an interrupted render');
});

test('changing a setting redoes the affected textures; a foreign index.json is refused', async () => {
  const model = await loadModel(noiseCk);
  const out = join(dir, 'changed');
  const textures = planFromCount(2, defaults);
  const r1 = await render({ ...baseOptions(out, model), textures });
  assert.deepEqual(r1.rendered, ['texture-001', 'texture-002']);
  const r2 = await render({ ...baseOptions(out, model), textures });
  assert.deepEqual(r2.skipped, ['texture-001', 'texture-002']);
  assert.equal(r2.rendered.length, 0);
  textures[1].temperature = 0.5;
  const r3 = await render({ ...baseOptions(out, model), textures });
  assert.deepEqual(r3.rendered, ['texture-002']);
  // a damaged WAV is redone
  writeFileSync(join(out, 'texture-001.wav'), 'garbage');
  const r4 = await render({ ...baseOptions(out, model), textures });
  assert.deepEqual(r4.rendered, ['texture-001']);
  // another live render holds the folder: refused; a lock left by a killed one is taken over
  writeFileSync(join(out, '.render.lock'), String(process.ppid));
  await assert.rejects(
    render({ ...baseOptions(out, model), textures }),
    /in use by another `wavenet render` \(pid \d+\)/,
  );
  writeFileSync(join(out, '.render.lock'), '999999999');
  assert.deepEqual((await render({ ...baseOptions(out, model), textures })).skipped.length, 2);
  assert.ok(!existsSync(join(out, '.render.lock')), 'the lock is released');
  writeFileSync(join(dir, 'a-file'), 'x');
  await assert.rejects(
    render({ ...baseOptions(join(dir, 'a-file'), model), textures }),
    /--out-dir .*a-file: exists and is not a folder/,
  );
  const foreign = join(dir, 'foreign');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'index.json'), '{"hello": 1}');
  await assert.rejects(
    render({ ...baseOptions(foreign, model), textures }),
    /index\.json exists but is not a wavenet render index/,
  );
});
