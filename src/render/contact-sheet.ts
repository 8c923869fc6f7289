/**
 * The contact sheet: one PNG with a labelled spectrogram per texture, one row each, so a user can
 * pick textures by eye. Each row: name, seed, temperature, duration, loudness and peak on the left;
 * the spectrogram (time left to right, 0 Hz at the bottom to Nyquist at the top) on the right.
 * Colours share one dB scale across the sheet (the loudest cell is white-yellow, 80 dB below is black),
 * so quieter textures look darker.
 */
import { createImage, heatColorAt, savePng } from '../util/image.js';
import type { SpectrogramGrid } from './spectrogram.js';

export const SHEET_COLUMNS = 640;
export const SHEET_ROWS = 96;
const LABEL_W = 240;
const PAD = 6;
const ROW_H = SHEET_ROWS + 2 * PAD;
const HEADER_H = 28;
const RANGE_DB = 80;
const FONT = '"DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif';

export interface SheetEntry {
  name: string;
  lines: string[];
  grid: SpectrogramGrid;
}

export async function writeContactSheet(path: string, title: string, entries: SheetEntry[]): Promise<void> {
  const width = LABEL_W + SHEET_COLUMNS + PAD;
  const height = HEADER_H + Math.max(1, entries.length) * ROW_H;
  const { canvas, ctx } = createImage(width, height);
  ctx.fillStyle = '#16161a';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#e8e8e8';
  ctx.font = `bold 14px ${FONT}`;
  ctx.fillText(title, PAD, 19, width - 2 * PAD);

  let top = -Infinity;
  for (const e of entries) for (const v of e.grid.db) if (v > top) top = v;
  if (!Number.isFinite(top)) top = 0;

  entries.forEach((e, i) => {
    const y0 = HEADER_H + i * ROW_H;
    ctx.fillStyle = i % 2 ? '#1d1d22' : '#202027';
    ctx.fillRect(0, y0, width, ROW_H);
    ctx.fillStyle = '#ffffff';
    ctx.font = `bold 13px ${FONT}`;
    ctx.fillText(e.name, PAD, y0 + PAD + 13, LABEL_W - 2 * PAD);
    ctx.font = `11px ${FONT}`;
    ctx.fillStyle = '#c8c8c8';
    e.lines.forEach((l, k) => ctx.fillText(l, PAD, y0 + PAD + 30 + k * 14, LABEL_W - 2 * PAD));

    const g = e.grid;
    const img = ctx.createImageData(g.columns, g.rows);
    for (let c = 0; c < g.columns; c++) {
      for (let r = 0; r < g.rows; r++) {
        const v = (g.db[c * g.rows + r] - (top - RANGE_DB)) / RANGE_DB;
        const p = ((g.rows - 1 - r) * g.columns + c) * 4;
        heatColorAt(v, img.data, p);
        img.data[p + 3] = 255;
      }
    }
    ctx.putImageData(img, LABEL_W, y0 + PAD);
    ctx.fillStyle = 'rgba(255,255,255,0.7)';
    ctx.font = `9px ${FONT}`;
    ctx.fillText(`${(g.maxHz / 1000).toFixed(g.maxHz % 1000 ? 1 : 0)} kHz`, LABEL_W + 3, y0 + PAD + 10);
    ctx.fillText(`${g.seconds.toFixed(1)} s`, LABEL_W + g.columns - 34, y0 + PAD + g.rows - 3);
  });
  await savePng(canvas, path);
}
