/**
 * Training benchmark (CPU): run with `node --import tsx scripts/bench-train.ts [--steps N] [--quick]`.
 *  1. The matrix products of one layer and of the head at the default config (rows = batch 8 x
 *     window 1024), our GEMM (each SIMD variant, one thread; and two threads as the trainer splits
 *     them) against OpenBLAS cblas_sgemm (1 and 2 threads) in the same process. The C++ program
 *     scripts/bench/gemm_vs_openblas.cc is built here with g++ -lopenblas (libopenblas-dev).
 *  2. Whole training steps (forward, backward, Adam) on random data: the default config and a small
 *     one (R 32, D 32, S 128, H 128), batch 8, window 1024.
 * Prints tables and writes bench-results/train-cpu.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchTrain, formatTrainBench, type TrainBenchResult } from '../src/bench/train.js';
import { DEFAULT_CONFIG, type ModelConfig } from '../src/model/config.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const stepsArg = args.indexOf('--steps');
const steps = stepsArg >= 0 ? Number(args[stepsArg + 1]) : quick ? 2 : 7;

interface GemmRow {
  name: string;
  form: string;
  M: number;
  N: number;
  K: number;
  perLayer: number;
  flop: number;
  openblas1: number;
  openblas2: number;
  avx512_1: number | null;
  avx2_1: number | null;
  generic_1: number | null;
  ours2: number;
  /** Calling-thread CPU time of the single-thread runs (not inflated by other processes). */
  cpu: { openblas1: number; avx512_1: number | null; avx2_1: number | null; generic_1: number | null };
  relErr: (number | null)[];
}
interface GemmReport {
  threads: number;
  best: string;
  rows: number;
  shapes: GemmRow[];
}

function buildGemmBench(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wavenet-gemm-bench-'));
  const common = [
    '-O3',
    '-std=c++17',
    '-fno-math-errno',
    '-ffp-contract=fast',
    `-I${join(root, 'native')}`,
    `-I${join(root, 'native/include')}`,
    '-DWN_HAVE_X86_VARIANTS=1',
  ];
  const isaFlags: Record<string, string[]> = {
    generic: [],
    avx2: ['-mavx2', '-mfma', '-mf16c'],
    avx512: ['-mavx512f', '-mavx512bw', '-mavx512vl', '-mavx512dq', '-mavx512bf16', '-mavx2', '-mfma', '-mf16c'],
  };
  const objs: string[] = [];
  for (const [isa, fl] of Object.entries(isaFlags)) {
    const o = join(dir, `gemm_${isa}.o`);
    execFileSync(
      'g++',
      [...common, `-DWN_ISA=${isa}`, ...fl, '-c', join(root, 'native/cpu/simd/gemm_kernels.cc'), '-o', o],
      { stdio: 'inherit' },
    );
    objs.push(o);
  }
  for (const [src, name] of [
    [join(root, 'native/core/threadpool.cc'), 'tp.o'],
    [join(root, 'native/core/runtime.cc'), 'rt.o'], // the pool's thread count (wn::runtime)
    [join(root, 'native/core/error.cc'), 'err.o'], // runtime.cc's error messages
    [join(root, 'scripts/bench/gemm_vs_openblas.cc'), 'main.o'],
  ]) {
    const o = join(dir, name);
    execFileSync('g++', [...common, '-DWN_ISA=generic', '-c', src, '-o', o], { stdio: 'inherit' });
    objs.push(o);
  }
  const exe = join(dir, 'gemm_vs_openblas');
  execFileSync('g++', ['-o', exe, ...objs, '-lopenblas', '-lpthread'], { stdio: 'inherit' });
  return exe;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
const gf = (flop: number, t: number | null) => (t && Number.isFinite(t) ? (flop / t / 1e9).toFixed(1) : '-');

function printGemm(r: GemmReport) {
  console.log(
    `\nGEMM shapes of one layer and the head (rows ${r.rows}); GFLOP/s from medians; ratio = OpenBLAS time / our time`,
  );
  console.log(
    '1t: one thread (wall; "cpu" columns: thread CPU time, which other processes cannot inflate); 2t: two threads (wall), ours split as the trainer splits',
  );
  console.log(
    pad('product', 28) +
      pad('form', 5) +
      lpad('MxNxK', 14) +
      lpad('BLAS 1t', 9) +
      lpad('ours 1t', 9) +
      lpad('ratio', 7) +
      lpad('BLAS cpu', 9) +
      lpad('ours cpu', 9) +
      lpad('ratio', 7) +
      lpad('avx2 cpu', 9) +
      lpad('gen cpu', 8) +
      lpad('BLAS 2t', 9) +
      lpad('ours 2t', 9) +
      lpad('ratio', 7),
  );
  const key = (r.best + '_1') as 'avx512_1' | 'avx2_1' | 'generic_1';
  const best = (s: GemmRow) => s[key]!;
  const bestCpu = (s: GemmRow) => s.cpu[key]!;
  for (const s of r.shapes) {
    console.log(
      pad(s.name, 28) +
        pad(s.form, 5) +
        lpad(`${s.M}x${s.N}x${s.K}`, 14) +
        lpad(gf(s.flop, s.openblas1), 9) +
        lpad(gf(s.flop, best(s)), 9) +
        lpad((s.openblas1 / best(s)).toFixed(2), 7) +
        lpad(gf(s.flop, s.cpu.openblas1), 9) +
        lpad(gf(s.flop, bestCpu(s)), 9) +
        lpad((s.cpu.openblas1 / bestCpu(s)).toFixed(2), 7) +
        lpad(gf(s.flop, s.cpu.avx2_1), 9) +
        lpad(gf(s.flop, s.cpu.generic_1), 8) +
        lpad(gf(s.flop, s.openblas2), 9) +
        lpad(gf(s.flop, s.ours2), 9) +
        lpad((s.openblas2 / s.ours2).toFixed(2), 7),
    );
  }
  // Whole layer (and the head), weighted by how often each product runs.
  const sum = (rows: GemmRow[], f: (s: GemmRow) => number) => rows.reduce((a, s) => a + s.perLayer * f(s), 0);
  const totals: Record<string, Record<string, number>> = {};
  for (const [label, rows] of [
    ['one residual layer', r.shapes.filter((s) => !s.name.startsWith('head'))],
    ['head', r.shapes.filter((s) => s.name.startsWith('head'))],
  ] as const) {
    const b1 = sum(rows, (s) => s.openblas1),
      o1 = sum(rows, best),
      b2 = sum(rows, (s) => s.openblas2),
      o2 = sum(rows, (s) => s.ours2);
    const bc = sum(rows, (s) => s.cpu.openblas1),
      oc = sum(rows, bestCpu);
    const fl = sum(rows, (s) => s.flop);
    totals[label] = {
      ratio1: b1 / o1,
      ratioCpu: bc / oc,
      ratio2: b2 / o2,
      gflopsOurs1: fl / o1 / 1e9,
      gflopsOursCpu: fl / oc / 1e9,
      gflopsOurs2: fl / o2 / 1e9,
    };
    console.log(
      `${pad(label, 19)} 1 thread: OpenBLAS ${gf(fl, b1)} GFLOP/s, ours ${gf(fl, o1)}, ratio ${(b1 / o1).toFixed(2)} (CPU time: ${gf(fl, bc)} vs ${gf(fl, oc)}, ratio ${(bc / oc).toFixed(2)});` +
        ` 2 threads: OpenBLAS ${gf(fl, b2)}, ours ${gf(fl, o2)}, ratio ${(b2 / o2).toFixed(2)}`,
    );
  }
  return totals;
}

async function main() {
  const started = new Date().toISOString();
  const loadAverageAtStart = loadavg()[0];
  console.log(
    `bench-train: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical CPUs, ${started}, load average ${loadAverageAtStart.toFixed(1)}`,
  );
  const exe = buildGemmBench();
  let gemm: GemmReport;
  try {
    const out = execFileSync(exe, ['64', '64', '256', '256', '8192', quick ? '0.05' : '0.4'], { encoding: 'utf8' });
    gemm = JSON.parse(out) as GemmReport;
  } finally {
    rmSync(dirname(exe), { recursive: true, force: true });
  }
  const gemmTotals = printGemm(gemm);

  const small: ModelConfig = { ...DEFAULT_CONFIG, residual: 32, dilation: 32, skip: 128, head: 128 };
  const runs: TrainBenchResult[] = [];
  for (const [label, config] of [
    ['default', DEFAULT_CONFIG],
    ['small', small],
  ] as const) {
    console.log(`\ntraining step, ${label} config`);
    const r = await benchTrain({ config, batch: 8, window: 1024, device: 'cpu', steps });
    console.log(formatTrainBench(r));
    runs.push(r);
  }
  console.log('\nsummary');
  console.log(pad('config', 26) + lpad('step ms', 10) + lpad('samples/s', 11) + lpad('GFLOP/s', 9) + lpad('goal', 8));
  for (const r of runs) {
    console.log(
      pad(`${r.config.dilations} R${r.config.residual} S${r.config.skip}`, 26) +
        lpad(r.stepMs.median.toFixed(1), 10) +
        lpad(Math.round(r.samplesPerSec).toString(), 11) +
        lpad(r.gflops.toFixed(1), 9) +
        lpad(r.config.residual === 64 && r.config.skip === 256 ? (r.samplesPerSec >= 3300 ? 'met' : 'MISSED') : '', 8),
    );
  }
  mkdirSync(join(root, 'bench-results'), { recursive: true });
  const file = join(root, 'bench-results', 'train-cpu.json');
  writeFileSync(
    file,
    JSON.stringify(
      {
        started,
        cpu: cpus()[0]?.model,
        logicalCpus: cpus().length,
        loadAverageAtStart,
        loadAverageAtEnd: loadavg()[0],
        gemmTotals,
        gemm,
        train: runs,
      },
      null,
      2,
    ) + '\n',
  );
  if (loadavg()[0] > cpus().length + 0.5)
    console.log(
      `note: load average ${loadavg()[0].toFixed(1)}: other processes shared the CPU; wall-clock figures are pessimistic`,
    );
  console.log(`\nwrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
