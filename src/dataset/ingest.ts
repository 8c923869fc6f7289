/**
 * The ingest pipeline: inputs (files, folders) -> decoded mono at the dataset rate -> optional silence
 * trim -> mu-law -> chunk files + manifest. See datasets/README.md for the format and the rules
 * (idempotence, appending, crash safety, the split, rejected inputs).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { kindOf, openRegular } from '../util/files.js';
import { ioError, makeDirs } from '../util/io-errors.js';
import { open, rename, unlink } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { AudioDecoder, DecodeError, fsReason } from '../audio/decode.js';
import { closeFfmpegLauncher, findFfmpeg } from '../audio/ffmpeg.js';
import { MU } from '../audio/mulaw.js';
import { UserError, messageOf } from '../util/errors.js';
import {
  CHUNKS_DIR, MANIFEST_FILE, emptyManifest, fsyncDir, manifestPath, readManifest, writeManifest,
  type Manifest, type ManifestChunk, type ManifestRejected, type ManifestSource,
} from './manifest.js';
import { recordValEntropy } from './entropy.js';
import { summarize, type DatasetSummary } from './summary.js';
import { mulawEncodeFast } from './mulaw-table.js';
import { takePidLock } from '../util/lock.js';
import { assignSplits, splitKey } from './split.js';

export const DEFAULT_RATE = 16000;
export const DEFAULT_CHUNK_SECONDS = 16;
export const DEFAULT_VAL = 0.1;

/** Files in folders with these extensions are companions of audio, not audio: skipped silently. */
export const SKIPPED_EXTENSIONS = new Set([
  '.txt', '.md', '.json', '.jpg', '.jpeg', '.png', '.gif', '.bmp', '.webp', '.pdf', '.cue', '.nfo', '.log',
  '.m3u', '.m3u8', '.pls', '.db', '.ini', '.xml', '.html', '.htm', '.csv', '.yaml', '.yml', '.sfk', '.pk',
  '.asd', '.reapeaks', '.lrc', '.sha256', '.md5', '.sfv', '.torrent', '.zip', '.gz', '.tar', '.7z',
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
  onLocked?: (release: () => void, dir: string) => (() => void) | void;
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
    keys.forEach((k, i) => { if (k < keys[best]) best = i; });
    m.chunks[best].split = 'val';
    changed = true;
  }
  if (m.valFraction < 1 && !m.chunks.some((c) => c.split === 'train')) {
    let best = 0;
    keys.forEach((k, i) => { if (k > keys[best]) best = i; });
    m.chunks[best].split = 'train';
    changed = true;
  }
  return changed;
}

/** sha256 of an input; a FIFO, device or folder is refused before reading (a FIFO would block). */
async function sha256File(path: string): Promise<string> {
  const { fd } = openRegular(path, { what: '' });
  const h = createHash('sha256');
  for await (const b of createReadStream('', { fd, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) h.update(b);
  return h.digest('hex');
}

interface Candidate {
  path: string; // absolute
  order: number;
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
    throw new UserError(`--out ${dir}: folder exists, is not empty and holds no ${MANIFEST_FILE} (not a dataset); choose another --out`);
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
    throw new UserError(`--out ${dir}: ${CHUNKS_DIR} is a symbolic link; a dataset's chunks must be a real folder inside it (replace the link by the folder it points to)`);
  }
  if (!st.isDirectory()) throw new UserError(`--out ${dir}: ${CHUNKS_DIR} is ${kindOf(st)}, expected the dataset's chunk folder`);
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
  return takePidLock(join(dir, LOCK_FILE), (pid) => `${dir}: another wavenet ingest (pid ${pid}) is writing this dataset; wait for it or stop it`);
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
      try { unlinkSync(join(dir, f)); } catch { /* gone */ }
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

/** Writes one source's samples as chunk files (temp name, fsync, rename). */
class ChunkWriter {
  readonly chunks: { file: string; offset: number; samples: number }[] = [];
  private buf: Uint8Array;
  private fill = 0;
  private written = 0; // samples in finished chunks
  private pending: Promise<void>[] = [];

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly chunkSamples: number,
    private readonly minTail: number,
    private readonly hooks: { before?: (file: string) => void; aborted?: () => Error | undefined } = {},
  ) {
    this.buf = new Uint8Array(chunkSamples);
  }

  async push(q: Uint8Array): Promise<void> {
    let o = 0;
    while (o < q.length) {
      const n = Math.min(q.length - o, this.chunkSamples - this.fill);
      this.buf.set(q.subarray(o, o + n), this.fill);
      this.fill += n;
      o += n;
      if (this.fill === this.chunkSamples) await this.emit();
    }
  }

  /** Encode float samples straight into the chunk buffer (no intermediate array). */
  async pushFloat(x: Float32Array, mu: number): Promise<void> {
    let o = 0;
    while (o < x.length) {
      const n = Math.min(x.length - o, this.chunkSamples - this.fill);
      mulawEncodeFast(x.subarray(o, o + n), mu, this.buf.subarray(this.fill, this.fill + n));
      this.fill += n;
      o += n;
      if (this.fill === this.chunkSamples) await this.emit();
    }
  }

  /** Write the remainder when it may be a chunk: >= minTail samples, or the whole source. */
  async finish(): Promise<void> {
    if (this.fill > 0 && (this.fill >= this.minTail || this.chunks.length === 0)) await this.emit();
    await Promise.all(this.pending);
  }

  /** The samples at the end that were dropped (a tail shorter than minTail). */
  get droppedTail(): number {
    return this.fill;
  }

  private async emit(): Promise<void> {
    const stop = this.hooks.aborted?.();
    if (stop) throw stop; // another worker failed: stop writing
    const idx = this.chunks.length;
    const file = `${this.prefix}-${String(idx).padStart(5, '0')}.mulaw`;
    const data = this.fill === this.buf.length ? this.buf : this.buf.slice(0, this.fill);
    if (data === this.buf) this.buf = new Uint8Array(this.chunkSamples); // hand the full buffer to the write
    this.chunks.push({ file, offset: this.written, samples: this.fill });
    this.written += this.fill;
    this.fill = 0;
    const target = join(this.dir, file);
    const tmp = `${target}.tmp`;
    const job = (async () => {
      try {
        this.hooks.before?.(file);
        const fh = await open(tmp, 'w');
        try {
          await fh.writeFile(data);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, target);
      } catch (e) {
        // the dataset itself cannot be written (disk full, permissions): stop, do not blame the input
        await unlink(tmp).catch(() => undefined);
        throw ioError(e, target, 'write', '', { needed: data.byteLength });
      }
    })();
    job.catch(() => undefined); // awaited below or in finish()/discard()
    this.pending.push(job);
    if (this.pending.length >= 4) {
      // bound the memory held by writes in flight
      await Promise.all(this.pending);
      this.pending = [];
    }
  }

  async discard(): Promise<void> {
    await Promise.allSettled(this.pending);
    for (const c of this.chunks) {
      await unlink(join(this.dir, c.file)).catch(() => undefined);
      await unlink(join(this.dir, c.file + '.tmp')).catch(() => undefined);
    }
  }
}

/** Leading/trailing silence trimmer over mu-law blocks; holds only the quiet run after the last loud sample. */
class SilenceTrimmer {
  private started = false;
  private quiet: Uint8Array[] = [];
  constructor(private readonly threshold: number) {}

  /** Returns the bytes that can be written now. */
  process(x: Float32Array, q: Uint8Array): Uint8Array[] {
    const t = this.threshold;
    let first = 0;
    if (!this.started) {
      while (first < x.length && Math.abs(x[first]) < t) first++;
      if (first === x.length) return [];
      this.started = true;
    }
    let last = x.length - 1;
    while (last >= first && Math.abs(x[last]) < t) last--;
    if (last < first) {
      this.quiet.push(q.slice(first));
      return [];
    }
    const out = this.quiet;
    this.quiet = [];
    out.push(q.subarray(first, last + 1));
    if (last + 1 < x.length) this.quiet.push(q.slice(last + 1));
    return out;
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
    try { unlinkSync(join(dir, f)); } catch { /* absent */ }
  }
  try { rmdirSync(join(dir, CHUNKS_DIR)); } catch { /* not empty: something else is there, keep it */ }
  try { rmdirSync(dir); } catch { /* idem */ }
}

async function ingestLocked(opts: IngestOptions, dir: string, t0: number): Promise<IngestResult> {
  const msg = opts.onMessage ?? ((l: string) => process.stderr.write(l + '\n'));
  let m: Manifest;
  const existed = existsSync(manifestPath(dir));
  if (existed) {
    m = readManifest(dir);
    if (opts.rate !== undefined && opts.rate !== m.sampleRate) {
      throw new UserError(`--rate ${opts.rate}: the dataset ${dir} is at ${m.sampleRate} Hz; use that rate or another --out`);
    }
    if (opts.chunkSeconds !== undefined && Math.round(opts.chunkSeconds * m.sampleRate) !== m.chunkSamples) {
      throw new UserError(`--chunk: the dataset ${dir} uses chunks of ${m.chunkSamples / m.sampleRate} s; use that or another --out`);
    }
    if (opts.trimSilenceDb !== undefined && opts.trimSilenceDb !== m.trimSilenceDb) {
      throw new UserError(`--trim-silence: the dataset ${dir} was made with ${m.trimSilenceDb === null ? 'off' : m.trimSilenceDb + 'dB'}; use that or another --out`);
    }
    if (opts.val !== undefined && opts.val !== m.valFraction) {
      msg(`wavenet: note: --val ${opts.val} applies to new chunks only; existing chunks keep their split`);
      m.valFraction = opts.val;
    }
  } else {
    const rate = opts.rate ?? DEFAULT_RATE;
    const chunkSamples = Math.round((opts.chunkSeconds ?? DEFAULT_CHUNK_SECONDS) * rate);
    if (chunkSamples < 1) throw new UserError(`--chunk: shorter than one sample at ${rate} Hz`);
    m = emptyManifest({ sampleRate: rate, mu: MU, chunkSamples, valFraction: opts.val ?? DEFAULT_VAL, trimSilenceDb: opts.trimSilenceDb ?? null });
  }
  if (!Number.isInteger(m.sampleRate) || m.sampleRate < 1000 || m.sampleRate > 384000) {
    throw new UserError(`--rate ${m.sampleRate}: expected an integer sample rate between 1000 and 384000 Hz`);
  }
  if (!(m.valFraction >= 0 && m.valFraction <= 1)) throw new UserError(`--val ${m.valFraction}: expected a fraction between 0 and 1`);
  const rejectedBefore = JSON.stringify(m.rejected);
  const valBefore = m.valFraction;
  cleanLeftovers(dir, m);

  const runRejected: ManifestRejected[] = [];
  const candidates = expandInputs(opts.inputs, dir, runRejected);
  const ff = findFfmpeg();
  const jobs = Math.max(1, Math.floor(opts.jobs ?? availableParallelism()));
  const rate = m.sampleRate;
  const chunksDir = join(dir, CHUNKS_DIR);
  const threshold = m.trimSilenceDb === null ? null : 10 ** (m.trimSilenceDb / 20);
  const mulaw = (x: Float32Array) => mulawEncodeFast(x, m.mu);

  const known = new Map<string, string>(m.sources.map((s) => [s.sha256, s.path]));
  const skipped: { path: string; sameAs: string }[] = [];
  const added: { order: number; source: ManifestSource; chunks: { file: string; offset: number; samples: number }[] }[] = [];
  let filesDone = 0;
  let decodedSamples = 0;
  const report = () =>
    opts.onProgress?.({ filesDone, filesTotal: candidates.length, audioSeconds: decodedSamples / rate, elapsedSeconds: (Date.now() - t0) / 1000 });

  for (const r of runRejected) msg(`wavenet: rejected ${r.path}: ${r.reason}`);

  // Merge what is done so far into the manifest and write it (atomically). Sources are appended in
  // completion order while running; the final write orders this run's sources by input order.
  const baseSources = m.sources.length;
  const baseChunks = m.chunks.slice();
  const compose = (final: boolean) => {
    const list = final ? added.slice().sort((a, b) => a.order - b.order) : added;
    m.sources = m.sources.slice(0, baseSources);
    m.chunks = baseChunks.slice();
    for (const a of list) {
      const si = m.sources.length;
      m.sources.push(a.source);
      for (const c of a.chunks) {
        m.chunks.push({
          file: c.file, source: si, offset: c.offset, samples: c.samples, split: 'train',
        } satisfies ManifestChunk);
      }
    }
    const processed = new Set(candidates.map((c) => c.path));
    for (const r of runRejected) processed.add(r.path);
    const keep = m.rejected.filter((r) => !processed.has(r.path));
    m.rejected = [...keep, ...(final ? runRejected.slice().sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) : runRejected)];
    assignSplits(m, baseChunks.length);
    ensureSplits(m);
  };
  let lastWrite = Date.now();
  const maybeWrite = () => {
    if (Date.now() - lastWrite < 2000) return;
    compose(false);
    m.updated = new Date().toISOString();
    fsyncDir(chunksDir);
    writeManifest(dir, m);
    lastWrite = Date.now();
  };

  let failure: Error | undefined;
  const one = async (cand: Candidate) => {
    const path = cand.path;
    let sha: string;
    try {
      sha = await sha256File(path);
    } catch (e) {
      // an errno (missing, permission) in the words of the other rejections; a FIFO or device by its kind
      const coded = (e as NodeJS.ErrnoException).code !== undefined;
      return reject(path, e instanceof UserError && !coded ? e.message.replace(`${path}: `, '') : fsReason(e));
    }
    const same = known.get(sha);
    if (same !== undefined) {
      skipped.push({ path, sameAs: same });
      // another path with content already ingested: recorded, so every input is in sources or rejected
      if (same !== path) return reject(path, `duplicate: same content as ${same}`, true);
      return;
    }
    known.set(sha, path); // claim it, so identical files in this run are decoded once
    const writer = new ChunkWriter(chunksDir, sha.slice(0, 16), m.chunkSamples, rate, {
      before: opts.beforeChunkWrite,
      aborted: () => failure,
    });
    const trimmer = threshold === null ? null : new SilenceTrimmer(threshold);
    const dec = new AudioDecoder(path, { rate, ffmpeg: ff });
    try {
      for await (const block of dec) {
        decodedSamples += block.length;
        if (trimmer) {
          for (const part of trimmer.process(block, mulaw(block))) await writer.push(part);
        } else {
          await writer.pushFloat(block, m.mu);
        }
        report();
      }
      await writer.finish();
      if (writer.chunks.length === 0) {
        await writer.discard();
        known.delete(sha);
        return reject(path, `silent: no sample reaches the --trim-silence level ${m.trimSilenceDb} dB`);
      }
      const info = dec.info!;
      added.push({
        order: cand.order,
        source: {
          path, sha256: sha, durationSeconds: dec.samples / rate, sampleRate: info.sampleRate, channels: info.channels, codec: info.codec,
        },
        chunks: writer.chunks,
      });
    } catch (e) {
      await writer.discard();
      known.delete(sha);
      if (e instanceof DecodeError) return reject(path, e.reason);
      if (e instanceof UserError) throw e;
      return reject(path, `decoding failed: ${messageOf(e)}`);
    }
  };
  const reject = (path: string, reason: string, quiet = false) => {
    runRejected.push({ path, reason });
    if (!quiet) msg(`wavenet: rejected ${path}: ${reason}`);
  };

  let next = 0;
  const worker = async () => {
    while (next < candidates.length && !failure) {
      const cand = candidates[next++];
      try {
        await one(cand);
      } catch (e) {
        failure ??= e as Error; // the others stop at their next chunk
        return;
      }
      filesDone++;
      report();
      maybeWrite();
    }
  };
  report();
  await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, candidates.length)) }, worker));
  if (failure) {
    // The dataset could not be written (disk full, ...): every worker has stopped; remove the chunk
    // files no complete manifest lists, so nothing partial stays behind, and report the first error.
    const listed = listedOnDisk(dir);
    if (listed) removeUnlistedChunks(dir, listed);
    throw failure;
  }

  compose(true);
  fsyncDir(chunksDir);
  const entropyChanged = recordValEntropy(dir, m);
  const changed = entropyChanged || added.length > 0 || JSON.stringify(m.rejected) !== rejectedBefore || !existed || m.valFraction !== valBefore;
  const empty = !existed && m.sources.length === 0; // nothing to keep: the folder is removed
  if (changed && !empty) {
    m.updated = new Date().toISOString();
    writeManifest(dir, m);
  }
  const wall = (Date.now() - t0) / 1000;
  const audioSeconds = decodedSamples / rate;
  const inSources = added.length + skipped.length;
  return {
    summary: summarize(dir, m, empty ? '' : undefined),
    run: {
      added: added.length,
      skipped,
      rejected: runRejected,
      chunksAdded: added.reduce((a, x) => a + x.chunks.length, 0),
      audioSeconds,
      wallSeconds: wall,
      speed: wall > 0 ? audioSeconds / wall : 0,
      jobs,
      decoder: ff ? `ffmpeg (${ff.path})` : 'built-in WAV reader (no ffmpeg)',
      maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    },
    ingestedAny: inSources > 0,
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
