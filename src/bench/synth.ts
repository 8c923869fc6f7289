/**
 * `wavenet bench synth`: speed of incremental synthesis on a randomly initialised model, against a
 * naive generator that recomputes the whole receptive field for every sample (what the popular
 * open WaveNets do).
 *
 * Incremental: `repeats` timed runs of `seconds` of audio per stream (after a warm-up), median.
 * Naive: for every new sample, the full forward pass over the last receptiveField + 1 classes,
 * sampled the same way; two implementations are timed and the faster is the baseline:
 *   - "naive-gemm": the trainer's float32 forward (batched over time, packed SIMD sgemm, threads);
 *   - "naive-incr": this kernel reset and primed with the last receptiveField classes per sample.
 * The naive generators always run in fp32.
 * The naive rate is measured over a short run (at least a few samples, about `naiveSeconds` of
 * wall time) and reported as measured; the speed-up is incremental / naive rates (both per stream,
 * batch 1 for the naive one).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { writeFileSync } from 'node:fs';
import { native, type SynthPrecision } from '../native.js';
import { resolveDevice, type DeviceChoice } from '../device.js';
import {
  type ModelFlags,
  modelConfigFromFlags,
  withDevice,
  withJson,
  withModelOptions,
  wholeNumber,
} from '../commands/options.js';
import { formatDilations, receptiveField, toNative, type ModelConfig } from '../model/config.js';
import { UserError } from '../util/errors.js';
import { lcg, randomParams } from '../model/random.js';
import { benchSynthMatrix, formatMatrix, parseKernels } from './synth-matrix.js';
import { median } from '../util/stats.js';

export interface SynthBenchOptions {
  config: ModelConfig;
  batch: number;
  device: DeviceChoice;
  /** Audio seconds per stream per timed run. */
  seconds: number;
  repeats: number;
  /** Wall seconds for each naive generator (0: skip the naive baseline). */
  naiveSeconds: number;
  /** Weights precision of the incremental kernel: fp32 (default), bf16 (AVX512-BF16 CPUs) or fp16. */
  precision?: SynthPrecision;
  log?: (line: string) => void;
}

export interface NaiveResult {
  method: string;
  samples: number;
  wallSeconds: number;
  samplesPerSecond: number;
  /** Samples per second of process CPU time. */
  samplesPerCpuSecond: number;
}

export interface SynthBenchResult {
  config: ModelConfig;
  configText: string;
  receptiveField: number;
  batch: number;
  device: string;
  /** Precision the incremental kernel actually ran in. */
  precision: SynthPrecision;
  /** Multiply-adds per generated sample (incremental). */
  macsPerSample: number;
  runs: number[];
  /** Aggregate samples per second of process CPU time (user + system, all threads), median: the
   * cost of a sample independent of waiting; on a busy machine it shows what the kernel would do. */
  samplesPerCpuSecond: number;
  /** Median per-stream rate. */
  samplesPerSecondPerStream: number;
  samplesPerSecondAggregate: number;
  xRealTimePerStream: number;
  xRealTimeAggregate: number;
  gflops: number;
  naive: NaiveResult[];
  naiveBest: NaiveResult | null;
  speedup: number | null;
}

/** Random weights with a trained model's scale; speed does not depend on the values. */
export const benchParams = randomParams;

/** Multiply-adds of one incremental step (the last layer's residual output is never computed). */
export function incrementalMacs(c: ModelConfig): number {
  const { residual: R, dilation: D, skip: S, head: H, classes: Q } = c;
  const L = c.dilations.length;
  return L * (2 * D * 2 * R + S * D + R * D) - R * D + H * S + Q * H;
}

function sampleFrom(logits: Float32Array, off: number, Q: number, u: number): number {
  let m = -Infinity;
  for (let q = 0; q < Q; q++) m = Math.max(m, logits[off + q]);
  let total = 0;
  const w = new Float64Array(Q);
  for (let q = 0; q < Q; q++) total += w[q] = Math.exp(logits[off + q] - m);
  let acc = 0;
  for (let q = 0; q < Q; q++) {
    acc += w[q];
    if (u * total < acc) return q;
  }
  return Q - 1;
}

/** Runs `step` (one sample of a naive generator) at least 3 times and until `budget` wall seconds have passed. */
async function timeNaive(method: string, budget: number, step: () => void | Promise<void>): Promise<NaiveResult> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let n = 0;
  while (n < 3 || (performance.now() - t0) / 1000 < budget) {
    const pending = step();
    if (pending) await pending; // a synchronous step is not held up by a microtask per sample
    n++;
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  return {
    method,
    samples: n,
    wallSeconds: wall,
    samplesPerSecond: n / wall,
    samplesPerCpuSecond: n / ((cpu.user + cpu.system) / 1e6),
  };
}

async function naiveGemm(
  c: ModelConfig,
  params: Float32Array,
  device: 'cpu' | 'cuda',
  budget: number,
): Promise<NaiveResult> {
  const addon = native();
  const rf = receptiveField(c);
  const trainer = new addon.Trainer(toNative(c), 1, 1, device);
  try {
    trainer.setParams(params);
    const hist = new Uint8Array(rf + 1).fill(128);
    const r = lcg(5);
    trainer.forward(hist, true); // warm-up
    return await timeNaive('naive-gemm (trainer forward over receptiveField+1 per sample)', budget, () => {
      const { logits } = trainer.forward(hist, true);
      const s = sampleFrom(logits!, logits!.length - c.classes, c.classes, r());
      hist.copyWithin(0, 1);
      hist[rf] = s;
    });
  } finally {
    trainer.free();
  }
}

async function naiveIncr(
  c: ModelConfig,
  params: Float32Array,
  device: 'cpu' | 'cuda',
  budget: number,
): Promise<NaiveResult> {
  const addon = native();
  const rf = receptiveField(c);
  const s = new addon.Synth(toNative(c), params, 1, device, { precision: 'fp32' });
  try {
    const hist = new Uint8Array(rf).fill(128);
    const temp = new Float32Array([1]);
    const seed = new BigUint64Array([5n]);
    return await timeNaive('naive-incr (reset + prime receptiveField classes per sample)', budget, async () => {
      s.reset();
      await s.prime(hist, rf);
      const { samples } = await s.generate(1, temp, seed);
      hist.copyWithin(0, 1);
      hist[rf - 1] = samples[0];
    });
  } finally {
    s.free();
  }
}

const PRECISIONS = ['fp32', 'bf16', 'fp16'] as const;

/** The precision the kernels run in: bf16 only with AVX512-BF16 kernels, bf16 and fp16 on the CPU only. */
function runPrecision(p: SynthPrecision, device: string, f: ReturnType<ReturnType<typeof native>['cpuFeatures']>) {
  if (device !== 'cpu') return 'fp32';
  if (p === 'bf16') return f.kernels === 'avx512' && f.flags.avx512bf16 ? 'bf16' : 'fp32';
  return p;
}

export async function benchSynth(o: SynthBenchOptions): Promise<SynthBenchResult> {
  const log = o.log ?? (() => {});
  const addon = native();
  const c = o.config;
  const params = benchParams(c);
  const dev = resolveDevice(o.device);
  const f = addon.cpuFeatures();
  const precision = runPrecision(o.precision ?? 'fp32', dev.device, f);
  if (o.precision && o.precision !== precision)
    log(
      `  ${o.precision} ${o.precision === 'bf16' ? 'needs AVX512-BF16 on' : 'is for'} the CPU device; measuring fp32`,
    );
  const synth = new addon.Synth(toNative(c), params, o.batch, dev.device, { precision });
  const temp = new Float32Array(o.batch).fill(1);
  const seeds = new BigUint64Array(o.batch).map((_, b) => BigInt(b + 1));
  const n = Math.max(1, Math.round(o.seconds * 16000));
  const runs: number[] = [];
  const perCpu: number[] = [];
  try {
    await synth.generate(Math.min(n, 4000), temp, seeds); // warm-up (and thread-mode probe)
    for (let r = 0; r < o.repeats; r++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let done = 0; done < n; ) {
        const k = Math.min(4096, n - done);
        await synth.generate(k, temp, seeds);
        done += k;
      }
      const rate = n / ((performance.now() - t0) / 1000);
      const cpu = process.cpuUsage(c0);
      perCpu.push((n * o.batch) / ((cpu.user + cpu.system) / 1e6));
      runs.push(rate);
      log(`  run ${r + 1}/${o.repeats}: ${Math.round(rate)} samples/s per stream`);
    }
  } finally {
    synth.free();
  }
  const per = median(runs);
  const macs = incrementalMacs(c);
  const naive: NaiveResult[] = [];
  if (o.naiveSeconds > 0) {
    for (const f of [naiveGemm, naiveIncr]) {
      try {
        const r = await f(c, params, dev.device, o.naiveSeconds);
        naive.push(r);
        log(
          `  ${r.method}: ${r.samplesPerSecond.toFixed(2)} samples/s (${r.samples} samples in ${r.wallSeconds.toFixed(1)} s), ${r.samplesPerCpuSecond.toFixed(2)} per CPU-s`,
        );
      } catch (e) {
        log(`  ${f.name}: not available (${(e as Error).message})`);
      }
    }
  }
  const best = naive.length ? naive.reduce((a, b) => (b.samplesPerSecond > a.samplesPerSecond ? b : a)) : null;
  return {
    config: c,
    configText: `${formatDilations(c.dilations)} R${c.residual} D${c.dilation} S${c.skip} H${c.head}`,
    receptiveField: receptiveField(c),
    batch: o.batch,
    device: dev.description,
    precision,
    macsPerSample: macs,
    runs,
    samplesPerCpuSecond: median(perCpu),
    samplesPerSecondPerStream: per,
    samplesPerSecondAggregate: per * o.batch,
    xRealTimePerStream: per / 16000,
    xRealTimeAggregate: (per * o.batch) / 16000,
    gflops: (2 * macs * per * o.batch) / 1e9,
    naive,
    naiveBest: best,
    speedup: best ? per / best.samplesPerSecond : null,
  };
}

export function formatBenchTable(rs: SynthBenchResult[]): string {
  const rows = [
    [
      'config',
      'precision',
      'batch',
      'samples/s/stream',
      'aggregate',
      'x real time',
      'GFLOP/s',
      'per CPU-s',
      'naive samples/s',
      'speed-up',
    ],
  ];
  for (const r of rs) {
    rows.push([
      r.configText,
      r.precision,
      String(r.batch),
      Math.round(r.samplesPerSecondPerStream).toLocaleString('en-US'),
      Math.round(r.samplesPerSecondAggregate).toLocaleString('en-US'),
      `${r.xRealTimeAggregate.toFixed(2)}x`,
      r.gflops.toFixed(1),
      Math.round(r.samplesPerCpuSecond).toLocaleString('en-US'),
      r.naiveBest ? r.naiveBest.samplesPerSecond.toFixed(2) : '-',
      r.speedup ? `${Math.round(r.speedup).toLocaleString('en-US')}x` : '-',
    ]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ')).join('\n');
}

interface BenchSynthArgs extends ModelFlags {
  batch: number;
  seconds: number;
  repeats: number;
  naiveSeconds: number;
  precision: SynthPrecision;
  device: DeviceChoice;
  json: boolean;
  out?: string;
  kernels?: string;
  threadList: string;
}

export const benchSynthCommand: CommandModule<object, BenchSynthArgs> = {
  command: 'synth',
  describe: 'Incremental synthesis speed vs a naive full-receptive-field generator',
  builder: (y: Argv) =>
    withJson(
      withDevice(
        withModelOptions(y)
          .option('batch', { type: 'number', default: 1, describe: 'Streams generated together' })
          .option('seconds', { type: 'number', default: 2, describe: 'Audio seconds per stream per timed run' })
          .option('repeats', { type: 'number', default: 3, describe: 'Timed runs (the median is reported)' })
          .option('naive-seconds', {
            type: 'number',
            default: 3,
            describe: 'Wall seconds for each naive generator; 0 skips it',
          })
          .option('precision', {
            choices: PRECISIONS,
            // the environment's choice unless the flag is given, as synth and render follow it
            default: PRECISIONS.find((p) => p === process.env.WAVENET_SYNTH_PRECISION) ?? 'fp32',
            describe:
              'Incremental kernel weights: fp32, bf16 (CPUs with AVX512-BF16) or fp16 (half the bytes); default: WAVENET_SYNTH_PRECISION, else fp32',
          })
          .option('out', { type: 'string', describe: 'Also write the JSON result to this file' })
          .option('thread-list', {
            type: 'string',
            default: '1,2',
            describe: 'With --kernels: the thread counts to run (comma list)',
          })
          .option('kernels', {
            type: 'string',
            describe:
              "SIMD variants to compare: 'all' (every one this CPU supports) or a list like generic,avx2; runs threads 1 and 2 x batch 1 and 16, one child process per cell",
          }),
      ),
    )
      .example('$0 bench synth', 'Default model (10x3, R64 D64 S256 H256), batch 1, with the naive baseline')
      .example('$0 bench synth --batch 16 --naive-seconds 0', 'Aggregate rate of 16 streams')
      .example(
        '$0 bench synth --kernels all --seconds 1 --out synth-kernels.json',
        'Every SIMD variant x threads 1, 2 x batch 1, 16, with the sgemm rate of each',
      )
      .example(
        '$0 bench synth --residual-channels 32 --skip-channels 128 --json',
        'A small model, as JSON',
      ) as unknown as Argv<BenchSynthArgs>,
  handler: async (argv: ArgumentsCamelCase<BenchSynthArgs>) => {
    const config = modelConfigFromFlags(argv);
    const batch = wholeNumber(argv.batch, '--batch', 1, 4096);
    const repeats = wholeNumber(argv.repeats, '--repeats', 1, 100);
    if (!(argv.seconds > 0 && argv.seconds <= 3600))
      throw new UserError(`--seconds '${argv.seconds}': expected a positive number up to 3600`);
    if (!(argv.naiveSeconds >= 0 && argv.naiveSeconds <= 600))
      throw new UserError(`--naive-seconds '${argv.naiveSeconds}': expected 0 to 600`);
    const log = argv.json ? () => {} : (l: string) => process.stderr.write(l + '\n');
    if (argv.kernels !== undefined) {
      let kernels;
      try {
        kernels = parseKernels(String(argv.kernels));
      } catch (e) {
        throw new UserError((e as Error).message);
      }
      const threads = String(argv.threadList)
        .split(',')
        .map((t) => wholeNumber(Number(t), '--thread-list', 1, 256));
      log(
        `bench synth: ${formatDilations(config.dilations)} R${config.residual} D${config.dilation} S${config.skip} H${config.head}; kernels ${kernels.join(', ')} x threads ${threads.join(', ')} x batch 1, 16`,
      );
      const m = await benchSynthMatrix({
        config,
        kernels,
        threads,
        batches: [1, 16],
        seconds: argv.seconds,
        repeats,
        naiveSeconds: argv.naiveSeconds,
        precision: argv.precision,
        log,
      });
      if (argv.out) writeFileSync(argv.out, JSON.stringify(m, null, 2) + '\n');
      if (argv.json) console.log(JSON.stringify(m, null, 2));
      else
        console.log(
          `${m.machine}; ${m.precision} weights; ${(m.macsPerSample / 1e6).toFixed(2)} M multiply-adds per sample\n${formatMatrix(m)}`,
        );
      return;
    }
    log(
      `bench synth: ${formatDilations(config.dilations)} R${config.residual} D${config.dilation} S${config.skip} H${config.head}, batch ${batch}`,
    );
    const r = await benchSynth({
      config,
      batch,
      device: argv.device,
      seconds: argv.seconds,
      repeats,
      naiveSeconds: argv.naiveSeconds,
      precision: argv.precision,
      log,
    });
    if (argv.out) writeFileSync(argv.out, JSON.stringify(r, null, 2) + '\n');
    if (argv.json) console.log(JSON.stringify(r, null, 2));
    else {
      console.log(
        `${r.device}; receptive field ${r.receptiveField}; ${(r.macsPerSample / 1e6).toFixed(2)} M multiply-adds per sample`,
      );
      console.log(formatBenchTable([r]));
    }
  },
};
