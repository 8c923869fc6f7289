/**
 * A short-time Fourier transform in plain TypeScript (radix-2 FFT, Hann window) and a summary of it
 * as a small grid of dB values for drawing: `columns` time columns x `rows` frequency rows
 * (row 0 = lowest frequency), each cell the mean power of the STFT cells that fall into it.
 *
 * The STFT's frames are real, so each is transformed as a complex FFT of half the length (even
 * samples as real parts, odd as imaginary) and split into the spectrum of the real frame, with the
 * bit-reversal order and twiddle factors computed once per size (RealFft). The contact sheet of
 * `wavenet render` runs about 1,300 frames per texture at 640 columns, so this is most of its cost.
 */

/** In-place iterative radix-2 complex FFT; re.length must be a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if ((n & (n - 1)) !== 0) throw new Error(`fft: length ${n} is not a power of two`);
  fftPlan(n).run(re, im);
}

/** A complex FFT of one power-of-two size n: its bit-reversal order and twiddles, computed once. */
class FftPlan {
  private readonly rev: Uint32Array;
  /** cos and -sin of 2 pi k / n, k < n/2. */
  private readonly cw: Float64Array;
  private readonly sw: Float64Array;

  constructor(private readonly n: number) {
    this.rev = new Uint32Array(n);
    for (let i = 1, j = 0; i < n; i++) {
      let bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      this.rev[i] = j;
    }
    this.cw = new Float64Array(n >> 1);
    this.sw = new Float64Array(n >> 1);
    for (let k = 0; k < n >> 1; k++) {
      this.cw[k] = Math.cos((2 * Math.PI * k) / n);
      this.sw[k] = -Math.sin((2 * Math.PI * k) / n);
    }
  }

  /** In place: (re, im) <- their DFT. */
  run(re: Float64Array, im: Float64Array): void {
    const { n, rev, cw, sw } = this;
    for (let i = 1; i < n; i++) {
      const j = rev[i];
      if (i < j) {
        let t = re[i];
        re[i] = re[j];
        re[j] = t;
        t = im[i];
        im[i] = im[j];
        im[j] = t;
      }
    }
    for (let len = 2, step = n >> 1; len <= n; len <<= 1, step >>= 1) {
      const half = len >> 1;
      for (let i = 0; i < n; i += len) {
        for (let k = 0, t = 0; k < half; k++, t += step) {
          const a = i + k;
          const b = a + half;
          const wr = cw[t];
          const wi = sw[t];
          const xr = re[b] * wr - im[b] * wi;
          const xi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  }
}

const fftPlans = new Map<number, FftPlan>();
function fftPlan(n: number): FftPlan {
  let p = fftPlans.get(n);
  if (!p) fftPlans.set(n, (p = new FftPlan(n)));
  return p;
}

export function hann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/**
 * Power spectrogram: frames of `size` samples every `hop`, Hann window, bins 0..size/2.
 * Returns frames x (size/2 + 1) powers, normalized so a full-scale sine's peak bin reads about 1
 * (0 dB) whatever the window size.
 */
export function stft(
  x: ArrayLike<number>,
  size: number,
  hop: number,
): { frames: number; bins: number; power: Float32Array } {
  const w = hann(size);
  let wsum = 0;
  for (let i = 0; i < size; i++) wsum += w[i];
  const scale = 4 / (wsum * wsum); // (2/sum(w))^2: amplitude A sine -> |X|^2 * scale = A^2
  const bins = size / 2 + 1;
  const frames = x.length >= size ? 1 + Math.floor((x.length - size) / hop) : x.length > 0 ? 1 : 0;
  const power = new Float32Array(frames * bins);
  const plan = realFft(size);
  const frame = new Float64Array(size);
  for (let f = 0; f < frames; f++) {
    const start = f * hop;
    const n = Math.min(size, x.length - start);
    for (let i = 0; i < n; i++) frame[i] = x[start + i] * w[i];
    frame.fill(0, n);
    plan.power(frame, power, f * bins, scale);
  }
  return { frames, bins, power };
}

/**
 * The FFT of real frames of one power-of-two size n >= 4: a complex FFT of n/2 points over the
 * pairs (x[2k], x[2k+1]), then X[k] = E[k] + e^(-2 pi i k/n) O[k] with E and O the spectra of the
 * even and odd samples, recovered from Z[k] and conj(Z[n/2 - k]).
 */
class RealFft {
  private readonly m: number;
  private readonly half: FftPlan;
  /** cos and -sin of 2 pi k / n, k <= n/2: the split's twiddles. */
  private readonly cs: Float64Array;
  private readonly ss: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(n: number) {
    if (n < 4 || (n & (n - 1)) !== 0) throw new Error(`RealFft: length ${n} is not a power of two >= 4`);
    const m = n >> 1;
    this.m = m;
    this.half = fftPlan(m);
    this.cs = new Float64Array(m + 1);
    this.ss = new Float64Array(m + 1);
    for (let k = 0; k <= m; k++) {
      this.cs[k] = Math.cos((2 * Math.PI * k) / n);
      this.ss[k] = -Math.sin((2 * Math.PI * k) / n);
    }
    this.re = new Float64Array(m);
    this.im = new Float64Array(m);
  }

  /** out[at + k] = |X[k]|^2 * scale for k = 0..n/2, X the DFT of the real frame x (length n). */
  power(x: Float64Array, out: Float32Array, at: number, scale: number): void {
    const { m, cs, ss, re, im } = this;
    for (let i = 0; i < m; i++) {
      re[i] = x[2 * i];
      im[i] = x[2 * i + 1];
    }
    this.half.run(re, im);
    for (let k = 0; k <= m; k++) {
      const p = k === m ? 0 : k;
      const q = k === 0 ? 0 : m - k;
      const a = re[p];
      const b = im[p];
      const c = re[q];
      const d = im[q];
      const er = 0.5 * (a + c);
      const ei = 0.5 * (b - d);
      const or = 0.5 * (b + d);
      const oi = -0.5 * (a - c);
      const xr = er + cs[k] * or - ss[k] * oi;
      const xi = ei + cs[k] * oi + ss[k] * or;
      out[at + k] = (xr * xr + xi * xi) * scale;
    }
  }
}

const plans = new Map<number, RealFft>();
function realFft(n: number): RealFft {
  let p = plans.get(n);
  if (!p) plans.set(n, (p = new RealFft(n)));
  return p;
}

export interface SpectrogramGrid {
  columns: number;
  rows: number;
  /** columns x rows, column-major: db[c * rows + r], r = 0 the lowest frequency. */
  db: Float32Array;
  /** Highest frequency shown (Nyquist), Hz. */
  maxHz: number;
  seconds: number;
}

/** The STFT of x (at `rate` Hz) averaged into a columns x rows grid of dB values (power, full scale 0 dB). */
export function spectrogramGrid(x: ArrayLike<number>, rate: number, columns: number, rows: number): SpectrogramGrid {
  const size = rate >= 32000 ? 1024 : 512;
  const hop = Math.max(1, Math.min(size / 2, Math.floor(x.length / Math.max(1, columns * 2))) || 1);
  const s = stft(x, size, hop);
  const db = new Float32Array(columns * rows).fill(-200);
  if (s.frames === 0) return { columns, rows, db, maxHz: rate / 2, seconds: x.length / rate };
  const acc = new Float64Array(columns * rows);
  // a cell's count is (frames in its column) x (bins in its row)
  const colFrames = new Float64Array(columns);
  const rowBins = new Float64Array(rows);
  const rowOf = new Int32Array(s.bins);
  for (let b = 0; b < s.bins; b++) {
    rowOf[b] = Math.min(rows - 1, Math.floor((b * rows) / s.bins));
    rowBins[rowOf[b]]++;
  }
  for (let f = 0; f < s.frames; f++) {
    const c = Math.min(columns - 1, Math.floor((f * columns) / s.frames));
    colFrames[c]++;
    const base = c * rows;
    const pf = f * s.bins;
    for (let b = 0; b < s.bins; b++) acc[base + rowOf[b]] += s.power[pf + b];
  }
  // Columns with no frame (fewer frames than columns) repeat the previous one.
  for (let c = 0; c < columns; c++) {
    for (let r = 0; r < rows; r++) {
      const k = c * rows + r;
      const cnt = colFrames[c] * rowBins[r];
      if (cnt > 0) db[k] = 10 * Math.log10(acc[k] / cnt + 1e-20);
      else if (c > 0) db[k] = db[k - rows];
    }
  }
  return { columns, rows, db, maxHz: rate / 2, seconds: x.length / rate };
}
