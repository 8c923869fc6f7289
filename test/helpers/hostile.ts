/** Helpers for the hostile-input tests: small runs, checkpoints with chosen metadata, special files. */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { saveCheckpoint, optimizerPathFor } from '../../src/train/checkpoint.js';
import { encodeSafetensors } from '../../src/train/safetensors.js';
import { initParams } from '../../src/train/init.js';
import { paramCount, paramLayout, type ModelConfig } from '../../src/model/config.js';
import { CLI, TSX } from '../train-cli-helpers.js';

export const SMALL: ModelConfig = {
  dilations: [1, 2, 4, 8],
  residual: 8,
  dilation: 8,
  skip: 16,
  head: 16,
  classes: 256,
};

/** The model flags (train, bench) that ask for SMALL. */
export const SMALL_FLAGS = [
  '--dilations',
  SMALL.dilations.join(','),
  '--residual-channels',
  String(SMALL.residual),
  '--dilation-channels',
  String(SMALL.dilation),
  '--skip-channels',
  String(SMALL.skip),
  '--head-channels',
  String(SMALL.head),
];

/** A run folder with one checkpoint (step 3) of `config`; returns the weights path. */
export async function makeRun(runDir: string, config: ModelConfig = SMALL): Promise<string> {
  const n = paramCount(config);
  return saveCheckpoint({
    runDir,
    config,
    step: 3,
    params: initParams(config, 1),
    adam: { m: new Float32Array(n), v: new Float32Array(n).fill(1e-6), step: 3 },
    adamParams: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    sampler: { rng: '0123456789abcdef0123456789abcdef', drawn: 6 },
    training: { window: 32, batch: 2, lr: 1e-3, seed: 1 },
    elapsedSeconds: 1,
    dataset: 'generated',
    manifestHash: '0'.repeat(64),
  });
}

/**
 * Writes a weights file whose tensors follow `tensorsOf` (a valid config) while its metadata is
 * `meta` on top of a normal checkpoint's (so `config` and any field can be made hostile).
 */
export function writeCheckpoint(
  path: string,
  meta: Record<string, string>,
  params?: Float32Array,
  tensorsOf: ModelConfig = SMALL,
): string {
  const p = params ?? initParams(tensorsOf, 1);
  const base: Record<string, string> = {
    format: 'wavenet-checkpoint',
    format_version: '1',
    step: '3',
    config: JSON.stringify(tensorsOf),
  };
  const m = { ...base, ...meta };
  for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
  writeFileSync(
    path,
    Buffer.concat(
      encodeSafetensors(
        paramLayout(tensorsOf).map((t) => ({
          name: t.name,
          shape: t.shape,
          data: p.subarray(t.offset, t.offset + t.size),
        })),
        m,
      ),
    ),
  );
  return path;
}

/** Writes the optimizer file beside `weights` with `adam`/`sampler`/... metadata overridden. */
export function writeOptimizer(
  weights: string,
  weightsSha: string,
  meta: Record<string, string>,
  n = paramCount(SMALL),
  v?: Float32Array,
): string {
  const path = optimizerPathFor(weights);
  const base: Record<string, string> = {
    format: 'wavenet-optimizer',
    format_version: '1',
    step: '3',
    config: JSON.stringify(SMALL),
    adam: JSON.stringify({ step: 3, lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 }),
    sampler: JSON.stringify({ rng: '0123456789abcdef0123456789abcdef', drawn: 6 }),
    training: JSON.stringify({ window: 32, batch: 2, lr: 1e-3, seed: 1 }),
    elapsed_seconds: '1',
    weights_sha256: weightsSha,
  };
  writeFileSync(
    path,
    Buffer.concat(
      encodeSafetensors(
        [
          { name: 'adam.m', shape: [n], data: new Float32Array(n) },
          { name: 'adam.v', shape: [n], data: v ?? new Float32Array(n) },
        ],
        { ...base, ...meta },
      ),
    ),
  );
  return path;
}

export type SpecialKind = 'dev-zero' | 'dev-urandom' | 'fifo' | 'folder';
export const SPECIAL_KINDS: SpecialKind[] = ['dev-zero', 'dev-urandom', 'fifo', 'folder'];

/** Creates `path` as the special file `kind` (a symlink to /dev/zero or /dev/urandom, a FIFO, a folder). */
export function makeSpecial(path: string, kind: SpecialKind): string {
  if (kind === 'dev-zero') symlinkSync('/dev/zero', path);
  else if (kind === 'dev-urandom') symlinkSync('/dev/urandom', path);
  else if (kind === 'fifo') {
    const r = spawnSync('mkfifo', [path]);
    if (r.status !== 0) throw new Error(`mkfifo ${path} failed: ${r.stderr}`);
  } else mkdirSync(path);
  return path;
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI with a time limit (default 60 s); a hang shows as a signal, not a stuck test. */
export function cli(args: string[], cwd: string, timeoutMs = 60_000): CliResult {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env: { ...process.env, WAVENET_DEBUG: '' },
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

/** The `wavenet: ...` error lines of a run's stderr (progress and notes are other lines). */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('wavenet: '));
}

export { join };

import { spawn } from 'node:child_process';

/** cli() without blocking: several runs can go at once (see cliAll). */
export function cliAsync(args: string[], cwd: string, timeoutMs = 90_000): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
      cwd,
      env: { ...process.env, WAVENET_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b) => {
      stdout += b;
    });
    p.stderr.on('data', (b) => {
      stderr += b;
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Runs CLI jobs `limit` at a time; results in the order given. */
export async function cliAll(jobs: { args: string[]; cwd: string }[], limit = 3): Promise<CliResult[]> {
  const out: CliResult[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await cliAsync(jobs[i].args, jobs[i].cwd);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}
