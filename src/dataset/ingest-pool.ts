/**
 * The decode pool of ingest: `jobs` workers take groups of inputs in order, hash each (content already
 * in the dataset is skipped), decode the new ones (several files per ffmpeg process when they can, see
 * src/audio/decode-batch.ts) and write their chunk files. Sources land in `added`, rejected inputs in
 * `rejected`; the manifest is written by the caller (ingest.ts), which `afterFile` lets checkpoint.
 */
import { createHash } from 'node:crypto';
import { closeSync, read } from 'node:fs';
import { AudioDecoder, DecodeError, fsReason, type SourceInfo } from '../audio/decode.js';
import { startBatch } from '../audio/decode-batch.js';
import type { Ffmpeg } from '../audio/ffmpeg.js';
import { UserError, messageOf } from '../util/errors.js';
import { openRegular } from '../util/files.js';
import { SourceSink } from './chunk-writer.js';
import type { ManifestRejected, ManifestSource } from './manifest.js';

export interface Candidate {
  path: string; // absolute
  order: number;
}

export interface AddedSource {
  order: number;
  source: ManifestSource;
  chunks: { file: string; offset: number; samples: number }[];
}

/** What the workers share: the plan, the results so far, the running totals. */
export interface PoolRun {
  candidates: Candidate[];
  chunksDir: string;
  rate: number;
  layout: { chunkSamples: number; minTail: number; mu: number; threshold: number | null };
  trimSilenceDb: number | null;
  ff: Ffmpeg | null;
  jobs: number;
  /** Decode several files per ffmpeg process (turned off for the rest of the run if batches misbehave). */
  batch: boolean;
  /** sha256 -> path of every source in the dataset or claimed in this run. */
  known: Map<string, string>;
  skipped: { path: string; sameAs: string }[];
  added: AddedSource[];
  rejected: ManifestRejected[];
  filesDone: number;
  decodedSamples: number;
  /** The first error that stops the run (the dataset cannot be written); the workers stop. */
  failure?: Error;
  beforeChunkWrite?: (file: string) => void;
  msg: (line: string) => void;
  report: () => void;
  /** Called after each input is done (the caller checkpoints the manifest). */
  afterFile: () => void;
}

interface Claimed {
  cand: Candidate;
  sha: string;
}

/** Most files one ffmpeg process decodes. */
const MAX_BATCH = 16;

export async function runDecodePool(run: PoolRun): Promise<void> {
  let next = 0;
  // groups shrink as the queue empties (to pairs), so the workers finish close together
  const take = (): Candidate[] => {
    const left = run.candidates.length - next;
    const n = run.batch ? Math.max(Math.min(2, left), Math.min(MAX_BATCH, Math.ceil(left / (2 * run.jobs)))) : 1;
    next += n;
    return run.candidates.slice(next - n, next);
  };
  const worker = async () => {
    while (next < run.candidates.length && !run.failure) {
      try {
        await ingestGroup(run, take());
      } catch (e) {
        run.failure ??= e as Error; // the others stop at their next chunk
        return;
      }
    }
  };
  run.report();
  await Promise.all(Array.from({ length: Math.min(run.jobs, Math.max(1, run.candidates.length)) }, worker));
}

async function ingestGroup(run: PoolRun, group: Candidate[]): Promise<void> {
  const claimed: Claimed[] = [];
  for (const cand of group) {
    const sha = await claim(run, cand);
    if (sha) claimed.push({ cand, sha });
    else fileDone(run);
  }
  if (claimed.length >= 2 && run.batch && run.ff) {
    if (await decodeBatch(run, run.ff, claimed)) return;
    const rejectedBefore = run.rejected.length;
    for (const c of claimed) await decodeSingle(run, c);
    // every file decoded alone although the batch failed: batches do not work with this ffmpeg
    if (run.rejected.length === rejectedBefore) run.batch = false;
    return;
  }
  for (const c of claimed) await decodeSingle(run, c);
}

function fileDone(run: PoolRun): void {
  run.filesDone++;
  run.report();
  run.afterFile();
}

function reject(run: PoolRun, path: string, reason: string, quiet = false): void {
  run.rejected.push({ path, reason });
  if (!quiet) run.msg(`wavenet: rejected ${path}: ${reason}`);
}

/** Hash an input; its sha256 when it is new content (claimed, so identical files are decoded once), else null. */
async function claim(run: PoolRun, cand: Candidate): Promise<string | null> {
  const path = cand.path;
  let sha: string;
  try {
    sha = await sha256File(path);
  } catch (e) {
    // an errno (missing, permission) in the words of the other rejections; a FIFO or device by its kind
    const coded = (e as NodeJS.ErrnoException).code !== undefined;
    reject(run, path, e instanceof UserError && !coded ? e.message.replace(`${path}: `, '') : fsReason(e));
    return null;
  }
  const same = run.known.get(sha);
  if (same !== undefined) {
    run.skipped.push({ path, sameAs: same });
    // another path with content already ingested: recorded, so every input is in sources or rejected
    if (same !== path) reject(run, path, `duplicate: same content as ${same}`, true);
    return null;
  }
  run.known.set(sha, path);
  return sha;
}

/** Read buffers for hashing, reused (a fresh buffer per file costs a copy and page faults). */
const hashBuffers: Buffer[] = [];

/** sha256 of an input; a FIFO, device or folder is refused before reading (a FIFO would block). */
async function sha256File(path: string): Promise<string> {
  const { fd } = openRegular(path, { what: '' });
  const buf = hashBuffers.pop() ?? Buffer.allocUnsafeSlow(1 << 20);
  try {
    const h = createHash('sha256');
    for (;;) {
      const n = await new Promise<number>((res, rej) =>
        read(fd, buf, 0, buf.length, null, (e, k) => (e ? rej(e) : res(k))),
      );
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
    return h.digest('hex');
  } finally {
    hashBuffers.push(buf);
    closeSync(fd);
  }
}

function newSink(run: PoolRun, sha: string): SourceSink {
  return new SourceSink(run.chunksDir, sha.slice(0, 16), run.layout, {
    before: run.beforeChunkWrite,
    aborted: () => run.failure,
  });
}

/** Decode blocks into a sink, counting them; returns the samples. */
async function drain(run: PoolRun, blocks: AsyncIterable<Float32Array>, sink: SourceSink): Promise<number> {
  let n = 0;
  for await (const block of blocks) {
    run.decodedSamples += block.length;
    n += block.length;
    await sink.push(block);
    run.report();
  }
  return n;
}

/** One file, one decoder (with its own verdict and reason on failure). */
async function decodeSingle(run: PoolRun, c: Claimed): Promise<void> {
  const sink = newSink(run, c.sha);
  const dec = new AudioDecoder(c.cand.path, { rate: run.rate, ffmpeg: run.ff });
  try {
    await drain(run, dec, sink);
    await finishSource(run, c, sink, dec.info!, dec.samples);
  } catch (e) {
    await sourceFailed(run, c, sink, e);
  }
  fileDone(run);
}

/**
 * The files of a group through one ffmpeg process. False when the batch did not complete cleanly:
 * nothing of it is kept, and the caller decodes each file alone.
 */
async function decodeBatch(run: PoolRun, ff: Ffmpeg, items: Claimed[]): Promise<boolean> {
  const b = await startBatch(
    ff,
    items.map((c) => c.cand.path),
    run.rate,
  ).catch(() => null);
  if (!b) return false;
  const sinks = items.map((c) => newSink(run, c.sha));
  // a consumer that fails stops reading its output: stop ffmpeg at once, or it would wait on it
  const settled = await Promise.allSettled(
    b.streams.map((s, i) =>
      drain(run, s, sinks[i]).catch((e) => {
        b.kill();
        throw e;
      }),
    ),
  );
  const ok = (await b.done) && settled.every((r) => r.status === 'fulfilled');
  if (!ok) {
    for (let i = 0; i < items.length; i++) {
      run.decodedSamples -= b.streams[i].samples; // decoded again alone
      await sinks[i].writer.discard();
    }
    // an error of ours (a chunk that cannot be written: disk full, permissions) ends the run as it
    // does for a file decoded alone; decoding the group again would only hide it
    const fatal = settled.find(
      (r): r is PromiseRejectedResult => r.status === 'rejected' && r.reason instanceof UserError,
    );
    if (fatal) throw fatal.reason;
    return false;
  }
  for (let i = 0; i < items.length; i++) {
    try {
      await finishSource(run, items[i], sinks[i], b.streams[i].info!, b.streams[i].samples);
    } catch (e) {
      await sourceFailed(run, items[i], sinks[i], e);
    }
    fileDone(run);
  }
  return true;
}

/** The last chunk of a decoded source, then the source itself (or a rejection when trimming left nothing). */
async function finishSource(
  run: PoolRun,
  c: Claimed,
  sink: SourceSink,
  info: SourceInfo,
  samples: number,
): Promise<void> {
  const path = c.cand.path;
  await sink.writer.finish();
  if (sink.writer.chunks.length === 0) {
    await sink.writer.discard();
    run.known.delete(c.sha);
    return reject(run, path, `silent: no sample reaches the --trim-silence level ${run.trimSilenceDb} dB`);
  }
  run.added.push({
    order: c.cand.order,
    source: {
      path,
      sha256: c.sha,
      durationSeconds: samples / run.rate,
      sampleRate: info.sampleRate,
      channels: info.channels,
      codec: info.codec,
    },
    chunks: sink.writer.chunks,
  });
}

/** A source that could not be decoded or written: its chunks are removed; a UserError stops the run. */
async function sourceFailed(run: PoolRun, c: Claimed, sink: SourceSink, e: unknown): Promise<void> {
  await sink.writer.discard();
  run.known.delete(c.sha);
  if (e instanceof DecodeError) return reject(run, c.cand.path, e.reason);
  if (e instanceof UserError) throw e;
  return reject(run, c.cand.path, `decoding failed: ${messageOf(e)}`);
}
