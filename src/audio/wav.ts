/**
 * A pure-TypeScript streaming WAV reader, used when there is no ffmpeg (and, with ffmpeg, to detect
 * truncated WAV files, which ffmpeg decodes silently).
 *
 * Reads RIFF (little-endian), RIFX (big-endian) and RF64 files with integer PCM (8-bit unsigned,
 * 9..32-bit signed in 1..4-byte containers, valid bits left-aligned as the format requires) or IEEE
 * float (32/64-bit), plain or WAVE_FORMAT_EXTENSIBLE. Other codecs (ADPCM, A-law, mu-law, ...) are
 * reported as unsupported: those need ffmpeg. The header is walked chunk by chunk with positional
 * reads, and the samples are streamed, so memory does not depend on the file length.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';

export interface WavFormat {
  container: 'RIFF' | 'RIFX' | 'RF64';
  /** WAVE format tag, resolved through WAVE_FORMAT_EXTENSIBLE's sub-format. */
  formatTag: number;
  /** ffmpeg-style codec name: pcm_s16le, pcm_f32le, pcm_u8, adpcm_ima_wav, ... */
  codec: string;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** Bytes per sample of one channel (blockAlign / channels). */
  bytesPerSample: number;
  blockAlign: number;
  bigEndian: boolean;
  dataOffset: number;
  /** Bytes of sample data to read (declared size, or to the end of the file when unknown). */
  dataBytes: number;
  /** The header declares more data than the file holds. */
  truncated: boolean;
  declaredDataBytes: number | null;
}

/** A problem with the file's contents; `reason` is a short phrase for the rejected list. */
export class WavError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'WavError';
  }
}

const TAG_NAMES: Record<number, string> = {
  0x0001: 'pcm',
  0x0002: 'adpcm_ms',
  0x0003: 'pcm_float',
  0x0006: 'pcm_alaw',
  0x0007: 'pcm_mulaw',
  0x0011: 'adpcm_ima_wav',
  0x0031: 'gsm_ms',
  0x0050: 'mp2',
  0x0055: 'mp3',
  0xfffe: 'extensible',
};

function codecName(tag: number, bytes: number, bigEndian: boolean): string {
  const e = bigEndian ? 'be' : 'le';
  if (tag === 1) return bytes === 1 ? 'pcm_u8' : `pcm_s${bytes * 8}${e}`;
  if (tag === 3) return `pcm_f${bytes * 8}${e}`;
  return TAG_NAMES[tag] ?? `wav format 0x${tag.toString(16).padStart(4, '0')}`;
}

/** Whether the pure-TS decoder can read this format. */
export function wavSupported(f: WavFormat): boolean {
  if (f.formatTag === 1) return f.bytesPerSample >= 1 && f.bytesPerSample <= 4 && f.bitsPerSample <= 32;
  if (f.formatTag === 3) return f.bytesPerSample === 4 || f.bytesPerSample === 8;
  return false;
}

/** Whether a file starts like a WAV file (RIFF/RIFX/RF64 ... WAVE). */
export function looksLikeWav(head: Buffer): boolean {
  if (head.length < 12) return false;
  const id = head.toString('latin1', 0, 4);
  return (id === 'RIFF' || id === 'RIFX' || id === 'RF64') && head.toString('latin1', 8, 12) === 'WAVE';
}

/** The fields of a 'fmt ' chunk (at least 16 bytes), checked; the sub-format of WAVE_FORMAT_EXTENSIBLE. */
function parseFmt(fmt: Buffer, u16: (b: Buffer, o: number) => number, u32: (b: Buffer, o: number) => number) {
  const formatTag0 = u16(fmt, 0);
  const channels = u16(fmt, 2);
  const sampleRate = u32(fmt, 4);
  const blockAlign = u16(fmt, 12);
  const bitsPerSample = u16(fmt, 14);
  let formatTag = formatTag0;
  if (formatTag0 === 0xfffe) {
    if (fmt.length < 40) throw new WavError('corrupt header (WAVE_FORMAT_EXTENSIBLE without sub-format)');
    formatTag = u16(fmt, 24);
  }
  if (channels < 1) throw new WavError('corrupt header (0 channels)');
  if (sampleRate < 1) throw new WavError('corrupt header (sample rate 0)');
  if (blockAlign < 1 || blockAlign % channels !== 0) {
    throw new WavError(`corrupt header (block size ${blockAlign} for ${channels} channels)`);
  }
  const bytesPerSample = blockAlign / channels;
  if ((formatTag === 1 || formatTag === 3) && bitsPerSample > bytesPerSample * 8) {
    throw new WavError(`corrupt header (${bitsPerSample}-bit samples in ${bytesPerSample}-byte slots)`);
  }
  return { formatTag, channels, sampleRate, blockAlign, bitsPerSample, bytesPerSample };
}

/** Parse the header of a WAV file. Throws WavError for anything that is not a readable WAV header. */
export async function readWavHeader(path: string): Promise<WavFormat> {
  const size = (await stat(path)).size;
  const fh = await open(path, 'r');
  try {
    const read = async (pos: number, n: number): Promise<Buffer> => {
      const b = Buffer.alloc(n);
      const { bytesRead } = await fh.read(b, 0, n, pos);
      return b.subarray(0, bytesRead);
    };
    if (size === 0) throw new WavError('empty file (0 bytes)');
    const head = await read(0, 12);
    if (!looksLikeWav(head)) throw new WavError('not a WAV file (no RIFF/RIFX/RF64 WAVE header)');
    const container = head.toString('latin1', 0, 4) as WavFormat['container'];
    const be = container === 'RIFX';
    const u16 = (b: Buffer, o: number) => (be ? b.readUInt16BE(o) : b.readUInt16LE(o));
    const u32 = (b: Buffer, o: number) => (be ? b.readUInt32BE(o) : b.readUInt32LE(o));
    let pos = 12;
    let fmt: Buffer | null = null;
    let ds64Data: number | null = null;
    while (pos + 8 <= size) {
      const h = await read(pos, 8);
      if (h.length < 8) break;
      const id = h.toString('latin1', 0, 4);
      const len = u32(h, 4);
      const body = pos + 8;
      if (id === 'ds64') {
        const b = await read(body, Math.min(len, 28));
        if (b.length < 16) throw new WavError('corrupt RF64 header (short ds64 chunk)');
        ds64Data = Number(b.readBigUInt64LE(8));
      } else if (id === 'fmt ') {
        if (len < 16) throw new WavError(`corrupt header (fmt chunk of ${len} bytes, need at least 16)`);
        fmt = await read(body, Math.min(len, 40));
        if (fmt.length < 16) throw new WavError('truncated header (fmt chunk cut short)');
      } else if (id === 'data') {
        if (!fmt) throw new WavError("corrupt header (data chunk before the 'fmt ' chunk)");
        const { formatTag, channels, sampleRate, blockAlign, bitsPerSample, bytesPerSample } = parseFmt(fmt, u16, u32);
        const available = size - body;
        // 0 and 0xFFFFFFFF are what streaming writers leave when they cannot seek back: read to the end.
        const unknown = len === 0xffffffff || len === 0;
        let declared: number | null = unknown ? null : len;
        if (container === 'RF64' && unknown && ds64Data !== null) declared = ds64Data;
        const truncated = declared !== null && declared > available;
        const dataBytes = declared === null ? available : Math.min(declared, available);
        return {
          container,
          formatTag,
          codec: codecName(formatTag, bytesPerSample, be),
          channels,
          sampleRate,
          bitsPerSample,
          bytesPerSample,
          blockAlign,
          bigEndian: be,
          dataOffset: body,
          dataBytes: dataBytes - (dataBytes % blockAlign),
          truncated,
          declaredDataBytes: declared,
        };
      }
      if (len === 0xffffffff) break;
      pos = body + len + (len & 1);
    }
    if (!fmt) throw new WavError("corrupt or truncated header (no 'fmt ' chunk)");
    throw new WavError("no audio data (no 'data' chunk)");
  } finally {
    await fh.close();
  }
}

/** Converts interleaved frames in `src` to mono (equal-weight mean of the channels). */
export function makeFrameReader(
  f: WavFormat,
): (src: Buffer, frames: number, out: Float32Array, outOffset: number) => void {
  const ch = f.channels;
  const n = f.bytesPerSample;
  const be = f.bigEndian;
  const inv = 1 / ch;
  let one: (b: Buffer, o: number) => number;
  if (f.formatTag === 3) {
    one =
      n === 4
        ? be
          ? (b, o) => b.readFloatBE(o)
          : (b, o) => b.readFloatLE(o)
        : be
          ? (b, o) => b.readDoubleBE(o)
          : (b, o) => b.readDoubleLE(o);
  } else if (n === 1) {
    one = (b, o) => (b[o] - 128) / 128;
  } else {
    const scale = 1 / 2 ** (n * 8 - 1);
    one = be ? (b, o) => b.readIntBE(o, n) * scale : (b, o) => b.readIntLE(o, n) * scale;
  }
  if (f.formatTag === 1 && n === 2 && !be) {
    return (src, frames, out, off) => {
      let p = 0;
      for (let i = 0; i < frames; i++) {
        let s = 0;
        for (let c = 0; c < ch; c++, p += 2) s += src.readInt16LE(p);
        out[off + i] = (s * inv) / 32768;
      }
    };
  }
  return (src, frames, out, off) => {
    let p = 0;
    for (let i = 0; i < frames; i++) {
      let s = 0;
      for (let c = 0; c < ch; c++, p += n) s += one(src, p);
      out[off + i] = s * inv;
    }
  };
}

/**
 * Stream the samples of a WAV file as mono Float32 blocks at the file's own rate.
 * `f` comes from readWavHeader and must be wavSupported().
 */
export async function* readWavMono(path: string, f: WavFormat, blockFrames = 65536): AsyncGenerator<Float32Array> {
  if (f.dataBytes === 0) return;
  const toFrames = makeFrameReader(f);
  const stream = createReadStream(path, {
    start: f.dataOffset,
    end: f.dataOffset + f.dataBytes - 1,
    highWaterMark: blockFrames * f.blockAlign,
  });
  let carry: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const frames = Math.floor(buf.length / f.blockAlign);
      if (frames > 0) {
        const out = new Float32Array(frames);
        toFrames(buf, frames, out, 0);
        yield out;
      }
      carry = Buffer.from(buf.subarray(frames * f.blockAlign));
    }
  } finally {
    stream.destroy();
  }
}
