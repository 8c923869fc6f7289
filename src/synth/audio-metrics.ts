/**
 * What a listener hears in a take, as numbers (used by scripts/bench-audio.ts, docs/audio.md and the
 * tests):
 *   clicksPerSecond   single-sample jumps |x[t+1] - x[t]| > 0.5 (full scale = 1) per second
 *   blockFlatness     spectral flatness of each 0.5 s block: geometric / arithmetic mean of its
 *                     Welch-averaged power spectrum (512-point Hann frames, hop 256) over 250 Hz to
 *                     7.5 kHz (below that, rumble and DC would dominate the arithmetic mean and hide
 *                     the noise). Broadband noise reads 0.93-0.97, the bundled model's drones 0.72-0.80.
 *   noiseOpening      seconds from the start until the first 0.5 s block with flatness below
 *                     NOISE_FLATNESS (0.85): how long a take opens with broadband noise before it settles.
 */
import { stft } from '../render/spectrogram.js';

export const CLICK_JUMP = 0.5;
export const FLATNESS_BLOCK_SECONDS = 0.5;
/** A 0.5 s block whose spectral flatness is above this is heard as broadband noise. */
export const NOISE_FLATNESS = 0.85;

export function clicksPerSecond(x: ArrayLike<number>, rate: number): number {
  let n = 0;
  for (let i = 1; i < x.length; i++) if (Math.abs(x[i] - x[i - 1]) > CLICK_JUMP) n++;
  return x.length > 1 ? n / (x.length / rate) : 0;
}

const FLATNESS_RATE = 16000;
const FLATNESS_LOW_HZ = 250;
const FLATNESS_HIGH_HZ = 7500;

/**
 * Spectral flatness of one stretch of 16 kHz audio, measured on the whitened spectrum: the
 * Welch-averaged power spectrum divided by its own moving average over +-8 bins (+-250 Hz), so a
 * smooth spectrum of any tilt (broadband noise, white or red) reads near 1 and partials that stand
 * out of it (a drone, a tone, a chord) pull it down. 0 for silence.
 */
export function spectralFlatness(x: ArrayLike<number>): number {
  const size = 512;
  const { frames, bins, power } = stft(x, size, size / 2);
  if (frames === 0) return 0;
  const avg = new Float64Array(bins);
  for (let f = 0; f < frames; f++) for (let b = 0; b < bins; b++) avg[b] += power[f * bins + b] / frames;
  const lo = Math.round((FLATNESS_LOW_HZ / FLATNESS_RATE) * size);
  const hi = Math.round((FLATNESS_HIGH_HZ / FLATNESS_RATE) * size);
  const half = 8;
  let logSum = 0;
  let sum = 0;
  for (let b = lo; b < hi; b++) {
    let m = 0;
    for (let j = b - half; j <= b + half; j++) m += avg[j];
    m /= 2 * half + 1;
    if (m <= 1e-20) return 0;
    const r = avg[b] / m;
    logSum += Math.log(r + 1e-12);
    sum += r;
  }
  return Math.exp(logSum / (hi - lo)) / (sum / (hi - lo));
}

/** Flatness of each whole 0.5 s block. */
export function blockFlatness(x: Float32Array, rate: number): number[] {
  const n = Math.round(FLATNESS_BLOCK_SECONDS * rate);
  const out: number[] = [];
  for (let s = 0; s + n <= x.length; s += n) out.push(spectralFlatness(x.subarray(s, s + n)));
  return out;
}

/** Seconds of broadband noise the take opens with (see the file comment); the whole length if it never settles. */
export function noiseOpening(x: Float32Array, rate: number, threshold = NOISE_FLATNESS): number {
  const f = blockFlatness(x, rate);
  const i = f.findIndex((v) => v < threshold);
  return (i < 0 ? f.length : i) * FLATNESS_BLOCK_SECONDS;
}

export function median(v: number[]): number {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
