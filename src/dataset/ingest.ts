/**
 * The ingest pipeline: inputs (files, folders) -> decoded mono at the dataset rate -> optional silence
 * trim -> mu-law -> chunk files + manifest. See datasets/README.md for the format and the rules
 * (idempotence, appending, crash safety, the split, rejected inputs).
 */
import { existsSync, lstatSync, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { kindOf } from '../util/files.js';
import { makeDirs } from '../util/io-errors.js';
import { availableParallelism } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { fsReason } from '../audio/decode.js';
import { batchSupported } from '../audio/decode-batch.js';
import { closeFfmpegLauncher, ffmpegStarts, findFfmpeg, isStaticElf } from '../audio/ffmpeg.js';
import { MU } from '../audio/mulaw.js';
import { UserError } from '../util/errors.js';
import { runDecodePool, type Candidate, type PoolRun } from './ingest-pool.js';
import {
  CHUNKS_DIR,
  MANIFEST_FILE,
  emptyManifest,
  fsyncDir,
  manifestPath,
  readManifest,
  writeManifest,
  type Manifest,
  type ManifestChunk,
  type ManifestRejected,
} from './manifest.js';
import { recordValEntropy } from './entropy.js';
import { summarize, type DatasetSummary } from './summary.js';
import { takePidLock } from '../util/lock.js';
import { assignSplits, splitKey } from './split.js';

export const DEFAULT_RATE = 16000;
export const DEFAULT_CHUNK_SECONDS = 16;
export const DEFAULT_VAL = 0.1;

/** Files in folders with these extensions are companions of audio, not audio: skipped silently. */
export const SKIPPED_EXTENSIONS = new Set([
  '.txt',
  '.md',
  '.json',
  '.jpg',
  '.jpeg',
  '.png',
  '.gif',
  '.bmp',
  '.webp',
  '.pdf',
  '.cue',
  '.nfo',
  '.log',
  '.m3u',
  '.m3u8',
  '.pls',
  '.db',
  '.ini',
  '.xml',
  '.html',
  '.htm',
  '.csv',
  '.yaml',
  '.yml',
  '.sfk',
  '.pk',
  '.asd',
  '.reapeaks',
  '.lrc',
  '.sha256',
  '.md5',
  '.sfv',
  '.torrent',
  '.zip',
  '.gz',
  '.tar',
  '.7z',
]);

export interface IngestOptions {
  inputs: string[];
  out: string;
  /** Undefined: the existing dataset's value, else the default. */
  rate?: number;
  chunkSeconds?: number;
  val?: number;
  trimSilenceDb?: number | null;
  jobs?: number;
  /** Called often with the running totals. */
  onProgress?: (p: IngestProgress) => void;
  /** Message lines for stderr (rejected inputs, warnings). */
  onMessage?: (line: string) => void;
  /**
   * Fault injection for tests: called before each chunk file is written; what it throws (e.g. an
   * Error with code ENOSPC) is handled as that write's failure.
   */
  beforeChunkWrite?: (file: string) => void;
  /**
   * Called once the dataset's lock is held, with a function that releases it (for an interrupt handler
   * at the CLI edge: the manifest on disk is always a complete one, so stopping there loses nothing).
   * What it returns, if a function, is called when ingest ends (to remove that handler).
   */
  onLocked?: (release: () => void, dir: string) => (() => void) | undefined;
  /**
   * Decode several files per ffmpeg process: much faster for many short files with an ffmpeg that is
   * slow to start (a distribution build: ~170 ms of CPU per start). Default: batches unless ffmpeg is a
   * statically linked build (starts in ~5 ms), for which one process per file costs less CPU than a
   * batch (ffmpeg passes every packet of a batch's inputs between threads). The datasets are identical
   * either way.
   */
  batch?: boolean;
}

export interface IngestProgress {
  filesDone: number;
  filesTotal: number;
  /** Seconds of audio decoded so far in this run. */
  audioSeconds: number;
  elapsedSeconds: number;
}

export interface IngestRun {
  /** Inputs newly added as sources. */
  added: number;
  /** Files whose content (sha256) was already a source. */
  skipped: { path: string; sameAs: string }[];
  /** Inputs rejected in this run. */
  rejected: ManifestRejected[];
  chunksAdded: number;
  /** Seconds of audio decoded in this run, and the wall time it took. */
  audioSeconds: number;
  wallSeconds: number;
  /** audioSeconds / wallSeconds. */
  speed: number;
  jobs: number;
  decoder: string;
  maxRssMB: number;
  /** CPU seconds (user + system) of this process, without the ffmpeg processes. */
  cpuSeconds: number;
  /** ffmpeg processes started (several files share one where they can). */
  ffmpegProcesses: number;
}

export interface IngestResult {
  summary: DatasetSummary;
  run: IngestRun;
  /** Some input is in the dataset's sources (new or already there). */
  ingestedAny: boolean;
}

export { splitKey } from './split.js';

/** At least one validation chunk whenever there are two or more (and val > 0), and one train when val < 1. */
function ensureSplits(m: Manifest): boolean {
  if (m.chunks.length < 2) return false;
  let changed = false;
  const keys = m.chunks.map((c) => splitKey(m.sources[c.source].sha256, c.offset));
  if (m.valFraction > 0 && !m.chunks.some((c) => c.split === 'val')) {
    let best = 0;
    keys.forEach((k, i) => {
      if (k < keys[best]) best = i;
    });
    m.chunks[best].split = 'val';
    changed = true;
  }
  if (m.valFraction < 1 && !m.chunks.some((c) => c.split === 'train')) {
    let best = 0;
    keys.forEach((k, i) => {
      if (k > keys[best]) best = i;
    });
    m.chunks[best].split = 'train';
    changed = true;
  }
  return changed;
}

/** Expand inputs into files; inputs that are missing or folders without audio become rejections. */
function expandInputs(inputs: string[], outDir: string, rejected: ManifestRejected[]): Candidate[] {
  const files: Candidate[] = [];
  const seen = new Set<string>();
  const add = (p: string) => {
    if (seen.has(p)) return;
    seen.add(p);
    files.push({ path: p, order: files.length });
  };
  const walk = (dir: string, found: string[]) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      rejected.push({ path: dir, reason: fsReason(e) });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (p === outDir) continue; // never ingest our own output
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = statSync(p);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          isFile = true; // a dangling link: let the decoder report it
        }
      }
      if (isDir) walk(p, found);
      else if (isFile && !SKIPPED_EXTENSIONS.has(extname(e.name).toLowerCase())) found.push(p);
    }
  };
  for (const input of inputs) {
    const abs = resolve(input);
    let st;
    try {
      st = statSync(abs);
    } catch (e) {
      rejected.push({ path: abs, reason: fsReason(e) });
      continue;
    }
    if (st.isDirectory()) {
      const found: string[] = [];
      walk(abs, found);
      if (found.length === 0) rejected.push({ path: abs, reason: 'folder with no audio files' });
      for (const f of found) add(f);
    } else {
      add(abs);
    }
  }
  return files;
}

/** Refuse to write into a folder that is something else than a dataset. */
function checkOutDir(dir: string): void {
  if (!existsSync(dir)) return;
  const st = statSync(dir);
  if (!st.isDirectory()) throw new UserError(`--out ${dir}: exists and is not a folder`);
  checkChunksDir(dir);
  if (existsSync(manifestPath(dir))) return;
  const other = readdirSync(dir).filter((n) => n !== CHUNKS_DIR && !n.startsWith('.') && !n.endsWith('.tmp'));
  if (other.length > 0) {
    throw new UserError(
      `--out ${dir}: folder exists, is not empty and holds no ${MANIFEST_FILE} (not a dataset); choose another --out`,
    );
  }
}

const LOCK_FILE = '.ingest.lock';

/** Names of the chunk files ingest writes (sha prefix, index) and of their temporaries. */
export const CHUNK_FILE_RE = /^[0-9a-f]{16}-\d{5,}\.mulaw(\.tmp)?$/;

/**
 * DIR/chunks must be a real folder inside the dataset: a symbolic link (to a folder holding other
 * files) or a file there is refused, so cleanup can never reach files outside the dataset.
 */
function checkChunksDir(dir: string): void {
  const c = join(dir, CHUNKS_DIR);
  let st;
  try {
    st = lstatSync(c);
  } catch {
    return; // absent: created by ingest
  }
  if (st.isSymbolicLink()) {
    throw new UserError(
      `--out ${dir}: ${CHUNKS_DIR} is a symbolic link; a dataset's chunks must be a real folder inside it (replace the link by the folder it points to)`,
    );
  }
  if (!st.isDirectory())
    throw new UserError(`--out ${dir}: ${CHUNKS_DIR} is ${kindOf(st)}, expected the dataset's chunk folder`);
}

/** Removes the chunk files (by name pattern) in DIR/chunks that `keep` does not name; returns the count. */
function removeUnlistedChunks(dir: string, keep: Set<string>): number {
  const cdir = join(dir, CHUNKS_DIR);
  let n = 0;
  let names: string[];
  try {
    names = readdirSync(cdir);
  } catch {
    return 0;
  }
  for (const f of names) {
    if (keep.has(f) || !CHUNK_FILE_RE.test(f)) continue;
    const p = join(cdir, f);
    try {
      if (!lstatSync(p).isFile()) continue;
      unlinkSync(p);
      n++;
    } catch {
      /* gone meanwhile */
    }
  }
  return n;
}

function takeLock(dir: string): () => void {
  return takePidLock(
    join(dir, LOCK_FILE),
    (pid) => `${dir}: another wavenet ingest (pid ${pid}) is writing this dataset; wait for it or stop it`,
  );
}

/**
 * Delete chunk files the manifest does not name (leftovers of an interrupted run) and manifest temp
 * files. Only files named as ingest names them are touched: anything else in the folder is left alone.
 */
function cleanLeftovers(dir: string, m: Manifest): number {
  checkChunksDir(dir);
  const n = removeUnlistedChunks(dir, new Set(m.chunks.map((c) => c.file)));
  for (const f of readdirSync(dir)) {
    if (/^manifest\.json\.\d+\.tmp$/.test(f)) {
      try {
        unlinkSync(join(dir, f));
      } catch {
        /* gone */
      }
    }
  }
  return n;
}

/** What the manifest on disk (the last complete one) lists; nothing when there is none yet. */
function listedOnDisk(dir: string): Set<string> | null {
  if (!existsSync(manifestPath(dir))) return new Set();
  try {
    return new Set(readManifest(dir).chunks.map((c) => c.file));
  } catch {
    return null; // unreadable: remove nothing
  }
}

/** The whole ingest. Throws UserError for bad options or an unusable --out. */
export async function ingest(opts: IngestOptions): Promise<IngestResult> {
  const t0 = Date.now();
  const dir = resolve(opts.out);
  if (opts.inputs.length === 0) throw new UserError('ingest: give at least one input file or folder');
  checkOutDir(dir);
  const createdDir = !existsSync(dir);
  makeDirs(join(dir, CHUNKS_DIR), '--out');
  const release = takeLock(dir);
  const unhook = opts.onLocked?.(release, dir);
  let result: IngestResult | undefined;
  try {
    result = await ingestLocked(opts, dir, t0);
    return result;
  } finally {
    await closeFfmpegLauncher();
    // a new dataset that got nothing at all is not left behind (the reasons were printed)
    if (createdDir && (!result || result.summary.sources === 0)) {
      release();
      removeCreatedDataset(dir);
    }
    if (typeof unhook === 'function') unhook();
    release();
  }
}

/** Removes a dataset folder this run created and filled with nothing: only the files ingest writes. */
function removeCreatedDataset(dir: string): void {
  removeUnlistedChunks(dir, new Set());
  for (const f of [MANIFEST_FILE, LOCK_FILE]) {
    try {
      unlinkSync(join(dir, f));
    } catch {
      /* absent */
    }
  }
  try {
    rmdirSync(join(dir, CHUNKS_DIR));
  } catch {
    /* not empty: something else is there, keep it */
  }
  try {
    rmdirSync(dir);
  } catch {
    /* idem */
  }
}

async function ingestLocked(opts: IngestOptions, dir: string, t0: number): Promise<IngestResult> {
  const msg = opts.onMessage ?? ((l: string) => process.stderr.write(l + '\n'));
  const { m, existed } = openManifest(opts, dir, msg);
  const before: ManifestBefore = {
    existed,
    rejected: JSON.stringify(m.rejected),
    valFraction: m.valFraction,
    sources: m.sources.length,
    chunks: m.chunks.slice(),
  };
  cleanLeftovers(dir, m);
  const starts = ffmpegStarts();
  const run = planRun(opts, dir, m, msg, t0);
  let lastWrite = Date.now();
  run.afterFile = () => {
    // a complete manifest on disk every 2 s: what an interrupted run keeps
    if (Date.now() - lastWrite < 2000) return;
    composeManifest(m, before, run, false);
    m.updated = new Date().toISOString();
    fsyncDir(run.chunksDir);
    writeManifest(dir, m);
    lastWrite = Date.now();
  };
  await runDecodePool(run);
  if (run.failure) {
    // The dataset could not be written (disk full, ...): every worker has stopped; remove the chunk
    // files no complete manifest lists, so nothing partial stays behind, and report the first error.
    const listed = listedOnDisk(dir);
    if (listed) removeUnlistedChunks(dir, listed);
    throw run.failure;
  }
  const result = commitRun(dir, m, before, run, t0);
  result.run.ffmpegProcesses = ffmpegStarts() - starts;
  return result;
}

/** The dataset's manifest (read, with the options checked against it) or a new one from the options. */
function openManifest(opts: IngestOptions, dir: string, msg: (l: string) => void): { m: Manifest; existed: boolean } {
  const existed = existsSync(manifestPath(dir));
  let m: Manifest;
  if (existed) {
    m = readManifest(dir);
    if (opts.rate !== undefined && opts.rate !== m.sampleRate) {
      throw new UserError(
        `--rate ${opts.rate}: the dataset ${dir} is at ${m.sampleRate} Hz; use that rate or another --out`,
      );
    }
    if (opts.chunkSeconds !== undefined && Math.round(opts.chunkSeconds * m.sampleRate) !== m.chunkSamples) {
      throw new UserError(
        `--chunk: the dataset ${dir} uses chunks of ${m.chunkSamples / m.sampleRate} s; use that or another --out`,
      );
    }
    if (opts.trimSilenceDb !== undefined && opts.trimSilenceDb !== m.trimSilenceDb) {
      throw new UserError(
        `--trim-silence: the dataset ${dir} was made with ${m.trimSilenceDb === null ? 'off' : m.trimSilenceDb + 'dB'}; use that or another --out`,
      );
    }
    if (opts.val !== undefined && opts.val !== m.valFraction) {
      msg(`wavenet: note: --val ${opts.val} applies to new chunks only; existing chunks keep their split`);
      m.valFraction = opts.val;
    }
  } else {
    const rate = opts.rate ?? DEFAULT_RATE;
    const chunkSamples = Math.round((opts.chunkSeconds ?? DEFAULT_CHUNK_SECONDS) * rate);
    if (chunkSamples < 1) throw new UserError(`--chunk: shorter than one sample at ${rate} Hz`);
    m = emptyManifest({
      sampleRate: rate,
      mu: MU,
      chunkSamples,
      valFraction: opts.val ?? DEFAULT_VAL,
      trimSilenceDb: opts.trimSilenceDb ?? null,
    });
  }
  if (!Number.isInteger(m.sampleRate) || m.sampleRate < 1000 || m.sampleRate > 384000) {
    throw new UserError(`--rate ${m.sampleRate}: expected an integer sample rate between 1000 and 384000 Hz`);
  }
  if (!(m.valFraction >= 0 && m.valFraction <= 1))
    throw new UserError(`--val ${m.valFraction}: expected a fraction between 0 and 1`);
  return { m, existed };
}

/** The manifest as this run found it: what the final one is composed on and compared with. */
interface ManifestBefore {
  existed: boolean;
  rejected: string;
  valFraction: number;
  sources: number;
  chunks: ManifestChunk[];
}

/** The inputs (expanded; the unusable ones rejected at once) and everything the decode pool needs. */
function planRun(opts: IngestOptions, dir: string, m: Manifest, msg: (l: string) => void, t0: number): PoolRun {
  const rejected: ManifestRejected[] = [];
  const candidates = expandInputs(opts.inputs, dir, rejected);
  for (const r of rejected) msg(`wavenet: rejected ${r.path}: ${r.reason}`);
  const ff = findFfmpeg();
  const run: PoolRun = {
    candidates,
    chunksDir: join(dir, CHUNKS_DIR),
    rate: m.sampleRate,
    layout: {
      chunkSamples: m.chunkSamples,
      minTail: m.sampleRate,
      mu: m.mu,
      threshold: m.trimSilenceDb === null ? null : 10 ** (m.trimSilenceDb / 20),
    },
    trimSilenceDb: m.trimSilenceDb,
    ff,
    jobs: Math.max(1, Math.floor(opts.jobs ?? availableParallelism())),
    batch: ff !== null && (opts.batch ?? !isStaticElf(ff)) && batchSupported(),
    known: new Map(m.sources.map((s) => [s.sha256, s.path])),
    skipped: [],
    added: [],
    rejected,
    filesDone: 0,
    decodedSamples: 0,
    beforeChunkWrite: opts.beforeChunkWrite,
    msg,
    report: () =>
      opts.onProgress?.({
        filesDone: run.filesDone,
        filesTotal: candidates.length,
        audioSeconds: run.decodedSamples / m.sampleRate,
        elapsedSeconds: (Date.now() - t0) / 1000,
      }),
    afterFile: () => undefined,
  };
  return run;
}

/**
 * Merge what is done so far into the manifest. Sources are appended in completion order while running;
 * the final one orders this run's sources by input order and its rejections by path.
 */
function composeManifest(m: Manifest, before: ManifestBefore, run: PoolRun, final: boolean): void {
  const list = final ? run.added.slice().sort((a, b) => a.order - b.order) : run.added;
  m.sources = m.sources.slice(0, before.sources);
  m.chunks = before.chunks.slice();
  for (const a of list) {
    const si = m.sources.length;
    m.sources.push(a.source);
    for (const c of a.chunks) {
      m.chunks.push({
        file: c.file,
        source: si,
        offset: c.offset,
        samples: c.samples,
        split: 'train',
      } satisfies ManifestChunk);
    }
  }
  const processed = new Set(run.candidates.map((c) => c.path));
  for (const r of run.rejected) processed.add(r.path);
  const keep = m.rejected.filter((r) => !processed.has(r.path));
  m.rejected = [
    ...keep,
    ...(final ? run.rejected.slice().sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) : run.rejected),
  ];
  assignSplits(m, before.chunks.length);
  ensureSplits(m);
}

/** The final manifest (when anything changed) and the run's figures. */
function commitRun(dir: string, m: Manifest, before: ManifestBefore, run: PoolRun, t0: number): IngestResult {
  composeManifest(m, before, run, true);
  fsyncDir(run.chunksDir);
  const entropyChanged = recordValEntropy(dir, m);
  const changed =
    entropyChanged ||
    run.added.length > 0 ||
    JSON.stringify(m.rejected) !== before.rejected ||
    !before.existed ||
    m.valFraction !== before.valFraction;
  const empty = !before.existed && m.sources.length === 0; // nothing to keep: the folder is removed
  if (changed && !empty) {
    m.updated = new Date().toISOString();
    writeManifest(dir, m);
  }
  const wall = (Date.now() - t0) / 1000;
  const audioSeconds = run.decodedSamples / run.rate;
  const cpu = process.cpuUsage();
  return {
    summary: summarize(dir, m, empty ? '' : undefined),
    run: {
      added: run.added.length,
      skipped: run.skipped,
      rejected: run.rejected,
      chunksAdded: run.added.reduce((a, x) => a + x.chunks.length, 0),
      audioSeconds,
      wallSeconds: wall,
      speed: wall > 0 ? audioSeconds / wall : 0,
      jobs: run.jobs,
      decoder: run.ff ? `ffmpeg (${run.ff.path})` : 'built-in WAV reader (no ffmpeg)',
      maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      ffmpegProcesses: 0,
    },
    ingestedAny: run.added.length + run.skipped.length > 0,
  };
}

/** Default --out for the inputs: datasets/<name of the first input> (a file's name without its extension). */
export function defaultOut(inputs: string[]): string {
  const first = resolve(inputs[0] ?? 'audio');
  let name = basename(first);
  try {
    if (statSync(first).isFile() && extname(name)) name = name.slice(0, -extname(name).length);
  } catch {
    /* missing: rejected later; keep the name */
  }
  return join('datasets', name || 'audio');
}
