/**
 * Training data: the chunks of a dataset (datasets/NAME/manifest.json + chunks/*.mulaw, one byte per
 * sample = mu-law class) and the crop sampler.
 *
 * A crop is `receptiveField + window` consecutive samples of one chunk (never across chunk
 * boundaries). Training crops are drawn uniformly over every valid crop position of every training
 * chunk, so chunks are weighted by length (by their number of valid start positions). The sampler's
 * only state is its RNG (saved in checkpoints), so the stream of crops is exactly reproducible.
 * Validation crops are a fixed set spread evenly over the validation split.
 */
import { closeSync, existsSync, readSync, readdirSync, statSync } from 'node:fs';
import { kindOf, openRegular } from '../util/files.js';
import { basename, dirname, join, resolve } from 'node:path';
import { CHUNKS_DIR, manifestHash, manifestPath, readManifest } from '../dataset/manifest.js';
import { recordValEntropy } from '../dataset/entropy.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export interface DataChunk {
  /** Absolute path of the .mulaw file. */
  path: string;
  /** Name as in the manifest (relative to the dataset folder). */
  file: string;
  samples: number;
  split: 'train' | 'val';
  /** Index of its source recording in the manifest. */
  source?: number;
}

export interface Dataset {
  dir: string;
  name: string;
  manifestHash: string;
  /** Unigram entropy of the validation data, bits/sample (src/dataset/entropy.ts); null for no data. */
  valEntropyBits?: number | null;
  sampleRate: number;
  /** Number of source recordings. */
  sources?: number;
  train: DataChunk[];
  val: DataChunk[];
}

/** A dataset picked when none was named: the newest, and the others it was picked from. */
export interface DatasetChoice {
  dir: string;
  /** manifest.json modification time, ms since the epoch. */
  mtimeMs: number;
  /** The other datasets under the root, newest first. */
  others: { dir: string; mtimeMs: number }[];
}

/**
 * Two datasets written within this long of each other, both that recently, make "the newest"
 * a guess (a throwaway `ingest --out datasets/x` next to the real one): train asks for --data.
 */
export const AMBIGUOUS_WITHIN_MS = 60 * 60 * 1000;

/** Every dataset (folder with manifest.json) under `root`, newest first, or a UserError that says what to do. */
export function chooseDataset(root = 'datasets'): DatasetChoice {
  const hint = 'create one with `wavenet ingest AUDIO_FOLDER` or pass --data DIR';
  if (!existsSync(root)) throw new UserError(`no datasets found (./${root} does not exist); ${hint}`);
  const all: { dir: string; mtimeMs: number }[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const m = join(root, e.name, 'manifest.json');
    if (!existsSync(m)) continue;
    all.push({ dir: join(root, e.name), mtimeMs: statSync(m).mtimeMs });
  }
  if (all.length === 0) throw new UserError(`no datasets found under ./${root} (no */manifest.json); ${hint}`);
  all.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.dir < b.dir ? -1 : 1));
  return { ...all[0], others: all.slice(1) };
}

/** The newest dataset (by manifest.json time) under `root`, or a UserError that says what to do. */
export function newestDataset(root = 'datasets'): string {
  return chooseDataset(root).dir;
}

/** "3m ago", "2h ago", "5d ago". */
export function ago(mtimeMs: number, now = Date.now()): string {
  const s = Math.max(0, (now - mtimeMs) / 1000);
  if (s < 90) return `${Math.round(s)}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 2 * 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

/**
 * What to say about a dataset picked without --data: nothing when it is the only one; a note naming
 * the others when there are several; a UserError when the newest two were both written within
 * the last AMBIGUOUS_WITHIN_MS (then "the newest" is a coin toss between two fresh datasets).
 */
export function datasetChoiceNote(c: DatasetChoice, now = Date.now()): string | undefined {
  if (c.others.length === 0) return undefined;
  const second = c.others[0];
  const names = c.others.map((o) => basename(o.dir));
  if (now - second.mtimeMs < AMBIGUOUS_WITHIN_MS) {
    throw new UserError(
      `${c.others.length + 1} datasets were written in the last hour (${c.dir} ${ago(c.mtimeMs, now)}, ${second.dir} ${ago(second.mtimeMs, now)}); ` +
        `say which to train on: --data ${c.dir} or --data ${second.dir}`,
    );
  }
  const shown = names.slice(0, 4).join(', ') + (names.length > 4 ? `, ... (${names.length} in all)` : '');
  return `training on ${c.dir}, the newest of ${c.others.length + 1} datasets (written ${ago(c.mtimeMs, now)}; also: ${shown}); choose another with --data ${join(dirname(c.dir), 'NAME')}`;
}

/**
 * --data must be a dataset (a folder with manifest.json). An audio folder is the common mistake:
 * say how to make a dataset of it, and name the one made from it when there is one.
 */
export function checkDataArg(data: string, root = 'datasets'): void {
  if (!existsSync(data)) throw new UserError(`--data ${data}: no such folder`);
  if (!statSync(data).isDirectory())
    throw new UserError(
      `--data ${data}: not a folder (expected a dataset folder with manifest.json, made by wavenet ingest)`,
    );
  if (existsSync(join(data, 'manifest.json'))) return;
  const made = join(root, basename(resolve(data)));
  const hasMade = resolve(made) !== resolve(data) && existsSync(join(made, 'manifest.json'));
  throw new UserError(
    `--data ${data}: not a dataset (no manifest.json); ` +
      (hasMade
        ? `the dataset made from it is --data ${made}`
        : `create one with \`wavenet ingest ${data}\` (then train with --data ${made})`),
  );
}

/** Reads and checks a dataset: its manifest (src/dataset/manifest.ts) and every chunk file's size. */
export function openDataset(dirArg: string): Dataset {
  const dir = resolve(dirArg);
  const label = `--data ${dirArg}`;
  if (!existsSync(dir)) throw new UserError(`${label}: no such folder`);
  if (!statSync(dir).isDirectory())
    throw new UserError(`${label}: not a folder (expected a dataset folder with manifest.json)`);
  const m = readManifest(dir);
  if (m.classes !== 256)
    throw new UserError(
      `${manifestPath(dir)}: the dataset has ${m.classes} mu-law classes; the model needs 256 (ingest with the default mu)`,
    );
  const train: DataChunk[] = [];
  const val: DataChunk[] = [];
  for (const c of m.chunks) {
    const path = join(dir, CHUNKS_DIR, c.file);
    let size: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) throw new UserError(`${path}: is ${kindOf(st)}, expected a chunk file (a regular file)`);
      size = st.size;
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`${manifestPath(dir)}: chunk file ${CHUNKS_DIR}/${c.file} is missing`);
    }
    if (size !== c.samples) throw new UserError(`${path}: ${size} bytes, but the manifest says ${c.samples} samples`);
    (c.split === 'train' ? train : val).push({
      path,
      file: c.file,
      samples: c.samples,
      split: c.split,
      source: c.source,
    });
  }
  if (train.length + val.length === 0)
    throw new UserError(`${label}: the dataset has no chunks (ingest some audio into it first)`);
  if (train.length === 0)
    throw new UserError(`${label}: the dataset has no training chunks (all ${val.length} are validation)`);
  // (manifests from before valEntropyBits existed: computed here from the chunks)
  if (m.valEntropyBits === undefined) recordValEntropy(dir, m);
  const valEntropyBits = m.valEntropyBits ?? null;
  return {
    dir,
    name: basename(dir),
    manifestHash: manifestHash(dir),
    sampleRate: m.sampleRate,
    sources: m.sources.length,
    train,
    val,
    valEntropyBits,
  };
}

/**
 * Checks that at least one training chunk holds a crop of rf + window samples; otherwise a UserError
 * that names the window that would fit.
 */
export function checkCropFits(ds: Dataset, rf: number, window: number): void {
  const longest = Math.max(...ds.train.map((c) => c.samples));
  if (longest >= rf + window) return;
  const fit = longest - rf;
  const sr = ds.sampleRate;
  throw new UserError(
    `no training chunk is long enough for a crop of ${rf + window} samples (receptive field ${rf} + --window ${window}); ` +
      `the longest has ${longest} samples (${(longest / sr).toFixed(2)} s)` +
      (fit >= 1
        ? `: use --window ${fit} or less`
        : `, shorter than the receptive field: use fewer or smaller --dilations, or ingest longer chunks`),
  );
}

/** Reads crops from chunk files, keeping a few files open. */
export class ChunkReader {
  private fds = new Map<string, number>();
  constructor(private maxOpen = 64) {}

  read(chunk: DataChunk, start: number, len: number, out: Uint8Array, outOffset: number): void {
    let fd = this.fds.get(chunk.path);
    if (fd === undefined) {
      if (this.fds.size >= this.maxOpen) {
        const [p, f] = this.fds.entries().next().value as [string, number];
        closeSync(f);
        this.fds.delete(p);
      }
      fd = openRegular(chunk.path, { what: 'chunk', maxBytes: chunk.samples }).fd;
    } else {
      this.fds.delete(chunk.path); // re-insert as most recently used
    }
    this.fds.set(chunk.path, fd);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, out, outOffset + got, len - got, start + got);
      if (n === 0)
        throw new UserError(
          `${chunk.path}: ended at ${start + got} bytes, expected at least ${start + len} (the file changed while training?)`,
        );
      got += n;
    }
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** Cumulative count of valid crop starts over the chunks long enough for `cropLen`. */
function crops(chunks: DataChunk[], cropLen: number): { usable: DataChunk[]; cum: number[]; total: number } {
  const usable = chunks.filter((c) => c.samples >= cropLen);
  const cum: number[] = [];
  let total = 0;
  for (const c of usable) {
    cum.push(total);
    total += c.samples - cropLen + 1;
  }
  return { usable, cum, total };
}

/** Position k (0 <= k < total) among all valid crop starts -> chunk and start sample. */
function locate(t: ReturnType<typeof crops>, k: number): { chunk: DataChunk; start: number } {
  let lo = 0;
  let hi = t.usable.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (t.cum[mid] <= k) lo = mid;
    else hi = mid - 1;
  }
  return { chunk: t.usable[lo], start: k - t.cum[lo] };
}

export interface CropPosition {
  file: string;
  start: number;
}

/** Random training crops, deterministic from the seed; state = the RNG state + crops drawn. */
export class CropSampler {
  private table: ReturnType<typeof crops>;
  private rng: Rng;
  drawn = 0;

  constructor(
    chunks: DataChunk[],
    readonly cropLen: number,
    seed: number,
    private reader = new ChunkReader(),
  ) {
    this.table = crops(chunks, cropLen);
    if (this.table.total === 0) throw new UserError(`no chunk holds a crop of ${cropLen} samples`);
    this.rng = new Rng(seed, 1);
  }

  /** The next crop position (advances the state). */
  nextPosition(): CropPosition {
    const { chunk, start } = locate(this.table, this.rng.below(this.table.total));
    this.drawn++;
    return { file: chunk.file, start };
  }

  /** B crops, row-major B x cropLen classes. */
  nextBatch(batch: number): Uint8Array {
    const out = new Uint8Array(batch * this.cropLen);
    for (let b = 0; b < batch; b++) {
      const { chunk, start } = locate(this.table, this.rng.below(this.table.total));
      this.drawn++;
      this.reader.read(chunk, start, this.cropLen, out, b * this.cropLen);
    }
    return out;
  }

  getState(): { rng: string; drawn: number } {
    return { rng: this.rng.getState(), drawn: this.drawn };
  }

  setState(s: { rng: string; drawn: number }): void {
    this.rng.setState(s.rng);
    this.drawn = s.drawn;
  }

  close(): void {
    this.reader.close();
  }
}

/**
 * A fixed set of `count` crops spread evenly over all valid crop positions of `chunks` (the same set
 * every time for the same data), as batches of `batch` crops. Empty when no chunk is long enough.
 */
export function fixedCrops(
  chunks: DataChunk[],
  cropLen: number,
  count: number,
  batch: number,
): { batches: Uint8Array[]; positions: CropPosition[] } {
  const t = crops(chunks, cropLen);
  if (t.total === 0 || count < 1) return { batches: [], positions: [] };
  const n = Math.ceil(count / batch) * batch;
  const reader = new ChunkReader();
  const positions: CropPosition[] = [];
  const batches: Uint8Array[] = [];
  try {
    for (let i = 0; i < n; i += batch) {
      const out = new Uint8Array(batch * cropLen);
      for (let b = 0; b < batch; b++) {
        const k = Math.min(t.total - 1, Math.floor(((i + b + 0.5) * t.total) / n));
        const { chunk, start } = locate(t, k);
        reader.read(chunk, start, cropLen, out, b * cropLen);
        positions.push({ file: chunk.file, start });
      }
      batches.push(out);
    }
  } finally {
    reader.close();
  }
  return { batches, positions };
}
