// Issue 13 without the addon: the DC blocker, the level meter, the listener metrics, the "knows
// nothing" entropy, WAV encoding (f32, smpl loop chunk), output formats, the loss plot's reference line
// and the readiness rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { inflateSync } from 'node:zlib';
import wavefile from 'wavefile';
import { DcBlocker, blockDc, DC_BLOCK_HZ } from '../src/render/dsp.js';
import { LevelMeter, integratedLoudness, levelReport, quietTakeNote } from '../src/render/loudness.js';
import {
  clicksPerSecond,
  noiseOpening,
  settling,
  spectralFlatness,
  NOISE_FLATNESS,
} from '../src/synth/audio-metrics.js';
import { classCounts, entropyBits, recordValEntropy } from '../src/dataset/entropy.js';
import { ingest } from '../src/dataset/ingest.js';
import { readManifest } from '../src/dataset/manifest.js';
import { encodeWav, smplChunk, WavWriter } from '../src/audio/wav-writer.js';
import { findFfmpeg, outputFormatOf, resetFfmpegCache } from '../src/audio/ffmpeg.js';
import { renderLossPlot } from '../src/train/plot.js';
import { readinessNote, READY_MARGIN } from '../src/synth/readiness.js';
import { BUNDLED_MODEL } from '../src/model/bundled.js';
import { checkCut } from '../src/synth/sampling.js';
import { readWav16 } from '../src/render/renderer.js';
import { sameSettings, type TextureSettings } from '../src/render/index-file.js';

const { WaveFile } = wavefile;
const RATE = 16000;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

test('DC blocker: a signal with a large offset comes out with |DC| < 0.001 overall and < 0.005 in every 1 s block', () => {
  const r = rng(1);
  const x = new Float32Array(30 * RATE);
  // DC 0.3 plus a slow wander (0.1 at 0.3 Hz) plus a 220 Hz tone and noise: what a biased model does
  for (let i = 0; i < x.length; i++)
    x[i] =
      0.3 +
      0.1 * Math.sin((2 * Math.PI * 0.3 * i) / RATE) +
      0.2 * Math.sin((2 * Math.PI * 220 * i) / RATE) +
      0.05 * (r() - 0.5);
  const before = levelReport(x, RATE);
  assert.ok(before.dc > 0.29, `input DC ${before.dc}`);
  const y = blockDc(x, RATE);
  const after = levelReport(y, RATE);
  assert.ok(Math.abs(after.dc) < 0.001, `DC after: ${after.dc}`);
  assert.ok(after.dcMaxBlock < 0.005, `worst 1 s block after: ${after.dcMaxBlock}`);
  // the audible part passes: the 220 Hz tone keeps its level (RMS of 0.2 sine = -17 dBFS) within 0.1 dB
  const tone = new Float32Array(RATE * 2);
  for (let i = 0; i < tone.length; i++) tone[i] = 0.2 * Math.sin((2 * Math.PI * 220 * i) / RATE);
  const tb = blockDc(tone, RATE);
  const rms = (v: Float32Array, a: number) => Math.sqrt(v.subarray(a).reduce((s, q) => s + q * q, 0) / (v.length - a));
  assert.ok(Math.abs(20 * Math.log10(rms(tb, RATE) / rms(tone, RATE))) < 0.1);
  assert.equal(DC_BLOCK_HZ, 10);
});

test('DC blocker: processing in blocks of any size gives exactly the samples of processing the whole signal', () => {
  const r = rng(2);
  const x = Float32Array.from({ length: 20000 }, () => r() - 0.3);
  const whole = blockDc(x, RATE);
  const dc = new DcBlocker(RATE);
  const parts: number[] = [];
  for (let a = 0, k = 1; a < x.length; k = ((k * 7) % 4099) + 1) {
    const e = Math.min(x.length, a + k);
    parts.push(...dc.process(x.slice(a, e)));
    a = e;
  }
  assert.deepEqual(Float32Array.from(parts), whole);
});

test('level meter: streamed in blocks it gives the loudness of integratedLoudness, the DC, RMS and peak', () => {
  const r = rng(3);
  const x = Float32Array.from(
    { length: 5 * RATE + 123 },
    (_, i) => 0.5 * Math.sin((2 * Math.PI * 997 * i) / RATE) + 0.01 * (r() - 0.5) + 0.02,
  );
  const m = new LevelMeter(RATE);
  for (let a = 0; a < x.length; a += 1000) m.push(x.subarray(a, Math.min(x.length, a + 1000)));
  const rep = m.report();
  assert.ok(
    Math.abs(rep.loudnessLufs! - integratedLoudness(x, RATE)) < 0.01,
    `${rep.loudnessLufs} vs ${integratedLoudness(x, RATE)}`,
  );
  assert.ok(Math.abs(rep.dc - 0.02) < 0.001);
  assert.ok(Math.abs(rep.peakDbfs! - 20 * Math.log10(0.52)) < 0.1);
  assert.ok(Math.abs(rep.rmsDbfs! - 10 * Math.log10(0.125 + 0.0004)) < 0.05, `rms ${rep.rmsDbfs}`);
  assert.deepEqual(levelReport(new Float32Array(100), RATE).peakDbfs, null);
});

test('listener metrics: clicks per second, flatness of noise vs a drone, the noise opening', () => {
  const x = new Float32Array(RATE);
  for (let i = 0; i < 10; i++) x[i * 1000 + 500] = 0.8; // 10 spikes = 20 jumps > 0.5
  assert.equal(clicksPerSecond(x, RATE), 20);
  const r = rng(4);
  const noise = Float32Array.from({ length: RATE }, () => r() - 0.5);
  const drone = Float32Array.from(
    { length: RATE },
    (_, i) =>
      [110, 220, 330, 440].reduce((s, f) => s + 0.1 * Math.sin((2 * Math.PI * f * i) / RATE), 0) + 0.001 * (r() - 0.5),
  );
  assert.ok(spectralFlatness(noise) > 0.9, `noise ${spectralFlatness(noise)}`);
  assert.ok(spectralFlatness(drone) < NOISE_FLATNESS - 0.1, `drone ${spectralFlatness(drone)}`);
  // red (integrated) noise is broadband too: the flatness is of the whitened spectrum
  let acc = 0;
  const red = Float32Array.from({ length: RATE }, () => (acc = 0.99 * acc + (r() - 0.5)) * 0.05);
  assert.ok(spectralFlatness(red) > NOISE_FLATNESS, `red noise ${spectralFlatness(red)}`);
  const take = new Float32Array(4 * RATE); // 1.5 s of noise, then 2.5 s of drone
  take.set(noise);
  take.set(noise.subarray(0, RATE / 2), RATE);
  take.set(drone, 1.5 * RATE);
  take.set(drone.subarray(0, 1.5 * RATE > drone.length ? drone.length : RATE), 2.5 * RATE);
  assert.equal(noiseOpening(take, RATE), 1.5);
  const st = settling(take, RATE);
  assert.deepEqual([st.settle, st.noiseTexture], [1.5, false]);
  // noise throughout: that is the texture, not an opening
  const allNoise = new Float32Array(3 * RATE);
  for (let k = 0; k < 3; k++) allNoise.set(noise, k * RATE);
  assert.deepEqual(
    [settling(allNoise, RATE).settle, settling(allNoise, RATE).noiseOpening, settling(allNoise, RATE).noiseTexture],
    [0, 0, true],
  );
  // a tonal half second, then noise for good: settles at 0.5 s, but that is no noise opening
  const toNoise = Float32Array.from(allNoise);
  toNoise.set(drone.subarray(0, RATE / 2));
  assert.deepEqual([settling(toNoise, RATE).settle, settling(toNoise, RATE).noiseOpening], [0.5, 0]);
  // tonal for half a second, 1.5 s of noise, then the drone for good: no "noise opening" (its first
  // block is tonal) but 1.5 s of noise before it settles, which the stricter count sees
  const wander = new Float32Array(6 * RATE);
  for (let k = 0; k < 6; k++) wander.set(drone, k * RATE);
  wander.set(noise, RATE / 2);
  wander.set(noise.subarray(0, RATE / 2), 1.5 * RATE);
  const w = settling(wander, RATE);
  assert.deepEqual([w.settle, w.noiseOpening, w.noiseBeforeSettle, w.noiseTexture], [2, 0, 1.5, false]);
  assert.equal(st.noiseBeforeSettle, 1.5);
  assert.equal(settling(allNoise, RATE).noiseBeforeSettle, 0, 'noise as the texture is not counted');
});

test('entropy: known distributions, and ingest-style recording from the validation chunks', () => {
  assert.equal(entropyBits([1, 1, 1, 1]), 2);
  assert.equal(entropyBits(new Array(256).fill(5)), 8);
  assert.equal(entropyBits([7, 0, 0]), 0);
  const dir = mkdtempSync(join(tmpdir(), 'wavenet-entropy-'));
  try {
    mkdirSync(join(dir, 'chunks'));
    writeFileSync(join(dir, 'chunks', 'a.mulaw'), Uint8Array.from([1, 2, 3, 4, 1, 2, 3, 4]));
    writeFileSync(join(dir, 'chunks', 'b.mulaw'), Uint8Array.from([9, 9, 9, 9]));
    const m = {
      classes: 256,
      chunks: [
        { file: 'a.mulaw', source: 0, offset: 0, samples: 8, split: 'val' },
        { file: 'b.mulaw', source: 0, offset: 8, samples: 4, split: 'train' },
      ],
    } as unknown as Parameters<typeof recordValEntropy>[1];
    assert.equal(recordValEntropy(dir, m), true);
    assert.equal(m.valEntropyBits, 2); // only the validation chunk counts
    assert.equal(recordValEntropy(dir, m), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ingest records valEntropyBits in the manifest: the entropy of the validation chunks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wavenet-entropy-ingest-'));
  try {
    const r = rng(6);
    for (let k = 0; k < 4; k++) {
      const w = new WavWriter(join(dir, `in-${k}.wav`), RATE, 's16');
      w.write(Float32Array.from({ length: 3 * RATE }, (_, i) => 0.3 * Math.sin(i / (5 + k)) + 0.05 * (r() - 0.5)));
      w.close();
    }
    const out = join(dir, 'ds');
    await ingest({ inputs: [dir], out, jobs: 1, chunkSeconds: 1, val: 0.3, onMessage: () => {} });
    const m = readManifest(out);
    assert.ok(m.chunks.some((c) => c.split === 'val'));
    const counts = classCounts(out, m, 'val');
    assert.equal(m.valEntropyBits, Math.round(entropyBits(counts) * 10000) / 10000);
    assert.ok(m.valEntropyBits! > 3 && m.valEntropyBits! < 8, `${m.valEntropyBits}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WAV: f32 and s16 encodings round-trip; a loop carries a smpl chunk that wavefile and ffmpeg read', () => {
  const x = Float32Array.from({ length: 1001 }, (_, i) => 0.5 * Math.sin(i / 10));
  const dir = mkdtempSync(join(tmpdir(), 'wavenet-smpl-'));
  try {
    for (const format of ['s16', 'f32'] as const) {
      const { bytes, written } = encodeWav(x, RATE, format, { start: 0, end: x.length - 1 });
      const path = join(dir, `loop-${format}.wav`);
      writeFileSync(path, bytes);
      const w = new WaveFile(readFileSync(path));
      assert.equal((w.fmt as { audioFormat: number }).audioFormat, format === 'f32' ? 3 : 1);
      const smpl = w.smpl as {
        chunkId: string;
        dwNumSampleLoops: number;
        loops: { dwStart: number; dwEnd: number; dwType: number }[];
      };
      assert.equal(smpl.chunkId, 'smpl');
      assert.equal(smpl.dwNumSampleLoops, 1);
      assert.equal(smpl.loops[0].dwStart, 0);
      assert.equal(smpl.loops[0].dwEnd, x.length - 1);
      const back = readWav16(path).samples;
      assert.equal(back.length, x.length);
      for (let i = 0; i < x.length; i++) assert.ok(Math.abs(back[i] - written[i]) < 1e-6);
      assert.equal(readFileSync(path).readUInt32LE(4), bytes.length - 8, 'RIFF size covers the smpl chunk');
      const ff = findFfmpeg();
      if (ff) {
        const r = spawnSync(ff.path, ['-v', 'error', '-i', path, '-f', 's16le', '-'], { maxBuffer: 1 << 24 });
        assert.equal(r.status, 0, String(r.stderr));
        assert.equal(r.stdout.length, x.length * 2, 'ffmpeg decodes every sample');
      }
    }
    assert.equal(smplChunk(RATE, 5, 9).length, 8 + 60);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('output formats: .wav/.flac/.ogg/.mp3 accepted, anything else refused; encoded formats need ffmpeg', () => {
  assert.deepEqual(outputFormatOf('a.WAV'), { ext: '.wav', encoded: false });
  assert.throws(
    () => outputFormatOf('take.aiff'),
    /--out take\.aiff: unknown audio format '\.aiff'; use \.wav, \.flac, \.ogg or \.mp3/,
  );
  assert.throws(() => outputFormatOf('take'), /unknown audio format '\(no extension\)'/);
  const before = process.env.WAVENET_FFMPEG;
  process.env.WAVENET_FFMPEG = 'none';
  resetFfmpegCache();
  try {
    assert.throws(
      () => outputFormatOf('take.mp3'),
      /--out take\.mp3: writing mp3 needs ffmpeg \(disabled by WAVENET_FFMPEG=none\)/,
    );
    assert.deepEqual(outputFormatOf('take.wav'), { ext: '.wav', encoded: false });
  } finally {
    if (before === undefined) delete process.env.WAVENET_FFMPEG;
    else process.env.WAVENET_FFMPEG = before;
    resetFfmpegCache();
  }
});

test('--top-p / --top-k checks', () => {
  assert.deepEqual(checkCut('0.9', '0'), { topP: 0.9, topK: 0 });
  assert.throws(() => checkCut('0', '0'), /--top-p 0: expected a number above 0 and at most 1/);
  assert.throws(() => checkCut('1.5', '0'), /--top-p 1\.5/);
  assert.throws(() => checkCut('0.9', '2.5'), /--top-k 2\.5: expected a whole number/);
  assert.throws(() => checkCut('x', '0'), /--top-p 'x'/);
});

/** RGB pixels of a PNG written by src/train/plot.ts (filter 0 rows, one IDAT). */
function decodePlot(png: Buffer): { w: number; h: number; px: Buffer } {
  const w = png.readUInt32BE(16);
  const h = png.readUInt32BE(20);
  let off = 8;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('ascii', off + 4, off + 8);
    if (type === 'IDAT') idat.push(png.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) raw.copy(px, y * w * 3, y * (w * 3 + 1) + 1, (y + 1) * (w * 3 + 1));
  return { w, h, px };
}

test('loss plot: the "knows nothing" level is a dashed grey line across the plot, with a label', () => {
  const rows = Array.from({ length: 50 }, (_, i) => ({
    step: i + 1,
    loss: 8 - i * 0.1,
    lr: 1e-3,
    samplesPerSec: 1,
    elapsedSeconds: i,
  }));
  const greyRows = (png: Buffer) => {
    const { w, h, px } = decodePlot(png);
    const out: number[] = [];
    for (let y = 0; y < h; y++) {
      let n = 0;
      for (let x = 0; x < w; x++)
        if (px[(y * w + x) * 3] === 120 && px[(y * w + x) * 3 + 1] === 120 && px[(y * w + x) * 3 + 2] === 120) n++;
      if (n > w / 3) out.push(y);
    }
    return out;
  };
  assert.deepEqual(greyRows(renderLossPlot(rows, 't')), []);
  const withLine = greyRows(renderLossPlot(rows, 't', 900, 500, 6.5));
  assert.ok(withLine.length >= 1 && withLine.length <= 2, `one dashed line (2 px thick): rows ${withLine}`);
  // the y axis runs 3..8 over the plot area (T = 64, height 376): 6.5 bits sits 30 % down from the top
  const y = withLine[0];
  assert.ok(Math.abs(y - (64 + 0.3 * 376)) < 4, `line at y=${y}`);
  // a level below every loss point widens the axis to show it
  assert.equal(greyRows(renderLossPlot(rows.slice(0, 5), 't', 900, 500, 3)).length > 0, true);
});

test('readiness: a line for a checkpoint with no validation loss or one near the entropy; none when trained or bundled', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wavenet-ready-'));
  try {
    const ck = join(dir, 'runs', 'x', 'checkpoints', 'step-00000023.safetensors');
    const none = readinessNote(ck, 23, { data_entropy_bits: '7.5' });
    assert.match(none!, /step 23\) has no validation loss yet.*7\.50 bits\/sample.*expect noise/);
    const near = readinessNote(ck, 500, {
      val_loss_bits: String(7.5 * (1 - READY_MARGIN / 2)),
      val_loss_step: '500',
      data_entropy_bits: '7.5',
    });
    assert.match(
      near!,
      /validation loss at step 500 is 7\.13 bits\/sample, only 5\.0 % below the 7\.50 bits\/sample of a model that knows nothing/,
    );
    assert.equal(
      readinessNote(ck, 500, { val_loss_bits: '3.0', val_loss_step: '500', data_entropy_bits: '7.5' }),
      null,
    );
    // an older checkpoint without the fields: the loss from the run's log
    mkdirSync(join(dir, 'runs', 'x', 'checkpoints'), { recursive: true });
    writeFileSync(
      join(dir, 'runs', 'x', 'log.jsonl'),
      ['{"step":250,"loss":7,"valLoss":7.4}', '{"step":500,"loss":7,"valLoss":3.1}', ''].join('\n'),
    );
    assert.equal(readinessNote(ck, 500, { data_entropy_bits: '7.5' }), null);
    assert.match(readinessNote(ck, 300, { data_entropy_bits: '7.5' })!, /at step 250 is 7\.40/);
    // the bundled model: never (its numbers: val 3.05 bits/sample at step 6000 against 7.55 for its data)
    assert.equal(readinessNote(BUNDLED_MODEL, 6000, {}), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('render index: records from before the new settings compare as no cut, no DC blocker, s16', () => {
  const base = {
    seconds: 1,
    seed: 1,
    temperature: 1,
    prime: null,
    primeSha256: null,
    loop: false,
    crossfade: 0,
    fadeIn: 0,
    fadeOut: 0,
    normalize: null,
    sampleRate: 16000,
    modelSha256: 'x',
  } as TextureSettings;
  assert.ok(sameSettings(base, { ...base, topP: 1, topK: 0, dcBlock: false, format: 's16' }));
  assert.ok(!sameSettings(base, { ...base, topP: 0.95, topK: 0, dcBlock: true, format: 's16' }));
});

test('a quiet take gets one line saying so (RMS below -40 dBFS or silence); a normal one none', () => {
  const tone = (amp: number) =>
    Float32Array.from({ length: RATE }, (_, i) => amp * Math.sin((2 * Math.PI * 220 * i) / RATE));
  // RMS of a sine is amp / sqrt(2): 0.01 -> -43 dBFS, 0.1 -> -23 dBFS
  const quiet = quietTakeNote(levelReport(tone(0.01), RATE));
  assert.match(quiet ?? '', /^quiet take \(RMS -43\.0 dBFS, below -40 dBFS\): .*--normalize -16LUFS$/);
  assert.equal(quietTakeNote(levelReport(tone(0.1), RATE)), null);
  assert.match(quietTakeNote(levelReport(new Float32Array(RATE), RATE)) ?? '', /^quiet take \(silent,/);
});
