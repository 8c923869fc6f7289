// Draws a labelled spectrogram of each audio file into one PNG (the render contact sheet's layout).
//   node --import tsx scripts/spectrograms.ts OUT.png "Title" FILE...
import { basename } from 'node:path';
import { decodeFile } from '../src/audio/decode.js';
import { closeFfmpegLauncher } from '../src/audio/ffmpeg.js';
import { spectrogramGrid } from '../src/render/spectrogram.js';
import { writeContactSheet, SHEET_COLUMNS, SHEET_ROWS } from '../src/render/contact-sheet.js';

const [out, title, ...files] = process.argv.slice(2);
if (!out || !title || files.length === 0) {
  console.error('usage: scripts/spectrograms.ts OUT.png "Title" FILE...');
  process.exit(2);
}
const rate = 16000;
const entries = [];
for (const f of files) {
  const x = await decodeFile(f, { rate });
  let peak = 0;
  for (const v of x) peak = Math.max(peak, Math.abs(v));
  entries.push({
    name: basename(f),
    lines: [`${(x.length / rate).toFixed(1)} s at 16 kHz`, `peak ${(20 * Math.log10(peak || 1e-9)).toFixed(1)} dBFS`],
    grid: spectrogramGrid(x, rate, SHEET_COLUMNS, SHEET_ROWS),
  });
}
await writeContactSheet(out, title, entries);
await closeFfmpegLauncher();
console.log(`wrote ${out} (${entries.length} spectrograms)`);
