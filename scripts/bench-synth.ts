/**
 * Synthesis benchmark (CPU): `node --import tsx scripts/bench-synth.ts [--quick] [--seconds S]`.
 * Runs, one after the other in one process, on randomly initialised models, for the default config
 * (10x3, R64 D64 S256 H256) and a small one (10x3, R32 D32 S128 H128): batch 1 fp32 (with the naive
 * baselines), batch 16 fp32, batch 1 bf16, batch 16 bf16.
 * Prints a table and writes bench-results/synth-cpu.json. Batch-16 / batch-1 ratios are taken
 * within this one run. The incremental figures are medians of `repeats` timed runs. Every rate is
 * also given per second of process CPU time, which waiting on a busy machine does not inflate;
 * `WAVENET_SYNTH_MODE=solo WAVENET_THREADS=1` measures one core.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchSynth, formatBenchTable, type SynthBenchResult } from '../src/bench/synth.js';
import { DEFAULT_CONFIG, type ModelConfig } from '../src/model/config.js';
import { native } from '../src/native.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const si = args.indexOf('--seconds');
const seconds = si >= 0 ? Number(args[si + 1]) : quick ? 0.5 : 3;
const repeats = quick ? 1 : 5;
const naiveSeconds = quick ? 1 : 5;

const SMALL: ModelConfig = { ...DEFAULT_CONFIG, residual: 32, dilation: 32, skip: 128, head: 128 };

type P = 'fp32' | 'bf16';
const plan: { config: ModelConfig; batch: number; naive: boolean; precision: P }[] = [];
for (const config of [DEFAULT_CONFIG, SMALL]) {
  plan.push({ config, batch: 1, naive: true, precision: 'fp32' });
  plan.push({ config, batch: 16, naive: false, precision: 'fp32' });
  plan.push({ config, batch: 1, naive: false, precision: 'bf16' });
  plan.push({ config, batch: 16, naive: false, precision: 'bf16' });
}

const loadBefore = loadavg();
const results: SynthBenchResult[] = [];
for (const p of plan) {
  process.stderr.write(
    `config R${p.config.residual} D${p.config.dilation} S${p.config.skip} H${p.config.head} batch ${p.batch} ${p.precision}\n`,
  );
  results.push(
    await benchSynth({
      config: p.config,
      batch: p.batch,
      device: 'cpu',
      seconds: p.batch === 1 ? seconds : seconds / 4,
      repeats,
      naiveSeconds: p.naive ? naiveSeconds : 0,
      precision: p.precision,
      log: (l) => process.stderr.write(l + '\n'),
    }),
  );
}

const f = native().cpuFeatures();
const ratio = (big: SynthBenchResult, one: SynthBenchResult) =>
  big.samplesPerSecondAggregate / one.samplesPerSecondPerStream;
const summary = {
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${f.threads} threads, ${f.kernels} kernels`,
  date: new Date().toISOString(),
  command: `node --import tsx scripts/bench-synth.ts ${args.join(' ')}`.trim(),
  // other processes on this 2-core machine distort every figure: the 1-minute load before and after
  loadAverage1m: { before: loadBefore[0], after: loadavg()[0] },
  results,
  ratios: {
    defaultFp32Batch16OverBatch1: ratio(results[1], results[0]),
    defaultBf16Batch16OverBatch1: ratio(results[3], results[2]),
    defaultBf16Batch16OverFp32Batch1: ratio(results[3], results[0]),
    smallFp32Batch16OverBatch1: ratio(results[5], results[4]),
    smallBf16Batch16OverBatch1: ratio(results[7], results[6]),
  },
};
console.log(formatBenchTable(results));
console.log(
  `load average (1 min): ${summary.loadAverage1m.before.toFixed(2)} before, ${summary.loadAverage1m.after.toFixed(2)} after`,
);
for (const [k, v] of Object.entries(summary.ratios)) console.log(`${k}: ${v.toFixed(2)}x`);
for (const r of results.filter((x) => x.naive.length)) {
  for (const n of r.naive) {
    console.log(
      `naive ${r.configText}: ${n.method}: ${n.samplesPerSecond.toFixed(2)} samples/s (${n.samples} samples in ${n.wallSeconds.toFixed(1)} s), ${n.samplesPerCpuSecond.toFixed(2)} per CPU-s`,
    );
  }
  const bestCpu = Math.max(...r.naive.map((n) => n.samplesPerCpuSecond));
  console.log(
    `speed-up in CPU time ${r.configText}: ${(r.samplesPerCpuSecond / bestCpu).toFixed(0)}x (incremental ${Math.round(r.samplesPerCpuSecond)} vs naive ${bestCpu.toFixed(2)} samples per CPU-s)`,
  );
}
mkdirSync(join(root, 'bench-results'), { recursive: true });
const out = join(root, 'bench-results', 'synth-cpu.json');
writeFileSync(out, JSON.stringify(summary, null, 2) + '\n');
console.log(`wrote ${out}`);
