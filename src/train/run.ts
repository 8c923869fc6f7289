/**
 * A run folder (docs/checkpoints.md, "Run folder"):
 *   runs/NAME/config.json     model config, training settings, dataset path + manifest hash, command lines
 *   runs/NAME/log.jsonl       one JSON row per step: step, loss, valLoss (when computed), lr, samplesPerSec, elapsedSeconds
 *   runs/NAME/loss.png        loss curves, redrawn at each checkpoint
 *   runs/NAME/checkpoints/    see checkpoint.ts
 *   runs/NAME/.lock           pid of the `wavenet train` using the folder
 */
import { appendFileSync, existsSync } from 'node:fs';
import { LIMITS, readRegularText } from '../util/files.js';
import { ioError, makeDirs } from '../util/io-errors.js';
import { checkConfig } from '../model/config.js';
import { checkTrainingSettings } from './checkpoint.js';
import { join } from 'node:path';
import type { ModelConfig } from '../model/config.js';
import { formatDilations } from '../model/config.js';
import { UserError, shown } from '../util/errors.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import type { TrainingSettings } from './checkpoint.js';
import { takePidLock } from '../util/lock.js';

export const RUN_FORMAT = 'wavenet-run';

export interface RunConfigFile {
  format: typeof RUN_FORMAT;
  version: 1;
  model: ModelConfig;
  receptiveField: number;
  paramCount: number;
  training: TrainingSettings;
  dataset: { path: string; name: string; manifestHash: string };
  command: string;
  cwd: string;
  createdAt: string;
  resumes: { at: string; step: number; command: string; lr?: number; dataset?: string; manifestHash?: string }[];
}

export interface LogRow {
  step: number;
  /** Training loss of this step, bits per sample. */
  loss: number;
  /** Validation loss, bits per sample, on the steps where it was computed. */
  valLoss?: number;
  lr: number;
  samplesPerSec: number;
  elapsedSeconds: number;
}

export function runConfigPath(runDir: string): string {
  return join(runDir, 'config.json');
}

export function readRunConfig(runDir: string): RunConfigFile | undefined {
  const p = runConfigPath(runDir);
  if (!existsSync(p)) return undefined;
  let c: RunConfigFile;
  try {
    c = JSON.parse(readRegularText(p, { what: '', maxBytes: LIMITS.runConfigBytes })) as RunConfigFile;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${p}: not valid JSON (${(e as Error).message})`);
  }
  if (!c || typeof c !== 'object' || c.format !== RUN_FORMAT || !c.model || !c.training) {
    throw new UserError(`${p}: not a wavenet run config (format ${shown(c?.format)})`);
  }
  try {
    c.model = checkConfig(c.model, 'fields');
  } catch (e) {
    throw new UserError(`${p}: its model config is invalid (${(e as Error).message})`);
  }
  if (typeof c.training !== 'object') throw new UserError(`${p}: its training settings are not an object`);
  c.training = { ...c.training, ...checkTrainingSettings(c.training as unknown as Record<string, unknown>, p) };
  if (!Array.isArray(c.resumes)) c.resumes = [];
  return c;
}

export function writeRunConfig(runDir: string, c: RunConfigFile): void {
  makeDirs(runDir, '--run');
  writeFileAtomicSync(runConfigPath(runDir), JSON.stringify(c, null, 2) + '\n');
}

/** Human description of how two model configs differ ('' when equal). */
export function configDiff(a: ModelConfig, b: ModelConfig): string {
  const d: string[] = [];
  if (a.dilations.join(',') !== b.dilations.join(','))
    d.push(`--dilations ${formatDilations(a.dilations)} vs ${formatDilations(b.dilations)}`);
  const flags: [keyof ModelConfig, string][] = [
    ['residual', '--residual-channels'],
    ['dilation', '--dilation-channels'],
    ['skip', '--skip-channels'],
    ['head', '--head-channels'],
    ['classes', 'classes'],
  ];
  for (const [k, f] of flags) if (a[k] !== b[k]) d.push(`${f} ${a[k]} vs ${b[k]}`);
  return d.join(', ');
}

export function logPath(runDir: string): string {
  return join(runDir, 'log.jsonl');
}

/** Rows of log.jsonl (a torn last line from a kill is ignored). */
export function readLog(runDir: string): LogRow[] {
  const p = logPath(runDir);
  if (!existsSync(p)) return [];
  const rows: LogRow[] = [];
  for (const line of readRegularText(p, { what: '', maxBytes: LIMITS.logBytes }).split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as LogRow;
      if (Number.isFinite(r.step)) rows.push(r);
    } catch {
      /* torn line */
    }
  }
  return rows;
}

export function appendLog(runDir: string, rows: LogRow[]): void {
  if (rows.length === 0) return;
  const text = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  try {
    appendFileSync(logPath(runDir), text);
  } catch (e) {
    throw ioError(e, logPath(runDir), 'write', '', { needed: Buffer.byteLength(text) });
  }
}

/** Keeps only the rows up to `step` (rows after the resumed checkpoint are from lost work). */
export function truncateLog(runDir: string, step: number): LogRow[] {
  const rows = readLog(runDir).filter((r) => r.step <= step);
  const p = logPath(runDir);
  if (existsSync(p) || rows.length) writeFileAtomicSync(p, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  return rows;
}

/** Takes runs/NAME/.lock, or a UserError when another live process holds it. Returns the release function. */
export function lockRun(runDir: string): () => void {
  makeDirs(runDir, '--run');
  return takePidLock(
    join(runDir, '.lock'),
    (pid) => `${runDir} is in use by another \`wavenet train\` (pid ${pid}); wait for it or stop it first`,
  );
}

/** Human duration: 0.4s, 42s, 3m05s, 1h02m. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
