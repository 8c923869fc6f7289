/**
 * The dataset on disk (documented in datasets/README.md):
 *   DIR/manifest.json      this Manifest, written atomically (temp file, fsync, rename)
 *   DIR/chunks/*.mulaw     one unsigned byte per sample: the mu-law class 0..255 at `sampleRate`
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { isAtomicTemp, writeFileAtomicSync } from '../util/atomic.js';
import { LIMITS, readRegularText, sha256RegularFile } from '../util/files.js';
import { join } from 'node:path';
import { UserError, shown } from '../util/errors.js';

export const MANIFEST_FORMAT = 'wavenet-dataset';
export const MANIFEST_VERSION = 1;
/** Largest chunk (one byte per sample, held in memory while ingesting): 37 hours at 16 kHz. */
export const MAX_CHUNK_SAMPLES = 2 ** 31 - 1;

export interface ManifestSource {
  /** The path as given on the command line (or found under a given folder), absolute. */
  path: string;
  /** sha256 (hex) of the file's bytes: the identity used to skip files already ingested. */
  sha256: string;
  /** Duration of the decoded audio in seconds. */
  durationSeconds: number;
  /** The source's own sample rate and channel count. */
  sampleRate: number;
  channels: number;
  /** ffmpeg-style codec name, e.g. mp3, vorbis, pcm_s16le. */
  codec: string;
}

export interface ManifestChunk {
  /** File name under DIR/chunks/. */
  file: string;
  /** Index into sources. */
  source: number;
  /** Offset of the chunk's first sample in the source's decoded (resampled, trimmed) signal. */
  offset: number;
  samples: number;
  split: 'train' | 'val';
}

export interface ManifestRejected {
  path: string;
  reason: string;
}

export interface Manifest {
  format: 'wavenet-dataset';
  version: number;
  sampleRate: number;
  mu: number;
  classes: number;
  /** Samples in a full chunk (the last chunk of a source may be shorter). */
  chunkSamples: number;
  /** Fraction of chunks meant for validation (--val). */
  valFraction: number;
  /** --trim-silence level in dBFS, or null when off. */
  trimSilenceDb: number | null;
  created: string;
  updated: string;
  sources: ManifestSource[];
  chunks: ManifestChunk[];
  rejected: ManifestRejected[];
  /** Unigram entropy of the validation data, bits/sample: the "knows nothing" loss (src/dataset/entropy.ts).
   * Absent in manifests written before it existed; null for an empty dataset. */
  valEntropyBits?: number | null;
}

export const MANIFEST_FILE = 'manifest.json';
export const CHUNKS_DIR = 'chunks';

export function manifestPath(dir: string): string {
  return join(dir, MANIFEST_FILE);
}

function bad(dir: string, what: string): never {
  throw new UserError(`${manifestPath(dir)}: not a valid wavenet dataset manifest (${what})`);
}

/** DIR/manifest.json parsed, not yet validated. */
function readManifestJson(dir: string): unknown {
  const p = manifestPath(dir);
  if (!existsSync(p))
    throw new UserError(`${dir}: not a dataset (no ${MANIFEST_FILE}); create one with wavenet ingest`);
  let raw: unknown;
  try {
    raw = JSON.parse(readRegularText(p, { what: '', maxBytes: LIMITS.manifestBytes }));
  } catch (e) {
    if (e instanceof SyntaxError) bad(dir, `corrupt JSON: ${e.message}`);
    if (e instanceof UserError) throw e;
    throw new UserError(`${p}: cannot read (${(e as Error).message})`);
  }
  return raw;
}

const posInt = (v: unknown, max = Number.MAX_SAFE_INTEGER) =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= max;
const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/** The manifest's identity (format, version) and its top-level fields; fills in defaults of older manifests. */
function checkManifestFields(dir: string, m: Manifest): void {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) bad(dir, 'not a JSON object');
  if (m.format !== MANIFEST_FORMAT) bad(dir, `format is ${shown(m.format)}, expected "${MANIFEST_FORMAT}"`);
  if (m.version === undefined) bad(dir, `no version field`);
  if (m.version !== MANIFEST_VERSION) {
    bad(
      dir,
      `version ${shown(m.version)} is not one this wavenet knows (it reads version ${MANIFEST_VERSION}); ${typeof m.version === 'number' && m.version > MANIFEST_VERSION ? 'upgrade wavenet' : 'the file is damaged'}`,
    );
  }
  if (!posInt(m.sampleRate) || m.sampleRate < 1000 || m.sampleRate > 384000)
    bad(dir, `sampleRate ${shown(m.sampleRate)}: expected a whole number of Hz from 1000 to 384000`);
  if (!posInt(m.mu, 65535) || !posInt(m.classes) || m.classes !== m.mu + 1)
    bad(dir, 'mu/classes must be positive integers with classes = mu + 1 (mu at most 65535)');
  if (!posInt(m.chunkSamples, MAX_CHUNK_SAMPLES))
    bad(
      dir,
      `chunkSamples ${shown(m.chunkSamples)}: expected a whole number of samples from 1 to ${MAX_CHUNK_SAMPLES}`,
    );
  if (!Array.isArray(m.sources) || !Array.isArray(m.chunks) || !Array.isArray(m.rejected))
    bad(dir, 'sources, chunks and rejected must be arrays');
  m.valFraction ??= 0.1;
  m.trimSilenceDb ??= null;
  if (!finite(m.valFraction) || m.valFraction < 0 || m.valFraction > 1)
    bad(dir, `valFraction ${shown(m.valFraction)}: expected a fraction from 0 to 1`);
  if (m.trimSilenceDb !== null && (!finite(m.trimSilenceDb) || m.trimSilenceDb >= 0)) {
    bad(dir, `trimSilenceDb ${shown(m.trimSilenceDb)}: expected null or a level in dBFS below 0`);
  }
}

/** Every entry of sources, chunks and rejected. */
function checkManifestEntries(dir: string, m: Manifest): void {
  m.sources.forEach((s, i) => {
    if (typeof s?.path !== 'string' || typeof s.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(s.sha256))
      bad(dir, `sources[${i}] needs path and a sha256`);
    if (
      !finite(s.durationSeconds) ||
      s.durationSeconds < 0 ||
      !finite(s.sampleRate) ||
      s.sampleRate <= 0 ||
      !posInt(s.channels, 65535)
    ) {
      bad(dir, `sources[${i}] needs durationSeconds >= 0, a positive sampleRate and a whole number of channels`);
    }
  });
  const files = new Set<string>();
  m.chunks.forEach((c, i) => {
    if (
      typeof c?.file !== 'string' ||
      c.file.includes('/') ||
      c.file.includes('\\') ||
      c.file.includes('\0') ||
      !c.file.endsWith('.mulaw') ||
      c.file.startsWith('.')
    ) {
      bad(dir, `chunks[${i}].file must be a file name ending in .mulaw`);
    }
    if (files.has(c.file)) bad(dir, `chunks[${i}].file ${c.file} is listed twice`);
    files.add(c.file);
    if (!Number.isInteger(c.source) || c.source < 0 || c.source >= m.sources.length)
      bad(dir, `chunks[${i}].source is not an index into sources`);
    if (!Number.isSafeInteger(c.offset) || c.offset < 0 || !posInt(c.samples, m.chunkSamples)) {
      bad(dir, `chunks[${i}] needs a non-negative offset and from 1 to chunkSamples (${m.chunkSamples}) samples`);
    }
    if (c.split !== 'train' && c.split !== 'val') bad(dir, `chunks[${i}].split must be "train" or "val"`);
  });
  m.rejected.forEach((r, i) => {
    if (typeof r?.path !== 'string' || typeof r.reason !== 'string') bad(dir, `rejected[${i}] needs path and reason`);
  });
}

/** Read and validate DIR/manifest.json. */
export function readManifest(dir: string): Manifest {
  const m = readManifestJson(dir) as Manifest;
  checkManifestFields(dir, m);
  checkManifestEntries(dir, m);
  return m;
}

/** sha256 (hex) of DIR/manifest.json's bytes: what a training run records as "trained on". */
export function manifestHash(dir: string): string {
  const p = manifestPath(dir);
  if (!existsSync(p)) throw new UserError(`${dir}: not a dataset (no ${MANIFEST_FILE})`);
  return sha256RegularFile(p, { what: '', maxBytes: LIMITS.manifestBytes });
}

/** fsync a folder so a rename in it is durable (the shared helper; ingest syncs the chunks folder with it). */
export { fsyncDirSync as fsyncDir } from '../util/atomic.js';

/**
 * Writes DIR/manifest.json atomically (src/util/atomic.ts: temporary file, fsync, rename, fsync of the
 * folder). The caller holds the dataset's lock, so any temporary of manifest.json already in the folder
 * is a leftover of an interrupted write and is removed first.
 */
export function writeManifest(dir: string, m: Manifest): void {
  for (const f of existsSync(dir) ? readdirSync(dir) : []) {
    if (f.startsWith(`.${MANIFEST_FILE}.`) && isAtomicTemp(f)) rmSync(join(dir, f), { force: true });
  }
  writeFileAtomicSync(manifestPath(dir), JSON.stringify(m, null, 1) + '\n');
}

export function emptyManifest(opts: {
  sampleRate: number;
  mu: number;
  chunkSamples: number;
  valFraction: number;
  trimSilenceDb: number | null;
}): Manifest {
  const now = new Date().toISOString();
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    sampleRate: opts.sampleRate,
    mu: opts.mu,
    classes: opts.mu + 1,
    chunkSamples: opts.chunkSamples,
    valFraction: opts.valFraction,
    trimSilenceDb: opts.trimSilenceDb,
    created: now,
    updated: now,
    sources: [],
    chunks: [],
    rejected: [],
  };
}
