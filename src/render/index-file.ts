/**
 * DIR/index.json: what a render folder holds. Written atomically after every finished texture, so it
 * only ever lists textures whose WAV is complete; a rerun uses it to skip them.
 *
 * {
 *   "format": "wavenet-render-index", "version": 1, "updated": ISO time,
 *   "model": { "checkpoint": path, "sha256": hex of the checkpoint file, "step", "config", "receptiveField", "sampleRate" },
 *   "command": [argv...],
 *   "contactSheet": "contact-sheet.png" | null,
 *   "textures": [ TextureRecord, ... ]       (in the order of the command's plan)
 * }
 */
import { existsSync } from 'node:fs';
import { LIMITS, readRegularText } from '../util/files.js';
import { writeFileAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import type { ModelConfig } from '../model/config.js';

export const INDEX_FORMAT = 'wavenet-render-index';
export const INDEX_VERSION = 1;

export interface TextureSettings {
  seconds: number;
  seed: number;
  temperature: number;
  /** Prime file as given (absolute path) and its sha256, or null. */
  prime: string | null;
  primeSha256: string | null;
  loop: boolean;
  /** Crossfade seconds folded into the head (0 when not looping). */
  crossfade: number;
  fadeIn: number;
  fadeOut: number;
  /** e.g. "-1dBFS", "-16LUFS", or null. */
  normalize: string | null;
  sampleRate: number;
  modelSha256: string;
  /** Sampling cut (absent in older indexes: no cut). */
  topP?: number;
  topK?: number;
  /** DC blocker applied (absent in older indexes: not applied). */
  dcBlock?: boolean;
  /** WAV sample format (absent in older indexes: s16). */
  format?: 's16' | 'f32';
  /** Seconds generated and dropped at the start (absent in older indexes: 0). */
  warmup?: number;
}

export interface TextureRecord extends TextureSettings {
  name: string;
  /** Path relative to the index's folder. */
  file: string;
  samples: number;
  duration: number;
  bytes: number;
  sha256: string;
  peakDbfs: number | null;
  loudnessLufs: number | null;
  /** RMS level in dBFS, mean (DC) and the largest |mean| of a 1 s block (absent in older indexes). */
  rmsDbfs?: number | null;
  dc?: number;
  dcMaxBlock?: number;
  gainDb: number;
  limited: boolean;
  limiterReductionDb: number;
  rendered: string;
}

export interface ModelRecord {
  checkpoint: string;
  sha256: string;
  step: number;
  config: ModelConfig;
  receptiveField: number;
  sampleRate: number;
}

export interface RenderIndex {
  format: typeof INDEX_FORMAT;
  version: number;
  updated: string;
  model: ModelRecord | null;
  command: string[];
  contactSheet: string | null;
  textures: TextureRecord[];
}

export function emptyIndex(): RenderIndex {
  return {
    format: INDEX_FORMAT,
    version: INDEX_VERSION,
    updated: new Date().toISOString(),
    model: null,
    command: [],
    contactSheet: null,
    textures: [],
  };
}

/** The index at `path`, or an empty one when there is none. UserError when the file is not a render index. */
export function readIndex(path: string): RenderIndex {
  if (!existsSync(path)) return emptyIndex();
  let j: unknown;
  try {
    j = JSON.parse(readRegularText(path, { what: '', maxBytes: LIMITS.renderIndexBytes }));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${path}: not valid JSON (${(e as Error).message}); remove it or choose another --out-dir`);
  }
  const o = j as Partial<RenderIndex>;
  if (!o || typeof o !== 'object' || o.format !== INDEX_FORMAT || !Array.isArray(o.textures)) {
    throw new UserError(`${path} exists but is not a wavenet render index; choose another --out-dir`);
  }
  if (typeof o.version !== 'number' || o.version > INDEX_VERSION) {
    throw new UserError(
      `${path}: render index version ${o.version} is newer than this wavenet understands; upgrade wavenet or choose another --out-dir`,
    );
  }
  return { ...emptyIndex(), ...o } as RenderIndex;
}

export async function writeIndex(path: string, index: RenderIndex): Promise<void> {
  index.updated = new Date().toISOString();
  await writeFileAtomic(path, JSON.stringify(index, null, 2) + '\n');
}

/** True when a record was rendered with exactly these settings. */
export function sameSettings(r: TextureSettings, s: TextureSettings): boolean {
  const keys: (keyof TextureSettings)[] = [
    'seconds',
    'seed',
    'temperature',
    'prime',
    'primeSha256',
    'loop',
    'crossfade',
    'fadeIn',
    'fadeOut',
    'normalize',
    'sampleRate',
    'modelSha256',
    'topP',
    'topK',
    'dcBlock',
    'format',
    'warmup',
  ];
  // settings added later: an older record holds what was done before they existed
  const dflt: Partial<TextureSettings> = { topP: 1, topK: 0, dcBlock: false, format: 's16', warmup: 0 };
  return keys.every((k) => (r[k] ?? dflt[k]) === (s[k] ?? dflt[k]));
}
