// What a listener hears, measured over a grid of sampling settings (docs/audio.md):
//   node --import tsx scripts/bench-audio.ts [--model CKPT] [--label NAME] [--seeds 10] [--seconds 10]
//        [--temperatures 1,0.9] [--top-p 1,0.99,0.95,0.9] [--top-k 0] [--primes none,dataset] [--json OUT.json]
//   node --import tsx scripts/bench-audio.ts --defaults [--model CKPT] [--seeds 10] [--seconds 30] [--auditions N] [--json OUT.json]
// Grid mode: for every temperature x top-p x top-k x prime, all seeds run as one batch of streams
// (src/synth Synthesizer, as render does); each take is the generated audio only (a prime is cut), DC
// blocked as synth/render do by default. Per take: clicks/s (|x[t+1]-x[t]| > 0.5 FS), DC of the raw
// and of the blocked take, the largest |DC| of a 1 s block (blocked), spectral flatness (median over
// 0.5 s blocks), settling (src/synth/audio-metrics.ts: seconds until the take keeps its own character,
// and seconds of broadband noise it opens with before settling into something else), RMS.
// The table shows medians over the seeds (and the worst noise opening).
// --defaults: runs the `synth` command's own code (runSynth, default flags) once per seed with
// --seconds and measures the WAV files written: the Done-when check of issue 13. Besides the noise
// opening it counts the seconds of noise anywhere before a take settles into a character that is not
// noise (a take that opens in its texture and then wanders into noise), and what the auditions cost.
//   node --import tsx scripts/bench-audio.ts --warmup-table OUT.json
// prints what --warmup W would do to the takes of an earlier --defaults or one-row grid JSON: a take
// with warm-up W is the same stream from W on, so its opening is the blocks from W on.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { BUNDLED_MODEL } from '../src/model/bundled.js';
import { MODEL_RATE, Synthesizer } from '../src/synth/synthesizer.js';
import { primeFromDataset } from '../src/synth/prime-dataset.js';
import { blockDc } from '../src/render/dsp.js';
import { levelReport } from '../src/render/loudness.js';
import {
  blockFlatness,
  clicksPerSecond,
  settling,
  settlingOfBlocks,
  FLATNESS_BLOCK_SECONDS,
} from '../src/synth/audio-metrics.js';
import { readWav16 } from '../src/render/renderer.js';
import { median } from '../src/util/stats.js';
import { runSynth, checkSynthArgs, SYNTH_DEFAULTS } from '../src/commands/synth.js';
import { closeFfmpegLauncher } from '../src/audio/ffmpeg.js';
import { native } from '../src/native.js';

const args = process.argv.slice(2);
function opt(name: string, dflt: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const list = (s: string) =>
  s
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
const modelPath = opt('model', BUNDLED_MODEL);
const label = opt('label', modelPath === BUNDLED_MODEL ? 'bundled' : modelPath);
const seeds = Number(opt('seeds', '10'));
const jsonOut = opt('json', '');

interface TakeMetrics {
  clicksPerSec: number;
  dcRaw: number;
  dc: number;
  dcMaxBlock: number;
  flatness: number;
  noiseOpening: number;
  settle: number;
  noiseTexture: boolean;
  rmsDbfs: number | null;
  blockFlatness: number[];
}

function measure(raw: Float32Array, blocked: Float32Array): TakeMetrics {
  const lv = levelReport(blocked, MODEL_RATE);
  const st = settling(blocked, MODEL_RATE);
  let s = 0;
  for (const v of raw) s += v;
  return {
    clicksPerSec: clicksPerSecond(blocked, MODEL_RATE),
    dcRaw: s / raw.length,
    dc: lv.dc,
    dcMaxBlock: lv.dcMaxBlock,
    flatness: median(blockFlatness(blocked, MODEL_RATE)),
    noiseOpening: st.noiseOpening,
    settle: st.settle,
    noiseTexture: st.noiseTexture,
    rmsDbfs: lv.rmsDbfs,
    blockFlatness: st.blocks.map((v) => Math.round(v * 1000) / 1000),
  };
}

function summarize(takes: TakeMetrics[]) {
  const med = (f: (t: TakeMetrics) => number) => median(takes.map(f));
  return {
    clicksPerSec: med((t) => t.clicksPerSec),
    absDcRaw: med((t) => Math.abs(t.dcRaw)),
    absDc: med((t) => Math.abs(t.dc)),
    dcMaxBlock: med((t) => t.dcMaxBlock),
    worstDcMaxBlock: Math.max(...takes.map((t) => t.dcMaxBlock)),
    flatness: med((t) => t.flatness),
    noiseOpening: med((t) => t.noiseOpening),
    worstNoiseOpening: Math.max(...takes.map((t) => t.noiseOpening)),
    settle: med((t) => t.settle),
    noiseTextures: takes.filter((t) => t.noiseTexture).length,
    quietTakes: takes.filter((t) => (t.rmsDbfs ?? -200) < -40).length,
    rmsDbfs: med((t) => t.rmsDbfs ?? -200),
  };
}

const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
const load = () => loadavg()[0].toFixed(1);
const header = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`,
  command: `node --import tsx scripts/bench-audio.ts ${args.join(' ')}`,
  model: modelPath,
  label,
  seeds,
};

async function grid() {
  const seconds = Number(opt('seconds', '10'));
  const temps = list(opt('temperatures', '1,0.9')).map(Number);
  const tops = list(opt('top-p', '1,0.99,0.95,0.9')).map(Number);
  const ks = list(opt('top-k', '0')).map(Number);
  const primes = list(opt('primes', 'none,dataset'));
  const ck = await loadCheckpoint(modelPath);
  const rows = [];
  console.log(`# ${label}: ${modelPath} (step ${ck.step}), ${seeds} seeds x ${seconds} s, load ${load()}`);
  console.log(
    '| T | top-p | top-k | prime | clicks/s | abs DC raw | abs DC blocked | 1 s block DC (median / worst) | flatness | settle s | noise opening s (median / worst) | noise textures | RMS dBFS (median) | takes under -40 dBFS |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const prime of primes)
    for (const T of temps)
      for (const p of tops)
        for (const k of ks) {
          const streams: { seed: bigint; temperature: number; topP: number; topK: number; prime?: Uint8Array }[] = [];
          for (let i = 0; i < seeds; i++) {
            const seed = BigInt(1 + i);
            const pr =
              prime === 'dataset'
                ? (await primeFromDataset(modelPath, ck.metadata, MODEL_RATE, seed)).classes
                : undefined;
            streams.push({ seed, temperature: T, topP: p, topK: k, prime: pr });
          }
          const synth = new Synthesizer({ config: ck.config, params: ck.params, device: 'cpu', streams });
          const total = Math.round(seconds * MODEL_RATE);
          const raw = streams.map(() => new Float32Array(total));
          const t0 = performance.now();
          try {
            await synth.start();
            for (let t = 0; t < total; ) {
              const n = Math.min(16000, total - t);
              const { audio } = await synth.generate(n);
              audio.forEach((a, b) => raw[b].set(a, t));
              t += n;
            }
          } finally {
            synth.free();
          }
          const takes = raw.map((x, b) => {
            // the DC blocker runs over the prime's audio first (as synth does), then the take
            const pa = streams[b].prime ? native().mulawDecode(streams[b].prime!) : new Float32Array(0);
            const both = new Float32Array(pa.length + x.length);
            both.set(pa);
            both.set(x, pa.length);
            return measure(x, blockDc(both, MODEL_RATE).subarray(pa.length));
          });
          const s = summarize(takes);
          const row = {
            temperature: T,
            topP: p,
            topK: k,
            prime,
            seconds,
            wallSeconds: (performance.now() - t0) / 1000,
            load: Number(load()),
            ...s,
            takes,
          };
          rows.push(row);
          console.log(
            `| ${T} | ${p} | ${k} | ${prime} | ${f(s.clicksPerSec, 1)} | ${f(s.absDcRaw, 4)} | ${f(s.absDc, 5)} | ${f(s.dcMaxBlock, 4)} / ${f(s.worstDcMaxBlock, 4)} | ` +
              `${f(s.flatness, 3)} | ${f(s.settle, 1)} | ${f(s.noiseOpening, 1)} / ${f(s.worstNoiseOpening, 1)} | ${s.noiseTextures}/${takes.length} | ${f(s.rmsDbfs, 1)} | ${s.quietTakes}/${takes.length} |`,
          );
        }
  return { ...header, mode: 'grid', rows };
}

async function defaults() {
  const seconds = Number(opt('seconds', '30'));
  const dir = mkdtempSync(join(tmpdir(), 'wavenet-bench-audio-'));
  const take = (seed: number, r: Awaited<ReturnType<typeof runSynth>>, x: Float32Array) => {
    const st = settling(x, MODEL_RATE);
    const a = r.auditions;
    return {
      seed,
      ...r.levels,
      clicksPerSec: clicksPerSecond(x, MODEL_RATE),
      noiseOpening: st.noiseOpening,
      noiseBeforeSettle: st.noiseBeforeSettle,
      settle: st.settle,
      noiseTexture: st.noiseTexture,
      blockFlatness: st.blocks.map((v) => Math.round(v * 1000) / 1000),
      prime: r.primeFrom,
      auditions: a,
      wallSeconds: (performance.now() - w0) / 1000,
    };
  };
  let w0 = 0;
  const takes: ReturnType<typeof take>[] = [];
  const auditions = opt('auditions', String(SYNTH_DEFAULTS.auditions));
  console.log(
    `# synth with default flags (top-p ${SYNTH_DEFAULTS.topP}, prime ${SYNTH_DEFAULTS.prime}, DC blocker on, auditions ${auditions}): ${modelPath}, ${seeds} seeds x ${seconds} s, load ${load()}`,
  );
  console.log(
    '| seed | abs DC | worst 1 s block DC | peak dBFS | RMS dBFS | LUFS | clicks/s | settle s | noise opening s | noise before settling s | texture | auditions: tried, kept seed | extra audio s | wall s |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  try {
    for (let i = 0; i < seeds; i++) {
      const out = join(dir, `take-${i + 1}.wav`);
      const checked = checkSynthArgs({
        seconds: String(seconds),
        out,
        temperature: String(SYNTH_DEFAULTS.temperature),
        seed: String(i + 1),
        auditions,
        primeSeconds: '1',
        sampleRate: '16000',
        format: 's16',
        device: 'cpu',
        json: true,
      });
      w0 = performance.now();
      // the model is named even when it is the bundled one: without --model, synth takes the newest run under ./runs
      const r = await runSynth({ ...checked, model: modelPath, device: 'cpu', json: true, log: () => {} });
      const x = readWav16(out).samples;
      const t = take(i + 1, r, x);
      takes.push(t);
      const au = t.auditions
        ? `${t.auditions.tried}${t.auditions.allNoisy ? ' (all noise)' : ''}, ${t.auditions.keptSeed}`
        : 'off';
      console.log(
        `| ${t.seed} | ${f(Math.abs(t.dc), 5)} | ${f(t.dcMaxBlock, 4)} | ${t.peakDbfs} | ${t.rmsDbfs} | ${t.loudnessLufs} | ${f(t.clicksPerSec, 2)} | ${t.settle} | ${t.noiseOpening} | ${t.noiseBeforeSettle} | ` +
          `${t.noiseTexture ? 'noise' : 'tonal'} | ${au} | ${f(t.auditions?.extraSeconds ?? 0, 1)} | ${f(t.wallSeconds, 1)} |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await closeFfmpegLauncher();
  }
  const med = (g: (t: (typeof takes)[number]) => number) => median(takes.map(g));
  const s = {
    absDc: med((t) => Math.abs(t.dc)),
    dcMaxBlock: med((t) => t.dcMaxBlock),
    worstDcMaxBlock: Math.max(...takes.map((t) => t.dcMaxBlock)),
    peakDbfs: med((t) => t.peakDbfs ?? -200),
    rmsDbfs: med((t) => t.rmsDbfs ?? -200),
    clicksPerSec: med((t) => t.clicksPerSec),
    worstNoiseOpening: Math.max(...takes.map((t) => t.noiseOpening)),
    noiseOpeningsOver1s: takes.filter((t) => t.noiseOpening > 1).length,
    noiseBeforeSettleOver1s: takes.filter((t) => t.noiseBeforeSettle > 1).length,
    worstNoiseBeforeSettle: Math.max(...takes.map((t) => t.noiseBeforeSettle)),
    noiseTextures: takes.filter((t) => t.noiseTexture).length,
    quietTakes: takes.filter((t) => (t.rmsDbfs ?? -200) < -40).length,
    settle: med((t) => t.settle),
    extraSeconds: takes.reduce((a, t) => a + (t.auditions?.extraSeconds ?? 0), 0),
    wallSeconds: takes.reduce((a, t) => a + t.wallSeconds, 0),
  };
  const n = takes.length;
  console.log(
    `| median | ${f(s.absDc, 5)} | ${f(s.dcMaxBlock, 4)} (worst ${f(s.worstDcMaxBlock, 4)}) | ${f(s.peakDbfs, 2)} | ${f(s.rmsDbfs, 2)} | | ${f(s.clicksPerSec, 2)} | ${s.settle} | ` +
      `${s.noiseOpeningsOver1s}/${n} > 1 s (worst ${s.worstNoiseOpening}) | ${s.noiseBeforeSettleOver1s}/${n} > 1 s (worst ${s.worstNoiseBeforeSettle}) | ` +
      `${s.noiseTextures}/${n} noise, ${s.quietTakes}/${n} under -40 dBFS | | ${f(s.extraSeconds, 1)} in all | ${f(s.wallSeconds, 0)} in all |`,
  );
  return {
    ...header,
    mode: 'defaults',
    seconds,
    defaults: {
      topP: SYNTH_DEFAULTS.topP,
      topK: SYNTH_DEFAULTS.topK,
      prime: SYNTH_DEFAULTS.prime,
      auditions: Number(auditions),
    },
    takes,
    summary: s,
  };
}

function warmupTable(path: string) {
  const d = JSON.parse(readFileSync(path, 'utf8')) as {
    takes?: { blockFlatness: number[] }[];
    rows?: { takes: { blockFlatness: number[] }[] }[];
  };
  const takes = d.takes ?? d.rows![0].takes;
  console.log(`# ${path}: ${takes.length} takes`);
  console.log('| warm-up s | noise openings > 1 s | worst noise opening s | median settle s |');
  console.log('| --- | --- | --- | --- |');
  for (const w of [0, 2, 3, 5, 8]) {
    const r = takes.map((t) => settlingOfBlocks(t.blockFlatness.slice(w / FLATNESS_BLOCK_SECONDS)));
    const op = r.map((x) => x.noiseOpening);
    console.log(
      `| ${w} | ${op.filter((o) => o > 1).length}/${op.length} | ${Math.max(...op)} | ${median(r.map((x) => x.settle))} |`,
    );
  }
}

if (args.includes('--warmup-table')) {
  warmupTable(opt('warmup-table', ''));
  process.exit(0);
}
const result = args.includes('--defaults') ? await defaults() : await grid();
if (jsonOut) {
  writeFileSync(jsonOut, JSON.stringify(result, null, 1) + '\n');
  console.log(`wrote ${jsonOut}`);
}
