/**
 * A streaming mono WAV writer whose file is a valid WAV at every moment.
 *
 * The header is written first with zero data, and after every appended block the block is written
 * first and then the header's sizes (RIFF size, data size, and for float the `fact` sample count) are
 * rewritten in place to cover it. So whenever the process stops (Ctrl-C, kill -9, a crash) the file
 * on disk is a complete WAV of every block whose header update finished: at worst the last block is
 * left outside the declared data (trailing bytes that readers ignore). The file is written at its
 * final path from the start (no temporary name), precisely so an interrupted run keeps its audio.
 *
 * Formats: `s16` (PCM 16-bit, samples clamped to [-1, 1] and rounded; 44-byte header) or `f32`
 * (IEEE float 32-bit, WAVE_FORMAT_IEEE_FLOAT with an 18-byte fmt chunk and a fact chunk; 58 bytes).
 *
 * `encodeWav` builds a whole WAV in memory in the same formats, optionally with a `smpl` chunk that
 * marks a loop (so samplers loop a seamless texture without setup).
 */
import { closeSync, openSync, writeSync, fsyncSync, fstatSync, unlinkSync } from 'node:fs';
import { UserError } from '../util/errors.js';
import { ioError } from '../util/io-errors.js';

/** For tests: the write call (default fs.writeSync), so a disk-full write can be simulated. */
export interface WavWriterIo {
  writeSync?: (fd: number, buf: Uint8Array, off: number, len: number, pos: number) => number;
}

export type WavSampleFormat = 's16' | 'f32';

export class WavWriter {
  private fd: number | null;
  /** Sample frames written so far (and declared in the header). */
  frames = 0;
  private readonly bytesPerSample: number;
  private readonly headerBytes: number;

  /**
   * Creates (truncates) `path` and writes an empty WAV. Throws a UserError naming the path when it
   * cannot be created, so callers can check writability before any compute.
   */
  private readonly io: Required<WavWriterIo>;

  constructor(
    readonly path: string,
    readonly sampleRate: number,
    readonly format: WavSampleFormat = 's16',
    io: WavWriterIo = {},
  ) {
    this.io = { writeSync: io.writeSync ?? ((fd, b, o, l, p) => writeSync(fd, b, o, l, p)) };
    if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 1_000_000) {
      throw new UserError(`wav: sample rate ${sampleRate} must be a whole number from 1 to 1000000`);
    }
    this.bytesPerSample = format === 'f32' ? 4 : 2;
    if (format === 'f32') {
      this.headerBytes = 58;
    } else {
      this.headerBytes = 44;
    }
    try {
      this.fd = openSync(path, 'w');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why =
        err.code === 'ENOENT'
          ? 'its folder does not exist'
          : err.code === 'EACCES' || err.code === 'EPERM'
            ? 'permission denied'
            : err.code === 'EISDIR'
              ? 'it is a folder'
              : (err.message ?? String(e));
      throw new UserError(`${path}: cannot write the output file (${why})`);
    }
    try {
      this.writeHeader();
    } catch (e) {
      closeSync(this.fd);
      this.fd = null;
      try {
        unlinkSync(path);
      } catch {
        /* gone */
      }
      throw ioError(e, path, 'write', '', { needed: this.headerBytes });
    }
  }

  private header(): Buffer {
    return wavHeader(this.format, this.sampleRate, this.frames);
  }

  /** Most frames a WAV can hold (the 32-bit RIFF size). */
  get maxFrames(): number {
    return Math.floor((0xffffffff - this.headerBytes) / this.bytesPerSample);
  }

  /** Appends samples (floats in [-1, 1]), then updates the header to include them. */
  write(x: Float32Array): void {
    if (this.fd === null) throw new Error('WavWriter: write after close');
    if (x.length === 0) return;
    if (this.frames + x.length > this.maxFrames)
      throw new UserError(`${this.path}: a WAV file cannot hold more than ${this.maxFrames} samples`);
    let buf: Buffer;
    if (this.format === 'f32') {
      buf = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    } else {
      buf = Buffer.alloc(x.length * 2);
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        const c = v >= 1 ? 32767 : v <= -1 ? -32768 : Number.isNaN(v) ? 0 : Math.round(v * 32767);
        buf.writeInt16LE(c, i * 2); // c is in [-32768, 32767] by construction
      }
    }
    const start = this.headerBytes + this.frames * this.bytesPerSample;
    let done = 0;
    try {
      while (done < buf.length) done += this.put(buf, done, buf.length - done, start + done);
      this.frames += x.length;
      this.writeHeader();
    } catch (e) {
      this.recover(start + done);
      throw ioError(e, this.path, 'write', '', { needed: buf.length - done });
    }
  }

  private writeHeader(): void {
    const h = this.header();
    let done = 0;
    while (done < h.length) done += this.put(h, done, h.length - done, done);
  }

  /** One write call; a write that makes no progress is treated as a full disk (never loops). */
  private put(b: Buffer, off: number, len: number, pos: number): number {
    const n = this.io.writeSync(this.fd!, b, off, len, pos);
    if (!(n > 0)) throw Object.assign(new Error('no progress writing'), { code: 'ENOSPC' });
    return n;
  }

  /**
   * After a failed write (disk full, I/O error): the header is rewritten to declare only the whole
   * samples that are on disk (the header's bytes already exist, so rewriting them needs no space),
   * so the file never claims more than it holds. Best effort: a header that cannot be written
   * still declares the blocks before the failed one, which are on disk.
   */
  private recover(endOfGoodData: number): void {
    try {
      const end = Math.min(fstatSync(this.fd!).size, endOfGoodData);
      this.frames = Math.max(0, Math.floor((end - this.headerBytes) / this.bytesPerSample));
      this.writeHeader();
    } catch {
      /* see above */
    }
  }

  /** Flushes to disk and closes. Idempotent. */
  close(): void {
    if (this.fd === null) return;
    try {
      fsyncSync(this.fd);
    } catch {
      /* not every file system supports fsync; the data is written either way */
    }
    closeSync(this.fd);
    this.fd = null;
  }
}

/** The header of a mono WAV of `frames` samples (44 bytes for s16, 58 for f32), data chunk last. */
export function wavHeader(format: WavSampleFormat, sampleRate: number, frames: number): Buffer {
  const f32 = format === 'f32';
  const headerBytes = f32 ? 58 : 44;
  const bytesPerSample = f32 ? 4 : 2;
  const h = Buffer.alloc(headerBytes);
  const dataBytes = frames * bytesPerSample;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(headerBytes - 8 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(f32 ? 18 : 16, 16);
  h.writeUInt16LE(f32 ? 3 : 1, 20); // WAVE_FORMAT_IEEE_FLOAT or PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * bytesPerSample, 28);
  h.writeUInt16LE(bytesPerSample, 32);
  h.writeUInt16LE(bytesPerSample * 8, 34);
  if (f32) {
    h.writeUInt16LE(0, 36); // cbSize
    h.write('fact', 38, 'ascii');
    h.writeUInt32LE(4, 42);
    h.writeUInt32LE(frames, 46);
  }
  h.write('data', headerBytes - 8, 'ascii');
  h.writeUInt32LE(dataBytes, headerBytes - 4);
  return h;
}

/** Samples as the WAV stores them: s16 clamps to [-1, 1] and rounds to 1/32767 steps. */
export function quantize(x: Float32Array, format: WavSampleFormat): Float32Array {
  if (format === 'f32') return x;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = (v >= 1 ? 32767 : v <= -1 ? -32767 : Number.isNaN(v) ? 0 : Math.round(v * 32767)) / 32767;
  }
  return out;
}

/**
 * A `smpl` chunk (the sampler chunk of the RIFF WAVE spec) with one forward loop over sample frames
 * start..end (end inclusive), played forever, MIDI unity note 60.
 */
export function smplChunk(sampleRate: number, start: number, end: number): Buffer {
  const c = Buffer.alloc(8 + 36 + 24);
  c.write('smpl', 0, 'ascii');
  c.writeUInt32LE(36 + 24, 4);
  c.writeUInt32LE(0, 8); // manufacturer
  c.writeUInt32LE(0, 12); // product
  c.writeUInt32LE(Math.round(1e9 / sampleRate), 16); // sample period, ns
  c.writeUInt32LE(60, 20); // MIDI unity note
  c.writeUInt32LE(0, 24); // pitch fraction
  c.writeUInt32LE(0, 28); // SMPTE format
  c.writeUInt32LE(0, 32); // SMPTE offset
  c.writeUInt32LE(1, 36); // one loop
  c.writeUInt32LE(0, 40); // sampler data bytes
  c.writeUInt32LE(0, 44); // cue point id
  c.writeUInt32LE(0, 48); // type: forward
  c.writeUInt32LE(start, 52);
  c.writeUInt32LE(end, 56);
  c.writeUInt32LE(0, 60); // fraction
  c.writeUInt32LE(0, 64); // play count: forever
  return c;
}

/**
 * A whole mono WAV in memory. `loop`: a smpl chunk after the data marking frames start..end (inclusive).
 * Returns the bytes and the samples as stored (for metering what was written).
 */
export function encodeWav(
  x: Float32Array,
  sampleRate: number,
  format: WavSampleFormat,
  loop?: { start: number; end: number },
): { bytes: Uint8Array; written: Float32Array } {
  const written = quantize(x, format);
  const head = wavHeader(format, sampleRate, x.length);
  const bps = format === 'f32' ? 4 : 2;
  const data = Buffer.alloc(x.length * bps);
  if (format === 'f32') Buffer.from(written.buffer, written.byteOffset, written.byteLength).copy(data);
  else for (let i = 0; i < x.length; i++) data.writeInt16LE(Math.round(written[i] * 32767), i * 2);
  const parts = [head, data];
  if (data.length % 2) parts.push(Buffer.alloc(1)); // RIFF chunks are word-aligned
  if (loop) parts.push(smplChunk(sampleRate, loop.start, loop.end));
  const bytes = Buffer.concat(parts);
  bytes.writeUInt32LE(bytes.length - 8, 4); // RIFF size covers every chunk
  return { bytes, written };
}
