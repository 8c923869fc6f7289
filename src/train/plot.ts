/**
 * runs/NAME/loss.png: training loss (per-pixel-column mean, with a light min..max band) and
 * validation loss, in bits per sample, against the step. Drawn with a tiny rasteriser and PNG encoder
 * (zlib from Node), so it needs no native graphics library.
 */
import { deflateSync } from 'node:zlib';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import type { LogRow } from './run.js';

type RGB = [number, number, number];

// 5x7 bitmap glyphs, one 5-bit row per entry (bit 4 = leftmost pixel).
const G = (rows: string) => rows.split(',').map((r) => parseInt(r, 2));
const FONT: Record<string, number[]> = {
  '0': G('01110,10001,10011,10101,11001,10001,01110'),
  '1': G('00100,01100,00100,00100,00100,00100,01110'),
  '2': G('01110,10001,00001,00010,00100,01000,11111'),
  '3': G('11111,00010,00100,00010,00001,10001,01110'),
  '4': G('00010,00110,01010,10010,11111,00010,00010'),
  '5': G('11111,10000,11110,00001,00001,10001,01110'),
  '6': G('00110,01000,10000,11110,10001,10001,01110'),
  '7': G('11111,00001,00010,00100,01000,01000,01000'),
  '8': G('01110,10001,10001,01110,10001,10001,01110'),
  '9': G('01110,10001,10001,01111,00001,00010,01100'),
  a: G('00000,00000,01110,00001,01111,10001,01111'),
  b: G('10000,10000,10110,11001,10001,10001,11110'),
  c: G('00000,00000,01110,10000,10000,10001,01110'),
  d: G('00001,00001,01101,10011,10001,10001,01111'),
  e: G('00000,00000,01110,10001,11111,10000,01110'),
  f: G('00110,01001,01000,11100,01000,01000,01000'),
  g: G('00000,01111,10001,10001,01111,00001,01110'),
  h: G('10000,10000,10110,11001,10001,10001,10001'),
  i: G('00100,00000,01100,00100,00100,00100,01110'),
  j: G('00010,00000,00110,00010,00010,10010,01100'),
  k: G('10000,10000,10010,10100,11000,10100,10010'),
  l: G('01100,00100,00100,00100,00100,00100,01110'),
  m: G('00000,00000,11010,10101,10101,10001,10001'),
  n: G('00000,00000,10110,11001,10001,10001,10001'),
  o: G('00000,00000,01110,10001,10001,10001,01110'),
  p: G('00000,00000,11110,10001,11110,10000,10000'),
  q: G('00000,00000,01101,10011,01111,00001,00001'),
  r: G('00000,00000,10110,11001,10000,10000,10000'),
  s: G('00000,00000,01110,10000,01110,00001,11110'),
  t: G('01000,01000,11100,01000,01000,01001,00110'),
  u: G('00000,00000,10001,10001,10001,10011,01101'),
  v: G('00000,00000,10001,10001,10001,01010,00100'),
  w: G('00000,00000,10001,10001,10101,10101,01010'),
  x: G('00000,00000,10001,01010,00100,01010,10001'),
  y: G('00000,00000,10001,10001,01111,00001,01110'),
  z: G('00000,00000,11111,00010,00100,01000,11111'),
  '.': G('00000,00000,00000,00000,00000,01100,01100'),
  ',': G('00000,00000,00000,00000,01100,00100,01000'),
  ':': G('00000,01100,01100,00000,01100,01100,00000'),
  '-': G('00000,00000,00000,11111,00000,00000,00000'),
  '+': G('00000,00100,00100,11111,00100,00100,00000'),
  '/': G('00000,00001,00010,00100,01000,10000,00000'),
  '(': G('00010,00100,01000,01000,01000,00100,00010'),
  ')': G('01000,00100,00010,00010,00010,00100,01000'),
  _: G('00000,00000,00000,00000,00000,00000,11111'),
  '=': G('00000,00000,11111,00000,11111,00000,00000'),
  ' ': G('00000,00000,00000,00000,00000,00000,00000'),
  '?': G('01110,10001,00001,00010,00100,00000,00100'),
};

export class Image {
  readonly px: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    bg: RGB = [255, 255, 255],
  ) {
    this.px = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.px.set(bg, i * 3);
  }

  set(x: number, y: number, c: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.px.set(c, (y * this.width + x) * 3);
  }

  rect(x0: number, y0: number, w: number, h: number, c: RGB): void {
    for (let y = Math.round(y0); y < Math.round(y0 + h); y++)
      for (let x = Math.round(x0); x < Math.round(x0 + w); x++) this.set(x, y, c);
  }

  line(x0: number, y0: number, x1: number, y1: number, c: RGB, thick = 1): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const o = Math.floor((thick - 1) / 2);
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      if (thick <= 1) this.set(x, y, c);
      else this.rect(Math.round(x) - o, Math.round(y) - o, thick, thick, c);
    }
  }

  /** Text with the 5x7 font scaled by `scale`; returns the width drawn. */
  text(x: number, y: number, s: string, c: RGB, scale = 2): number {
    let cx = x;
    for (const ch0 of s) {
      const ch = ch0.toLowerCase();
      const g = FONT[ch] ?? FONT['?'];
      for (let r = 0; r < 7; r++)
        for (let b = 0; b < 5; b++)
          if (g[r] & (1 << (4 - b))) this.rect(cx + b * scale, y + r * scale, scale, scale, c);
      cx += 6 * scale;
    }
    return cx - x;
  }

  static textWidth(s: string, scale = 2): number {
    return [...s].length * 6 * scale;
  }

  png(): Buffer {
    const raw = Buffer.alloc((this.width * 3 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (this.width * 3 + 1)] = 0;
      raw.set(this.px.subarray(y * this.width * 3, (y + 1) * this.width * 3), y * (this.width * 3 + 1) + 1);
    }
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw, { level: 6 })),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

function niceStep(range: number, target: number): number {
  const raw = range / Math.max(1, target);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function fmtTick(v: number, step: number): string {
  if (Math.abs(v) >= 10000) return `${+(v / 1000).toFixed(step >= 1000 ? 0 : 1)}k`;
  const d = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(Math.min(d, 4));
}

const BLUE: RGB = [31, 102, 184];
const LIGHT_BLUE: RGB = [190, 212, 238];
const ORANGE: RGB = [230, 120, 20];
const GRID: RGB = [230, 230, 230];
const AXIS: RGB = [60, 60, 60];
const REF: RGB = [120, 120, 120];

/** The training loss: the mean of each pixel column, with the min..max band of the column behind it. */
function drawTrainingLoss(img: Image, pts: LogRow[], X: (s: number) => number, Y: (v: number) => number): void {
  const cols = new Map<number, { sum: number; n: number; min: number; max: number }>();
  for (const r of pts) {
    const c = Math.round(X(r.step));
    const e = cols.get(c) ?? { sum: 0, n: 0, min: Infinity, max: -Infinity };
    e.sum += r.loss;
    e.n++;
    e.min = Math.min(e.min, r.loss);
    e.max = Math.max(e.max, r.loss);
    cols.set(c, e);
  }
  const colList = [...cols.entries()].sort((a, b) => a[0] - b[0]);
  for (const [c, e] of colList) if (e.n > 1) img.line(c, Y(e.min), c, Y(e.max), LIGHT_BLUE);
  let prev: [number, number] | null = null;
  for (const [c, e] of colList) {
    const p: [number, number] = [c, Y(e.sum / e.n)];
    if (prev) img.line(prev[0], prev[1], p[0], p[1], BLUE, 2);
    else img.rect(p[0] - 1, p[1] - 1, 3, 3, BLUE);
    prev = p;
  }
}

/** The plot area in pixels: left and top margins, width and height of the plot, height of the image. */
interface PlotArea {
  L: number;
  T: number;
  pw: number;
  ph: number;
  height: number;
}

/** The axes: steps x0..x1 with ticks every xs, bits/sample y0..y1 with ticks every ys. */
interface PlotRange {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  xs: number;
  ys: number;
}

/** The range of the axes: every loss, validation loss and the reference, widened to whole ticks. */
function plotRange(pts: LogRow[], vals: LogRow[], ref: number | null): PlotRange {
  const x0 = Math.min(pts[0].step, vals[0]?.step ?? Infinity);
  const x1 = Math.max(pts[pts.length - 1].step, vals[vals.length - 1]?.step ?? -Infinity, x0 + 1);
  let y0 = Infinity,
    y1 = -Infinity;
  for (const r of pts) {
    y0 = Math.min(y0, r.loss);
    y1 = Math.max(y1, r.loss);
  }
  for (const r of vals) {
    y0 = Math.min(y0, r.valLoss!);
    y1 = Math.max(y1, r.valLoss!);
  }
  if (ref !== null) {
    y0 = Math.min(y0, ref);
    y1 = Math.max(y1, ref);
  }
  if (y1 - y0 < 1e-6) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const ys = niceStep(y1 - y0, 6);
  y0 = Math.floor(y0 / ys) * ys;
  y1 = Math.ceil(y1 / ys) * ys;
  const xs = niceStep(x1 - x0, 8);
  return { x0, x1, y0, y1, xs, ys };
}

/** Grid lines with their tick labels, the two axes and their names. */
function drawGrid(img: Image, a: PlotArea, r: PlotRange, X: (s: number) => number, Y: (v: number) => number): void {
  const { L, T, pw, ph, height } = a;
  const { x0, x1, y0, y1, xs, ys } = r;
  for (let v = y0; v <= y1 + ys / 2; v += ys) {
    img.line(L, Y(v), L + pw, Y(v), GRID);
    const s = fmtTick(v, ys);
    img.text(L - 8 - Image.textWidth(s), Y(v) - 7, s, AXIS);
  }
  for (let s = Math.ceil(x0 / xs) * xs; s <= x1; s += xs) {
    img.line(X(s), T, X(s), T + ph, GRID);
    const t = fmtTick(s, xs);
    img.text(X(s) - Image.textWidth(t) / 2, T + ph + 8, t, AXIS);
  }
  img.line(L, T, L, T + ph, AXIS);
  img.line(L, T + ph, L + pw, T + ph, AXIS);
  img.text(L + pw / 2 - Image.textWidth('step') / 2, height - 24, 'step', AXIS);
  img.text(8, T - 26, 'bits/sample', AXIS);
}

/** The validation loss: a line through its points, each one marked. */
function drawValidationLoss(img: Image, vals: LogRow[], X: (s: number) => number, Y: (v: number) => number): void {
  let prev: [number, number] | null = null;
  for (const r of vals) {
    const p: [number, number] = [X(r.step), Y(r.valLoss!)];
    if (prev) img.line(prev[0], prev[1], p[0], p[1], ORANGE, 2);
    img.rect(p[0] - 2, p[1] - 2, 5, 5, ORANGE);
    prev = p;
  }
}

/** The "knows nothing" reference: a dashed grey line at `ref` bits/sample, labelled. */
function drawKnowsNothing(img: Image, a: PlotArea, ref: number, Y: (v: number) => number): void {
  const { L, T, pw } = a;
  const y = Y(ref);
  for (let x = L; x < L + pw; x += 12) img.line(x, y, Math.min(x + 6, L + pw), y, REF, 2);
  const label = `knows nothing: ${ref.toFixed(2)}`;
  const ty = y - 20 < T ? y + 6 : y - 20;
  img.rect(L + 4, ty - 3, Image.textWidth(label) + 8, 20, [255, 255, 255]);
  img.text(L + 8, ty, label, AXIS);
}

/**
 * Renders the loss curves as a PNG. `knowsNothing`: the dataset's unigram entropy (bits/sample, see
 * src/dataset/entropy.ts), drawn as a dashed grey reference line labelled in plain words: a model
 * whose validation loss sits on it has learned nothing you would hear.
 */
export function renderLossPlot(
  rows: LogRow[],
  title: string,
  width = 900,
  height = 500,
  knowsNothing?: number | null,
): Buffer {
  const img = new Image(width, height);
  const L = 80,
    R = 40,
    T = 64,
    B = 60;
  const pw = width - L - R,
    ph = height - T - B;
  img.text(L, 10, title.slice(0, Math.floor(pw / 12)), AXIS);
  const pts = rows.filter((r) => Number.isFinite(r.loss));
  const vals = rows.filter((r) => r.valLoss !== undefined && Number.isFinite(r.valLoss));
  if (pts.length === 0) {
    img.text(L + pw / 2 - 60, T + ph / 2, 'no steps yet', AXIS);
    return img.png();
  }
  const ref = knowsNothing != null && Number.isFinite(knowsNothing) && knowsNothing > 0 ? knowsNothing : null;
  const range = plotRange(pts, vals, ref);
  const { x0, x1, y0, y1 } = range;
  const X = (s: number) => L + ((s - x0) / (x1 - x0)) * pw;
  const Y = (v: number) => T + ph - ((v - y0) / (y1 - y0)) * ph;
  const area: PlotArea = { L, T, pw, ph, height };

  drawGrid(img, area, range, X, Y);
  drawTrainingLoss(img, pts, X, Y);
  drawValidationLoss(img, vals, X, Y);
  if (ref !== null) drawKnowsNothing(img, area, ref, Y);
  // Legend.
  const lx = L + pw - 230,
    ly = T + 8;
  img.rect(lx, ly + 5, 24, 3, BLUE);
  img.text(lx + 32, ly, 'loss', AXIS);
  img.rect(lx + 100, ly + 5, 24, 3, ORANGE);
  img.text(lx + 132, ly, 'val loss', AXIS);
  return img.png();
}

export async function writeLossPlot(
  runDir: string,
  rows: LogRow[],
  title: string,
  knowsNothing?: number | null,
): Promise<string> {
  const path = join(runDir, 'loss.png');
  await writeFileAtomic(path, renderLossPlot(rows, title, 900, 500, knowsNothing));
  return path;
}
