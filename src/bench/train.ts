/**
 * `wavenet bench train`: training throughput on random data for a config (the default config by
 * default): samples/s of predicted audio, median step time (forward, backward and Adam) and GFLOP/s
 * of the matrix work the step does (trimmed to the positions that reach the loss; see
 * native/cpu/model.h). Also used by scripts/bench-train.ts.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { loadavg } from 'node:os';
import { native } from '../native.js';
import { resolveDevice, type DeviceChoice } from '../device.js';
import { formatDilations, paramCount, receptiveField, toNative, type ModelConfig } from '../model/config.js';
import {
  type ModelFlags,
  modelConfigFromFlags,
  withDevice,
  withJson,
  withModelOptions,
  wholeNumber,
} from '../commands/options.js';
import { median } from '../util/stats.js';

export interface TrainBenchOptions {
  config: ModelConfig;
  batch: number;
  window: number;
  device: DeviceChoice;
  steps: number;
  /** Progress lines go here (stderr for --json). */
  log?: (s: string) => void;
}

export interface TrainBenchResult {
  config: { dilations: string; residual: number; dilation: number; skip: number; head: number };
  batch: number;
  window: number;
  device: string;
  kernels: string;
  threads: number;
  params: number;
  memoryBytes: number;
  steps: number;
  stepMs: { median: number; min: number; max: number; all: number[] };
  /** CPU time of the whole process per step (median; all threads, spin-waits included). */
  cpuMsPerStep: number;
  /** Load average (1 min) at the end: figures taken on a busy machine are not comparable. */
  loadAverage: number;
  evaluateMsMedian: number;
  samplesPerSec: number;
  gflopPerStep: number;
  gflops: number;
}

/**
 * Matrix FLOPs (2 per multiply-add) of one training step: each matrix product of the forward once,
 * and twice in the backward (input and weight gradients), over the positions the trainer computes.
 */
export function trainStepFlops(c: ModelConfig, batch: number, window: number): number {
  const { residual: R, dilation: D, skip: S, head: H, classes: Q } = c;
  const L = c.dilations.length;
  let fwd = 0;
  let later = 0; // sum of the dilations after layer l
  for (let l = L - 1; l >= 0; l--) {
    const rows = window + later;
    fwd += 2 * rows * (2 * D) * (2 * R); // dilated conv, both taps
    if (l < L - 1) fwd += 2 * rows * D * R; // residual projection (unused after the last layer)
    fwd += 2 * window * D * S; // skip projection on the window
    later += c.dilations[l];
  }
  fwd += 2 * window * (S * H + H * Q);
  return 3 * fwd * batch;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export async function benchTrain(o: TrainBenchOptions): Promise<TrainBenchResult> {
  const log = o.log ?? (() => {});
  const addon = native();
  const dev = resolveDevice(o.device);
  const nc = toNative(o.config);
  const layout = addon.layout(nc);
  const N = receptiveField(o.config) + o.window;
  const memoryBytes = addon.trainerMemoryBytes(nc, o.batch, o.window, dev.device);
  const t = new addon.Trainer(nc, o.batch, o.window, dev.device);
  try {
    const r = rng(1);
    const p = new Float32Array(layout.total);
    for (let i = 0; i < p.length; i++) p[i] = (r() * 2 - 1) * 0.05;
    t.setParams(p);
    const crops = new Uint8Array(o.batch * N);
    for (let i = 0; i < crops.length; i++) crops[i] = Math.floor(r() * 256);
    log(
      `bench train: ${dev.description}; dilations ${formatDilations(o.config.dilations)}, R ${o.config.residual}, D ${o.config.dilation}, S ${o.config.skip}, H ${o.config.head}, batch ${o.batch}, window ${o.window}`,
    );
    await t.step(crops, { lr: 1e-4 }); // warm-up
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < o.steps; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await t.step(crops, { lr: 1e-4 });
      times.push(performance.now() - t0);
      const c1 = process.cpuUsage(c0);
      cpu.push((c1.user + c1.system) / 1000);
      log(`  step ${i + 1}/${o.steps}: ${times[i].toFixed(1)} ms`);
    }
    const evals: number[] = [];
    for (let i = 0; i < Math.min(3, o.steps); i++) {
      const t0 = performance.now();
      await t.evaluate(crops);
      evals.push(performance.now() - t0);
    }
    const med = median(times);
    const flops = trainStepFlops(o.config, o.batch, o.window);
    const f = addon.cpuFeatures();
    return {
      config: {
        dilations: formatDilations(o.config.dilations),
        residual: o.config.residual,
        dilation: o.config.dilation,
        skip: o.config.skip,
        head: o.config.head,
      },
      batch: o.batch,
      window: o.window,
      device: dev.description,
      kernels: f.kernels,
      threads: f.threads,
      params: paramCount(o.config),
      memoryBytes,
      steps: o.steps,
      stepMs: { median: med, min: Math.min(...times), max: Math.max(...times), all: times },
      cpuMsPerStep: median(cpu),
      loadAverage: loadavg()[0],
      evaluateMsMedian: evals.length ? median(evals) : NaN,
      samplesPerSec: (o.batch * o.window) / (med / 1000),
      gflopPerStep: flops / 1e9,
      gflops: flops / 1e9 / (med / 1000),
    };
  } finally {
    t.free();
  }
}

export function formatTrainBench(r: TrainBenchResult): string {
  return [
    `config      ${r.config.dilations} R${r.config.residual} D${r.config.dilation} S${r.config.skip} H${r.config.head}, batch ${r.batch}, window ${r.window} (${r.params.toLocaleString('en-US')} parameters, ${(r.memoryBytes / 2 ** 20).toFixed(0)} MiB)`,
    `device      ${r.device}`,
    `step        median ${r.stepMs.median.toFixed(1)} ms (min ${r.stepMs.min.toFixed(1)}, max ${r.stepMs.max.toFixed(1)}, ${r.steps} steps); forward only ${r.evaluateMsMedian.toFixed(1)} ms; CPU ${r.cpuMsPerStep.toFixed(0)} ms/step`,
    `throughput  ${Math.round(r.samplesPerSec).toLocaleString('en-US')} samples/s of predicted audio`,
    `compute     ${r.gflopPerStep.toFixed(1)} GFLOP/step, ${r.gflops.toFixed(1)} GFLOP/s`,
    ...(r.loadAverage > r.threads + 0.5
      ? [
          `warning     load average ${r.loadAverage.toFixed(1)} on ${r.threads} threads: other processes were running, the timings are not representative`,
        ]
      : []),
  ].join('\n');
}

interface Args extends ModelFlags {
  batch: number;
  window: number;
  steps: number;
  device: DeviceChoice;
  json: boolean;
}

export const benchTrainCommand: CommandModule<object, Args> = {
  command: 'train',
  describe: 'Training throughput on random data (samples/s, step time, GFLOP/s)',
  builder: (y: Argv) =>
    withJson(
      withDevice(
        withModelOptions(y)
          .option('batch', { type: 'number', default: 8, describe: 'Crops per step' })
          .option('window', { type: 'number', default: 1024, describe: 'Predicted samples per crop' })
          .option('steps', { type: 'number', default: 5, describe: 'Timed steps (after one warm-up step)' }),
      ),
    ).example('$0 bench train', 'The default config, batch 8, window 1024') as unknown as Argv<Args>,
  handler: async (argv: ArgumentsCamelCase<Args>) => {
    const config = modelConfigFromFlags(argv);
    const r = await benchTrain({
      config,
      batch: wholeNumber(argv.batch, '--batch', 1, 65536),
      window: wholeNumber(argv.window, '--window'),
      steps: wholeNumber(argv.steps, '--steps', 1, 100000),
      device: argv.device,
      log: argv.json ? (s) => process.stderr.write(s + '\n') : undefined,
    });
    if (argv.json) console.log(JSON.stringify(r, null, 2));
    else console.log(formatTrainBench(r));
  },
};
