/**
 * Post-processing of a rendered texture (all in place or returning new Float32Arrays, mono, [-1, 1]):
 *   loopFold    seamless loop: fold the extra tail into the head with an equal-power crossfade
 *   applyFades  fade in / fade out that start and end exactly at silence
 *   normalize   to a peak (dBFS) or an integrated-loudness (LUFS) target, with a peak limiter
 *   DcBlocker   the DC blocker `synth` and `render` apply first (before fades, loops and normalization)
 */
import { mulawDecodeValue } from '../audio/mulaw.js';
import { fromDb, integratedLoudness, peakLinear, toDb } from './loudness.js';

/**
 * x holds n + c samples (the texture and its continuation). Returns n samples y where the first c
 * samples crossfade from the continuation x[n..n+c) (weight cos) into the head x[0..c) (weight sin),
 * with theta going 0 -> pi/2: cos^2 + sin^2 = 1, equal power for uncorrelated signals.
 * So y[0] = x[n], the sample that naturally follows y[n-1] = x[n-1]: playing y in a loop has
 * no jump at the seam, and from sample c on, y is the original head.
 */
export function loopFold(x: Float32Array, n: number): Float32Array {
  const c = x.length - n;
  if (n < 1) throw new Error(`loopFold: length must be >= 1 (got ${n})`);
  if (c < 0) throw new Error(`loopFold: input of ${x.length} samples is shorter than the loop of ${n}`);
  if (c > n) throw new Error(`loopFold: crossfade of ${c} samples is longer than the loop of ${n}`);
  const y = x.slice(0, n);
  for (let k = 0; k < c; k++) {
    const theta = (Math.PI / 2) * (k / c);
    y[k] = x[n + k] * Math.cos(theta) + x[k] * Math.sin(theta);
  }
  return y;
}

/** Gain of a fade of `len` samples at position k (0 at k = 0, 1 at k = len - 1), raised-cosine shape. */
function fadeGain(k: number, len: number): number {
  if (len <= 1) return 0;
  const s = Math.sin((Math.PI / 2) * (k / (len - 1)));
  return s * s;
}

/**
 * Fades in over the first `inLen` samples and out over the last `outLen` samples, in place.
 * With inLen > 0 the first sample is exactly 0; with outLen > 0 the last sample is exactly 0.
 * Overlapping fades multiply.
 */
export function applyFades(x: Float32Array, inLen: number, outLen: number): Float32Array {
  const n = x.length;
  inLen = Math.min(Math.max(0, Math.round(inLen)), n);
  outLen = Math.min(Math.max(0, Math.round(outLen)), n);
  for (let k = 0; k < inLen; k++) x[k] *= fadeGain(k, inLen);
  for (let k = 0; k < outLen; k++) x[n - 1 - k] *= fadeGain(k, outLen);
  return x;
}

export type NormalizeTarget = { kind: 'peak'; db: number } | { kind: 'lufs'; lufs: number };

/** Parses `-1dBFS`, `-1 dB`, `-16LUFS`, `-16 LKFS` (case-insensitive). Returns null when it does not match. */
export function parseNormalize(s: string): NormalizeTarget | null {
  const m = /^\s*([+-]?\d+(?:\.\d+)?)\s*(dbfs|db|lufs|lkfs)\s*$/i.exec(s);
  if (!m) return null;
  const v = Number(m[1]);
  const unit = m[2].toLowerCase();
  return unit === 'lufs' || unit === 'lkfs' ? { kind: 'lufs', lufs: v } : { kind: 'peak', db: v };
}

export function formatNormalize(t: NormalizeTarget): string {
  return t.kind === 'peak' ? `${t.db}dBFS` : `${t.lufs}LUFS`;
}

/** The ceiling a loudness-normalized texture is limited to. */
export const LIMIT_CEILING_DB = -1;

export interface NormalizeResult {
  /** Gain applied before limiting, dB. */
  gainDb: number;
  /** Whether the limiter reduced any sample. */
  limited: boolean;
  /** Largest gain reduction by the limiter, dB (0 when not limited). */
  limiterReductionDb: number;
}

/**
 * Look-ahead peak limiter, in place: afterwards no |x| exceeds `ceiling` (linear).
 * The gain needed at each sample, min(1, ceiling/|x|), is min-filtered over +-r samples and then
 * averaged over +-r samples: the average at n only uses values <= the need at n, so the result never
 * overshoots, and the gain moves smoothly (attack and release of r samples, ~5 ms).
 * With `circular` the signal is treated as a loop (indices wrap), so a looping texture stays seamless.
 */
export function limitPeaks(x: Float32Array, ceiling: number, rate: number, circular = false): number {
  const n = x.length;
  const need = new Float64Array(n);
  let any = false;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(x[i]);
    need[i] = a > ceiling ? ceiling / a : 1;
    if (a > ceiling) any = true;
  }
  if (!any || n === 0) return 0;
  const r = Math.max(1, Math.min(Math.round(0.005 * rate), Math.floor((n - 1) / 2)));
  const at = (arr: Float64Array, i: number) => {
    if (circular) return arr[((i % n) + n) % n];
    return arr[i < 0 ? 0 : i >= n ? n - 1 : i];
  };
  // Sliding minimum over [i-r, i+r] (monotonic deque), then a sliding mean over the same width.
  const lo = -r;
  const hi = n + r; // positions of the min-filtered signal we need: [i - r, i + r] for i in [0, n)
  const minF = new Float64Array(hi - lo);
  const dq: number[] = [];
  let head = 0;
  // window for position p (in [lo, hi)) covers need indices [p - r, p + r]
  let next = lo - r;
  for (let p = lo; p < hi; p++) {
    while (next <= p + r) {
      const v = at(need, next);
      while (dq.length > head && at(need, dq[dq.length - 1]) >= v) dq.pop();
      dq.push(next);
      next++;
    }
    while (dq[head] < p - r) head++;
    minF[p - lo] = at(need, dq[head]);
    if (head > 4096) {
      dq.splice(0, head);
      head = 0;
    }
  }
  const w = 2 * r + 1;
  let sum = 0;
  for (let j = 0; j < w; j++) sum += minF[j];
  let maxRed = 1;
  for (let i = 0; i < n; i++) {
    // mean of minF over positions [i - r, i + r] -> indices [i, i + 2r] in minF
    let g = sum / w;
    if (g > need[i]) g = need[i]; // guards float rounding of the running sum
    x[i] *= g;
    if (g < maxRed) maxRed = g;
    if (i + w < minF.length) sum += minF[i + w] - minF[i];
  }
  // Float rounding of x * g can land a hair above the ceiling: clamp those ulps.
  for (let i = 0; i < n; i++) {
    if (x[i] > ceiling) x[i] = ceiling;
    else if (x[i] < -ceiling) x[i] = -ceiling;
  }
  return -toDb(maxRed);
}

/**
 * Normalizes x in place. Peak target: one gain so the sample peak hits the target. Loudness target:
 * one gain so the integrated loudness hits the target, then the limiter keeps peaks at or below
 * LIMIT_CEILING_DB (which can leave the loudness slightly under the target; the result says so).
 * Silent input (peak 0 or no gated blocks) is left as it is with gain 0 dB.
 */
export function normalize(x: Float32Array, target: NormalizeTarget, rate: number, circular = false): NormalizeResult {
  let gainDb = 0;
  if (target.kind === 'peak') {
    const p = peakLinear(x);
    if (p > 0) gainDb = target.db - toDb(p);
  } else {
    const l = integratedLoudness(x, rate);
    if (Number.isFinite(l)) gainDb = target.lufs - l;
  }
  const g = fromDb(gainDb);
  for (let i = 0; i < x.length; i++) x[i] *= g;
  let limiterReductionDb = 0;
  const ceiling =
    target.kind === 'peak' ? Math.max(fromDb(target.db), fromDb(LIMIT_CEILING_DB)) : fromDb(LIMIT_CEILING_DB);
  // A peak target above -1 dBFS is honoured as asked (up to full scale); the limiter only guards clipping there.
  if (target.kind === 'lufs' || peakLinear(x) > 1) {
    limiterReductionDb = limitPeaks(x, Math.min(ceiling, 1), rate, circular);
  }
  return { gainDb, limited: limiterReductionDb > 0, limiterReductionDb };
}

/** Float samples from mu-law classes (continuous mu-law, mu = 255), without the addon. */
export function decodeClasses(q: Uint8Array, mu = 255): Float32Array {
  const table = new Float32Array(256);
  for (let c = 0; c < 256; c++) table[c] = mulawDecodeValue(c, mu);
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) out[i] = table[q[i]];
  return out;
}

/** Corner frequency of the DC blocker, Hz: far below anything audible (and below the RLB filter of BS.1770). */
export const DC_BLOCK_HZ = 10;

/**
 * DC blocker: two cascaded one-pole high-passes y[n] = x[n] - x[n-1] + r y[n-1], r = exp(-2 pi fc / rate)
 * (each -3 dB at fc, 12 dB per octave below fc together; 0.05 dB down at 40 Hz with fc = 10 Hz).
 * Streaming: the state carries over from one `process` call to the next, so a signal processed in
 * blocks of any size gives exactly the same samples as processed whole. The state starts at rest
 * (as if silence came before), which is what the network starts from too.
 */
export class DcBlocker {
  readonly r: number;
  private x1 = 0;
  private y1 = 0;
  private x2 = 0;
  private y2 = 0;

  constructor(
    readonly rate: number,
    readonly cutoffHz = DC_BLOCK_HZ,
  ) {
    if (!(rate > 0) || !(cutoffHz > 0) || cutoffHz >= rate / 2)
      throw new Error(`DcBlocker: bad rate ${rate} or cutoff ${cutoffHz}`);
    this.r = Math.exp((-2 * Math.PI * cutoffHz) / rate);
  }

  /** Filters x in place and returns it. */
  process(x: Float32Array): Float32Array {
    const r = this.r;
    let { x1, y1, x2, y2 } = this;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      const a = v - x1 + r * y1;
      x1 = v;
      y1 = a;
      const b = a - x2 + r * y2;
      x2 = a;
      y2 = b;
      x[i] = b;
    }
    Object.assign(this, { x1, y1, x2, y2 });
    return x;
  }
}

/** A copy of x with its DC blocked (DcBlocker from rest). */
export function blockDc(x: Float32Array, rate: number, cutoffHz = DC_BLOCK_HZ): Float32Array {
  return new DcBlocker(rate, cutoffHz).process(Float32Array.from(x));
}
