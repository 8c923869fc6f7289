/**
 * `wavenet bench synth --kernels all`: every SIMD variant the CPU supports x threads x batch, one
 * table. Each cell runs in a child process (src/bench/synth-child.ts) with WAVENET_KERNELS and
 * WAVENET_THREADS set, since the native library reads them once at load; 2-thread cells also force
 * the parallel mode (WAVENET_SYNTH_MODE=parallel) so that "2 threads" means two threads, not the
 * adaptive choice. Cells of one (threads, batch) run back to back, narrow variant first, so the
 * comparisons are side by side. Each variant's sgemm rate (the trainer's packed kernel, 512^3, best
 * of ~0.5 s) is measured in the same child, so GFLOP/s can be read as a fraction of what the same
 * variant and threads reach on a compute-bound product.
 *
 * Rates are given per wall second (what a user waits) and per second of process CPU time (user +
 * system, all threads: what the kernel costs, which neighbours on a shared machine inflate less);
 * "of sgemm" compares the CPU-time rates.
 *
 * The check "no variant slower than the one it supersedes" (avx2 >= generic, avx512 >= avx2) is
 * made on rates per second of process CPU time: on a shared machine wall-clock rates of cells run
 * a minute apart measure the neighbours as much as the kernel. A tolerance (default 5 %) absorbs
 * the noise of such a comparison. A loss beyond it is measured again side by side before it is
 * reported: the two cells alternate in child processes (3 pairs by default, who goes first
 * alternating too) and the median of the per-pair ratios decides (on the 2-core VMs this was written
 * on, single cells a minute apart moved by +-15 %, more than some of the differences checked).
 */
import { spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { native, type SynthPrecision } from '../native.js';
import type { ModelConfig } from '../model/config.js';
import type { SynthBenchResult } from './synth.js';
import { median } from '../util/stats.js';

export const VARIANTS = ['generic', 'avx2', 'avx512'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface CellSpec {
  config: ModelConfig;
  batch: number;
  seconds: number;
  repeats: number;
  sgemm: boolean;
  /** Wall seconds for each naive generator (0: none). */
  naiveSeconds: number;
  precision: SynthPrecision;
}
export interface CellResult {
  kernels: string;
  result: SynthBenchResult;
  sgemmGflops: number | null;
  sgemmGflopsPerCpu: number | null;
}
export interface MatrixRow {
  kernels: Variant;
  threads: number;
  batch: number;
  /** Aggregate samples/s (all streams), median of the repeats, wall clock. */
  samplesPerSecond: number;
  samplesPerCpuSecond: number;
  xRealTimePerStream: number;
  gflops: number;
  gflopsPerCpu: number;
  sgemmGflops: number | null;
  sgemmGflopsPerCpu: number | null;
  /** gflops / sgemmGflops (wall) and the same per CPU-second. */
  ofSgemm: number | null;
  ofSgemmPerCpu: number | null;
  /** samplesPerCpuSecond / that of the variant this one supersedes (same threads and batch). */
  vsSuperseded: number | null;
  /** aggregate batch-B rate / batch-1 rate of the same variant and threads (CPU-time rates). */
  batchGain: number | null;
  /**
   * The largest batchGain this variant's measured sgemm rate allows: a CPU-second of multiply-adds at
   * the sgemm rate (the compute roof of a batched product) / the batch-1 rate per CPU-second. Above
   * 4, the goal "batch 16 >= 4x batch 1" is within reach; below, only a slower batch 1 would meet it.
   */
  batchGainCeiling: number | null;
  /** Batch-1 rate / the faster naive generator's (full receptive field per sample), wall clock and per CPU-s. */
  naiveSpeedup: number | null;
  naiveSpeedupPerCpu: number | null;
}
export interface MatrixResult {
  machine: string;
  date: string;
  /** Weights precision asked for (bf16 runs only where the variant has AVX512-BF16, else fp32). */
  precision: SynthPrecision;
  loadAverage1m: { before: number; after: number };
  macsPerSample: number;
  rows: MatrixRow[];
  checks: { name: string; ok: boolean; detail: string }[];
}

/** The variants this CPU can run (what WAVENET_KERNELS may force). */
export function supportedVariants(): Variant[] {
  const f = native().cpuFeatures();
  const v: Variant[] = ['generic'];
  if (f.arch !== 'x86_64') return v;
  if (f.flags.avx2 && f.flags.fma && f.flags.f16c) v.push('avx2');
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512bf16'].every((k) => f.flags[k])) v.push('avx512');
  return v;
}

/** Parses --kernels: 'all' or a comma list of variants (each must be supported here). */
export function parseKernels(text: string): Variant[] {
  const ok = supportedVariants();
  if (text === 'all') return ok;
  const want = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const w of want) {
    if (!(VARIANTS as readonly string[]).includes(w))
      throw new Error(`--kernels '${w}': expected all or a comma list of ${VARIANTS.join(', ')}`);
    if (!ok.includes(w as Variant)) throw new Error(`--kernels '${w}': this CPU supports only ${ok.join(', ')}`);
  }
  return VARIANTS.filter((v) => want.includes(v));
}

function runCell(spec: CellSpec, env: NodeJS.ProcessEnv): Promise<CellResult> {
  const self = fileURLToPath(import.meta.url);
  const child = self.replace(/synth-matrix\.(ts|js)$/, 'synth-child.$1');
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, child, JSON.stringify(spec)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0)
        return reject(
          new Error(
            `bench cell ${env.WAVENET_KERNELS} x${env.WAVENET_THREADS} batch ${spec.batch} failed (exit ${code}): ${err.trim().split('\n').pop()}`,
          ),
        );
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as CellResult);
      } catch {
        reject(new Error(`bench cell: unreadable output: ${out.slice(0, 200)}`));
      }
    });
  });
}

export interface MatrixOptions {
  config: ModelConfig;
  kernels: Variant[];
  threads: number[];
  batches: number[];
  seconds: number;
  repeats: number;
  /** Naive-generator baseline in the 1-thread batch-1 cells: wall seconds per naive generator (0: none). */
  naiveSeconds?: number;
  /** Allowed loss of a variant against the one it supersedes before the check fails (0.05 = 5 %). */
  tolerance?: number;
  /** Weights precision of every cell (default fp32). */
  precision?: SynthPrecision;
  /** Side-by-side pairs that re-measure a variant that lost to the one it supersedes (default 3; 0: none). */
  confirmPairs?: number;
  log?: (line: string) => void;
  /** Runs one cell (default: in a child process; tests pass their own). */
  runCell?: (spec: CellSpec, env: NodeJS.ProcessEnv) => Promise<CellResult>;
}

/** The environment of one cell's child: its kernels and threads, parallel synthesis when threads > 1. */
function cellEnv(k: Variant, threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WAVENET_KERNELS: k, WAVENET_THREADS: String(threads) };
  if (threads > 1) env.WAVENET_SYNTH_MODE = 'parallel';
  else delete env.WAVENET_SYNTH_MODE;
  delete env.WAVENET_SYNTH_PRECISION;
  return env;
}

/** A cell's row; when the cell measured no sgemm roof, the one of an earlier cell with the same kernels and threads. */
function matrixRow(k: Variant, threads: number, batch: number, c: CellResult, rows: MatrixRow[]): MatrixRow {
  const r = c.result;
  const prevSg = rows.find((x) => x.kernels === k && x.threads === threads && x.sgemmGflops !== null);
  const sg = c.sgemmGflops ?? prevSg?.sgemmGflops ?? null;
  const sgc = c.sgemmGflopsPerCpu ?? prevSg?.sgemmGflopsPerCpu ?? null;
  const gflopsPerCpu = (2 * r.macsPerSample * r.samplesPerCpuSecond) / 1e9;
  return {
    kernels: k,
    threads,
    batch,
    samplesPerSecond: r.samplesPerSecondAggregate,
    samplesPerCpuSecond: r.samplesPerCpuSecond,
    xRealTimePerStream: r.xRealTimePerStream,
    gflops: r.gflops,
    gflopsPerCpu,
    sgemmGflops: sg,
    sgemmGflopsPerCpu: sgc,
    ofSgemm: sg ? r.gflops / sg : null,
    ofSgemmPerCpu: sgc ? gflopsPerCpu / sgc : null,
    vsSuperseded: null,
    batchGain: null,
    batchGainCeiling: null,
    naiveSpeedup: r.speedup,
    naiveSpeedupPerCpu: r.naive.length
      ? r.samplesPerCpuSecond / Math.max(...r.naive.map((n) => n.samplesPerCpuSecond))
      : null,
  };
}

/** The rows of a wider variant and the one it supersedes (same threads and batch). */
function supersededPairs(rows: MatrixRow[]): [MatrixRow, MatrixRow][] {
  const out: [MatrixRow, MatrixRow][] = [];
  for (const row of rows) {
    const i = VARIANTS.indexOf(row.kernels);
    const n = rows.find(
      (x) => x.threads === row.threads && x.batch === row.batch && VARIANTS.indexOf(x.kernels) === i - 1,
    );
    if (n) out.push([row, n]);
  }
  return out;
}

/**
 * The checks: each cell against the naive generator (1 thread, batch 1), against the variant it
 * supersedes (within `tol`) and against batch 1; fills in vsSuperseded and batchGain of the rows.
 */
function matrixChecks(
  rows: MatrixRow[],
  tol: number,
  macsPerSample: number,
  confirmed: Map<MatrixRow, { first: number; pairs: number[] }>,
): MatrixResult['checks'] {
  const checks: MatrixResult['checks'] = [];
  const narrowerOf = new Map(supersededPairs(rows));
  for (const row of rows) {
    if (row.naiveSpeedupPerCpu !== null)
      checks.push({
        name: `${row.kernels} x${row.threads}: >= 100x the naive generator`,
        ok: row.naiveSpeedupPerCpu >= 100,
        detail: `${Math.round(row.naiveSpeedupPerCpu)}x per CPU-s, ${Math.round(row.naiveSpeedup ?? 0)}x wall`,
      });
    const narrower = narrowerOf.get(row);
    if (narrower) {
      const again = confirmed.get(row);
      row.vsSuperseded = again ? median(again.pairs) : row.samplesPerCpuSecond / narrower.samplesPerCpuSecond;
      checks.push({
        name: `${row.kernels} >= ${narrower.kernels}, ${row.threads} thread(s), batch ${row.batch}`,
        ok: row.vsSuperseded >= 1 - tol,
        detail: again
          ? `${row.vsSuperseded.toFixed(2)}x per CPU-s side by side (median of ${again.pairs.length} alternating pairs: ${again.pairs.map((r) => r.toFixed(2)).join(', ')}; the matrix cells gave ${again.first.toFixed(2)}x)`
          : `${row.vsSuperseded.toFixed(2)}x per CPU-s`,
      });
    }
    const one = rows.find((x) => x.kernels === row.kernels && x.threads === row.threads && x.batch === 1);
    if (one && row.batch > 1) {
      row.batchGain = row.samplesPerCpuSecond / one.samplesPerCpuSecond;
      if (row.sgemmGflopsPerCpu !== null && macsPerSample > 0)
        row.batchGainCeiling = (row.sgemmGflopsPerCpu * 1e9) / (2 * macsPerSample) / one.samplesPerCpuSecond;
      const roof =
        row.batchGainCeiling === null ? '' : ` (the sgemm rate allows at most ${row.batchGainCeiling.toFixed(2)}x)`;
      checks.push({
        name: `${row.kernels} x${row.threads}: batch ${row.batch} aggregate >= 4x batch 1`,
        ok: row.batchGain >= 4,
        detail: `${row.batchGain.toFixed(2)}x per CPU-s${roof}`,
      });
    }
  }
  return checks;
}

/**
 * Every wider variant that lost to the one it supersedes by more than `tol` in the matrix: both cells
 * again, alternating (narrow first in even pairs), `pairs` times; the per-pair ratios per CPU-second.
 */
async function confirmLosses(
  rows: MatrixRow[],
  specs: Map<MatrixRow, CellSpec>,
  tol: number,
  pairs: number,
  run: (spec: CellSpec, env: NodeJS.ProcessEnv) => Promise<CellResult>,
  log: (line: string) => void,
): Promise<Map<MatrixRow, { first: number; pairs: number[] }>> {
  const confirmed = new Map<MatrixRow, { first: number; pairs: number[] }>();
  if (pairs <= 0) return confirmed;
  for (const [wide, narrow] of supersededPairs(rows)) {
    const first = wide.samplesPerCpuSecond / narrow.samplesPerCpuSecond;
    if (first >= 1 - tol) continue;
    log(
      `  ${wide.kernels} x${wide.threads} batch ${wide.batch}: ${first.toFixed(2)}x ${narrow.kernels}; measuring both again side by side (${pairs} pairs)`,
    );
    const spec = { ...specs.get(wide)!, sgemm: false, naiveSeconds: 0 };
    const rate = async (r: MatrixRow) => (await run(spec, cellEnv(r.kernels, r.threads))).result.samplesPerCpuSecond;
    const ratios: number[] = [];
    for (let p = 0; p < pairs; p++) {
      const [a, b] = p % 2 ? [wide, narrow] : [narrow, wide];
      const ra = await rate(a);
      const rb = await rate(b);
      ratios.push(a === wide ? ra / rb : rb / ra);
    }
    confirmed.set(wide, { first, pairs: ratios });
  }
  return confirmed;
}

export async function benchSynthMatrix(o: MatrixOptions): Promise<MatrixResult> {
  const log = o.log ?? (() => {});
  const run = o.runCell ?? runCell;
  const specs = new Map<MatrixRow, CellSpec>();
  const before = loadavg()[0];
  const rows: MatrixRow[] = [];
  const cells = o.threads.length * o.batches.length * o.kernels.length;
  let done = 0;
  let macsPerSample = 0;
  const t0 = performance.now();
  for (const threads of o.threads)
    for (const batch of o.batches)
      for (const k of o.kernels) {
        const env = cellEnv(k, threads);
        // batch B: 1/B of the audio per stream keeps every cell about the same length
        const spec: CellSpec = {
          config: o.config,
          batch,
          seconds: Math.max(0.1, o.seconds / Math.sqrt(batch)),
          repeats: o.repeats,
          sgemm: batch === o.batches[0],
          naiveSeconds: batch === 1 && threads === 1 ? (o.naiveSeconds ?? 0) : 0,
          precision: o.precision ?? 'fp32',
        };
        const c = await run(spec, env);
        if (c.kernels !== k) throw new Error(`bench cell: asked for ${k} kernels, the child ran ${c.kernels}`);
        const r = c.result;
        macsPerSample = r.macsPerSample;
        const row = matrixRow(k, threads, batch, c, rows);
        rows.push(row);
        specs.set(row, spec);
        done++;
        const el = (performance.now() - t0) / 1000;
        log(
          `  ${k} x${threads} batch ${batch}: ${Math.round(r.samplesPerSecondAggregate)} samples/s, ${Math.round(r.samplesPerCpuSecond)} per CPU-s  [${done}/${cells}, ETA ${Math.round((el / done) * (cells - done))} s]`,
        );
      }
  const tol = o.tolerance ?? 0.05;
  const confirmed = await confirmLosses(rows, specs, tol, o.confirmPairs ?? 3, run, log);
  const checks = matrixChecks(rows, tol, macsPerSample, confirmed);
  const f = native().cpuFeatures();
  return {
    machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical CPUs, ${f.arch}; dispatch default ${f.kernels}`,
    precision: o.precision ?? 'fp32',
    date: new Date().toISOString(),
    loadAverage1m: { before, after: loadavg()[0] },
    macsPerSample,
    rows,
    checks,
  };
}

export function formatMatrix(m: MatrixResult): string {
  const head = [
    'kernels',
    'threads',
    'batch',
    'samples/s',
    'x real time/stream',
    'per CPU-s',
    'GFLOP/s',
    'GFLOP/CPU-s',
    'sgemm GFLOP/CPU-s',
    'of sgemm',
    'vs superseded',
    'batch gain',
    'gain roof',
    'vs naive',
  ];
  const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(0)}%`);
  const rows = [head];
  for (const r of m.rows)
    rows.push([
      r.kernels,
      String(r.threads),
      String(r.batch),
      Math.round(r.samplesPerSecond).toLocaleString('en-US'),
      `${r.xRealTimePerStream.toFixed(2)}x`,
      Math.round(r.samplesPerCpuSecond).toLocaleString('en-US'),
      r.gflops.toFixed(1),
      r.gflopsPerCpu.toFixed(1),
      r.sgemmGflopsPerCpu === null ? '-' : r.sgemmGflopsPerCpu.toFixed(1),
      pct(r.ofSgemmPerCpu),
      r.vsSuperseded === null ? '-' : `${r.vsSuperseded.toFixed(2)}x`,
      r.batchGain === null ? '-' : `${r.batchGain.toFixed(2)}x`,
      r.batchGainCeiling === null ? '-' : `${r.batchGainCeiling.toFixed(2)}x`,
      r.naiveSpeedupPerCpu === null ? '-' : `${Math.round(r.naiveSpeedupPerCpu)}x`,
    ]);
  const w = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  '));
  lines.push(
    `load average (1 min): ${m.loadAverage1m.before.toFixed(2)} before, ${m.loadAverage1m.after.toFixed(2)} after`,
  );
  for (const c of m.checks) lines.push(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  return lines.join('\n');
}
