// Render's signal processing and job validation: loudness meter (BS.1770) against known signals,
// normalization targets, fades, loop crossfade, STFT, job-file errors. No model needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { biquad, integratedLoudness, kWeightingFilters, peakDbfs } from '../src/render/loudness.ts';
import { applyFades, limitPeaks, loopFold, normalize, parseNormalize } from '../src/render/dsp.ts';
import { fft, hann, spectrogramGrid, stft } from '../src/render/spectrogram.ts';
import { heatColor, heatColorAt } from '../src/util/image.ts';
import {
  parseDuration,
  parseTemperature,
  planFromCount,
  planFromJob,
  temperatureAt,
  type RenderDefaults,
} from '../src/render/spec.ts';
import { writeContactSheet } from '../src/render/contact-sheet.ts';
import { UserError } from '../src/util/errors.ts';
import { noise } from './helpers/audio.ts';

function sine(freq: number, amp: number, rate: number, seconds: number): Float32Array {
  const x = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < x.length; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

test('K-weighting at 48 kHz matches the coefficients tabled in ITU-R BS.1770', () => {
  const [shelf, hp] = kWeightingFilters(48000);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);
  close(shelf.b[0], 1.53512485958697);
  close(shelf.b[1], -2.69169618940638);
  close(shelf.b[2], 1.19839281085285);
  close(shelf.a[1], -1.69065929318241);
  close(shelf.a[2], 0.73248077421585);
  assert.deepEqual(hp.b, [1, -2, 1]);
  close(hp.a[1], -1.99004745483398);
  close(hp.a[2], 0.99007225036621);
});

test('a 997 Hz sine of peak A reads 20 log10(A) - 3.01 LUFS (48, 44.1 and 16 kHz)', () => {
  for (const rate of [48000, 44100, 16000]) {
    for (const ampDb of [-20, -6, 0]) {
      const x = sine(997, 10 ** (ampDb / 20), rate, 5);
      const l = integratedLoudness(x, rate);
      const expected = ampDb - 3.0103;
      const tol = rate === 48000 ? 0.02 : 0.1; // the 16 kHz filter is derived, not tabled
      assert.ok(
        Math.abs(l - expected) < tol,
        `${rate} Hz, ${ampDb} dBFS: ${l.toFixed(3)} LUFS, expected ${expected.toFixed(3)}`,
      );
    }
  }
});

test('K-weighting boosts high frequencies by about 4 dB and cuts very low ones', () => {
  const rate = 48000;
  const lo = integratedLoudness(sine(20, 0.5, rate, 4), rate);
  const mid = integratedLoudness(sine(997, 0.5, rate, 4), rate);
  const hi = integratedLoudness(sine(8000, 0.5, rate, 4), rate);
  assert.ok(hi - mid > 3 && hi - mid < 5, `8 kHz vs 1 kHz: ${hi - mid} dB`);
  assert.ok(mid - lo > 5, `20 Hz vs 1 kHz: ${mid - lo} dB`);
});

test('gating: silence and much quieter passages do not lower the integrated loudness', () => {
  const rate = 16000;
  const loud = sine(997, 0.1, rate, 6);
  const ref = integratedLoudness(loud, rate);
  const withSilence = new Float32Array(loud.length * 2);
  withSilence.set(loud);
  // Only the few 400 ms blocks straddling the end of the sine count partly (-0.1 dB); ungated it would read 3 dB lower.
  assert.ok(Math.abs(integratedLoudness(withSilence, rate) - ref) < 0.2, 'absolute gate');
  const withQuiet = new Float32Array(loud.length * 2);
  withQuiet.set(loud);
  withQuiet.set(sine(997, 0.1 * 10 ** (-30 / 20), rate, 6), loud.length);
  assert.ok(Math.abs(integratedLoudness(withQuiet, rate) - ref) < 0.2, 'relative gate');
  // ... while a passage only 6 dB quieter counts (it is above the relative gate).
  const withSofter = new Float32Array(loud.length * 2);
  withSofter.set(loud);
  withSofter.set(sine(997, 0.05, rate, 6), loud.length);
  // mean square of the two halves relative to the loud half: (0.1^2 + 0.05^2) / 2 / 0.1^2
  const expected = 10 * Math.log10((0.1 ** 2 + 0.05 ** 2) / 2 / 0.1 ** 2);
  assert.ok(Math.abs(integratedLoudness(withSofter, rate) - ref - expected) < 0.1);
  assert.equal(integratedLoudness(new Float32Array(rate), rate), -Infinity);
  assert.equal(integratedLoudness(new Float32Array(100), rate), -Infinity, 'shorter than one block');
});

test('biquad runs the difference equation', () => {
  const y = biquad([1, 0, 0, 0], { b: [0.5, 0.25, 0], a: [1, -0.5, 0] });
  // y0 = 0.5; y1 = 0.25 + 0.5*0.5 = 0.5; y2 = 0.25; y3 = 0.125
  assert.deepEqual(Array.from(y), [0.5, 0.5, 0.25, 0.125]);
});

test('peak normalization reaches its target within 0.5 dB (in fact 0.01)', () => {
  for (const target of [-1, -6, -0.1]) {
    const x = noise(32000, 3, 0.05);
    const r = normalize(x, { kind: 'peak', db: target }, 16000);
    assert.ok(Math.abs(peakDbfs(x) - target) < 0.01, `peak ${peakDbfs(x)} vs ${target}`);
    assert.equal(r.limited, false);
  }
});

test('loudness normalization reaches its target within 0.5 dB, checked with the meter and a known sine', () => {
  const rate = 16000;
  const x = noise(rate * 6, 5, 0.01);
  normalize(x, { kind: 'lufs', lufs: -23 }, rate);
  assert.ok(Math.abs(integratedLoudness(x, rate) - -23) < 0.5);
  // A sine normalized to -16 LUFS must have peak -16 + 3.01 dBFS (independent of the meter's reading).
  const s = sine(997, 0.01, 48000, 5);
  const r = normalize(s, { kind: 'lufs', lufs: -16 }, 48000);
  assert.equal(r.limited, false);
  assert.ok(Math.abs(peakDbfs(s) - (-16 + 3.0103)) < 0.05, `sine peak ${peakDbfs(s)}`);
  assert.ok(Math.abs(integratedLoudness(s, 48000) - -16) < 0.05);
});

test('loudness normalization limits peaks to -1 dBFS and reports it', () => {
  const rate = 16000;
  const x = noise(rate * 4, 9, 0.1);
  for (let i = 1000; i < x.length; i += 8000) x[i] = 0.9; // sparse clicks: loud peaks, little loudness
  const r = normalize(x, { kind: 'lufs', lufs: -16 }, rate);
  assert.ok(r.limited && r.limiterReductionDb > 1, `limited ${r.limited} by ${r.limiterReductionDb} dB`);
  assert.ok(peakDbfs(x) <= -1 + 1e-6, `peak after limiting ${peakDbfs(x)}`);
  // The clicks are short: most of the signal keeps its gain, so loudness stays near the target.
  assert.ok(Math.abs(integratedLoudness(x, rate) - -16) < 0.5, `loudness ${integratedLoudness(x, rate)}`);
});

test('the limiter never overshoots, moves gain smoothly and can wrap around a loop', () => {
  const x = noise(20000, 11, 1.5);
  const before = Float32Array.from(x);
  limitPeaks(x, 0.5, 16000);
  assert.ok(Math.max(...Array.from(x, Math.abs)) <= 0.5 + 1e-7);
  // gain never above 1 and sign preserved
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]) <= Math.abs(before[i]) + 1e-7 && x[i] * before[i] >= 0);
  const y = noise(20000, 12, 0.1);
  y[5] = 0.99; // a peak right after the loop point
  const c = Float32Array.from(y);
  limitPeaks(c, 0.5, 16000, true);
  // circular: the gain is already reduced at the end of the buffer, before the peak at the start
  assert.ok(Math.abs(c[c.length - 1]) < Math.abs(y[y.length - 1]) || y[y.length - 1] === 0);
});

test('fades start and end exactly at silence', () => {
  const x = new Float32Array(1000).fill(0.5);
  applyFades(x, 100, 200);
  assert.equal(x[0], 0);
  assert.equal(x[999], 0);
  assert.equal(x[500], 0.5);
  for (let i = 1; i < 100; i++) assert.ok(x[i] >= x[i - 1]);
  for (let i = 801; i < 1000; i++) assert.ok(x[i] <= x[i - 1]);
  assert.ok(Math.abs(x[99] - 0.5) < 1e-6 && Math.abs(x[800] - 0.5) < 1e-6);
});

test('loopFold: equal-power crossfade, the seam continues the generated audio', () => {
  const n = 1000;
  const c = 100;
  const x = noise(n + c, 21, 0.5);
  const y = loopFold(x, n);
  assert.equal(y.length, n);
  assert.equal(y[0], x[n], 'the loop starts where the texture would have continued');
  for (let k = c; k < n; k++) assert.equal(y[k], x[k]);
  const k = 50;
  const th = (Math.PI / 2) * (k / c);
  assert.ok(Math.abs(y[k] - (x[n + k] * Math.cos(th) + x[k] * Math.sin(th))) < 1e-6);
  assert.ok(Math.abs(Math.cos(th) ** 2 + Math.sin(th) ** 2 - 1) < 1e-12);
  // On a smooth random walk, the jump across the seam is an ordinary step.
  const w = new Float32Array(n + c);
  let v = 0;
  const r = noise(n + c, 7, 0.01);
  for (let i = 0; i < w.length; i++) w[i] = v += r[i];
  const l = loopFold(w, n);
  const jumps = Array.from({ length: n - 1 }, (_, i) => Math.abs(l[i + 1] - l[i])).sort((a, b) => a - b);
  assert.ok(Math.abs(l[0] - l[n - 1]) <= jumps[Math.floor(0.999 * jumps.length)]);
  assert.throws(() => loopFold(new Float32Array(10), 4), /longer than the loop/);
});

test('parseNormalize, parseDuration and temperatures', () => {
  assert.deepEqual(parseNormalize('-1dBFS'), { kind: 'peak', db: -1 });
  assert.deepEqual(parseNormalize('-16LUFS'), { kind: 'lufs', lufs: -16 });
  assert.deepEqual(parseNormalize(' -14.5 lufs'), { kind: 'lufs', lufs: -14.5 });
  assert.equal(parseNormalize('loud'), null);
  assert.equal(parseDuration('2s'), 2);
  assert.equal(parseDuration('500ms'), 0.5);
  assert.equal(parseDuration('2m'), 120);
  assert.equal(parseDuration('1m30s'), 90);
  assert.equal(parseDuration('30'), 30);
  assert.equal(parseDuration(1.5), 1.5);
  assert.equal(parseDuration('abc'), null);
  assert.equal(parseDuration('-2s'), null);
  const t = parseTemperature('0.8..1.1');
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => temperatureAt(t, i, 4)),
    [0.8, 0.9, 1, 1.1],
  );
  assert.equal(temperatureAt(parseTemperature('0.9'), 5, 10), 0.9);
  assert.throws(() => parseTemperature('hot'), /--temperature 'hot'/);
  assert.throws(() => parseTemperature('-1'), /--temperature/);
});

const defaults: RenderDefaults = {
  seconds: 2,
  seedBase: 100,
  temperature: { from: 1, to: 1 },
  primes: [],
  loop: false,
};

test('--count plans named textures with seeds BASE+i and round-robin primes', () => {
  const p = planFromCount(5, { ...defaults, primes: ['/a.wav', '/b.wav'], temperature: { from: 0.5, to: 1.5 } });
  assert.deepEqual(
    p.map((t) => t.name),
    ['texture-001', 'texture-002', 'texture-003', 'texture-004', 'texture-005'],
  );
  assert.deepEqual(
    p.map((t) => t.seed),
    [100, 101, 102, 103, 104],
  );
  assert.deepEqual(
    p.map((t) => t.prime),
    ['/a.wav', '/b.wav', '/a.wav', '/b.wav', '/a.wav'],
  );
  assert.deepEqual(
    p.map((t) => t.temperature),
    [0.5, 0.75, 1, 1.25, 1.5],
  );
});

test('job files: good entries parse, bad ones get errors naming the file, the entry and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wavenet-render-job-'));
  try {
    writeFileSync(join(dir, 'p.wav'), 'x');
    const job = (data: unknown) => {
      const f = join(dir, 'job.json');
      writeFileSync(f, typeof data === 'string' ? data : JSON.stringify(data));
      return planFromJob(f, defaults);
    };
    const ok = job([
      { name: 'a', seconds: 3, seed: 7, temperature: 0.9, prime: 'p.wav', loop: true },
      { name: 'beds/b.wav' },
    ]);
    assert.deepEqual(ok[0], {
      name: 'a',
      seconds: 3,
      seed: 7,
      temperature: 0.9,
      prime: join(dir, 'p.wav'),
      loop: true,
    });
    assert.deepEqual(ok[1], { name: 'beds/b', seconds: 2, seed: 101, temperature: 1, prime: null, loop: false });

    const bad: [unknown, RegExp][] = [
      ['{not json', /job\.json: not valid JSON/],
      [{ name: 'a' }, /job\.json: expected a JSON array/],
      [[], /the array is empty/],
      [[{ seconds: 3 }], /entry 0: field "name" is missing/],
      [[{ name: '' }], /entry 0: field "name": must not be empty/],
      [
        [{ name: 'a' }, { name: '../escape' }],
        /entry 1: field "name" '\.\.\/escape': '\.\.' would escape the output folder/,
      ],
      [[{ name: 'x/../../y' }], /entry 0: field "name".*'\.\.'/],
      [[{ name: '/etc/passwd' }], /entry 0: field "name".*absolute path/],
      [[{ name: 'a\\b' }], /entry 0: field "name"/],
      [[{ name: 'a' }, { name: 'A' }], /entry 1 \("A"\): field "name": duplicate of entry 0/],
      [[{ name: 'a', seconds: 'ten' }], /entry 0 \("a"\): field "seconds": expected a positive number/],
      [[{ name: 'a', seconds: -1 }], /field "seconds"/],
      [[{ name: 'a', seconds: 0 }], /field "seconds"/],
      [[{ name: 'a', seed: 1.5 }], /entry 0 \("a"\): field "seed": expected a whole number/],
      [[{ name: 'a', seed: -3 }], /field "seed"/],
      [[{ name: 'a', temperature: 'warm' }], /field "temperature": expected a number/],
      [[{ name: 'a', temperature: -0.5 }], /field "temperature"/],
      [[{ name: 'a', loop: 'yes' }], /field "loop": expected true or false/],
      [[{ name: 'a', prime: 'missing.wav' }], /field "prime": missing\.wav: no such file/],
      [[{ name: 'a', sedd: 3 }], /entry 0: unknown field "sedd"/],
      [[42], /entry 0: expected an object/],
    ];
    for (const [data, re] of bad) {
      assert.throws(
        () => job(data),
        (e: unknown) => {
          assert.ok(e instanceof UserError, `not a UserError: ${e}`);
          assert.match(e.message, /^--job .*job\.json/);
          assert.match(e.message, re);
          return true;
        },
      );
    }
    assert.throws(() => planFromJob(join(dir, 'nope.json'), defaults), /--job .*nope\.json: no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FFT and STFT: a sine lands in its bin at about 0 dB for amplitude 1', () => {
  const re = new Float64Array(8);
  const im = new Float64Array(8);
  re[1] = 1;
  fft(re, im); // DFT of a delta at 1: e^{-2 pi i k / 8}
  for (let k = 0; k < 8; k++) {
    assert.ok(Math.abs(re[k] - Math.cos((2 * Math.PI * k) / 8)) < 1e-12);
    assert.ok(Math.abs(im[k] + Math.sin((2 * Math.PI * k) / 8)) < 1e-12);
  }
  const rate = 16000;
  const x = sine(1000, 1, rate, 1); // 1000 Hz = bin 32 of 512
  const s = stft(x, 512, 256);
  let best = 0;
  for (let b = 0; b < s.bins; b++) if (s.power[3 * s.bins + b] > s.power[3 * s.bins + best]) best = b;
  assert.equal(best, 32);
  assert.ok(Math.abs(10 * Math.log10(s.power[3 * s.bins + best])) < 0.1);
  const g = spectrogramGrid(sine(1250, 1, rate, 1), rate, 40, 16);
  // 1250 Hz = bin 40 of 257 -> row floor(40 * 16 / 257) = 2 of 16 is the brightest in every column
  for (let c = 0; c < 40; c++) {
    let r = 0;
    for (let k = 0; k < 16; k++) if (g.db[c * 16 + k] > g.db[c * 16 + r]) r = k;
    assert.equal(r, 2);
  }
});

test("STFT: the half-length real FFT gives the full complex FFT's powers (every size, a partial last frame)", () => {
  const x = new Float32Array(5000).map((_, i) => Math.sin(i * 0.37) * 0.5 + ((i * 7919) % 101) / 101 - 0.5);
  for (const size of [4, 8, 512, 1024]) {
    const hop = 97;
    const s = stft(x, size, hop);
    assert.equal(s.frames, 1 + Math.floor((x.length - size) / hop));
    const w = hann(size);
    const scale = 4 / w.reduce((a, b) => a + b, 0) ** 2;
    for (let f = 0; f < s.frames; f++) {
      const re = new Float64Array(size);
      const im = new Float64Array(size);
      for (let i = 0; i < size; i++) re[i] = f * hop + i < x.length ? x[f * hop + i] * w[i] : 0;
      fft(re, im);
      const want = Array.from({ length: s.bins }, (_, b) => (re[b] * re[b] + im[b] * im[b]) * scale);
      const peak = Math.max(...want);
      for (let b = 0; b < s.bins; b++) {
        assert.ok(Math.abs(s.power[f * s.bins + b] - want[b]) <= 1e-6 * peak, `size ${size} frame ${f} bin ${b}`);
      }
    }
  }
  const short = stft(x.subarray(0, 300), 512, 256); // one zero-padded frame
  assert.equal(short.frames, 1);
});

test('heat map colours: heatColorAt writes what heatColor returns', () => {
  const out = new Uint8ClampedArray(4);
  for (const v of [-1, 0, 0.07, 0.15, 0.151, 0.35, 0.5, 0.7, 0.85, 0.99, 1, 2, Number.NaN]) {
    heatColorAt(v, out, 1);
    assert.deepEqual([out[1], out[2], out[3]], heatColor(v), `v = ${v}`);
  }
  assert.deepEqual(heatColor(0), [0, 0, 4]);
  assert.deepEqual(heatColor(1), [252, 250, 200]);
});

test('contact sheet: a PNG with one row per texture', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wavenet-render-sheet-'));
  try {
    const p = join(dir, 'sheet.png');
    const entries = [1, 2, 3].map((i) => ({
      name: `t${i}`,
      lines: ['seed 1'],
      grid: spectrogramGrid(noise(16000, i, 0.1), 16000, 640, 96),
    }));
    await writeContactSheet(p, 'test', entries);
    const b = readFileSync(p);
    assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG');
    const width = b.readUInt32BE(16);
    const height = b.readUInt32BE(20);
    assert.ok(width >= 640);
    assert.ok(height >= 3 * 96);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
