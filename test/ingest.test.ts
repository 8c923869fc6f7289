/**
 * `wavenet ingest` end to end on audio generated with ffmpeg: formats, rates, channels and bit depths,
 * exact durations, frequencies, the resampler's low-pass, equal-weight downmix, chunking, the split,
 * silence trimming, rejected inputs, and the no-ffmpeg WAV path (WAVENET_FFMPEG=none).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingest, splitKey, type IngestResult } from '../src/dataset/ingest.js';
import { readManifest, manifestHash } from '../src/dataset/manifest.js';
import { decodeFile, resample, SincResampler } from '../src/audio/decode.js';
import { resetFfmpegCache } from '../src/audio/ffmpeg.js';
import { parseDuration, parseTrimSilence } from '../src/dataset/options.js';
import {
  FFMPEG,
  genAudio,
  rmDir,
  rms,
  sourceSignal,
  tmpDir,
  toneAmplitude,
  zeroCrossingFrequency,
  type Container,
  type Depth,
} from './helpers/audio.js';
import { lavfi } from './helpers/lavfi.js';

const noFfmpeg = FFMPEG ? false : 'ffmpeg is not installed: cannot generate test audio';
let work: string;

before(() => {
  work = tmpDir();
});
after(() => rmDir(work));

/** Run with the decoder choice: 'ffmpeg' (normal lookup) or 'none' (WAVENET_FFMPEG=none). */
async function withDecoder<T>(which: 'ffmpeg' | 'none', fn: () => Promise<T>): Promise<T> {
  const old = process.env.WAVENET_FFMPEG;
  if (which === 'none') process.env.WAVENET_FFMPEG = 'none';
  else delete process.env.WAVENET_FFMPEG;
  resetFfmpegCache();
  try {
    return await fn();
  } finally {
    if (old === undefined) delete process.env.WAVENET_FFMPEG;
    else process.env.WAVENET_FFMPEG = old;
    resetFfmpegCache();
  }
}

async function run(
  inputs: string[],
  out: string,
  extra: Partial<Parameters<typeof ingest>[0]> = {},
): Promise<IngestResult & { messages: string[] }> {
  const messages: string[] = [];
  const r = await ingest({ inputs, out, jobs: 2, onMessage: (l) => messages.push(l), ...extra });
  return { ...r, messages };
}

test('option parsing: durations and silence levels', () => {
  assert.equal(parseDuration('16s', '--chunk'), 16);
  assert.equal(parseDuration('500ms', '--chunk'), 0.5);
  assert.equal(parseDuration('2m', '--chunk'), 120);
  assert.equal(parseDuration('2.5', '--chunk'), 2.5);
  assert.throws(() => parseDuration('abc', '--chunk'), /--chunk abc: expected a duration/);
  assert.throws(() => parseDuration('0s', '--chunk'), /longer than 0/);
  assert.equal(parseTrimSilence('off'), null);
  assert.equal(parseTrimSilence('-50dB'), -50);
  assert.equal(parseTrimSilence('-42.5 dB'), -42.5);
  assert.throws(() => parseTrimSilence('10dB'), /below 0 dB/);
  assert.throws(() => parseTrimSilence('loud'), /expected off or a level/);
});

test('every container, rate, channel count and bit depth: exact duration, frequency kept', {
  skip: noFfmpeg,
}, async () => {
  const dir = join(work, 'matrix');
  mkdirSync(dir);
  const variants: { c: Container; d: Depth }[] = [
    { c: 'wav', d: 's16' },
    { c: 'wav', d: 's24' },
    { c: 'wav', d: 'f32' },
    { c: 'flac', d: 's16' },
    { c: 'flac', d: 's24' },
    { c: 'mp3', d: 's16' },
    { c: 'ogg', d: 's16' },
  ];
  const seconds = 1.5;
  const expect = new Map<string, { rate: number; channels: number }>();
  for (const rate of [8000, 22050, 44100, 48000]) {
    for (const channels of [1, 2]) {
      for (const v of variants) {
        const name = `tone_${rate}_${channels}ch_${v.d}.${v.c}`;
        const tone = '0.5*sin(2*PI*1000*t)';
        // stereo: the same tone in both channels, so the mix keeps amplitude 0.5
        genAudio(join(dir, name), {
          channels: channels === 1 ? [tone] : [tone, tone],
          rate,
          seconds,
          container: v.c,
          depth: v.d,
        });
        expect.set(name, { rate, channels });
      }
    }
  }
  const out = join(work, 'ds-matrix');
  const r = await run([dir], out, { val: 0 });
  assert.deepEqual(r.run.rejected, [], r.messages.join('\n'));
  const m = readManifest(out);
  assert.equal(m.sources.length, expect.size);
  for (const [i, s] of m.sources.entries()) {
    const name = s.path.split('/').pop()!;
    const e = expect.get(name)!;
    assert.equal(s.sampleRate, e.rate, name);
    assert.equal(s.channels, e.channels, name);
    const x = sourceSignal(out, m, i);
    // duration exact to within a few samples at 16 kHz
    assert.ok(Math.abs(x.length - seconds * 16000) <= 3, `${name}: ${x.length} samples, expected ${seconds * 16000}`);
    assert.ok(Math.abs(s.durationSeconds - seconds) < 3 / 16000, `${name}: duration ${s.durationSeconds}`);
    const f = zeroCrossingFrequency(x, 16000);
    assert.ok(Math.abs(f - 1000) < 2, `${name}: frequency ${f.toFixed(2)} Hz`);
    const a = toneAmplitude(x.subarray(1600, x.length - 1600), 1000, 16000);
    assert.ok(Math.abs(a - 0.5) < 0.03, `${name}: amplitude ${a.toFixed(3)}`);
  }
  const codecs = new Set(m.sources.map((s) => s.codec));
  for (const c of ['pcm_s16le', 'pcm_s24le', 'pcm_f32le', 'flac', 'mp3', 'vorbis'])
    assert.ok(codecs.has(c), `codec ${c} in ${[...codecs]}`);
});

test('noise sources in every container ingest with the right length and level', { skip: noFfmpeg }, async () => {
  const dir = join(work, 'noise');
  mkdirSync(dir);
  for (const c of ['wav', 'flac', 'mp3', 'ogg'] as Container[])
    genAudio(join(dir, `noise.${c}`), { noise: 0.3, noiseChannels: 2, rate: 44100, seconds: 2, container: c });
  const out = join(work, 'ds-noise');
  const r = await run([dir], out);
  assert.equal(r.run.added, 4, r.messages.join('\n'));
  const m = readManifest(out);
  for (let i = 0; i < 4; i++) {
    const x = sourceSignal(out, m, i);
    assert.ok(Math.abs(x.length - 32000) <= 3, `${m.sources[i].path}: ${x.length}`);
    // white noise with |x| <= 0.3 has RMS 0.3/sqrt(3) = 0.173; the 16 kHz low-pass keeps 16/44.1 of its power
    const want = (0.3 / Math.sqrt(3)) * Math.sqrt(16000 / 44100);
    assert.ok(
      Math.abs(rms(x) - want) < 0.2 * want,
      `${m.sources[i].path}: rms ${rms(x).toFixed(4)} vs ${want.toFixed(4)}`,
    );
  }
});

for (const which of ['ffmpeg', 'none'] as const) {
  test(`resampling to 16 kHz keeps 7 kHz and removes 10 kHz (decoder: ${which})`, { skip: noFfmpeg }, async () => {
    const f = genAudio(join(work, `hf-${which}.wav`), {
      channels: ['0.4*sin(2*PI*7000*t)+0.4*sin(2*PI*10000*t)'],
      rate: 44100,
      seconds: 2,
      depth: 'f32',
    });
    await withDecoder(which, async () => {
      const x = await decodeFile(f, { rate: 16000 });
      assert.ok(Math.abs(x.length - 32000) <= 2, `length ${x.length}`);
      const mid = x.subarray(2000, 30000);
      const a7 = toneAmplitude(mid, 7000, 16000);
      const a6 = toneAmplitude(mid, 6000, 16000); // where 10 kHz would alias
      assert.ok(Math.abs(a7 - 0.4) < 0.02, `7 kHz amplitude ${a7}`);
      assert.ok(a6 < 0.4 * 1e-3, `10 kHz leaks as 6 kHz with amplitude ${a6} (> -60 dB)`);
      // and resample() of a signal in memory does the same
      const y = await resample(await decodeFile(f, { rate: 44100 }), 44100, 16000);
      assert.ok(Math.abs(y.length - 32000) <= 2, `resample length ${y.length}`);
      assert.ok(Math.abs(toneAmplitude(y.subarray(2000, 30000), 7000, 16000) - 0.4) < 0.02);
      assert.ok(toneAmplitude(y.subarray(2000, 30000), 6000, 16000) < 0.4e-3);
    });
  });

  test(`stereo is mixed with equal weights (decoder: ${which})`, { skip: noFfmpeg }, async () => {
    const opposite = genAudio(join(work, `opp-${which}.wav`), {
      channels: ['0.5*sin(2*PI*440*t)', '-0.5*sin(2*PI*440*t)'],
      rate: 16000,
      seconds: 1,
      depth: 'f32',
    });
    const left = genAudio(join(work, `left-${which}.wav`), {
      channels: ['0.5*sin(2*PI*440*t)', '0'],
      rate: 48000,
      seconds: 1,
      depth: 's24',
    });
    const three = genAudio(join(work, `three-${which}.wav`), {
      channels: ['0.6', '0', '0'],
      rate: 16000,
      seconds: 1,
      depth: 'f32',
    });
    await withDecoder(which, async () => {
      const a = await decodeFile(opposite, { rate: 16000 });
      assert.ok(Math.max(...a.map(Math.abs)) < 1e-6, 'L = +a, R = -a must cancel');
      const b = await decodeFile(left, { rate: 16000 });
      const amp = toneAmplitude(b.subarray(1000, 15000), 440, 16000);
      assert.ok(Math.abs(amp - 0.25) < 0.005, `left only: amplitude ${amp}, expected half of 0.5`);
      const c = await decodeFile(three, { rate: 16000 });
      const mean = c.subarray(100, 15900).reduce((s, v) => s + v, 0) / 15800;
      assert.ok(Math.abs(mean - 0.2) < 1e-3, `3 channels (0.6, 0, 0) mix to ${mean}, expected 0.2`);
    });
  });
}

test('no ffmpeg (WAVENET_FFMPEG=none): PCM and float WAV at any rate and depth; other formats rejected with a reason', {
  skip: noFfmpeg,
}, async () => {
  const dir = join(work, 'plainwav');
  mkdirSync(dir);
  let n = 0;
  for (const rate of [8000, 22050, 44100, 48000]) {
    for (const depth of ['s16', 's24', 'f32'] as Depth[]) {
      const ch = n % 2 === 0 ? ['0.5*sin(2*PI*1000*t)'] : ['0.5*sin(2*PI*1000*t)', '0.5*sin(2*PI*1000*t)'];
      genAudio(join(dir, `w_${rate}_${depth}_${ch.length}.wav`), { channels: ch, rate, seconds: 1.25, depth });
      n++;
    }
  }
  const mp3 = genAudio(join(work, 'x.mp3'), { rate: 44100, seconds: 1, container: 'mp3' });
  const out = join(work, 'ds-plainwav');
  const r = await withDecoder('none', () => run([dir, mp3], out));
  assert.equal(r.run.added, n, r.messages.join('\n'));
  assert.equal(r.run.decoder, 'built-in WAV reader (no ffmpeg)');
  assert.equal(r.run.rejected.length, 1);
  assert.equal(r.run.rejected[0].path, mp3);
  assert.match(r.run.rejected[0].reason, /not a WAV file.*ffmpeg/);
  assert.ok(
    r.messages.some((l) => l.includes(mp3) && /not a WAV/.test(l)),
    'one stderr line names the mp3',
  );
  const m = readManifest(out);
  for (const [i, s] of m.sources.entries()) {
    const x = sourceSignal(out, m, i);
    assert.ok(Math.abs(x.length - 20000) <= 2, `${s.path}: ${x.length}`);
    const f = zeroCrossingFrequency(x, 16000);
    assert.ok(Math.abs(f - 1000) < 2, `${s.path}: ${f}`);
    assert.ok(Math.abs(toneAmplitude(x.subarray(1600, 18400), 1000, 16000) - 0.5) < 0.03, s.path);
  }
});

test('the streaming sinc resampler gives the same result however the input is split', () => {
  const x = new Float32Array(10000);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.05) * 0.5 + ((i * 7919) % 13) / 100;
  const whole = new SincResampler(22050, 16000);
  const a = [...whole.push(x), ...whole.flush()];
  const parts = new SincResampler(22050, 16000);
  const b: number[] = [];
  for (let o = 0; o < x.length; o += 333) b.push(...parts.push(x.subarray(o, o + 333)));
  b.push(...parts.flush());
  assert.equal(a.length, Math.ceil((x.length * 16000) / 22050));
  assert.equal(b.length, a.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-6, `sample ${i}`);
});

test('chunking: full chunks, a remainder of at least 1 s, whole short files; --chunk units', {
  skip: noFfmpeg,
}, async () => {
  const dir = join(work, 'chunking');
  mkdirSync(dir);
  genAudio(join(dir, 'a40.wav'), { rate: 16000, seconds: 40 }); // 16 + 16 + 8
  genAudio(join(dir, 'b32_5.wav'), { rate: 16000, seconds: 32.5 }); // 16 + 16, 0.5 s tail dropped
  genAudio(join(dir, 'c0_4.wav'), { rate: 16000, seconds: 0.4 }); // whole file, shorter than 1 s
  genAudio(join(dir, 'd5.wav'), { rate: 16000, seconds: 5 }); // one shorter chunk
  const out = join(work, 'ds-chunking');
  await run([dir], out, { chunkSeconds: parseDuration('16s', '--chunk') });
  const m = readManifest(out);
  assert.equal(m.chunkSamples, 256000);
  const by = (name: string) => {
    const i = m.sources.findIndex((s) => s.path.endsWith(name));
    return m.chunks.filter((c) => c.source === i).map((c) => [c.offset, c.samples]);
  };
  assert.deepEqual(by('a40.wav'), [
    [0, 256000],
    [256000, 256000],
    [512000, 128000],
  ]);
  assert.deepEqual(by('b32_5.wav'), [
    [0, 256000],
    [256000, 256000],
  ]);
  assert.deepEqual(by('c0_4.wav'), [[0, 6400]]);
  assert.deepEqual(by('d5.wav'), [[0, 80000]]);
  for (const c of m.chunks) assert.equal(readFileSync(join(out, 'chunks', c.file)).length, c.samples);
  // other units
  const out2 = join(work, 'ds-chunking-ms');
  await run([join(dir, 'd5.wav')], out2, { chunkSeconds: parseDuration('500ms', '--chunk') });
  const m2 = readManifest(out2);
  assert.equal(m2.chunkSamples, 8000);
  assert.equal(m2.chunks.length, 10);
});

test('split: deterministic from content, the fraction asked for, at least one validation chunk', {
  skip: noFfmpeg,
}, async () => {
  const f = genAudio(join(work, 'split.wav'), { noise: 0.2, rate: 16000, seconds: 30 });
  const a = join(work, 'ds-split-a');
  const b = join(work, 'ds-split-b');
  await run([f], a, { chunkSeconds: 1, val: 0.1 });
  await run([f], b, { chunkSeconds: 1, val: 0.1 });
  const ma = readManifest(a);
  const mb = readManifest(b);
  assert.equal(ma.chunks.length, 30);
  assert.deepEqual(
    ma.chunks.map((c) => c.split),
    mb.chunks.map((c) => c.split),
  );
  // one source: split by chunk, the 3 chunks (10 % of 30) first in hash order
  const keys = ma.chunks.map((c) => splitKey(ma.sources[0].sha256, c.offset));
  const third = [...keys].sort((x, y) => x - y)[2];
  assert.deepEqual(
    ma.chunks.map((c) => c.split),
    keys.map((k) => (k <= third ? 'val' : 'train')),
  );
  assert.ok(ma.chunks.some((c) => c.split === 'val'));
  // two chunks, tiny fraction: still one validation chunk
  const two = genAudio(join(work, 'two.wav'), { noise: 0.2, rate: 16000, seconds: 2 });
  const c = join(work, 'ds-split-c');
  await run([two], c, { chunkSeconds: 1, val: 0.001 });
  const mc = readManifest(c);
  assert.deepEqual(mc.chunks.map((x) => x.split).sort(), ['train', 'val']);
});

test('--trim-silence -50dB trims leading and trailing silence only; off keeps it', { skip: noFfmpeg }, async () => {
  const f = genAudio(join(work, 'padded.wav'), {
    channels: ['if(between(t,1,3), 0.5*sin(2*PI*500*t)*(0.5+0.5*between(t,1.5,1.6)), 0.0001*sin(2*PI*50*t))'],
    rate: 16000,
    seconds: 4,
    depth: 'f32',
  });
  const on = join(work, 'ds-trim');
  await run([f], on, { trimSilenceDb: -50 });
  const m = readManifest(on);
  const x = sourceSignal(on, m, 0);
  assert.ok(Math.abs(x.length - 32000) < 40, `trimmed to ${x.length} samples, expected about 2 s`);
  const off = join(work, 'ds-notrim');
  await run([f], off);
  assert.equal(sourceSignal(off, readManifest(off), 0).length, 64000);
  assert.equal(m.trimSilenceDb, -50);
  await assert.rejects(run([f], on, { trimSilenceDb: -40 }), /--trim-silence: the dataset .* was made with -50dB/);
});

test('idempotence and appending', { skip: noFfmpeg }, async () => {
  const dir = join(work, 'idem');
  mkdirSync(dir);
  genAudio(join(dir, 'one.flac'), { noise: 0.2, rate: 22050, seconds: 3, container: 'flac' });
  genAudio(join(dir, 'two.mp3'), { rate: 44100, seconds: 2, container: 'mp3' });
  const out = join(work, 'ds-idem');
  const r1 = await run([dir], out, { chunkSeconds: 1 });
  assert.equal(r1.run.added, 2);
  const h1 = manifestHash(out);
  const files1 = readdirSync(join(out, 'chunks')).sort();
  const bytes1 = files1.map((f) => readFileSync(join(out, 'chunks', f)).toString('hex'));
  const r2 = await run([dir], out);
  assert.equal(r2.run.added, 0);
  assert.equal(r2.run.skipped.length, 2);
  assert.ok(r2.ingestedAny, 'files already in the dataset count as ingested');
  assert.equal(manifestHash(out), h1, 'a rerun must not change the manifest');
  assert.deepEqual(readdirSync(join(out, 'chunks')).sort(), files1);
  assert.deepEqual(
    files1.map((f) => readFileSync(join(out, 'chunks', f)).toString('hex')),
    bytes1,
  );
  // append a new file (and the same content under another name, which is skipped)
  const m1 = readManifest(out);
  genAudio(join(dir, 'three.ogg'), { rate: 48000, seconds: 2.5, container: 'ogg' });
  writeFileSync(join(dir, 'one-copy.flac'), readFileSync(join(dir, 'one.flac')));
  const r3 = await run([dir], out);
  assert.equal(r3.run.added, 1);
  assert.deepEqual(r3.run.skipped.map((s) => s.path.split('/').pop()).sort(), ['one-copy.flac', 'one.flac', 'two.mp3']);
  const m3 = readManifest(out);
  assert.deepEqual(m3.rejected, [
    { path: join(dir, 'one-copy.flac'), reason: `duplicate: same content as ${join(dir, 'one.flac')}` },
  ]);
  assert.equal(m3.sources.length, 3);
  assert.deepEqual(m3.sources.slice(0, 2), m1.sources, 'existing sources unchanged');
  assert.deepEqual(m3.chunks.slice(0, m1.chunks.length), m1.chunks, 'existing chunks unchanged');
  assert.ok(m3.sources[2].path.endsWith('three.ogg'));
  // a different rate for an existing dataset is refused
  await assert.rejects(run([dir], out, { rate: 22050 }), /--rate 22050: the dataset .* is at 16000 Hz/);
});

test('bad inputs: each rejected with one line and a reason; the others still ingested', {
  skip: noFfmpeg,
}, async () => {
  const dir = join(work, 'bad');
  mkdirSync(dir);
  const good = genAudio(join(dir, 'good.wav'), { rate: 16000, seconds: 1 });
  const empty = join(dir, 'empty.wav');
  writeFileSync(empty, '');
  const full = genAudio(join(work, 'full.wav'), { rate: 16000, seconds: 2 });
  const truncWav = join(dir, 'truncated.wav');
  writeFileSync(truncWav, readFileSync(full).subarray(0, 20000));
  const fullFlac = genAudio(join(work, 'full.flac'), { noise: 0.3, rate: 44100, seconds: 3, container: 'flac' });
  const truncFlac = join(dir, 'truncated.flac');
  writeFileSync(truncFlac, readFileSync(fullFlac).subarray(0, Math.floor(readFileSync(fullFlac).length / 2)));
  const text = join(dir, 'notes.mp3');
  writeFileSync(text, 'this is not audio at all, just some text\n'.repeat(20));
  const noAudio = join(dir, 'image.mkv');
  const emptyFolder = join(work, 'empty-folder');
  mkdirSync(emptyFolder);
  writeFileSync(join(emptyFolder, 'readme.txt'), 'no audio here');
  const missing = join(work, 'does-not-exist.wav');
  const unreadable = join(dir, 'unreadable.wav');
  genAudio(unreadable, { rate: 16000, seconds: 1.5 });
  chmodSync(unreadable, 0o000);
  const asRoot = process.getuid?.() === 0; // root reads anything: the file then simply ingests
  lavfi(FFMPEG!, 'color=c=red:s=32x32:d=1', ['-c:v', 'ffv1', noAudio]);

  const out = join(work, 'ds-bad');
  // this test starts ffmpeg directly; the others go through the launcher shell (src/audio/ffmpeg.ts)
  process.env.WAVENET_FFMPEG_LAUNCHER = '0';
  const r = await run([dir, emptyFolder, missing], out).finally(() => delete process.env.WAVENET_FFMPEG_LAUNCHER);
  const reasons = new Map(r.run.rejected.map((x) => [x.path, x.reason]));
  assert.match(reasons.get(empty) ?? '', /empty file/);
  assert.match(reasons.get(truncWav) ?? '', /truncated/);
  assert.match(reasons.get(truncFlac) ?? '', /corrupt or truncated|truncated/);
  assert.match(reasons.get(text) ?? '', /not audio/);
  assert.match(reasons.get(noAudio) ?? '', /no audio stream/);
  assert.match(reasons.get(emptyFolder) ?? '', /no audio files/);
  assert.match(reasons.get(missing) ?? '', /no such file/);
  if (!asRoot) assert.match(reasons.get(unreadable) ?? '', /permission denied/);
  for (const [p] of reasons) assert.equal(r.messages.filter((l) => l.includes(p)).length, 1, `one line for ${p}`);
  const m = readManifest(out);
  // every input path is in sources or rejected
  const inputs = [...readdirSync(dir).map((f) => join(dir, f)), emptyFolder, missing];
  const sources = new Set(m.sources.map((s) => s.path));
  const rejected = new Set(m.rejected.map((s) => s.path));
  for (const p of inputs)
    assert.ok(sources.has(p) !== rejected.has(p), `${p} must be in exactly one of sources/rejected`);
  assert.ok(sources.has(good));
  chmodSync(unreadable, 0o644);
});

test('info DIR --json gives the same summary as ingest --json', { skip: noFfmpeg }, async () => {
  const { datasetDescriber } = await import('../src/info/dataset.js');
  const f = genAudio(join(work, 'info.wav'), { rate: 16000, seconds: 3 });
  const out = join(work, 'ds-info');
  const r = await run([f], out);
  assert.ok(datasetDescriber.matches(out));
  const d = await datasetDescriber.describe(out);
  assert.deepEqual(d.json, r.summary);
  assert.match(d.text, /sources: +1 \(pcm_s16le 1\)/);
});

test('the table mu-law encoder equals the reference for every kind of value, and the native codec within one class', async () => {
  const { mulawEncodeFast } = await import('../src/dataset/mulaw-table.js');
  const { mulawEncodeValue } = await import('../src/audio/mulaw.js');
  const { native } = await import('../src/native.js');
  const vals: number[] = [0, -0, 1, -1, 2, -2, 1e-30, -1e-30, Infinity, -Infinity, NaN, 0.5, -0.5];
  let s = 12345;
  for (let i = 0; i < 200000; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const u = s / 2 ** 32;
    vals.push((u * 2 - 1) ** 5 * 1.05);
  }
  // values right at the class boundaries of the reference, and one float either side
  const f = new Float32Array(1);
  const bits = new Int32Array(f.buffer);
  for (let c = 0; c < 255; c++) {
    const y = (2 * (c + 0.5)) / 255 - 1;
    f[0] = (Math.sign(y) * (Math.pow(256, Math.abs(y)) - 1)) / 255;
    for (const d of [-2, -1, 0, 1, 2]) {
      const g = new Int32Array([bits[0] + d]);
      vals.push(new Float32Array(g.buffer)[0]);
    }
  }
  const x = Float32Array.from(vals);
  const fast = mulawEncodeFast(x);
  for (let i = 0; i < x.length; i++) assert.equal(fast[i], mulawEncodeValue(x[i]), `x = ${x[i]}`);
  const nat = native().mulawEncode(x.map((v) => (Number.isNaN(v) ? 0 : v)));
  let worst = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isNaN(x[i])) worst = Math.max(worst, Math.abs(nat[i] - fast[i]));
  assert.ok(worst <= 1, `native and table encoders differ by ${worst} classes`);
  assert.equal(fast[0], 128);
  assert.equal(fast[2], 255);
  assert.equal(fast[3], 0);
});

test('an ffmpeg without libsoxr: decoding falls back to its own resampler', { skip: noFfmpeg }, async () => {
  const { realpathSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const real = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
  const fake = join(work, 'ffmpeg-nosoxr');
  writeFileSync(
    fake,
    `#!/bin/sh\ncase "$*" in *resampler=soxr*) echo "[SWR @ 0x1] [error] Requested resampling engine is unavailable" >&2; exit 1;; esac\nexec "${realpathSync(real)}" "$@"\n`,
  );
  chmodSync(fake, 0o755);
  const f = genAudio(join(work, 'nosoxr.wav'), {
    channels: ['0.4*sin(2*PI*7000*t)+0.4*sin(2*PI*10000*t)'],
    rate: 44100,
    seconds: 1,
    depth: 'f32',
  });
  const old = process.env.WAVENET_FFMPEG;
  process.env.WAVENET_FFMPEG = fake;
  resetFfmpegCache();
  try {
    const x = await decodeFile(f, { rate: 16000 });
    assert.ok(Math.abs(x.length - 16000) <= 2);
    assert.ok(Math.abs(toneAmplitude(x.subarray(1000, 15000), 7000, 16000) - 0.4) < 0.02);
    assert.ok(
      toneAmplitude(x.subarray(1000, 15000), 6000, 16000) < 0.4e-2,
      'swr with 64 taps still removes 10 kHz (-40 dB)',
    );
    const y = await resample(x, 16000, 8000);
    assert.ok(Math.abs(y.length - 8000) <= 2);
  } finally {
    if (old === undefined) delete process.env.WAVENET_FFMPEG;
    else process.env.WAVENET_FFMPEG = old;
    resetFfmpegCache();
  }
});

test('progress helper: plain lines on a pipe with rate and ETA, nothing when silent, log lines always', async () => {
  const { createProgress, formatEta } = await import('../src/util/progress.js');
  const { Writable } = await import('node:stream');
  const sink = () => {
    const lines: string[] = [];
    const w = new Writable({
      write(c, _e, cb) {
        lines.push(String(c));
        cb();
      },
    }) as unknown as NodeJS.WriteStream;
    return { w, lines };
  };
  const a = sink();
  const p = createProgress({ label: 'ingest', total: 10, unit: 'files', stream: a.w, intervalSeconds: 0.2 });
  p.update(4, '12.0 s of audio');
  await new Promise((r) => setTimeout(r, 1100));
  p.log('wavenet: rejected x: empty file');
  p.update(5);
  p.stop();
  p.stop();
  const text = a.lines.join('');
  // the rate (and so the ETA) comes from measured changes of the count: none yet at the first count,
  // then rate and ETA once it moved (src/util/progress.ts)
  assert.match(text, /ingest 4\/10 files \| 12\.0 s of audio/);
  assert.match(text, /ingest 5\/10 files \| [\d.]+ files\/s \| ETA \d+s \| 12\.0 s of audio/);
  assert.match(text, /wavenet: rejected x: empty file\n/);
  assert.match(text.trimEnd().split('\n').pop()!, /^ingest 5\/10 files/);
  assert.doesNotMatch(text, /\x1b/);
  const b = sink();
  const q = createProgress({ label: 'x', total: 3, stream: b.w, silent: true, intervalSeconds: 0.2 });
  q.update(1);
  q.log('message');
  q.stop();
  assert.deepEqual(b.lines, ['message\n']);
  assert.equal(formatEta(42), '42s');
  assert.equal(formatEta(185), '3m05s');
  assert.equal(formatEta(3720), '1h02m');
});
