/**
 * The channel count of an audio file from its first bytes, without starting a decoder: ingest puts an
 * equal-weight `pan` filter before the resampler (src/audio/decode.ts), which needs the count before
 * ffmpeg starts, and a second ffmpeg/ffprobe start per file costs more than decoding a short file.
 *
 * Read: WAV/RF64 (fmt), AIFF/AIFC (COMM), FLAC (STREAMINFO), Ogg Opus/Vorbis (identification header),
 * MPEG audio layers I-III (two consecutive frame headers must agree), each possibly behind an ID3v2
 * tag. Anything else, or anything that does not parse cleanly, gives null and the caller falls back to
 * decoding every channel.
 */
import { open } from 'node:fs/promises';

const HEAD_BYTES = 1 << 16;

export async function probeChannels(path: string): Promise<number | null> {
  let b: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(HEAD_BYTES);
      const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
      b = buf.subarray(0, bytesRead);
      // a large ID3v2 tag (cover art) pushes the first frame past the first read
      const id3 = id3Size(b);
      if (id3 > 0 && id3 + 4096 > b.length) {
        const more = Buffer.alloc(8192);
        const r = await fh.read(more, 0, more.length, id3);
        b = Buffer.concat([Buffer.alloc(id3), more.subarray(0, r.bytesRead)]);
      }
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
  return channelsFromHead(b);
}

/** The channel count from a file's first bytes, or null when the format is not one read here. */
export function channelsFromHead(b: Buffer): number | null {
  const ok = (n: number | null) => (n !== null && n >= 1 && n <= 64 ? n : null);
  if (b.length < 12) return null;
  const tag4 = b.toString('latin1', 0, 4);
  if ((tag4 === 'RIFF' || tag4 === 'RF64') && b.toString('latin1', 8, 12) === 'WAVE') return ok(riffChannels(b));
  if (tag4 === 'FORM' && /^AIF[FC]$/.test(b.toString('latin1', 8, 12))) return ok(aiffChannels(b));
  if (tag4 === 'OggS') return ok(oggChannels(b));
  const start = id3Size(b);
  if (b.length >= start + 4 && b.toString('latin1', start, start + 4) === 'fLaC') {
    // metadata block header (4 bytes), then STREAMINFO: 3 bits of channels - 1 at byte 12 of its data
    const d = start + 8;
    return b.length > d + 12 && (b[start + 4] & 0x7f) === 0 ? ok(((b[d + 12] >> 1) & 7) + 1) : null;
  }
  return ok(mpegChannels(b, start));
}

function id3Size(b: Buffer): number {
  if (b.length < 10 || b.toString('latin1', 0, 3) !== 'ID3') return 0;
  const size = ((b[6] & 0x7f) << 21) | ((b[7] & 0x7f) << 14) | ((b[8] & 0x7f) << 7) | (b[9] & 0x7f);
  return 10 + size + (b[5] & 0x10 ? 10 : 0);
}

function riffChannels(b: Buffer): number | null {
  for (let p = 12; p + 8 <= b.length; ) {
    const id = b.toString('latin1', p, p + 4);
    const size = b.readUInt32LE(p + 4);
    if (id === 'fmt ') return p + 12 <= b.length ? b.readUInt16LE(p + 10) : null;
    p += 8 + size + (size & 1);
  }
  return null;
}

function aiffChannels(b: Buffer): number | null {
  for (let p = 12; p + 8 <= b.length; ) {
    const id = b.toString('latin1', p, p + 4);
    const size = b.readUInt32BE(p + 4);
    if (id === 'COMM') return p + 10 <= b.length ? b.readUInt16BE(p + 8) : null;
    p += 8 + size + (size & 1);
  }
  return null;
}

function oggChannels(b: Buffer): number | null {
  if (b.length < 27) return null;
  const nseg = b[26];
  const p = 27 + nseg; // the first packet of the first (BOS) page
  if (b.length < p + 12) return null;
  if (b.toString('latin1', p, p + 8) === 'OpusHead') return b[p + 9];
  if (b[p] === 1 && b.toString('latin1', p + 1, p + 7) === 'vorbis') return b[p + 11];
  return null;
}

// MPEG audio frame headers: kbit/s by [version is MPEG-1][layer 1..3][index], Hz by [version][index].
const BITRATES: Record<string, number[]> = {
  '1,1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1,2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1,3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2,1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2,2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  '2,3': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] };

interface MpegFrame {
  length: number;
  channels: number;
  key: string;
}

function mpegFrame(b: Buffer, p: number): MpegFrame | null {
  if (p + 4 > b.length || b[p] !== 0xff || (b[p + 1] & 0xe0) !== 0xe0) return null;
  const version = (b[p + 1] >> 3) & 3; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
  const layer = 4 - ((b[p + 1] >> 1) & 3); // 1..3
  const bi = b[p + 2] >> 4;
  const si = (b[p + 2] >> 2) & 3;
  if (version === 1 || layer === 4 || bi === 0 || bi === 15 || si === 3) return null;
  const kbps = BITRATES[`${version === 3 ? 1 : 2},${layer}`][bi];
  const hz = RATES[version][si];
  const pad = (b[p + 2] >> 1) & 1;
  const length =
    layer === 1
      ? (Math.floor((12000 * kbps) / hz) + pad) * 4
      : Math.floor(((layer === 3 && version !== 3 ? 72000 : 144000) * kbps) / hz) + pad;
  return { length, channels: b[p + 3] >> 6 === 3 ? 1 : 2, key: `${version},${layer},${si}` };
}

function mpegChannels(b: Buffer, start: number): number | null {
  for (let p = start; p + 4 <= b.length && p < start + 8192; p++) {
    const f = mpegFrame(b, p);
    if (!f) continue;
    const g = mpegFrame(b, p + f.length);
    if (g && g.key === f.key && g.channels === f.channels) return f.channels;
  }
  return null;
}

/** ffmpeg's `pan` filter for an equal-weight mono downmix of n channels (null for mono). */
export function panFilter(n: number): string | null {
  if (n <= 1) return null;
  if (n === 2) return 'pan=mono|c0=0.5*c0+0.5*c1';
  const w = (1 / n).toPrecision(9);
  return `pan=mono|c0=${Array.from({ length: n }, (_, i) => `${w}*c${i}`).join('+')}`;
}
