/**
 * One cell of `wavenet bench synth --kernels ...` (src/bench/synth-matrix.ts), run in a child process
 * whose environment forces the SIMD variant and thread count (WAVENET_KERNELS, WAVENET_THREADS, read
 * once by the addon when it loads: native/src/napi_env.cc). Argument: a JSON CellSpec. Prints one JSON CellResult on stdout.
 */
import { native } from '../native.js';
import { benchSynth } from './synth.js';
import type { CellResult, CellSpec } from './synth-matrix.js';

async function main() {
  const spec = JSON.parse(process.argv[2]) as CellSpec;
  const f = native().cpuFeatures();
  const r = await benchSynth({
    config: spec.config,
    batch: spec.batch,
    device: 'cpu',
    seconds: spec.seconds,
    repeats: spec.repeats,
    naiveSeconds: spec.naiveSeconds,
    precision: spec.precision,
  });
  // the trainer's packed GEMM, N x N x N, best of several timed calls: wn_cpu_gemm_rate (native/include/wavenet.h)
  const sg = spec.sgemm ? native().cpuGemmRate(512, 0.5) : null;
  const out: CellResult = {
    kernels: f.kernels,
    result: r,
    sgemmGflops: sg?.gflops ?? null,
    sgemmGflopsPerCpu: sg?.gflopsPerCpu ?? null,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench synth child: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
