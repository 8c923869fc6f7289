/**
 * `wavenet train`: train a WaveNet on a dataset, with checkpoints, a log and a loss plot in a run
 * folder. The work is done by TrainingSession (src/train/loop.ts); this module parses flags, prints
 * and handles Ctrl-C / SIGTERM (finish the step, write a checkpoint, exit 0).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { basename, join, relative } from 'node:path';
import { existsSync } from 'node:fs';
import { resolveDevice, type DeviceChoice } from '../device.js';
import { checkMemory } from '../model/memory.js';
import { DEFAULT_CONFIG, checkConfig, formatDilations, parseDilations, type ModelConfig } from '../model/config.js';
import { UserError } from '../util/errors.js';
import { withDevice, withJson, withModelOptions } from './options.js';
import { newestDataset } from '../train/data.js';
import { formatDuration, readRunConfig, type LogRow } from '../train/run.js';
import { TrainingSession, checkTrainOptions, type TrainOptions } from '../train/loop.js';

export const TRAIN_DEFAULTS = {
  window: 1024,
  batch: 8,
  lr: 1e-3,
  seed: 0,
  checkpointEvery: 500,
  keep: 3,
  valEvery: 250,
};

interface TrainArgs {
  data?: string;
  run?: string;
  dilations?: string;
  residualChannels?: number;
  dilationChannels?: number;
  skipChannels?: number;
  headChannels?: number;
  window?: number;
  batch?: number;
  lr?: number;
  steps?: number;
  checkpointEvery?: number;
  keep?: number;
  valEvery?: number;
  seed?: number;
  device: DeviceChoice;
  resume: boolean;
  json: boolean;
}

function num(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new UserError(`${flag} was given more than once`);
  if (typeof v !== 'number' || Number.isNaN(v)) throw new UserError(`${flag}: expected a number, got '${String(v)}'`);
  return v;
}

function fmtBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(2)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  return `${(b / 1024).toFixed(1)} KiB`;
}

function rel(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

/** Turns flags (and, on --resume, the run's saved settings) into TrainOptions. */
export function buildOptions(argv: TrainArgs, command: string): TrainOptions {
  // Flag values first, so that malformed ones are reported before anything else.
  const given = {
    dilations: argv.dilations !== undefined ? parseDilations(String(argv.dilations)) : undefined,
    residual: num(argv.residualChannels, '--residual-channels'),
    dilation: num(argv.dilationChannels, '--dilation-channels'),
    skip: num(argv.skipChannels, '--skip-channels'),
    head: num(argv.headChannels, '--head-channels'),
    window: num(argv.window, '--window'),
    batch: num(argv.batch, '--batch'),
    lr: num(argv.lr, '--lr'),
    seed: num(argv.seed, '--seed'),
  };
  const steps = num(argv.steps, '--steps');
  const checkpointEvery = num(argv.checkpointEvery, '--checkpoint-every') ?? TRAIN_DEFAULTS.checkpointEvery;
  const keep = num(argv.keep, '--keep') ?? TRAIN_DEFAULTS.keep;
  const valEvery = num(argv.valEvery, '--val-every') ?? TRAIN_DEFAULTS.valEvery;
  const pick = <T>(g: T | undefined, saved: T | undefined, def: T): T => (g !== undefined ? g : saved !== undefined ? saved : def);
  // Check the given sizes now (with defaults for the rest) so errors name the flag before any work.
  const probe: ModelConfig = {
    dilations: given.dilations ?? DEFAULT_CONFIG.dilations,
    residual: given.residual ?? DEFAULT_CONFIG.residual,
    dilation: given.dilation ?? DEFAULT_CONFIG.dilation,
    skip: given.skip ?? DEFAULT_CONFIG.skip,
    head: given.head ?? DEFAULT_CONFIG.head,
    classes: 256,
  };
  const probeOpts: TrainOptions = {
    runDir: '.', datasetDir: '.', config: probe, device: 'cpu', resume: false, command,
    training: { window: given.window ?? TRAIN_DEFAULTS.window, batch: given.batch ?? TRAIN_DEFAULTS.batch, lr: given.lr ?? TRAIN_DEFAULTS.lr, seed: given.seed ?? TRAIN_DEFAULTS.seed },
    steps, checkpointEvery, keep, valEvery,
  };
  checkTrainOptions(probeOpts);

  if (argv.data !== undefined && !existsSync(argv.data)) throw new UserError(`--data ${argv.data}: no such folder`);
  const runDir = argv.run ?? join('runs', basename(argv.data ?? newestDataset('datasets')));
  const saved = argv.resume ? readRunConfig(runDir) : undefined;
  let datasetDir: string;
  if (argv.data !== undefined) datasetDir = argv.data;
  else if (saved) {
    // Resume on the data the run was started with.
    if (!existsSync(saved.dataset.path)) {
      throw new UserError(`the dataset of ${runDir}, ${saved.dataset.path}, is missing; pass --data DIR to resume on another copy of it`);
    }
    datasetDir = saved.dataset.path;
  } else datasetDir = newestDataset('datasets');
  const sm = saved?.model;
  const config = checkConfig({
    dilations: pick(given.dilations, sm?.dilations, DEFAULT_CONFIG.dilations),
    residual: pick(given.residual, sm?.residual, DEFAULT_CONFIG.residual),
    dilation: pick(given.dilation, sm?.dilation, DEFAULT_CONFIG.dilation),
    skip: pick(given.skip, sm?.skip, DEFAULT_CONFIG.skip),
    head: pick(given.head, sm?.head, DEFAULT_CONFIG.head),
    classes: 256,
  });
  const st = saved?.training;
  return {
    runDir,
    datasetDir,
    config,
    training: {
      window: pick(given.window, st?.window, TRAIN_DEFAULTS.window),
      batch: pick(given.batch, st?.batch, TRAIN_DEFAULTS.batch),
      lr: pick(given.lr, st?.lr, TRAIN_DEFAULTS.lr),
      seed: pick(given.seed, st?.seed, TRAIN_DEFAULTS.seed),
    },
    steps,
    checkpointEvery,
    keep,
    valEvery,
    device: 'cpu',
    resume: argv.resume,
    command,
  };
}

export function quoteArgs(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export const trainCommand: CommandModule<object, TrainArgs> = {
  command: 'train',
  describe: 'Train a WaveNet on a dataset (checkpoints, log and loss plot in a run folder)',
  builder: (y: Argv) =>
    withJson(
      withDevice(
        withModelOptions(y
          .option('data', { type: 'string', describe: 'Dataset folder (from `wavenet ingest`) [default: the newest under ./datasets]' })
          .option('run', { type: 'string', describe: 'Run folder for checkpoints, log.jsonl, loss.png [default: runs/<dataset name>]' }))
          .option('window', { type: 'number', describe: 'Predicted samples per crop; crops are receptive field + window [default: 1024]' })
          .option('batch', { type: 'number', describe: 'Crops per step [default: 8]' })
          .option('lr', { type: 'number', describe: 'Adam learning rate [default: 1e-3]' })
          .option('steps', { type: 'number', describe: 'Stop at this step, counted from the start of the run [default: train until Ctrl-C]' })
          .option('checkpoint-every', { type: 'number', describe: 'Write a checkpoint every N steps (and at the end) [default: 500]' })
          .option('keep', { type: 'number', describe: 'Keep the newest K checkpoints [default: 3]' })
          .option('val-every', { type: 'number', describe: 'Validation loss every N steps on a fixed set of 64 crops of the val split; 0 = off [default: 250]' })
          .option('seed', { type: 'number', describe: 'Seed of the initial weights and the crop sampler [default: 0]' })
          .option('resume', {
            type: 'boolean',
            default: false,
            describe: 'Continue the run from its newest checkpoint (model, window, batch, seed and dataset come from the run; training without it into an existing run is an error)',
          }),
      ),
    )
      .example('$0 train --dilations 10x3', 'Train on the newest dataset into runs/<name>, until Ctrl-C')
      .example('$0 train --data datasets/eno --steps 20000', 'Train 20000 steps')
      .example('$0 train --resume', 'Continue the newest dataset\'s run exactly where its last checkpoint left off')
      .example('$0 train --dilations 1,2,4,8 --residual-channels 16 --skip-channels 32 --head-channels 32 --window 256', 'A tiny model')
      .epilog(
        'Losses are printed in bits per sample (8 = uniform guess). Ctrl-C or SIGTERM finishes the current step, writes a checkpoint and exits 0; ' +
          'a second Ctrl-C quits at once (the previous checkpoint stays valid). See docs/checkpoints.md for the files of a run.',
      ) as unknown as Argv<TrainArgs>,
  handler: async (argv: ArgumentsCamelCase<TrainArgs>) => {
    const command = `wavenet ${quoteArgs(process.argv.slice(2))}`;
    const opts = buildOptions(argv, command);
    const out = argv.json ? process.stderr : process.stdout;
    const say = (s: string) => out.write(s + '\n');
    const dev = resolveDevice(argv.device);
    opts.device = dev.device;
    let liveLine = false;
    const tty = !!(out as NodeJS.WriteStream).isTTY;
    const clearLive = () => {
      if (liveLine) out.write('\r\x1b[2K');
      liveLine = false;
    };
    const session = await TrainingSession.open(opts, { note: (m) => { clearLive(); say(m); } });
    // the native trainer's allocation plan, against RAM (total and available now) or the GPU's memory
    const need = session.memoryBytes;
    checkMemory('training with this config', dev.device === 'cuda' ? { host: 0, device: need } : { host: need, device: 0 }, dev.device, 'lower --batch or --window');
    const ds = session.dataset;
    const c = opts.config;
    const rf = session.receptiveField;
    const secs = (n: number) => n / ds.sampleRate;
    const trainSamples = ds.train.reduce((a, b) => a + b.samples, 0);
    say(`dataset    ${rel(ds.dir)}: ${ds.train.length} training chunks (${formatDuration(secs(trainSamples))} of audio), ${ds.val.length} validation`);
    say(`run        ${rel(session.runDir)}${session.resumedFrom ? ` (resuming from ${basename(session.resumedFrom)})` : opts.resume ? ' (resuming, no checkpoint yet: from step 0)' : ' (new)'}`);
    say(`model      dilations ${formatDilations(c.dilations)} (${c.dilations.length} layers), residual ${c.residual}, dilation ${c.dilation}, skip ${c.skip}, head ${c.head}`);
    say(`receptive field ${rf} samples (${(secs(rf) * 1000).toFixed(1)} ms at ${ds.sampleRate} Hz); parameters ${session.paramCount.toLocaleString('en-US')} (${fmtBytes(session.paramCount * 4)})`);
    say(`memory     about ${fmtBytes(session.memoryBytes)} for batch ${opts.training.batch} x (${rf} + ${opts.training.window}) samples`);
    say(`device     ${dev.description}${dev.note ? ` (${dev.note})` : ''}`);
    say(`training   lr ${opts.training.lr}, seed ${opts.training.seed}, ${opts.steps !== undefined ? `until step ${opts.steps}` : 'until Ctrl-C'}, checkpoint every ${opts.checkpointEvery} (keep ${opts.keep}), validation ${opts.valEvery > 0 ? `every ${opts.valEvery}` : 'off'}`);

    let stop = false;
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        clearLive();
        process.stderr.write(`wavenet: ${sig} again: quitting without a checkpoint (the previous one is intact)\n`);
        process.exit(130);
      }
      stop = true;
      clearLive();
      process.stderr.write(`wavenet: ${sig}: finishing this step and writing a checkpoint (Ctrl-C again quits at once)\n`);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const started = performance.now();
    let lastPrint = 0;
    let lastVal: number | undefined;
    let rateEma: number | undefined;
    const startStep = session.startStep;
    const line = (r: LogRow) => {
      const elapsed = (performance.now() - started) / 1000;
      const stepsPerSec = (r.step - startStep) / Math.max(elapsed, 1e-9);
      rateEma = rateEma === undefined ? r.samplesPerSec : 0.9 * rateEma + 0.1 * r.samplesPerSec;
      let s = `step ${r.step}${opts.steps !== undefined ? `/${opts.steps}` : ''}  loss ${r.loss.toFixed(3)}`;
      if (lastVal !== undefined) s += `  val ${lastVal.toFixed(3)}`;
      s += ` bits/sample  ${Math.round(rateEma).toLocaleString('en-US')} samples/s`;
      if (opts.steps !== undefined && r.step < opts.steps) s += `  ETA ${formatDuration((opts.steps - r.step) / stepsPerSec)}`;
      return s;
    };
    const events = {
      step: (r: LogRow) => {
        if (r.valLoss !== undefined) lastVal = r.valLoss;
        const now = performance.now();
        const important = r.valLoss !== undefined || r.step === opts.steps;
        if (tty) {
          if (now - lastPrint < 100 && !important) return;
          lastPrint = now;
          out.write(`\r\x1b[2K${line(r)}`);
          liveLine = true;
          if (important) { out.write('\n'); liveLine = false; }
        } else if (important || now - lastPrint >= 5000 || r.step === startStep + 1) {
          lastPrint = now;
          say(line(r));
        }
      },
      checkpoint: (p: string, step: number) => {
        clearLive();
        say(`checkpoint ${rel(p)} (step ${step})`);
      },
      note: (m: string) => {
        clearLive();
        say(m);
      },
    };
    session.on(events);
    let summary;
    try {
      summary = await session.run(() => stop);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      clearLive();
    }
    const result = {
      ...summary,
      runDir: rel(summary.runDir),
      dataset: rel(summary.dataset),
      checkpoint: summary.checkpoint ? rel(summary.checkpoint) : null,
      config: c,
      receptiveField: rf,
      paramCount: session.paramCount,
      memoryBytes: session.memoryBytes,
      device: dev.device,
    };
    if (argv.json) console.log(JSON.stringify(result, null, 2));
    else {
      say(
        `${summary.stoppedBy === 'signal' ? 'stopped' : 'done'} at step ${summary.step}` +
          (summary.loss !== null ? `, loss ${summary.loss.toFixed(3)}` : '') +
          (summary.valLoss !== null ? `, val ${summary.valLoss.toFixed(3)}` : '') +
          ' bits/sample' +
          (summary.checkpoint ? `; checkpoint ${rel(summary.checkpoint)}` : ''),
      );
    }
  },
};
