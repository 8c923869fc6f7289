/**
 * Checkpoints of a run (docs/checkpoints.md):
 *   runs/NAME/checkpoints/step-00001000.safetensors        weights (paramLayout names) + __metadata__
 *   runs/NAME/checkpoints/step-00001000.optim.safetensors  adam.m, adam.v + Adam step, RNG/sampler state
 * Both are written atomically, the optimizer file FIRST and the weights file LAST: the weights file is
 * the commit marker, so a checkpoint exists once its weights file does, and then its optimizer file is
 * complete too. Older checkpoints are removed weights first, so the rule holds while pruning.
 */
import type { FaultHook } from '../util/faults.js';
import { existsSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { checkConfig, paramCount, paramLayout, receptiveField, type ModelConfig } from '../model/config.js';
import { UserError, shown } from '../util/errors.js';
import { writeFileAtomic, isAtomicTemp } from '../util/atomic.js';
import {
  encodeSafetensors,
  readSafetensors,
  readHeader,
  MAX_SAFETENSORS_BYTES,
  type ReadResult,
} from './safetensors.js';
import { makeDirs } from '../util/io-errors.js';
import { checkMemory } from '../model/memory.js';

export const CHECKPOINT_FORMAT = 'wavenet-checkpoint';
export const OPTIMIZER_FORMAT = 'wavenet-optimizer';
export const CHECKPOINT_VERSION = 1;

const WEIGHTS_RE = /^step-(\d{8,})\.safetensors$/;
const OPTIM_RE = /^step-(\d{8,})\.optim\.safetensors$/;

export function checkpointFileName(step: number): string {
  return `step-${String(step).padStart(8, '0')}.safetensors`;
}

export function optimizerPathFor(weightsPath: string): string {
  return weightsPath.replace(/\.safetensors$/, '.optim.safetensors');
}

export function checkpointsDir(runDir: string): string {
  return join(runDir, 'checkpoints');
}

export interface CheckpointEntry {
  step: number;
  weights: string;
  optim: string;
  hasOptim: boolean;
}

/** The committed checkpoints of a run (those whose weights file exists), oldest first. */
export function listCheckpoints(runDir: string): CheckpointEntry[] {
  const dir = checkpointsDir(runDir);
  if (!existsSync(dir)) return [];
  const names = new Set(readdirSync(dir));
  const out: CheckpointEntry[] = [];
  for (const n of names) {
    const m = WEIGHTS_RE.exec(n);
    if (!m) continue;
    const weights = join(dir, n);
    const optim = optimizerPathFor(weights);
    out.push({ step: Number(m[1]), weights, optim, hasOptim: names.has(basename(optim)) });
  }
  return out.sort((a, b) => a.step - b.step);
}

export function newestCheckpoint(runDir: string): CheckpointEntry | undefined {
  const l = listCheckpoints(runDir);
  return l[l.length - 1];
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function f32Bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

export interface SamplerState {
  /** The crop sampler's RNG state (32 hex digits). */
  rng: string;
  /** Crops drawn so far. */
  drawn: number;
}

export interface AdamState {
  m: Float32Array;
  v: Float32Array;
  step: number;
}

export interface TrainingSettings {
  window: number;
  batch: number;
  lr: number;
  seed: number;
}

export interface SaveCheckpointInput {
  runDir: string;
  /**
   * Test-only fault injection (docs/checkpoints.md): called with the step at `optim-partial` (half of
   * the optimizer temp file written), `after-optim` (optimizer file renamed into place, weights not
   * started) and `weights-partial` (half of the weights temp file written).
   */
  faultHook?: FaultHook;
  config: ModelConfig;
  step: number;
  params: Float32Array;
  adam: AdamState;
  adamParams: { lr: number; beta1: number; beta2: number; eps: number };
  sampler: SamplerState;
  training: TrainingSettings;
  elapsedSeconds: number;
  dataset: string;
  manifestHash: string;
  /** The newest validation loss (bits/sample) at or before this step, and its step; absent when none yet. */
  valLoss?: { bits: number; step: number } | null;
  /** The dataset's "knows nothing" level (unigram entropy of its validation data, bits/sample). */
  dataEntropyBits?: number | null;
}

/** Writes one checkpoint (optimizer state first, weights last). Returns the weights path. */
export async function saveCheckpoint(s: SaveCheckpointInput): Promise<string> {
  const n = paramCount(s.config);
  if (s.params.length !== n || s.adam.m.length !== n || s.adam.v.length !== n) {
    throw new Error(
      `saveCheckpoint: expected ${n} parameters, got ${s.params.length}/${s.adam.m.length}/${s.adam.v.length}`,
    );
  }
  const dir = checkpointsDir(s.runDir);
  makeDirs(dir);
  const weightsPath = join(dir, checkpointFileName(s.step));
  const optimPath = optimizerPathFor(weightsPath);
  const paramsSha = sha256(f32Bytes(s.params));
  const configJson = JSON.stringify(s.config);
  const common = {
    format_version: String(CHECKPOINT_VERSION),
    step: String(s.step),
    config: configJson,
  };
  const optim = encodeSafetensors(
    [
      { name: 'adam.m', shape: [n], data: s.adam.m },
      { name: 'adam.v', shape: [n], data: s.adam.v },
    ],
    {
      format: OPTIMIZER_FORMAT,
      ...common,
      adam: JSON.stringify({ step: s.adam.step, ...s.adamParams }),
      sampler: JSON.stringify(s.sampler),
      training: JSON.stringify(s.training),
      elapsed_seconds: String(s.elapsedSeconds),
      weights_sha256: paramsSha,
    },
  );
  await writeFileAtomic(optimPath, optim, { onPartial: s.faultHook?.(s.step, 'optim-partial') });
  s.faultHook?.(s.step, 'after-optim')?.();
  const layout = paramLayout(s.config);
  const weights = encodeSafetensors(
    layout.map((t) => ({ name: t.name, shape: t.shape, data: s.params.subarray(t.offset, t.offset + t.size) })),
    {
      format: CHECKPOINT_FORMAT,
      ...common,
      receptive_field: String(receptiveField(s.config)),
      param_count: String(n),
      training: JSON.stringify(s.training),
      dataset: s.dataset,
      dataset_manifest_hash: s.manifestHash,
      params_sha256: paramsSha,
      created: new Date().toISOString(),
      ...(s.valLoss ? { val_loss_bits: String(s.valLoss.bits), val_loss_step: String(s.valLoss.step) } : {}),
      ...(s.dataEntropyBits != null ? { data_entropy_bits: String(s.dataEntropyBits) } : {}),
    },
  );
  await writeFileAtomic(weightsPath, weights, { onPartial: s.faultHook?.(s.step, 'weights-partial') });
  return weightsPath;
}

function parseConfigMeta(meta: Record<string, string>, label: string): ModelConfig {
  if (meta.config === undefined) throw new UserError(`${label}: its __metadata__ has no config`);
  let c: unknown;
  try {
    c = JSON.parse(meta.config);
  } catch {
    throw new UserError(`${label}: its __metadata__.config is not valid JSON`);
  }
  try {
    return checkConfig(c as ModelConfig, 'fields');
  } catch (e) {
    throw new UserError(`${label}: its config is invalid (${(e as Error).message})`);
  }
}

/** `format_version` must be one this wavenet knows (a missing one is refused too). */
function checkFormatVersion(meta: Record<string, string>, label: string): void {
  const v = meta.format_version;
  if (v === undefined)
    throw new UserError(
      `${label}: its __metadata__ has no format_version; not a checkpoint written by \`wavenet train\``,
    );
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw new UserError(`${label}: format_version ${shown(v)} is not a version number`);
  if (Number(v) > CHECKPOINT_VERSION) {
    throw new UserError(
      `${label}: checkpoint format version ${v} is newer than this wavenet understands (${CHECKPOINT_VERSION}); upgrade wavenet`,
    );
  }
}

function checkStep(meta: Record<string, string>, label: string): number {
  const step = Number(meta.step);
  if (meta.step === undefined || !/^\d+$/.test(meta.step) || !Number.isSafeInteger(step)) {
    throw new UserError(`${label}: its __metadata__.step ${shown(meta.step)} is not a step number`);
  }
  return step;
}

/**
 * Largest magnitude accepted for a weight or an Adam moment. Trained WaveNet weights stay within a
 * few units; values near 1e6 and beyond overflow float32 activations (tanh/sigmoid saturate, the head
 * does not), so such a file is a corrupt or hostile one, not a model.
 */
export const MAX_ABS_VALUE = 1e6;

/** Throws unless every value is finite and |x| <= MAX_ABS_VALUE (and >= 0 when `nonNegative`). */
export function checkValues(a: Float32Array, label: string, what: string, nonNegative = false): void {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (!(x <= MAX_ABS_VALUE && x >= (nonNegative ? 0 : -MAX_ABS_VALUE))) {
      const why = Number.isNaN(x)
        ? 'NaN'
        : !Number.isFinite(x)
          ? String(x)
          : `${x.toExponential(2)}, outside ${nonNegative ? '0' : `-${MAX_ABS_VALUE}`}..${MAX_ABS_VALUE}`;
      throw new UserError(
        `${label}: ${what} value ${i} is ${why}; the file is corrupt (a model with such values produces only noise or silence)`,
      );
    }
  }
}

function foreign(path: string, meta: Record<string, string>): UserError {
  if (meta.format === OPTIMIZER_FORMAT) {
    return new UserError(
      `${path} is the optimizer state of a checkpoint; pass the weights file ${basename(path).replace('.optim.safetensors', '.safetensors')} instead`,
    );
  }
  return new UserError(
    `${path} is not a wavenet checkpoint (no wavenet metadata in its safetensors header); pass a checkpoint written by \`wavenet train\``,
  );
}

export interface LoadedCheckpoint {
  config: ModelConfig;
  params: Float32Array;
  step: number;
  metadata: Record<string, string>;
}

function assembleParams(r: ReadResult, config: ModelConfig, path: string): Float32Array {
  const layout = paramLayout(config);
  const params = new Float32Array(paramCount(config));
  for (const t of layout) {
    const got = r.tensors.get(t.name);
    if (!got) throw new UserError(`${path}: tensor ${t.name} is missing (the file does not match its own config)`);
    if (got.shape.join('x') !== t.shape.join('x')) {
      throw new UserError(`${path}: tensor ${t.name} has shape [${got.shape}], its config needs [${t.shape}]`);
    }
    params.set(got.data, t.offset);
  }
  if (r.tensors.size !== layout.length) {
    const extra = [...r.tensors.keys()].filter((k) => !layout.some((t) => t.name === k));
    throw new UserError(`${path}: unexpected tensors ${shown(extra.slice(0, 3).join(', '), 80)} for its config`);
  }
  return params;
}

/**
 * Loads a weights file. UserError on a missing, truncated, corrupt or foreign file, a special file
 * (FIFO, device, folder), a config outside the limits, or weights that are not finite or implausibly
 * large. Files without params_sha256 get every check but the checksum.
 */
export async function loadCheckpoint(path: string): Promise<LoadedCheckpoint> {
  if (!existsSync(path)) throw new UserError(`${path}: no such checkpoint file`);
  // The header alone first: a file whose config is bad or too big is refused before its data is read.
  const h = await readHeader(path, { maxBytes: MAX_SAFETENSORS_BYTES });
  const meta = h.metadata;
  if (meta.format !== CHECKPOINT_FORMAT) throw foreign(path, meta);
  checkFormatVersion(meta, path);
  const config = parseConfigMeta(meta, path);
  const step = checkStep(meta, path);
  // reading holds the file, its tensors and the assembled parameters: about 3x its size
  checkMemory(
    `loading ${path}`,
    { host: 3 * (h.dataStart + h.dataBytes), device: 0 },
    'cpu',
    'use a machine with more memory',
  );
  const r = await readSafetensors(path, { maxBytes: MAX_SAFETENSORS_BYTES });
  const params = assembleParams(r, config, path);
  if (meta.params_sha256 && meta.params_sha256 !== sha256(f32Bytes(params))) {
    throw new UserError(`${path}: corrupt (the weights do not match the checksum in its metadata)`);
  }
  checkValues(params, path, 'weight');
  return { config, params, step, metadata: meta };
}

export interface LoadedOptimizer {
  adam: AdamState;
  adamParams: { lr: number; beta1: number; beta2: number; eps: number };
  sampler: SamplerState;
  training: TrainingSettings;
  elapsedSeconds: number;
  metadata: Record<string, string>;
}

function parseJsonObject(meta: Record<string, string>, key: string, path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(meta[key] ?? 'null');
  } catch {
    throw new UserError(`${path}: its __metadata__.${key} is not valid JSON`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    throw new UserError(`${path}: its __metadata__.${key} is missing or not an object`);
  return v as Record<string, unknown>;
}

function num(
  o: Record<string, unknown>,
  k: string,
  path: string,
  where: string,
  ok: (x: number) => boolean,
  expect: string,
): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new UserError(`${path}: __metadata__.${where}.${k} is ${shown(v)}; expected ${expect}`);
  }
  return v;
}

/** Checks the training settings recorded in a checkpoint (the same rules as the train flags). */
export function checkTrainingSettings(o: Record<string, unknown>, path: string): TrainingSettings {
  const int = (x: number) => Number.isSafeInteger(x);
  return {
    window: num(
      o,
      'window',
      path,
      'training',
      (x) => int(x) && x >= 1 && x <= 1 << 24,
      'a whole number from 1 to 16777216',
    ),
    batch: num(o, 'batch', path, 'training', (x) => int(x) && x >= 1 && x <= 65536, 'a whole number from 1 to 65536'),
    lr: num(o, 'lr', path, 'training', (x) => x > 0 && x <= 10, 'a learning rate > 0'),
    seed: num(o, 'seed', path, 'training', (x) => int(x) && x >= 0, 'a whole number from 0 to 2^53-1'),
  };
}

/**
 * Loads the optimizer file of a checkpoint and checks that it belongs to `ck` and that every value
 * is usable (Adam step, moments, RNG state, sampler position, training settings): one validation for
 * every command that resumes.
 */
export async function loadOptimizer(weightsPath: string, ck: LoadedCheckpoint): Promise<LoadedOptimizer> {
  const path = optimizerPathFor(weightsPath);
  if (!existsSync(path)) {
    throw new UserError(
      `${path} is missing, so ${basename(weightsPath)} cannot be resumed; delete ${basename(weightsPath)} to resume from the previous checkpoint`,
    );
  }
  const maxBytes = 2 * MAX_SAFETENSORS_BYTES;
  const h = await readHeader(path, { maxBytes });
  const meta = h.metadata;
  if (meta.format !== OPTIMIZER_FORMAT) throw new UserError(`${path}: not a wavenet optimizer state file`);
  checkFormatVersion(meta, path);
  if (meta.weights_sha256 !== ck.metadata.params_sha256 || meta.step !== String(ck.step)) {
    throw new UserError(`${path} does not belong to ${basename(weightsPath)} (step or weights checksum differ)`);
  }
  const adam = parseJsonObject(meta, 'adam', path);
  const samplerRaw = parseJsonObject(meta, 'sampler', path);
  const trainingRaw = parseJsonObject(meta, 'training', path);
  const int = (x: number) => Number.isSafeInteger(x);
  const adamStep = num(adam, 'step', path, 'adam', (x) => int(x) && x >= 0, 'a whole number >= 0');
  const adamParams = {
    lr: num(adam, 'lr', path, 'adam', (x) => x > 0 && x <= 10, 'a learning rate > 0'),
    beta1: num(adam, 'beta1', path, 'adam', (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
    beta2: num(adam, 'beta2', path, 'adam', (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
    eps: num(adam, 'eps', path, 'adam', (x) => x > 0 && x < 1, 'a number in (0, 1)'),
  };
  const rng = samplerRaw.rng;
  if (typeof rng !== 'string' || !/^[0-9a-f]{32}$/i.test(rng) || /^0{32}$/.test(rng)) {
    throw new UserError(`${path}: __metadata__.sampler.rng is ${shown(rng)}; expected 32 hex digits, not all zero`);
  }
  const drawn = num(samplerRaw, 'drawn', path, 'sampler', (x) => int(x) && x >= 0, 'a whole number >= 0');
  const training = checkTrainingSettings(trainingRaw, path);
  const elapsed = meta.elapsed_seconds === undefined ? 0 : Number(meta.elapsed_seconds);
  if (!Number.isFinite(elapsed) || elapsed < 0)
    throw new UserError(
      `${path}: __metadata__.elapsed_seconds ${shown(meta.elapsed_seconds)} is not a number of seconds`,
    );
  const r = await readSafetensors(path, { maxBytes });
  const n = paramCount(ck.config);
  const m = r.tensors.get('adam.m');
  const v = r.tensors.get('adam.v');
  if (!m || !v || m.data.length !== n || v.data.length !== n) {
    throw new UserError(`${path}: adam.m and adam.v must hold ${n} values each (it belongs to another config)`);
  }
  checkValues(m.data, path, 'adam.m');
  checkValues(v.data, path, 'adam.v', true);
  return {
    adam: { m: m.data, v: v.data, step: adamStep },
    adamParams,
    sampler: { rng: rng.toLowerCase(), drawn },
    training,
    elapsedSeconds: elapsed,
    metadata: meta,
  };
}

/** Header-only summary of a weights file (for `wavenet info`). */
export async function readCheckpointMetadata(
  path: string,
): Promise<{ config: ModelConfig; step: number; metadata: Record<string, string>; bytes: number }> {
  const h = await readHeader(path, { maxBytes: MAX_SAFETENSORS_BYTES });
  if (h.metadata.format !== CHECKPOINT_FORMAT) throw foreign(path, h.metadata);
  checkFormatVersion(h.metadata, path);
  return {
    config: parseConfigMeta(h.metadata, path),
    step: checkStep(h.metadata, path),
    metadata: h.metadata,
    bytes: h.dataStart + h.dataBytes,
  };
}

/**
 * Keeps the newest `keep` checkpoints of a run and removes the rest (weights first, then the optimizer
 * file), plus optimizer files with no weights older than the newest checkpoint (an interrupted write)
 * and temporaries left by interrupted atomic writes.
 */
export function pruneCheckpoints(runDir: string, keep: number): string[] {
  const removed: string[] = [];
  const dir = checkpointsDir(runDir);
  if (!existsSync(dir)) return removed;
  const list = listCheckpoints(runDir);
  const rm = (p: string) => {
    try {
      unlinkSync(p);
      removed.push(p);
    } catch {
      /* already gone */
    }
  };
  for (const c of list.slice(0, Math.max(0, list.length - keep))) {
    rm(c.weights);
    rm(c.optim);
  }
  const newest = list.length ? list[list.length - 1].step : Infinity;
  for (const n of readdirSync(dir)) {
    const m = OPTIM_RE.exec(n);
    if (m && Number(m[1]) < newest && !existsSync(join(dir, n.replace('.optim.safetensors', '.safetensors'))))
      rm(join(dir, n));
  }
  return removed;
}

/** Removes temporaries of interrupted atomic writes in a folder (call only while owning it). */
export function removeStaleTemps(dir: string): void {
  if (!existsSync(dir)) return;
  for (const n of readdirSync(dir)) {
    if (isAtomicTemp(n)) {
      try {
        unlinkSync(join(dir, n));
      } catch {
        /* gone */
      }
    }
  }
}

/**
 * The checkpoint a command should load:
 *   undefined        -> the newest run under ./runs (by the time of its newest checkpoint), its newest checkpoint
 *   a run folder     -> its newest checkpoint
 *   a .safetensors   -> that file
 */
export function resolveModel(model?: string, runsRoot = 'runs'): string {
  if (model === undefined || model === '') {
    const root = resolve(runsRoot);
    if (!existsSync(root)) {
      throw new UserError(
        `no runs found under ./${runsRoot}; train one with \`wavenet train\` or pass --model RUN_DIR|CHECKPOINT`,
      );
    }
    let best: { path: string; mtime: number } | undefined;
    for (const e of readdirSync(root, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const c = newestCheckpoint(join(root, e.name));
      if (!c) continue;
      const mtime = statSync(c.weights).mtimeMs;
      if (!best || mtime > best.mtime) best = { path: c.weights, mtime };
    }
    if (!best) {
      throw new UserError(
        `no checkpoints found in the runs under ./${runsRoot}; train with \`wavenet train\` (it writes one every --checkpoint-every steps and on Ctrl-C) or pass --model CHECKPOINT`,
      );
    }
    return best.path;
  }
  if (!existsSync(model)) throw new UserError(`--model ${model}: no such file or folder`);
  const st = statSync(model);
  if (st.isDirectory()) {
    let runDir = model;
    if (!existsSync(checkpointsDir(model)) && basename(resolve(model)) === 'checkpoints')
      runDir = dirname(resolve(model));
    const c = newestCheckpoint(runDir);
    if (!c) {
      throw new UserError(
        `--model ${model}: no checkpoints in this folder yet; pass a run folder with checkpoints/step-*.safetensors or a .safetensors file`,
      );
    }
    return c.weights;
  }
  if (model.endsWith('.optim.safetensors')) {
    throw new UserError(
      `--model ${model} is the optimizer state; pass ${model.replace(/\.optim\.safetensors$/, '.safetensors')} instead`,
    );
  }
  if (!model.endsWith('.safetensors')) {
    throw new UserError(`--model ${model}: expected a run folder or a .safetensors checkpoint`);
  }
  return model;
}
