/**
 * Where ingest puts one source's samples: mu-law chunk files written crash-safely (temp name, fsync,
 * rename), with optional trimming of leading and trailing silence.
 */
import { closeSync, fsync, openSync, renameSync, writeSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ioError } from '../util/io-errors.js';
import { mulawEncodeFast } from './mulaw-table.js';

/** Writes one source's samples as chunk files (temp name, fsync, rename). */
export class ChunkWriter {
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
        // open, write (into the page cache), close and rename are quick and done here; only the fsync
        // waits on the disk, in the thread pool (five thread-pool round trips per chunk cost more main-
        // thread time than the calls themselves)
        const fd = openSync(tmp, 'w');
        try {
          for (let o = 0; o < data.byteLength; ) o += writeSync(fd, data, o, data.byteLength - o);
          await new Promise<void>((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())));
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, target);
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
export class SilenceTrimmer {
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

/** One source's samples on their way to chunk files: silence trimming (when asked), mu-law, chunks. */
export class SourceSink {
  readonly writer: ChunkWriter;
  private readonly trimmer: SilenceTrimmer | null;

  constructor(
    dir: string,
    prefix: string,
    layout: { chunkSamples: number; minTail: number; mu: number; threshold: number | null },
    hooks: { before?: (file: string) => void; aborted?: () => Error | undefined },
  ) {
    this.writer = new ChunkWriter(dir, prefix, layout.chunkSamples, layout.minTail, hooks);
    this.trimmer = layout.threshold === null ? null : new SilenceTrimmer(layout.threshold);
    this.mu = layout.mu;
  }

  private readonly mu: number;

  async push(block: Float32Array): Promise<void> {
    if (!this.trimmer) return this.writer.pushFloat(block, this.mu);
    for (const part of this.trimmer.process(block, mulawEncodeFast(block, this.mu))) await this.writer.push(part);
  }
}
