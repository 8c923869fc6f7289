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
  const t = Number.isFinite(v) ? Math.max(0, Math.min(1, v)) : 0;
  for (let i = 1; i < STOPS.length; i++) {
    if (t <= STOPS[i][0]) {
      const [t0, r0, g0, b0] = STOPS[i - 1];
      const [t1, r1, g1, b1] = STOPS[i];
      const f = (t - t0) / (t1 - t0);
      return [Math.round(r0 + (r1 - r0) * f), Math.round(g0 + (g1 - g0) * f), Math.round(b0 + (b1 - b0) * f)];
    }
  }
  const last = STOPS[STOPS.length - 1];
  return [last[1], last[2], last[3]];
}

/** Encodes the canvas as PNG and writes it atomically. */
export async function savePng(canvas: Canvas, path: string): Promise<void> {
  const png = await canvas.encode('png');
  await writeFileAtomic(path, png);
}
