/** Helpers for the training tests: tiny datasets on disk and running the CLI. */
import { mkdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'src', 'cli.ts');
/** tsx's loader by absolute URL, so the CLI runs from any working folder. */
export const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface ChunkSpec {
  split: 'train' | 'val';
  /** The classes (0..255) of the chunk. */
  data: Uint8Array;
}

/** Writes DIR/manifest.json and DIR/chunks/*.mulaw (the dataset format of datasets/README.md). */
export function writeDataset(dir: string, chunks: ChunkSpec[]): string {
  mkdirSync(join(dir, 'chunks'), { recursive: true });
  const list = chunks.map((c, i) => {
    const file = `${String(i).padStart(6, '0')}.mulaw`;
    writeFileSync(join(dir, 'chunks', file), c.data);
    return { file, source: 0, offset: 0, samples: c.data.length, split: c.split };
  });
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify(
      {
        format: 'wavenet-dataset',
        version: 1,
        valFraction: 0.1,
        trimSilenceDb: null,
        sampleRate: 16000,
        mu: 255,
        classes: 256,
        chunkSamples: 16000,
        sources: [
          {
            path: 'generated',
            sha256: '0'.repeat(64),
            durationSeconds: 1,
            sampleRate: 16000,
            channels: 1,
            codec: 'pcm',
          },
        ],
        chunks: list,
        rejected: [],
      },
      null,
      2,
    ),
  );
  return dir;
}

/** A periodic signal (a mu-law class sequence repeating every `period` samples), with a phase. */
export function periodic(n: number, period: number, phase = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(128 + 100 * Math.sin((2 * Math.PI * (i + phase)) / period));
  return out;
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function runCli(args: string[], cwd: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
}

export function spawnCli(args: string[], cwd: string, env: Record<string, string> = {}) {
  return spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Tiny model flags used by the CLI tests. */
export const TINY = [
  '--dilations',
  '1,2,4',
  '--residual-channels',
  '4',
  '--dilation-channels',
  '4',
  '--skip-channels',
  '8',
  '--head-channels',
  '8',
  '--window',
  '32',
  '--batch',
  '2',
];

/** TINY with some flags replaced (e.g. tiny({ '--window': '16' })). */
export function tiny(over: Record<string, string>): string[] {
  const out = [...TINY];
  for (const [k, v] of Object.entries(over)) {
    const i = out.indexOf(k);
    if (i >= 0) out[i + 1] = v;
    else out.push(k, v);
  }
  return out;
}
