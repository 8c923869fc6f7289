/**
 * What a listener hears in a take, as numbers (used by scripts/bench-audio.ts, docs/audio.md and the
 * tests):
 *   clicksPerSecond   single-sample jumps |x[t+1] - x[t]| > 0.5 (full scale = 1) per second
 *   blockFlatness     spectral flatness of each 0.5 s block: geometric / arithmetic mean of its
 *                     Welch-averaged power spectrum (512-point Hann frames, hop 256) over 250 Hz to
 *                     7.5 kHz (below that, rumble and DC would dominate the arithmetic mean and hide
 *                     the noise). Broadband noise reads 0.93-0.97, the bundled model's drones 0.72-0.80.
 *   settling          blocks with flatness >= NOISE_FLATNESS (0.85) are broadband noise; how long a
 *                     take needs to settle into its own character, and how long it opens with
 *                     broadband noise before settling into something else (see below).
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

/**
 * How long a take needs to settle, and whether it opens with broadband noise before it does. Each
 * 0.5 s block is noise (flatness >= threshold) or not; the take's own character is that of most of
 * its last 2 s; it has settled from the first block after which every block has that character.
 *   settle        seconds until then (0: in its character from the start);
 *   noiseOpening  the same when the opening before it is broadband noise (the first block is noise)
 *                 and the take then settles into something else; 0 otherwise (a take that is noise
 *                 throughout has noise as its texture, not as an opening);
 *   noiseTexture  whether the settled character is broadband noise;
 *   noiseBeforeSettle  the stricter count: seconds of broadband-noise blocks anywhere before the
 *                 take settles into a character that is not noise, so a take that opens in its
 *                 texture for a moment and then wanders into noise is counted too.
 */
export interface Settling {
  settle: number;
  noiseOpening: number;
  noiseTexture: boolean;
  noiseBeforeSettle: number;
  blocks: number[];
}

export function settling(x: Float32Array, rate: number, threshold = NOISE_FLATNESS): Settling {
  return settlingOfBlocks(blockFlatness(x, rate), threshold);
}

/** settling() from the flatness of each 0.5 s block. */
export function settlingOfBlocks(f: number[], threshold = NOISE_FLATNESS): Settling {
  if (f.length === 0) return { settle: 0, noiseOpening: 0, noiseTexture: false, noiseBeforeSettle: 0, blocks: f };
  const noisy = f.map((v) => v >= threshold);
  const tail = noisy.slice(-4);
  const final = tail.filter(Boolean).length * 2 > tail.length;
  let last = -1;
  for (let i = 0; i < noisy.length; i++) if (noisy[i] !== final) last = i;
  const settle = (last + 1) * FLATNESS_BLOCK_SECONDS;
  const noiseBeforeSettle = final ? 0 : noisy.slice(0, last + 1).filter(Boolean).length * FLATNESS_BLOCK_SECONDS;
  return { settle, noiseOpening: noisy[0] && !final ? settle : 0, noiseTexture: final, noiseBeforeSettle, blocks: f };
}

/** Seconds of broadband noise the take opens with before it settles (see settling). */
export function noiseOpening(x: Float32Array, rate: number, threshold = NOISE_FLATNESS): number {
  return settling(x, rate, threshold).noiseOpening;
}
