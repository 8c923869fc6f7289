/**
 * Atomic file writes: write a temporary file beside the target, fsync it, rename it over the target,
 * fsync the folder. A reader (or a process killed with -9 at any moment) sees either the old file or
 * the complete new one, never a partial file. Leftover temporaries are named `.NAME.tmp-PID-RANDOM`
 * (see isAtomicTemp) and can be removed by whoever owns the folder.
 */
import { promises as fsp, openSync, writeSync, fsyncSync, closeSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ioError } from './io-errors.js';

export type AtomicData = string | Uint8Array | readonly Uint8Array[];

export interface AtomicOptions {
  /** Test hook: called after about half of the bytes reached the temporary file (before fsync and rename). */
  onPartial?: () => void | Promise<void>;
  /** File mode of the new file (default 0o644). */
  mode?: number;
}

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** True for a temporary file left by an interrupted atomic write. */
export function isAtomicTemp(name: string): boolean {
  return /^\..+\.tmp-\d+-[0-9a-f]{8}$/.test(name);
}

function parts(data: AtomicData): Uint8Array[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  if (data instanceof Uint8Array) return [data];
  return [...data];
}

async function fsyncDir(dir: string): Promise<void> {
  let h: fsp.FileHandle | undefined;
  try {
    h = await fsp.open(dir, 'r');
    await h.sync();
  } catch {
    // some platforms and file systems cannot fsync a folder; the rename is still atomic there
  } finally {
    await h?.close().catch(() => {});
  }
}

/**
 * Writes `data` to `path` atomically (temp file, fsync, rename, fsync folder). A file-system error
 * (disk full, permission, name too long, a folder in the way) is a UserError naming `path`, and for a
 * full disk how much was needed; the temporary file is removed and the old file stays.
 */
export async function writeFileAtomic(path: string, data: AtomicData, opts: AtomicOptions = {}): Promise<void> {
  const list = parts(data);
  const total = list.reduce((a, b) => a + b.byteLength, 0);
  try {
    await writeFileAtomicRaw(path, list, total, opts);
  } catch (e) {
    throw ioError(e, path, 'write', '', { needed: total });
  }
}

async function writeFileAtomicRaw(path: string, list: Uint8Array[], total: number, opts: AtomicOptions): Promise<void> {
  const tmp = tempPath(path);
  const h = await fsp.open(tmp, 'wx', opts.mode ?? 0o644);
  let ok = false;
  try {
    let written = 0;
    let hooked = !opts.onPartial;
    for (const p of list) {
      let off = 0;
      while (off < p.byteLength) {
        let n = p.byteLength - off;
        if (!hooked) n = Math.max(1, Math.min(n, Math.floor(total / 2) - written));
        const r = await h.write(p, off, n);
        off += r.bytesWritten;
        written += r.bytesWritten;
        if (!hooked && written >= Math.floor(total / 2)) {
          hooked = true;
          await opts.onPartial!();
        }
      }
    }
    await h.sync();
    await h.close();
    await fsp.rename(tmp, path);
    ok = true;
  } finally {
    if (!ok) {
      await h.close().catch(() => {});
      await fsp.unlink(tmp).catch(() => {});
    }
  }
  await fsyncDir(dirname(path));
}

/** The same, synchronously (for small files written at exit). */
export function writeFileAtomicSync(path: string, data: AtomicData, mode = 0o644): void {
  try {
    writeFileAtomicSyncRaw(path, data, mode);
  } catch (e) {
    throw ioError(e, path, 'write', '', { needed: parts(data).reduce((a, b) => a + b.byteLength, 0) });
  }
}

function writeFileAtomicSyncRaw(path: string, data: AtomicData, mode: number): void {
  const tmp = tempPath(path);
  const fd = openSync(tmp, 'wx', mode);
  let ok = false;
  try {
    for (const p of parts(data)) {
      let off = 0;
      while (off < p.byteLength) off += writeSync(fd, p, off, p.byteLength - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    ok = true;
  } finally {
    if (!ok) {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
      try {
        unlinkSync(tmp);
      } catch {
        /* already gone */
      }
    }
  }
  fsyncDirSync(dirname(path));
}

/** fsync a folder so that a rename in it is durable (best effort: not every file system allows it). */
export function fsyncDirSync(dir: string): void {
  try {
    const d = openSync(dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    /* see fsyncDir */
  }
}

/**
 * Streaming variant: write pieces as they come, then `commit()` (fsync + rename + fsync folder) or
 * `abort()` (remove the temporary file). Until commit the target is untouched.
 */
export interface AtomicWriter {
  readonly tempPath: string;
  write(chunk: Uint8Array | string): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export async function createAtomicWriter(path: string, mode = 0o644): Promise<AtomicWriter> {
  const tmp = tempPath(path);
  const h = await fsp.open(tmp, 'wx', mode);
  let done = false;
  return {
    tempPath: tmp,
    async write(chunk) {
      if (done) throw new Error(`atomic write of ${path}: already finished`);
      const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      let off = 0;
      while (off < b.byteLength) off += (await h.write(b, off, b.byteLength - off)).bytesWritten;
    },
    async commit() {
      if (done) throw new Error(`atomic write of ${path}: already finished`);
      done = true;
      try {
        await h.sync();
        await h.close();
        await fsp.rename(tmp, path);
      } catch (e) {
        await h.close().catch(() => {});
        await fsp.unlink(tmp).catch(() => {});
        throw e;
      }
      await fsyncDir(dirname(path));
    },
    async abort() {
      if (done) return;
      done = true;
      await h.close().catch(() => {});
      await fsp.unlink(tmp).catch(() => {});
    },
  };
}
