/**
 * One cell of `wavenet bench synth --kernels ...` (src/bench/synth-matrix.ts), run in a child process
 * whose environment forces the SIMD variant and thread count (WAVENET_KERNELS, WAVENET_THREADS, read
 * once by the addon when it loads: native/src/napi_env.cc). Argument: a JSON CellSpec. Prints one JSON CellResult on stdout.
 */
import { native } from '../native.js';
import { benchSynth } from './synth.js';
import type { CellResult, CellSpec } from './synth-matrix.js';

type GemmFn = (ta: boolean, tb: boolean, M: number, N: number, K: number, A: Float32Array, lda: number, B: Float32Array, ldb: number, C: Float32Array, ldc: number, acc: boolean, mode: boolean | string) => void;

/** Best of several timed wn::sgemm calls (N x N x N, the trainer's packed kernel), GFLOP/s wall and per CPU-s. */
function sgemmRate(n: number, budgetSeconds: number): { gflops: number; gflopsPerCpu: number } | null {
  const gemm = (native() as unknown as { _gemmForTest?: GemmFn })._gemmForTest;
  if (!gemm) return null;
  const A = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const B = new Float32Array(n * n).map((_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const C = new Float32Array(n * n);
  gemm(false, false, n, n, n, A, n, B, n, C, n, false, false); // warm-up
  let best = 0;
  let bestCpu = 0;
  const t0 = performance.now();
  for (let i = 0; i < 3 || performance.now() - t0 < budgetSeconds * 1000; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    gemm(false, false, n, n, n, A, n, B, n, C, n, false, false);
    const wall = (performance.now() - t) / 1000;
    const cu = process.cpuUsage(c);
    const flops = 2 * n * n * n;
    best = Math.max(best, flops / wall / 1e9);
    bestCpu = Math.max(bestCpu, flops / ((cu.user + cu.system) / 1e6 || wall) / 1e9);
  }
  return { gflops: best, gflopsPerCpu: bestCpu };
}

async function main() {
  const spec = JSON.parse(process.argv[2]) as CellSpec;
  const f = native().cpuFeatures();
  const r = await benchSynth({ config: spec.config, batch: spec.batch, device: 'cpu', seconds: spec.seconds, repeats: spec.repeats, naiveSeconds: spec.naiveSeconds, precision: 'fp32' });
  const sg = spec.sgemm ? sgemmRate(512, 0.5) : null;
  const out: CellResult = { kernels: f.kernels, result: r, sgemmGflops: sg?.gflops ?? null, sgemmGflopsPerCpu: sg?.gflopsPerCpu ?? null };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench synth child: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
