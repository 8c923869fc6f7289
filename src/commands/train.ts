/**
 * `wavenet train`: train a WaveNet on a dataset, with checkpoints, a log and a loss plot in a run
 * folder. The work is done by TrainingSession (src/train/loop.ts); this module parses flags, prints
 * and handles Ctrl-C / SIGTERM (finish the step, write a checkpoint, exit 0).
 */
import { faultAt } from '../util/faults.js';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { basename, join, relative } from 'node:path';
import { existsSync } from 'node:fs';
import { resolveDevice, type DeviceChoice, type ResolvedDevice } from '../device.js';
import { checkMemory } from '../model/memory.js';
import { DEFAULT_CONFIG, checkConfig, formatDilations, parseDilations, type ModelConfig } from '../model/config.js';
import { UserError } from '../util/errors.js';
import { withDevice, withJson, withModelOptions } from './options.js';
import { checkDataArg, chooseDataset, datasetChoiceNote, type DatasetChoice } from '../train/data.js';
import { parseDuration } from '../dataset/options.js';
import { formatDuration, readRunConfig, type LogRow } from '../train/run.js';
import type { TrainingSettings } from '../train/checkpoint.js';
import {
  TrainingSession,
  checkTrainOptions,
  type TrainEvents,
  type TrainOptions,
  type TrainSummary,
} from '../train/loop.js';

/**
 * Checkpoints and validation come by steps or by wall time, whichever first. The step counts suit a
 * fast machine (a small model, or CUDA); the times suit a 2-core CPU on the default model (about
 * 3.5 s a step: a checkpoint every ~170 steps, a validation every ~85), so a new user sees a
 * validation loss within 5 minutes and never has more than 10 minutes of work unsaved.
 */
export const TRAIN_DEFAULTS = {
  window: 1024,
  batch: 8,
  lr: 1e-3,
  seed: 0,
  checkpointEvery: 500,
  checkpointSeconds: 600,
  keep: 3,
  valEvery: 250,
  valSeconds: 300,
};

export interface Every {
  /** Every N steps; 0 = not by steps. */
  steps: number;
  /** Every N seconds of wall time; 0 = not by time. */
  seconds: number;
}

/**
 * `500` (steps), `10m` (time), or both `500,10m` (whichever comes first). `allowOff`: 0 turns it off.
 * Numbers from yargs count as steps.
 */
export function parseEvery(v: unknown, flag: string, allowOff: boolean): Every | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) throw new UserError(`${flag} was given more than once`);
  const usage = `expected steps (500), a time (10m), or both (500,10m)${allowOff ? '; 0 turns it off' : ''}`;
  const parts = String(v)
    .split(',')
    .map((p) => p.trim());
  const e: Every = { steps: 0, seconds: 0 };
  for (const p of parts) {
    if (/^\d+$/.test(p) && !e.steps) {
      e.steps = Number(p);
      if (p !== '0' || parts.length > 1) continue;
      if (allowOff) return e;
      throw new UserError(`${flag} ${String(v)}: ${usage}`);
    }
    if (/^(\d+(\.\d+)?|\.\d+)\s*[a-z]+$/i.test(p) && !e.seconds) {
      e.seconds = parseDuration(p, flag);
      continue;
    }
    throw new UserError(`${flag} ${String(v)}: ${usage}`);
  }
  if (e.steps === 0 && e.seconds === 0) throw new UserError(`${flag} ${String(v)}: ${usage}`);
  return e;
}

/** `500 steps or 10m`, as the header line shows it. */
export function formatEvery(e: Every): string {
  const parts: string[] = [];
  if (e.steps) parts.push(`${e.steps} step${e.steps === 1 ? '' : 's'}`);
  const t = e.seconds;
  if (t)
    parts.push(t % 3600 === 0 ? `${t / 3600}h` : t % 60 === 0 ? `${t / 60}m` : t < 60 ? `${t}s` : formatDuration(t));
  return parts.join(' or ');
}

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
  checkpointEvery?: number | string;
  keep?: number;
  valEvery?: number | string;
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

/**
 * Checks the sizes and settings given as flags (with the defaults for the rest) so that an error names
 * the flag before any work, and before a resumed run's saved settings fill in the others.
 */
function checkGivenFlags(
  given: Partial<Omit<ModelConfig, 'classes'> & TrainingSettings>,
  rest: Pick<TrainOptions, 'steps' | 'keep' | 'checkpointEvery' | 'checkpointSeconds' | 'valEvery' | 'valSeconds'>,
  command: string,
): void {
  const probe: ModelConfig = {
    dilations: given.dilations ?? DEFAULT_CONFIG.dilations,
    residual: given.residual ?? DEFAULT_CONFIG.residual,
    dilation: given.dilation ?? DEFAULT_CONFIG.dilation,
    skip: given.skip ?? DEFAULT_CONFIG.skip,
    head: given.head ?? DEFAULT_CONFIG.head,
    classes: 256,
  };
  const probeOpts: TrainOptions = {
    runDir: '.',
    datasetDir: '.',
    config: probe,
    device: 'cpu',
    resume: false,
    command,
    training: {
      window: given.window ?? TRAIN_DEFAULTS.window,
      batch: given.batch ?? TRAIN_DEFAULTS.batch,
      lr: given.lr ?? TRAIN_DEFAULTS.lr,
      seed: given.seed ?? TRAIN_DEFAULTS.seed,
    },
    ...rest,
  };
  checkTrainOptions(probeOpts);
}

/**
 * The run folder and the dataset of a training: --data, or on --resume the run's own dataset, or the one
 * picked under ./datasets (with a note naming the others). Also the run's saved settings on --resume.
 */
function resolveRunAndDataset(argv: TrainArgs) {
  // --data must be a dataset, checked before anything about the run folder (an audio folder is the common mistake).
  if (argv.data !== undefined) checkDataArg(argv.data);
  let choice: DatasetChoice | undefined;
  const chosen = () => (choice ??= chooseDataset('datasets')).dir;
  const runDir = argv.run ?? join('runs', basename(argv.data ?? chosen()));
  const saved = argv.resume ? readRunConfig(runDir) : undefined;
  let datasetDir: string;
  if (argv.data !== undefined) datasetDir = argv.data;
  else if (saved) {
    // Resume on the data the run was started with.
    if (!existsSync(saved.dataset.path)) {
      throw new UserError(
        `the dataset of ${runDir}, ${saved.dataset.path}, is missing; pass --data DIR to resume on another copy of it`,
      );
    }
    datasetDir = saved.dataset.path;
  } else datasetDir = chosen();
  // Picked without --data: name the others, or refuse when two fresh datasets make it a guess.
  const datasetNote = choice ? datasetChoiceNote(choice) : undefined;
  return { runDir, saved, datasetDir, datasetNote };
}

/** Turns flags (and, on --resume, the run's saved settings) into TrainOptions. */
export function buildOptions(argv: TrainArgs, command: string): TrainOptions & { datasetNote?: string } {
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
  const ckEvery = parseEvery(argv.checkpointEvery, '--checkpoint-every', false) ?? {
    steps: TRAIN_DEFAULTS.checkpointEvery,
    seconds: TRAIN_DEFAULTS.checkpointSeconds,
  };
  const keep = num(argv.keep, '--keep') ?? TRAIN_DEFAULTS.keep;
  const valEvery = parseEvery(argv.valEvery, '--val-every', true) ?? {
    steps: TRAIN_DEFAULTS.valEvery,
    seconds: TRAIN_DEFAULTS.valSeconds,
  };
  const every = {
    checkpointEvery: ckEvery.steps,
    checkpointSeconds: ckEvery.seconds,
    valEvery: valEvery.steps,
    valSeconds: valEvery.seconds,
  };
  const pick = <T>(g: T | undefined, saved: T | undefined, def: T): T =>
    g !== undefined ? g : saved !== undefined ? saved : def;
  checkGivenFlags(given, { steps, keep, ...every }, command);

  const { runDir, saved, datasetDir, datasetNote } = resolveRunAndDataset(argv);
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
    keep,
    ...every,
    device: 'cpu',
    resume: argv.resume,
    command,
    datasetNote,
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
        withModelOptions(
          y
            .option('data', {
              type: 'string',
              describe: 'Dataset folder (from `wavenet ingest`) [default: the newest under ./datasets]',
            })
            .option('run', {
              type: 'string',
              describe: 'Run folder for checkpoints, log.jsonl, loss.png [default: runs/<dataset name>]',
            }),
        )
          .option('window', {
            type: 'number',
            describe: 'Predicted samples per crop; crops are receptive field + window [default: 1024]',
          })
          .option('batch', { type: 'number', describe: 'Crops per step [default: 8]' })
          .option('lr', { type: 'number', describe: 'Adam learning rate [default: 1e-3]' })
          .option('steps', {
            type: 'number',
            describe: 'Stop at this step, counted from the start of the run [default: train until Ctrl-C]',
          })
          .option('checkpoint-every', {
            type: 'string',
            describe:
              'Write a checkpoint every N steps (500), every so long (10m), or whichever comes first (500,10m); and at the end [default: 500,10m]',
          })
          .option('keep', { type: 'number', describe: 'Keep the newest K checkpoints [default: 3]' })
          .option('val-every', {
            type: 'string',
            describe:
              'Validation loss on a fixed set of 64 crops of the val split every N steps (250), every so long (5m), or whichever first (250,5m); 0 = off [default: 250,5m]',
          })
          .option('seed', { type: 'number', describe: 'Seed of the initial weights and the crop sampler [default: 0]' })
          .option('resume', {
            type: 'boolean',
            default: false,
            describe:
              'Continue the run from its newest checkpoint (model, window, batch, seed and dataset come from the run; training without it into an existing run is an error)',
          }),
      ),
    )
      .example('$0 train --dilations 10x3', 'Train on the newest dataset into runs/<name>, until Ctrl-C')
      .example('$0 train --data datasets/eno --steps 20000', 'Train 20000 steps')
      .example('$0 train --resume', "Continue the newest dataset's run exactly where its last checkpoint left off")
      .example(
        '$0 train --dilations 1,2,4,8 --residual-channels 16 --skip-channels 32 --head-channels 32 --window 256',
        'A tiny model',
      )
      .epilog(
        'Losses are printed in bits per sample (8 = uniform guess). Ctrl-C or SIGTERM finishes the current step, writes a checkpoint and exits 0; ' +
          'a second Ctrl-C quits at once (the previous checkpoint stays valid). See docs/checkpoints.md for the files of a run.',
      ) as unknown as Argv<TrainArgs>,
  handler: async (argv: ArgumentsCamelCase<TrainArgs>) => {
    const command = `wavenet ${quoteArgs(process.argv.slice(2))}`;
    const opts = buildOptions(argv, command);
    const con = new TrainConsole(argv.json ? process.stderr : process.stdout, opts);
    const dev = resolveDevice(argv.device);
    opts.device = dev.device;
    // test-only: WAVENET_TEST_CHECKPOINT_CRASH=STEP:PHASE kills this process inside a checkpoint write
    opts.faultHook = faultAt(process.env.WAVENET_TEST_CHECKPOINT_CRASH, () => process.kill(process.pid, 'SIGKILL'));
    if (opts.datasetNote) {
      // On stderr (seen even with --json), bold on a terminal: training on the wrong data costs hours.
      const tty = !!process.stderr.isTTY;
      process.stderr.write(`${tty ? '\x1b[1;33m' : ''}note: ${opts.datasetNote}${tty ? '\x1b[0m' : ''}\n`);
    }
    const session = await TrainingSession.open(opts, { note: (m) => con.note(m) });
    // the native trainer's allocation plan, against RAM (total and available now) or the GPU's memory
    const need = session.memoryBytes;
    checkMemory(
      'training with this config',
      dev.device === 'cuda' ? { host: 0, device: need } : { host: need, device: 0 },
      dev.device,
      'lower --batch or --window',
    );
    printHeader(con, session, opts, dev);
    const signals = stopOnSignals(() => con.clearLive());
    session.on(con.events(session));
    let summary: TrainSummary;
    try {
      summary = await session.run(signals.stopped);
    } finally {
      signals.dispose();
      con.clearLive();
    }
    const result = {
      ...summary,
      runDir: rel(summary.runDir),
      dataset: rel(summary.dataset),
      checkpoint: summary.checkpoint ? rel(summary.checkpoint) : null,
      config: opts.config,
      receptiveField: session.receptiveField,
      paramCount: session.paramCount,
      memoryBytes: session.memoryBytes,
      device: dev.device,
    };
    if (argv.json) console.log(JSON.stringify(result, null, 2));
    else {
      con.say(
        `${summary.stoppedBy === 'signal' ? 'stopped' : 'done'} at step ${summary.step}` +
          (summary.loss !== null ? `, loss ${summary.loss.toFixed(3)}` : '') +
          (summary.valLoss !== null ? `, val ${summary.valLoss.toFixed(3)}` : '') +
          ' bits/sample' +
          (summary.checkpoint ? `; checkpoint ${rel(summary.checkpoint)}` : ''),
      );
    }
  },
};

/** What `wavenet train` prints before the first step: dataset, run, model, memory, device and settings. */
function printHeader(con: TrainConsole, session: TrainingSession, opts: TrainOptions, dev: ResolvedDevice): void {
  const say = (s: string) => con.say(s);
  const ds = session.dataset;
  const c = opts.config;
  const rf = session.receptiveField;
  const secs = (n: number) => n / ds.sampleRate;
  const trainSamples = ds.train.reduce((a, b) => a + b.samples, 0);
  const valSamples = ds.val.reduce((a, b) => a + b.samples, 0);
  const valSources = new Set(ds.val.map((v) => v.source)).size;
  say(
    `dataset    ${rel(ds.dir)}: ${ds.train.length} training chunks (${formatDuration(secs(trainSamples))} of audio), ${ds.val.length} validation` +
      (ds.val.length
        ? ` (${formatDuration(secs(valSamples))}, ${Math.round((100 * valSamples) / (valSamples + trainSamples))}% of the audio, from ${valSources} of ${ds.sources ?? '?'} source${ds.sources === 1 ? '' : 's'})`
        : ''),
  );
  say(
    `run        ${rel(session.runDir)}${session.resumedFrom ? ` (resuming from ${basename(session.resumedFrom)})` : opts.resume ? ' (resuming, no checkpoint yet: from step 0)' : ' (new)'}`,
  );
  say(
    `model      dilations ${formatDilations(c.dilations)} (${c.dilations.length} layers), residual ${c.residual}, dilation ${c.dilation}, skip ${c.skip}, head ${c.head}`,
  );
  say(
    `receptive field ${rf} samples (${(secs(rf) * 1000).toFixed(1)} ms at ${ds.sampleRate} Hz); parameters ${session.paramCount.toLocaleString('en-US')} (${fmtBytes(session.paramCount * 4)})`,
  );
  say(
    `memory     about ${fmtBytes(session.memoryBytes)} for batch ${opts.training.batch} x (${rf} + ${opts.training.window}) samples`,
  );
  say(`device     ${dev.description}${dev.note ? ` (${dev.note})` : ''}`);
  const valEvery = { steps: opts.valEvery, seconds: opts.valSeconds ?? 0 };
  say(
    `training   lr ${opts.training.lr}, seed ${opts.training.seed}, ${opts.steps !== undefined ? `until step ${opts.steps}` : 'until Ctrl-C'}, ` +
      `checkpoint every ${formatEvery({ steps: opts.checkpointEvery, seconds: opts.checkpointSeconds ?? 0 })} (keep ${opts.keep}), ` +
      `validation ${valEvery.steps || valEvery.seconds ? `every ${formatEvery(valEvery)}` : 'off'}`,
  );
}

/**
 * Ctrl-C / SIGTERM: the first finishes the current step and writes a checkpoint (`stopped` turns true);
 * a second quits at once with status 130 (the previous checkpoint stays valid).
 */
function stopOnSignals(clearLive: () => void): { stopped: () => boolean; dispose: () => void } {
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
    process.stderr.write(
      `wavenet: ${sig}: finishing this step and writing a checkpoint (Ctrl-C again quits at once)\n`,
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopped: () => stop,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * Training progress: on a terminal one status line rewritten in place (at most 10 times a second,
 * kept on validation and at the last step); otherwise a line every 5 s, at the first step and on
 * validation. Notes and checkpoints get lines of their own.
 */
class TrainConsole {
  private liveLine = false;
  private readonly tty: boolean;
  private started = performance.now();
  private lastPrint = 0;
  private lastVal: number | undefined;
  private rateEma: number | undefined;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly opts: TrainOptions,
  ) {
    this.tty = !!out.isTTY;
  }

  say(s: string): void {
    this.out.write(s + '\n');
  }

  clearLive(): void {
    if (this.liveLine) this.out.write('\r\x1b[2K');
    this.liveLine = false;
  }

  note(m: string): void {
    this.clearLive();
    this.say(m);
  }

  /** The status line of step row `r`: loss, val loss, rate, ETA (or elapsed and the next checkpoint). */
  private line(r: LogRow, session: TrainingSession): string {
    const opts = this.opts;
    const elapsed = (performance.now() - this.started) / 1000;
    const stepsPerSec = (r.step - session.startStep) / Math.max(elapsed, 1e-9);
    this.rateEma = this.rateEma === undefined ? r.samplesPerSec : 0.9 * this.rateEma + 0.1 * r.samplesPerSec;
    let s = `step ${r.step}${opts.steps !== undefined ? `/${opts.steps}` : ''}  loss ${r.loss.toFixed(3)}`;
    if (this.lastVal !== undefined) s += `  val ${this.lastVal.toFixed(3)}`;
    s += ` bits/sample  ${Math.round(this.rateEma).toLocaleString('en-US')} samples/s`;
    if (opts.steps !== undefined && r.step < opts.steps)
      s += `  ETA ${formatDuration((opts.steps - r.step) / stepsPerSec)}`;
    if (opts.steps === undefined) {
      // Open-ended: how long it has run, and how soon the next checkpoint saves the work.
      s += `  elapsed ${formatDuration(elapsed)}  next checkpoint in ${formatDuration(session.secondsToNextCheckpoint(1 / stepsPerSec))}`;
    }
    return s;
  }

  /** The session's event handlers; the rate and ETA count from now. */
  events(session: TrainingSession): TrainEvents {
    this.started = performance.now();
    return {
      step: (r: LogRow) => {
        if (r.valLoss !== undefined) this.lastVal = r.valLoss;
        const now = performance.now();
        const important = r.valLoss !== undefined || r.step === this.opts.steps;
        if (this.tty) {
          if (now - this.lastPrint < 100 && !important) return;
          this.lastPrint = now;
          this.out.write(`\r\x1b[2K${this.line(r, session)}`);
          this.liveLine = true;
          if (important) {
            this.out.write('\n');
            this.liveLine = false;
          }
        } else if (important || now - this.lastPrint >= 5000 || r.step === session.startStep + 1) {
          this.lastPrint = now;
          this.say(this.line(r, session));
        }
      },
      checkpoint: (p: string, step: number) => {
        this.clearLive();
        this.say(`checkpoint ${rel(p)} (step ${step})`);
      },
      note: (m: string) => this.note(m),
    };
  }
}
