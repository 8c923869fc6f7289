/**
 * Reading the files the program is given, safely (docs/reliability.md, "Inputs").
 *
 * Every file wavenet reads goes through openRegular: it opens with O_NONBLOCK (so a FIFO cannot block
 * the open), checks with fstat on the open descriptor (so a symlink swapped in between cannot slip
 * through) that it is a regular file, and that its size is within a bound that fits its format before
 * a single byte is read. A symlink to /dev/zero, /dev/urandom, a FIFO, a socket or a folder is refused
 * with one line naming the file; so is a 10 GB "manifest".
 *
 *   const buf = readRegularFile(path, { what: 'checkpoint', maxBytes: MAX_CHECKPOINT_BYTES });
 *   checkRegularFile(prime, { what: '--prime' });     // type and size only, for files another reader opens
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open as openAsync } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { UserError } from './errors.js';
import { formatBytes, ioErrorMessage } from './io-errors.js';

export { formatBytes };

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

export interface RegularFileOptions {
  /** How the file is named in messages, e.g. `--model`, `checkpoint`, `job file` (the path follows). */
  what: string;
  /** Largest size accepted (default: no bound beyond the type check). */
  maxBytes?: number;
  /** Refuse an empty file (default false). */
  nonEmpty?: boolean;
}

/** What kind of file system object a Stats is, in words. */
export function kindOf(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function label(path: string, o: RegularFileOptions): string {
  return o.what ? `${o.what} ${path}` : path;
}

function checkStats(st: Stats, path: string, o: RegularFileOptions): number {
  if (!st.isFile()) {
    throw new UserError(`${label(path, o)}: is ${kindOf(st)}, expected a regular file`);
  }
  if (o.maxBytes !== undefined && st.size > o.maxBytes) {
    throw new UserError(
      `${label(path, o)}: ${formatBytes(st.size)} is more than such a file can be (at most ${formatBytes(o.maxBytes)})`,
    );
  }
  if (o.nonEmpty && st.size === 0) throw new UserError(`${label(path, o)}: empty file (0 bytes)`);
  return st.size;
}

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** The one-line error for a failed open or read; it keeps the errno `code` for callers that word it themselves. */
function openError(e: unknown, path: string, o: RegularFileOptions): UserError {
  const err = new UserError(ioErrorMessage(e, path, 'read', o.what));
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code ? Object.assign(err, { code }) : err;
}

/** Opens `path` for reading after the checks above; returns the descriptor and the size. Close it. */
export function openRegular(path: string, o: RegularFileOptions): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    throw openError(e, path, o);
  }
  try {
    return { fd, size: checkStats(fstatSync(fd), path, o) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Checks type and size only (for files that another reader, e.g. ffmpeg, will open). Returns the size. */
export function checkRegularFile(path: string, o: RegularFileOptions): number {
  const { fd, size } = openRegular(path, o);
  closeSync(fd);
  return size;
}

/** Reads a whole regular file of at most `maxBytes` bytes. */
export function readRegularFile(path: string, o: RegularFileOptions): Buffer {
  const { fd, size } = openRegular(path, o);
  try {
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      let n: number;
      try {
        n = readSync(fd, buf, got, size - got, got);
      } catch (e) {
        throw openError(e, path, o);
      }
      if (n === 0) break; // shrank while reading: the parser will see a short file
      got += n;
    }
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** readRegularFile as UTF-8 text. */
export function readRegularText(path: string, o: RegularFileOptions): string {
  return readRegularFile(path, o).toString('utf8');
}

/** Async variant of readRegularFile (for big files read while other work goes on). */
export async function readRegularFileAsync(path: string, o: RegularFileOptions): Promise<Buffer> {
  let h;
  try {
    h = await openAsync(path, OPEN_FLAGS);
  } catch (e) {
    throw openError(e, path, o);
  }
  try {
    const size = checkStats(await h.stat(), path, o);
    const buf = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      let n: number;
      try {
        n = (await h.read(buf, got, size - got, got)).bytesRead;
      } catch (e) {
        throw openError(e, path, o);
      }
      if (n === 0) break;
      got += n;
    }
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    await h.close();
  }
}

/** sha256 (hex) of a regular file, read in 1 MiB pieces (constant memory for any size). */
export function sha256RegularFile(path: string, o: RegularFileOptions): string {
  const { fd, size } = openRegular(path, o);
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(Math.min(size, MiB) || 1);
    let pos = 0;
    while (pos < size) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      } catch (e) {
        throw openError(e, path, o);
      }
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
    return h.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/** Size bounds that fit each format (docs/reliability.md, "Limits"). */
export const LIMITS = {
  /** A checkpoint of the largest config the limits allow is ~1.3 GB (src/model/config.ts). */
  checkpointBytes: 4 * GiB,
  /** JSON documents: manifest.json of a dataset of ~100,000 chunks is ~20 MB. */
  manifestBytes: 256 * MiB,
  jobFileBytes: 16 * MiB,
  runConfigBytes: 16 * MiB,
  renderIndexBytes: 256 * MiB,
  /** log.jsonl: one ~200-byte line per logged step. */
  logBytes: 1 * GiB,
  /** Audio inputs (primes, ingest sources): any size; decoders stream them. */
  audioBytes: Number.MAX_SAFE_INTEGER,
  /** A WAV the program wrote itself and reads back whole (render contact sheet): 4 GiB RIFF limit. */
  wavBytes: 4 * GiB,
} as const;
