/**
 * A short-time Fourier transform in plain TypeScript (radix-2 FFT, Hann window) and a summary of it
 * as a small grid of dB values for drawing: `columns` time columns x `rows` frequency rows
 * (row 0 = lowest frequency), each cell the mean power of the STFT cells that fall into it.
 */

/** In-place iterative radix-2 complex FFT; re.length must be a power of two. */
export function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  if ((n & (n - 1)) !== 0) throw new Error(`fft: length ${n} is not a power of two`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      let t = re[i];
      re[i] = re[j];
      re[j] = t;
      t = im[i];
      im[i] = im[j];
      im[j] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const a = i + k;
        const b = a + half;
        const xr = re[b] * cr - im[b] * ci;
        const xi = re[b] * ci + im[b] * cr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
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
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let f = 0; f < frames; f++) {
    const start = f * hop;
    for (let i = 0; i < size; i++) {
      const j = start + i;
      re[i] = j < x.length ? x[j] * w[i] : 0;
      im[i] = 0;
    }
    fft(re, im);
    for (let b = 0; b < bins; b++) power[f * bins + b] = (re[b] * re[b] + im[b] * im[b]) * scale;
  }
  return { frames, bins, power };
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
  const cnt = new Float64Array(columns * rows);
  for (let f = 0; f < s.frames; f++) {
    const c = Math.min(columns - 1, Math.floor((f * columns) / s.frames));
    for (let b = 0; b < s.bins; b++) {
      const r = Math.min(rows - 1, Math.floor((b * rows) / s.bins));
      acc[c * rows + r] += s.power[f * s.bins + b];
      cnt[c * rows + r] += 1;
    }
  }
  // Columns with no frame (fewer frames than columns) repeat the previous one.
  for (let c = 0; c < columns; c++) {
    for (let r = 0; r < rows; r++) {
      const k = c * rows + r;
      if (cnt[k] > 0) db[k] = 10 * Math.log10(acc[k] / cnt[k] + 1e-20);
      else if (c > 0) db[k] = db[k - rows];
    }
  }
  return { columns, rows, db, maxHz: rate / 2, seconds: x.length / rate };
}
