/**
 * The training loop, usable without the CLI:
 *
 *   const s = await TrainingSession.open(options, events);   // validates everything, no work yet
 *   const summary = await s.run(() => stopRequested);         // trains; checkpoints; returns at --steps or on stop
 *
 * State that makes resume exact: parameters, Adam moments and step (in the trainer), the crop
 * sampler's RNG state and the step counter, all saved in each checkpoint (checkpoint.ts).
 */
import type { FaultHook } from '../util/faults.js';
import { existsSync } from 'node:fs';
import { makeDirs } from '../util/io-errors.js';
import { resolve, relative } from 'node:path';
import { native, type NativeTrainer } from '../native.js';
import type { Device } from '../device.js';
import {
  checkConfig,
  paramCount,
  receptiveField,
  toNative,
  formatDilations,
  type ModelConfig,
} from '../model/config.js';
import { UserError } from '../util/errors.js';
import {
  listCheckpoints,
  loadCheckpoint,
  loadOptimizer,
  pruneCheckpoints,
  removeStaleTemps,
  saveCheckpoint,
  checkpointsDir,
  type LoadedCheckpoint,
  type LoadedOptimizer,
  type TrainingSettings,
} from './checkpoint.js';
import { CropSampler, checkCropFits, fixedCrops, openDataset, type Dataset } from './data.js';
import { initParams } from './init.js';
import {
  appendLog,
  configDiff,
  lockRun,
  readRunConfig,
  truncateLog,
  writeRunConfig,
  type LogRow,
  type RunConfigFile,
} from './run.js';
import { writeLossPlot } from './plot.js';

export const LN2 = Math.LN2;

export interface TrainOptions {
  runDir: string;
  datasetDir: string;
  config: ModelConfig;
  training: TrainingSettings;
  /** Stop at this step (total, counted from the start of the run); undefined = until stopped. */
  steps?: number;
  /** Checkpoint every N steps; 0 = by time only (checkpointSeconds). */
  checkpointEvery: number;
  /** Also checkpoint when this many seconds of wall time passed since the last one (undefined/0: off). */
  checkpointSeconds?: number;
  keep: number;
  /** Validation every N steps; 0 turns it off (unless valSeconds is set). */
  valEvery: number;
  /** Also validate when this many seconds passed since the last validation (undefined/0: off). */
  valSeconds?: number;
  /** Validation crops (rounded up to a multiple of the batch). Default 64. */
  valCrops?: number;
  device: Device;
  resume: boolean;
  /** The command line, recorded in config.json. */
  command: string;
  /** Adam betas and epsilon (defaults 0.9, 0.999, 1e-8). */
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** For tests and embedding: how to build a trainer and estimate its memory (default: the native addon). */
  createTrainer?: (config: ModelConfig, batch: number, window: number, device: Device) => NativeTrainer;
  memoryBytes?: (config: ModelConfig, batch: number, window: number, device: Device) => number;
  /** Test-only fault injection into checkpoint writes (SaveCheckpointInput.faultHook). */
  faultHook?: FaultHook;
}

export interface TrainEvents {
  /** Information and warnings worth a line. */
  note?(message: string): void;
  step?(row: LogRow, session: TrainingSession): void;
  checkpoint?(path: string, step: number): void;
}

export interface TrainSummary {
  runDir: string;
  dataset: string;
  startStep: number;
  step: number;
  stoppedBy: 'steps' | 'signal';
  loss: number | null;
  valLoss: number | null;
  checkpoint: string | null;
  elapsedSeconds: number;
  samplesPerSec: number | null;
}

function positiveInt(v: number, flag: string, max = 2 ** 31 - 1): void {
  if (!Number.isSafeInteger(v) || v < 1 || v > max)
    throw new UserError(`${flag} ${v}: must be a whole number from 1 to ${max}`);
}

/** Checks every numeric setting; UserErrors name the flag. */
export function checkTrainOptions(o: TrainOptions): void {
  checkConfig(o.config);
  positiveInt(o.training.window, '--window', 1 << 24);
  positiveInt(o.training.batch, '--batch', 65536);
  if (!Number.isFinite(o.training.lr) || o.training.lr <= 0 || o.training.lr > 10)
    throw new UserError(`--lr ${o.training.lr}: must be a number above 0 (and at most 10)`);
  if (!Number.isSafeInteger(o.training.seed) || o.training.seed < 0)
    throw new UserError(`--seed ${o.training.seed}: must be a whole number >= 0`);
  if (o.steps !== undefined) positiveInt(o.steps, '--steps', 1e12);
  const ckSeconds = o.checkpointSeconds ?? 0;
  if (!(Number.isFinite(ckSeconds) && ckSeconds >= 0))
    throw new UserError(`--checkpoint-every: the time must be a duration above 0, like 10m`);
  if (ckSeconds > 0 && o.checkpointEvery === 0) {
    /* by time only */
  } else positiveInt(o.checkpointEvery, '--checkpoint-every', 1e12);
  positiveInt(o.keep, '--keep', 1e6);
  if (!Number.isSafeInteger(o.valEvery) || o.valEvery < 0)
    throw new UserError(`--val-every ${o.valEvery}: must be a whole number >= 0 (0 turns validation off)`);
  const valSeconds = o.valSeconds ?? 0;
  if (!(Number.isFinite(valSeconds) && valSeconds >= 0))
    throw new UserError(`--val-every: the time must be a duration above 0, like 5m`);
}

type ValidationCrops = ReturnType<typeof fixedCrops>;

/** The state of one run() of a session: the trainer, the sampler, the clocks and what the summary reports. */
interface LoopState {
  trainer: NativeTrainer;
  sampler: CropSampler;
  val: ValidationCrops;
  /** Seconds of training in the run so far (earlier sessions included). */
  elapsed: () => number;
  lastCheckpoint: string | null;
  /** performance.now() of the last validation. */
  lastValAt: number;
  lastLoss: number | null;
  lastVal: number | null;
  /** Samples predicted and seconds spent in trainer steps in this session. */
  predicted: number;
  trainSeconds: number;
}

/** Whether a step- or time-triggered event is due at `step` (and always at the last step). */
function due(
  step: number,
  everySteps: number,
  everySeconds: number | undefined,
  since: number,
  lastStep: number | undefined,
): boolean {
  return (
    (everySteps > 0 && step % everySteps === 0) ||
    (!!everySeconds && performance.now() - since >= everySeconds * 1000) ||
    step === lastStep
  );
}

export class TrainingSession {
  readonly runDir: string;
  readonly dataset: Dataset;
  readonly receptiveField: number;
  readonly paramCount: number;
  readonly memoryBytes: number;
  /** Step the session starts from (0, or the resumed checkpoint's). */
  readonly startStep: number;
  readonly resumedFrom: string | null;
  step: number;
  /** performance.now() of the last checkpoint (or of the start) and its step: for "next checkpoint in". */
  lastCheckpointAt = performance.now();
  lastCheckpointStep = -1;
  private rows: LogRow[] = [];
  private trainer: NativeTrainer | null = null;
  private sampler: CropSampler | null = null;
  private release: (() => void) | null = null;

  private constructor(
    readonly options: TrainOptions,
    private events: TrainEvents,
    dataset: Dataset,
    private ck: { path: string; weights: LoadedCheckpoint; optim: LoadedOptimizer } | null,
    private runConfig: RunConfigFile | undefined,
  ) {
    this.runDir = resolve(options.runDir);
    this.dataset = dataset;
    this.receptiveField = receptiveField(options.config);
    this.paramCount = paramCount(options.config);
    const mem = options.memoryBytes ?? ((c, b, w, d) => native().trainerMemoryBytes(toNative(c), b, w, d));
    this.memoryBytes = mem(options.config, options.training.batch, options.training.window, options.device);
    this.startStep = ck ? ck.weights.step : 0;
    this.step = this.startStep;
    this.resumedFrom = ck ? ck.path : null;
  }

  /** Validates options, dataset, run folder and checkpoint. Does no training and writes nothing. */
  static async open(o: TrainOptions, events: TrainEvents = {}): Promise<TrainingSession> {
    checkTrainOptions(o);
    const runDir = resolve(o.runDir);
    const rel = relative(process.cwd(), runDir) || '.';
    const runConfig = readRunConfig(runDir);
    const cks = listCheckpoints(runDir);
    const exists = !!runConfig || cks.length > 0;
    if (exists && !o.resume) {
      const diff = runConfig ? configDiff(runConfig.model, o.config) : '';
      if (diff) {
        throw new UserError(
          `${rel} already holds a run with another config (${diff}, saved vs given); pass --run DIR to start a new run there, or --resume to continue it with its own config`,
        );
      }
      throw new UserError(
        `${rel} already holds a run (${cks.length ? `newest checkpoint: step ${cks[cks.length - 1].step}` : 'no checkpoint yet'}); pass --resume to continue it, or --run DIR to start a new one`,
      );
    }
    if (o.resume && !exists)
      throw new UserError(`--resume: there is no run in ${rel} to resume; drop --resume to start one`);
    if (runConfig) {
      const diff = configDiff(runConfig.model, o.config);
      if (diff)
        throw new UserError(
          `${rel} was trained with another config (${diff}, saved vs given); drop those flags to resume it, or pass --run DIR for a new run`,
        );
      const t = runConfig.training;
      for (const [k, flag] of [
        ['window', '--window'],
        ['batch', '--batch'],
        ['seed', '--seed'],
      ] as const) {
        if (t[k] !== o.training[k])
          throw new UserError(
            `${rel} was trained with ${flag} ${t[k]} (given ${o.training[k]}); drop ${flag} to resume it, or pass --run DIR for a new run`,
          );
      }
    }

    const dataset = openDataset(o.datasetDir);
    const rf = receptiveField(o.config);
    checkCropFits(dataset, rf, o.training.window);

    let ck: { path: string; weights: LoadedCheckpoint; optim: LoadedOptimizer } | null = null;
    if (o.resume && cks.length > 0) {
      const newest = cks[cks.length - 1];
      const weights = await loadCheckpoint(newest.weights);
      const diff = configDiff(weights.config, o.config);
      if (diff)
        throw new UserError(
          `${newest.weights} is from another config (${diff}, checkpoint vs run); it cannot be resumed in this run`,
        );
      const optim = await loadOptimizer(newest.weights, weights);
      if (optim.training.window !== o.training.window || optim.training.batch !== o.training.batch) {
        throw new UserError(
          `${newest.weights} was trained with --window ${optim.training.window} --batch ${optim.training.batch}; resume with those`,
        );
      }
      ck = { path: newest.weights, weights, optim };
      if (o.steps !== undefined && o.steps < weights.step) {
        throw new UserError(
          `--steps ${o.steps}: the run is already at step ${weights.step}; give a larger --steps (it counts from the start of the run) or leave it out`,
        );
      }
    }
    return new TrainingSession(o, events, dataset, ck, runConfig);
  }

  /** Replaces the event handlers (e.g. once the caller knows the session's start step). */
  on(events: TrainEvents): void {
    this.events = events;
  }

  get config(): ModelConfig {
    return this.options.config;
  }

  private note(m: string) {
    this.events.note?.(m);
  }

  private adamParams() {
    return {
      lr: this.options.training.lr,
      beta1: this.options.beta1 ?? 0.9,
      beta2: this.options.beta2 ?? 0.999,
      eps: this.options.eps ?? 1e-8,
    };
  }

  /** Trains until `steps` (if given) or until shouldStop() is true between steps; always ends with a checkpoint. */
  async run(shouldStop: () => boolean = () => false): Promise<TrainSummary> {
    const o = this.options;
    this.release = lockRun(this.runDir);
    try {
      this.prepareRunDir();
      const loop = this.startLoop();
      let stoppedBy: 'steps' | 'signal' = 'steps';
      if (o.steps !== undefined && this.step >= o.steps) {
        this.note(`the run is already at step ${this.step} (--steps ${o.steps}); nothing to do`);
      }
      while (o.steps === undefined || this.step < o.steps) {
        if (shouldStop()) {
          stoppedBy = 'signal';
          break;
        }
        await this.trainStep(loop);
      }
      if (this.step > this.lastCheckpointStep) await this.checkpoint(loop);
      return {
        runDir: this.runDir,
        dataset: this.dataset.dir,
        startStep: this.startStep,
        step: this.step,
        stoppedBy,
        loss: loop.lastLoss,
        valLoss: loop.lastVal,
        checkpoint: loop.lastCheckpoint ?? this.resumedFrom,
        elapsedSeconds: loop.elapsed(),
        samplesPerSec: loop.trainSeconds > 0 ? loop.predicted / loop.trainSeconds : null,
      };
    } finally {
      this.close();
    }
  }

  /** Creates the run folder, clears stale temporary files, records the run (or this resume) in config.json, trims the log. */
  private prepareRunDir(): void {
    const o = this.options;
    const ds = this.dataset;
    makeDirs(checkpointsDir(this.runDir), '--run');
    removeStaleTemps(checkpointsDir(this.runDir));
    removeStaleTemps(this.runDir);
    const now = new Date().toISOString();
    if (!this.runConfig) {
      this.runConfig = {
        format: 'wavenet-run',
        version: 1,
        model: o.config,
        receptiveField: this.receptiveField,
        paramCount: this.paramCount,
        training: o.training,
        dataset: { path: ds.dir, name: ds.name, manifestHash: ds.manifestHash },
        command: o.command,
        cwd: process.cwd(),
        createdAt: now,
        resumes: [],
      };
    } else {
      if (this.runConfig.dataset.manifestHash !== ds.manifestHash) {
        this.note(
          `note: the dataset differs from the one this run started on (manifest hash changed or another --data); crops will differ from an uninterrupted run`,
        );
      }
      this.runConfig.resumes.push({
        at: now,
        step: this.startStep,
        command: o.command,
        lr: o.training.lr,
        dataset: ds.dir,
        manifestHash: ds.manifestHash,
      });
    }
    writeRunConfig(this.runDir, this.runConfig);
    this.rows = truncateLog(this.runDir, this.startStep);
  }

  /** The trainer (with the checkpoint's parameters, Adam state and sampler state when resuming), the validation crops and the clocks. */
  private startLoop(): LoopState {
    const o = this.options;
    const { batch, window } = o.training;
    const cropLen = this.receptiveField + window;
    const make = o.createTrainer ?? ((c, b, w, d) => new (native().Trainer)(toNative(c), b, w, d));
    let trainer: NativeTrainer;
    try {
      trainer = make(o.config, batch, window, o.device);
    } catch (e) {
      throw new UserError(
        `could not create the ${o.device} trainer (${(e as Error).message}); try a smaller --batch or --window`,
      );
    }
    this.trainer = trainer;
    const sampler = new CropSampler(this.dataset.train, cropLen, o.training.seed);
    this.sampler = sampler;
    let elapsedBase = 0;
    if (this.ck) {
      trainer.setParams(this.ck.weights.params);
      trainer.setAdam(this.ck.optim.adam.m, this.ck.optim.adam.v, this.ck.optim.adam.step);
      sampler.setState(this.ck.optim.sampler);
      elapsedBase = this.ck.optim.elapsedSeconds;
    } else {
      trainer.setParams(initParams(o.config, o.training.seed));
    }
    const val = this.validationCrops(cropLen);
    const t0 = performance.now();
    this.lastCheckpointStep = this.ck ? this.startStep : -1;
    this.lastCheckpointAt = performance.now();
    return {
      trainer,
      sampler,
      val,
      elapsed: () => elapsedBase + (performance.now() - t0) / 1000,
      lastCheckpoint: null,
      lastValAt: performance.now(),
      lastLoss: null,
      lastVal: null,
      predicted: 0,
      trainSeconds: 0,
    };
  }

  /** The fixed validation crops (none when validation is off, or with a note when the data has none that fit). */
  private validationCrops(cropLen: number): ValidationCrops {
    const o = this.options;
    const ds = this.dataset;
    const valCount = o.valCrops ?? 64;
    const valOn = o.valEvery > 0 || (o.valSeconds ?? 0) > 0;
    const val = valOn ? fixedCrops(ds.val, cropLen, valCount, o.training.batch) : { batches: [], positions: [] };
    if (valOn && val.batches.length === 0) {
      const longest = ds.val.length ? Math.max(...ds.val.map((c) => c.samples)) : 0;
      this.note(
        ds.val.length === 0
          ? 'note: the dataset has no validation chunks; validation is skipped'
          : `note: no validation chunk holds a crop of ${cropLen} samples (longest ${longest}); validation is skipped`,
      );
    }
    return val;
  }

  /** One training step: a batch of crops, the loss logged (with the validation loss when due), a checkpoint when due. */
  private async trainStep(loop: LoopState): Promise<void> {
    const o = this.options;
    const { batch, window } = o.training;
    const crops = loop.sampler.nextBatch(batch);
    const ts = performance.now();
    let loss: number;
    try {
      loss = await loop.trainer.step(crops, this.adamParams());
    } catch (e) {
      throw new UserError(
        `the ${o.device} trainer failed at step ${this.step + 1}: ${(e as Error).message}; ${this.keptCheckpoint()}`,
      );
    }
    const dt = (performance.now() - ts) / 1000;
    if (!Number.isFinite(loss)) {
      throw new UserError(
        `training diverged: the loss is ${loss} at step ${this.step + 1}; ${this.keptCheckpoint()}; try a lower --lr (now ${o.training.lr})`,
      );
    }
    this.step++;
    loop.predicted += batch * window;
    loop.trainSeconds += dt;
    const row: LogRow = {
      step: this.step,
      loss: loss / LN2,
      lr: o.training.lr,
      samplesPerSec: (batch * window) / dt,
      elapsedSeconds: Number(loop.elapsed().toFixed(3)),
    };
    loop.lastLoss = row.loss;
    if (loop.val.batches.length > 0 && due(this.step, o.valEvery, o.valSeconds, loop.lastValAt, o.steps)) {
      row.valLoss = await this.validate(loop);
      loop.lastValAt = performance.now();
      if (!Number.isFinite(row.valLoss)) {
        throw new UserError(
          `training diverged: the validation loss is ${row.valLoss} at step ${this.step}; the last good checkpoint (step ${this.lastCheckpointStep}) is kept; try a lower --lr`,
        );
      }
      loop.lastVal = row.valLoss;
    }
    this.rows.push(row);
    appendLog(this.runDir, [row]);
    this.events.step?.(row, this);
    if (due(this.step, o.checkpointEvery, o.checkpointSeconds, this.lastCheckpointAt, o.steps))
      await this.checkpoint(loop);
  }

  private keptCheckpoint(): string {
    return this.lastCheckpointStep >= 0
      ? `the last good checkpoint (step ${this.lastCheckpointStep}) is kept`
      : 'no checkpoint was written';
  }

  /** Mean validation loss in bits over the fixed validation crops. */
  private async validate(loop: LoopState): Promise<number> {
    let sum = 0;
    for (const b of loop.val.batches) sum += await loop.trainer.evaluate(b);
    return sum / loop.val.batches.length / LN2;
  }

  /** Writes a checkpoint of the current step, prunes old ones and redraws loss.png. */
  private async checkpoint(loop: LoopState): Promise<void> {
    const o = this.options;
    const ds = this.dataset;
    const path = await saveCheckpoint({
      runDir: this.runDir,
      faultHook: o.faultHook,
      config: o.config,
      step: this.step,
      params: loop.trainer.getParams(),
      adam: loop.trainer.getAdam(),
      adamParams: this.adamParams(),
      sampler: loop.sampler.getState(),
      training: o.training,
      elapsedSeconds: loop.elapsed(),
      dataset: ds.dir,
      manifestHash: ds.manifestHash,
      valLoss: lastValRow(this.rows),
      dataEntropyBits: ds.valEntropyBits,
    });
    pruneCheckpoints(this.runDir, o.keep);
    loop.lastCheckpoint = path;
    this.lastCheckpointStep = this.step;
    this.lastCheckpointAt = performance.now();
    try {
      await writeLossPlot(
        this.runDir,
        this.rows,
        `${ds.name}: ${formatDilations(o.config.dilations)}, R${o.config.residual} D${o.config.dilation} S${o.config.skip} H${o.config.head}`,
        ds.valEntropyBits,
      );
    } catch (e) {
      this.note(`warning: could not draw loss.png (${(e as Error).message})`);
    }
    this.events.checkpoint?.(path, this.step);
  }

  /** Frees the trainer, closes files, releases the run lock. */
  close(): void {
    this.sampler?.close();
    this.sampler = null;
    this.trainer?.free();
    this.trainer = null;
    this.release?.();
    this.release = null;
  }

  /**
   * Seconds until the next checkpoint at `secondsPerStep`: the sooner of the step trigger and the
   * time trigger (NaN when neither applies, e.g. before any step).
   */
  secondsToNextCheckpoint(secondsPerStep: number): number {
    const o = this.options;
    let t = Infinity;
    if (o.checkpointEvery > 0 && secondsPerStep > 0)
      t = (o.checkpointEvery - (this.step % o.checkpointEvery)) * secondsPerStep;
    if (o.checkpointSeconds)
      t = Math.min(t, Math.max(0, o.checkpointSeconds - (performance.now() - this.lastCheckpointAt) / 1000));
    if (o.steps !== undefined && secondsPerStep > 0) t = Math.min(t, (o.steps - this.step) * secondsPerStep);
    return Number.isFinite(t) ? t : NaN;
  }

  /** Whether the run folder exists already (for messages). */
  static runExists(runDir: string): boolean {
    return existsSync(resolve(runDir, 'config.json'));
  }
}

/** The newest row with a validation loss (rows of earlier sessions of a resumed run included). */
function lastValRow(rows: LogRow[]): { bits: number; step: number } | null {
  for (let i = rows.length - 1; i >= 0; i--) {
    const v = rows[i].valLoss;
    if (typeof v === 'number' && Number.isFinite(v)) return { bits: v, step: rows[i].step };
  }
  return null;
}
