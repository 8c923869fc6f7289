/**
 * Level meters for rendered textures:
 *   - sample peak in dBFS;
 *   - integrated loudness in LUFS per ITU-R BS.1770-4: K-weighting (a high-shelf pre-filter and the
 *     RLB high-pass), mean square over 400 ms blocks with 75 % overlap, an absolute gate at -70 LUFS
 *     and a relative gate 10 LU below the loudness of the blocks that passed the absolute gate.
 *
 * The K-weighting biquads are defined in BS.1770 for 48 kHz; for other rates they are derived here
 * from the analog prototypes (centre frequency, gain and Q of each filter) with the bilinear
 * transform, pre-warped at the centre frequency, so that 16 kHz audio is metered correctly.
 * Mono only (channel weight 1). A 997 Hz sine of peak A reads 20 log10(A) - 3.01 LUFS.
 */

export interface Biquad {
  b: [number, number, number];
  a: [number, number, number]; // a[0] = 1
}

/** The two K-weighting stages for sample rate `rate` (Hz). */
export function kWeightingFilters(rate: number): [Biquad, Biquad] {
  // Stage 1: high shelf, about +4 dB above ~1.7 kHz (models the head's acoustic effect).
  const f0 = 1681.974450955533;
  const gainDb = 3.999843853973347;
  const q = 0.7071752369554196;
  const k = Math.tan((Math.PI * f0) / rate);
  const vh = Math.pow(10, gainDb / 20);
  const vb = Math.pow(vh, 0.4996667741545416);
  const a0 = 1 + k / q + k * k;
  const shelf: Biquad = {
    b: [(vh + (vb * k) / q + k * k) / a0, (2 * (k * k - vh)) / a0, (vh - (vb * k) / q + k * k) / a0],
    a: [1, (2 * (k * k - 1)) / a0, (1 - k / q + k * k) / a0],
  };
  // Stage 2: the RLB high-pass at ~38 Hz.
  const f1 = 38.13547087602444;
  const q1 = 0.5003270373238773;
  const k1 = Math.tan((Math.PI * f1) / rate);
  const d = 1 + k1 / q1 + k1 * k1;
  const highpass: Biquad = {
    b: [1, -2, 1],
    a: [1, (2 * (k1 * k1 - 1)) / d, (1 - k1 / q1 + k1 * k1) / d],
  };
  return [shelf, highpass];
}

/** Runs a biquad over x (direct form II transposed, double precision state). */
export function biquad(x: ArrayLike<number>, f: Biquad): Float64Array {
  const y = new Float64Array(x.length);
  const [b0, b1, b2] = f.b;
  const [, a1, a2] = f.a;
  let z1 = 0;
  let z2 = 0;
  for (let n = 0; n < x.length; n++) {
    const v = x[n];
    const out = b0 * v + z1;
    z1 = b1 * v - a1 * out + z2;
    z2 = b2 * v - a2 * out;
    y[n] = out;
  }
  return y;
}

/** Sample peak |x| max, as a linear value. */
export function peakLinear(x: ArrayLike<number>): number {
  let p = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]);
    if (a > p) p = a;
  }
  return p;
}

/** Linear amplitude to dB (full scale = 1). Silence gives -Infinity. */
export function toDb(v: number): number {
  return v > 0 ? 20 * Math.log10(v) : -Infinity;
}

export function fromDb(db: number): number {
  return Math.pow(10, db / 20);
}

/** Sample peak in dBFS (-Infinity for silence). */
export function peakDbfs(x: ArrayLike<number>): number {
  return toDb(peakLinear(x));
}

const ABSOLUTE_GATE = -70;
const RELATIVE_GATE = -10;

/**
 * Integrated loudness (LUFS) of a mono signal at `rate` Hz, BS.1770-4 gated.
 * -Infinity when the signal is shorter than one 400 ms block or every block is below the absolute gate.
 */
export function integratedLoudness(x: ArrayLike<number>, rate: number): number {
  const [shelf, hp] = kWeightingFilters(rate);
  const y = biquad(biquad(x, shelf), hp);
  const block = Math.round(0.4 * rate);
  const step = Math.round(0.1 * rate);
  if (y.length < block) return -Infinity;
  // Prefix sums of squares for the overlapping blocks.
  const cum = new Float64Array(y.length + 1);
  for (let i = 0; i < y.length; i++) cum[i + 1] = cum[i] + y[i] * y[i];
  const z: number[] = [];
  for (let s = 0; s + block <= y.length; s += step) z.push((cum[s + block] - cum[s]) / block);
  return gatedLoudness(z);
}

/** BS.1770 gating over the mean squares z of the 400 ms blocks: LUFS, or -Infinity. */
function gatedLoudness(z: number[]): number {
  const lufs = (ms: number) => -0.691 + 10 * Math.log10(ms);
  const passAbs = z.filter((v) => v > 0 && lufs(v) > ABSOLUTE_GATE);
  if (passAbs.length === 0) return -Infinity;
  const meanAbs = passAbs.reduce((a, b) => a + b, 0) / passAbs.length;
  const relGate = lufs(meanAbs) + RELATIVE_GATE;
  const passRel = passAbs.filter((v) => lufs(v) > relGate);
  if (passRel.length === 0) return -Infinity;
  return lufs(passRel.reduce((a, b) => a + b, 0) / passRel.length);
}

/** A finite number for JSON, or null for -Infinity/NaN, rounded to 0.01. */
export function dbForJson(v: number): number | null {
  return Number.isFinite(v) ? Math.round(v * 100) / 100 : null;
}

/** What a listener's meters would say about a take (all from the samples as written). */
export interface LevelReport {
  /** Mean of the whole signal (full scale = 1). */
  dc: number;
  /** Largest |mean| over the whole 1 s blocks (the whole signal when shorter than 1 s). */
  dcMaxBlock: number;
  /** Sample peak, dBFS (null for silence). */
  peakDbfs: number | null;
  /** RMS level, dBFS (null for silence). */
  rmsDbfs: number | null;
  /** Integrated loudness, LUFS (BS.1770-4 gated; null when silent or shorter than 400 ms). */
  loudnessLufs: number | null;
}

/**
 * Level meter over a signal that arrives in blocks (a streamed take of any length: memory grows by
 * one number per 100 ms). Gives the same integrated loudness as `integratedLoudness` on the whole
 * signal (400 ms blocks made of four 100 ms steps).
 */
export class LevelMeter {
  private n = 0;
  private sum = 0;
  private sumSq = 0;
  private peak = 0;
  private blockSum = 0;
  private blockN = 0;
  private dcMax = 0;
  private readonly blockLen: number;
  // K-weighting state (two biquads, DF2T) and 100 ms energies
  private readonly k: [Biquad, Biquad];
  private z = [0, 0, 0, 0];
  private readonly step: number;
  private stepSum = 0;
  private stepN = 0;
  private readonly steps: number[] = [];

  constructor(readonly rate: number) {
    this.blockLen = Math.max(1, Math.round(rate));
    this.k = kWeightingFilters(rate);
    this.step = Math.max(1, Math.round(0.1 * rate));
  }

  push(x: ArrayLike<number>): void {
    const [s, h] = this.k;
    let [z1, z2, w1, w2] = this.z;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      this.sum += v;
      this.sumSq += v * v;
      const a = Math.abs(v);
      if (a > this.peak) this.peak = a;
      this.blockSum += v;
      if (++this.blockN === this.blockLen) {
        this.dcMax = Math.max(this.dcMax, Math.abs(this.blockSum / this.blockLen));
        this.blockSum = 0;
        this.blockN = 0;
      }
      const o1 = s.b[0] * v + z1;
      z1 = s.b[1] * v - s.a[1] * o1 + z2;
      z2 = s.b[2] * v - s.a[2] * o1;
      const o2 = h.b[0] * o1 + w1;
      w1 = h.b[1] * o1 - h.a[1] * o2 + w2;
      w2 = h.b[2] * o1 - h.a[2] * o2;
      this.stepSum += o2 * o2;
      if (++this.stepN === this.step) {
        this.steps.push(this.stepSum);
        this.stepSum = 0;
        this.stepN = 0;
      }
    }
    this.z = [z1, z2, w1, w2];
    this.n += x.length;
  }

  report(): LevelReport {
    const n = this.n;
    const dc = n ? this.sum / n : 0;
    const dcMaxBlock = n < this.blockLen ? Math.abs(dc) : this.dcMax;
    const z: number[] = [];
    for (let i = 0; i + 4 <= this.steps.length; i++)
      z.push((this.steps[i] + this.steps[i + 1] + this.steps[i + 2] + this.steps[i + 3]) / (4 * this.step));
    return {
      dc,
      dcMaxBlock,
      peakDbfs: dbForJson(toDb(this.peak)),
      rmsDbfs: dbForJson(toDb(n ? Math.sqrt(this.sumSq / n) : 0)),
      loudnessLufs: dbForJson(gatedLoudness(z)),
    };
  }
}

/** One LevelReport of a whole signal. */
export function levelReport(x: ArrayLike<number>, rate: number): LevelReport {
  const m = new LevelMeter(rate);
  m.push(x);
  return m.report();
}

/** "DC -0.0002 (1 s blocks <= 0.0011), peak -3.2 dBFS, RMS -18.0 dBFS, -17.5 LUFS" */
/** Below this RMS (dBFS) a take is quiet enough that a listener has to turn it up: 40 dB under full scale. */
export const QUIET_TAKE_DBFS = -40;

/** One line for a take whose RMS is below QUIET_TAKE_DBFS (the level is reported, but easy to miss), else null. */
export function quietTakeNote(r: LevelReport): string | null {
  if (r.rmsDbfs !== null && r.rmsDbfs >= QUIET_TAKE_DBFS) return null;
  const rms = r.rmsDbfs === null ? 'silent' : `RMS ${r.rmsDbfs.toFixed(1)} dBFS`;
  return `quiet take (${rms}, below ${QUIET_TAKE_DBFS} dBFS): raise it in your DAW, or render with --normalize -16LUFS`;
}

export function formatLevels(r: LevelReport): string {
  const db = (v: number | null, u: string) => (v === null ? `-inf ${u}` : `${v.toFixed(1)} ${u}`);
  return `DC ${r.dc.toFixed(4)} (1 s blocks <= ${r.dcMaxBlock.toFixed(4)}), peak ${db(r.peakDbfs, 'dBFS')}, RMS ${db(r.rmsDbfs, 'dBFS')}, ${db(r.loudnessLufs, 'LUFS')}`;
}
