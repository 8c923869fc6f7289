/**
 * Small raster-image helpers over @napi-rs/canvas (prebuilt Skia, installs offline):
 * a canvas, a perceptual dark-to-bright colour map for heat maps, and an atomic PNG write.
 *
 *   const { canvas, ctx } = createImage(640, 480);
 *   ctx.fillText('hello', 10, 20);
 *   await savePng(canvas, 'out.png');
 *
 * Text uses the system's fonts (fontconfig); on a machine with no fonts installed, labels are
 * simply not drawn (the image is still written).
 */
import { createCanvas, type Canvas, type SKRSContext2D } from '@napi-rs/canvas';
import { writeFileAtomic } from './atomic.js';

export type { Canvas, SKRSContext2D };

export function createImage(width: number, height: number): { canvas: Canvas; ctx: SKRSContext2D } {
  const w = Math.max(1, Math.round(width));
  const h = Math.max(1, Math.round(height));
  const canvas = createCanvas(w, h);
  return { canvas, ctx: canvas.getContext('2d') };
}

// Control points of a black -> violet -> red -> orange -> pale yellow ramp (monotonic in lightness).
const STOPS: [number, number, number, number][] = [
  [0.0, 0, 0, 4],
  [0.15, 31, 12, 72],
  [0.35, 102, 21, 110],
  [0.55, 178, 50, 90],
  [0.7, 229, 92, 48],
  [0.85, 250, 164, 10],
  [1.0, 252, 250, 200],
];

/** Colour of v in [0, 1] (clamped) as [r, g, b] bytes. */
export function heatColor(v: number): [number, number, number] {
  const rgb = new Uint8Array(3);
  heatColorAt(v, rgb, 0);
  return [rgb[0], rgb[1], rgb[2]];
}

/** heatColor(v) written to out[at], out[at + 1], out[at + 2] (no array per pixel: heat maps call it ~1e6 times). */
export function heatColorAt(v: number, out: Uint8Array | Uint8ClampedArray, at: number): void {
  const t = Number.isFinite(v) ? Math.max(0, Math.min(1, v)) : 0;
  let i = 1;
  while (i < STOPS.length - 1 && t > STOPS[i][0]) i++;
  const a = STOPS[i - 1];
  const b = STOPS[i];
  const f = (t - a[0]) / (b[0] - a[0]);
  out[at] = Math.round(a[1] + (b[1] - a[1]) * f);
  out[at + 1] = Math.round(a[2] + (b[2] - a[2]) * f);
  out[at + 2] = Math.round(a[3] + (b[3] - a[3]) * f);
}

/** Encodes the canvas as PNG and writes it atomically. */
export async function savePng(canvas: Canvas, path: string): Promise<void> {
  const png = await canvas.encode('png');
  await writeFileAtomic(path, png);
}
