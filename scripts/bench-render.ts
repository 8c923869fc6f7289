/**
 * Render benchmark: aggregate x real time of `wavenet render` for many textures generated as parallel
 * streams (batch = all textures) against the same textures rendered one at a time (batch 1), through
 * the same pipeline (render(): batched synthesis, post-processing, WAV writing; no contact sheet).
 * Random weights (speed does not depend on the values).
 *
 *   node --import tsx scripts/bench-render.ts [--textures 64] [--seconds 2] [--config default|small]
 *        [--repeats 1] [--device cpu|cuda] [--out bench-results/render-cpu.json]
 *
 * default config: dilations 10x3, R 64, D 64, S 256, H 256 (DEFAULT_CONFIG, src/model/config.ts); small: 10x2, R 32, D 32, S 128, H 128.
 * Runs alternate (batched, one at a time, batched, ...): with --repeats R each mode renders R x
 * textures x seconds of audio in all, and the medians and the per-pair speedups are reported (pairs
 * run back to back, so a busy machine slows both sides of a pair alike).
 * Prints a table and writes JSON.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  DEFAULT_CONFIG,
  formatDilations,
  parseDilations,
  receptiveField,
  type ModelConfig,
} from '../src/model/config.js';
import { initParams } from '../src/train/init.js';
import { render, MODEL_RATE } from '../src/render/renderer.js';
import { planFromCount } from '../src/render/spec.js';
import { native } from '../src/native.js';
import { median } from '../src/util/stats.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const textures = Number(arg('textures', '64'));
const seconds = Number(arg('seconds', '2'));
const which = arg('config', 'default');
const repeats = Number(arg('repeats', '1'));
const device = arg('device', 'cpu') as 'cpu' | 'cuda';
const out = arg('out', `bench-results/render-${device}.json`);

const SMALL: ModelConfig = {
  dilations: parseDilations('10x2'),
  residual: 32,
  dilation: 32,
  skip: 128,
  head: 128,
  classes: 256,
};
const config = which === 'small' ? SMALL : DEFAULT_CONFIG;
if (!['default', 'small'].includes(which)) throw new Error(`--config ${which}: default or small`);

const params = initParams(config, 1);
const model = { path: '(random weights)', sha256: '-', step: 0, config, params };

async function once(batch: number): Promise<{ wall: number; xRealTime: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'wavenet-bench-render-'));
  try {
    const t0 = performance.now();
    const r = await render({
      outDir: dir,
      textures: planFromCount(textures, {
        seconds,
        seedBase: 1,
        temperature: { from: 1, to: 1 },
        primes: [],
        loop: false,
      }),
      model,
      crossfade: 0,
      fadeIn: 0,
      fadeOut: 0,
      normalize: null,
      batch,
      device,
      contactSheet: false,
    });
    const wall = (performance.now() - t0) / 1000;
    if (r.rendered.length !== textures) throw new Error(`rendered ${r.rendered.length} of ${textures}`);
    return { wall, xRealTime: (textures * seconds) / wall };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cpu = native().cpuFeatures();
console.error(
  `bench render: ${textures} textures x ${seconds} s, config ${which} (${formatDilations(config.dilations)}, R ${config.residual}, D ${config.dilation}, ` +
    `S ${config.skip}, H ${config.head}; receptive field ${receptiveField(config)}), ${device}, ${repeats} repeat(s)`,
);
const batched: number[] = [];
const single: number[] = [];
const load0 = loadavg()[0];
for (let r = 0; r < repeats; r++) {
  const b = await once(textures);
  console.error(`  batched (batch ${textures}): ${b.wall.toFixed(1)} s, ${b.xRealTime.toFixed(3)}x real time`);
  batched.push(b.xRealTime);
  const s = await once(1);
  console.error(`  one at a time (batch 1):  ${s.wall.toFixed(1)} s, ${s.xRealTime.toFixed(3)}x real time`);
  single.push(s.xRealTime);
}
const mb = median(batched);
const ms = median(single);
const result = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`,
  kernels: cpu.kernels,
  threads: cpu.threads,
  loadavgAtStart: load0,
  loadavgAtEnd: loadavg()[0],
  device,
  config: {
    name: which,
    dilations: formatDilations(config.dilations),
    residual: config.residual,
    dilation: config.dilation,
    skip: config.skip,
    head: config.head,
  },
  textures,
  secondsEach: seconds,
  totalAudioSeconds: textures * seconds,
  sampleRate: MODEL_RATE,
  repeats,
  batched: { batch: textures, xRealTime: batched, median: mb },
  oneAtATime: { batch: 1, xRealTime: single, median: ms },
  speedup: mb / ms,
  pairedSpeedups: batched.map((b, i) => b / single[i]),
  medianPairedSpeedup: median(batched.map((b, i) => b / single[i])),
  goal: 'batched >= 4x one at a time',
  goalMet: mb / ms >= 4,
};
console.log('mode            batch   x real time (median)   samples/s');
console.log(
  `batched         ${String(textures).padEnd(6)}  ${mb.toFixed(3).padEnd(21)}  ${(mb * MODEL_RATE).toFixed(0)}`,
);
console.log(`one at a time   1       ${ms.toFixed(3).padEnd(21)}  ${(ms * MODEL_RATE).toFixed(0)}`);
console.log(
  `speedup: ${(mb / ms).toFixed(2)}x (ratio of medians; per pair: ${result.pairedSpeedups.map((x) => x.toFixed(2)).join(', ')}) (goal >= 4x: ${result.goalMet ? 'met' : 'NOT met'})`,
);
console.log(
  `load average (1 min) at start ${load0.toFixed(1)}, at end ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`,
);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${out}`);
