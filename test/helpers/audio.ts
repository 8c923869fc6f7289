/**
 * Test audio made with ffmpeg's lavfi sources (aevalsrc for exact tones, anoisesrc for noise), in the
 * containers and sample formats ingest must read. Also helpers to read a dataset back.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulawDecodeValue } from '../../src/audio/mulaw.js';
import type { Manifest } from '../../src/dataset/manifest.js';
import { lavfi } from './lavfi.js';

/** The system ffmpeg used to make test files (null when missing: tests that need it skip). */
export const FFMPEG: string | null = (() => {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-version'], { encoding: 'utf8' });
  return r.status === 0 ? 'ffmpeg' : null;
})();

export const SHARED_AUDIO = join(import.meta.dirname, '..', '..', '..', 'shared', 'audio');
export const HAVE_SHARED_AUDIO = existsSync(join(SHARED_AUDIO, 'music'));

export type Container = 'wav' | 'flac' | 'mp3' | 'ogg';
/** Sample format of a WAV/FLAC file: 16-bit, 24-bit integer or 32-bit float (WAV only). */
export type Depth = 's16' | 's24' | 'f32';

export interface GenSpec {
  /** One expression of t per channel (aevalsrc syntax), e.g. ['0.5*sin(2*PI*1000*t)']. */
  channels?: string[];
  /** Or white noise of this amplitude (mono or `noiseChannels`). */
  noise?: number;
  noiseChannels?: number;
  rate: number;
  seconds: number;
  container?: Container;
  depth?: Depth;
}

export function tmpDir(prefix = 'wavenet-ingest-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function rmDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
}

/** Write a generated file to `path`; returns path. */
export function genAudio(path: string, spec: GenSpec): string {
  if (!FFMPEG) throw new Error('genAudio needs ffmpeg');
  const c = spec.container ?? 'wav';
  const depth = spec.depth ?? 's16';
  let src: string;
  if (spec.noise !== undefined) {
    src = `anoisesrc=c=white:a=${spec.noise}:r=${spec.rate}:d=${spec.seconds}:seed=7`;
    if ((spec.noiseChannels ?? 1) > 1)
      src +=
        `,pan=${spec.noiseChannels}c|` + Array.from({ length: spec.noiseChannels! }, (_, i) => `c${i}=c0`).join('|');
  } else {
    const ch = spec.channels ?? ['0.5*sin(2*PI*1000*t)'];
    src = `aevalsrc='${ch.join('|')}':s=${spec.rate}:d=${spec.seconds}`;
  }
  const codecArgs: Record<Container, string[]> = {
    wav: ['-c:a', depth === 's16' ? 'pcm_s16le' : depth === 's24' ? 'pcm_s24le' : 'pcm_f32le'],
    flac:
      depth === 's16'
        ? ['-c:a', 'flac', '-sample_fmt', 's16']
        : ['-c:a', 'flac', '-sample_fmt', 's32', '-bits_per_raw_sample', '24'],
    mp3: ['-c:a', 'libmp3lame', '-b:a', '128k'],
    ogg: ['-c:a', 'libvorbis', '-q:a', '6'],
  };
  lavfi(FFMPEG, src, [...codecArgs[c], path]);
  return path;
}

/** All samples of a source, decoded from its chunks back to floats (in offset order). */
export function sourceSignal(dir: string, m: Manifest, source: number): Float32Array {
  const chunks = m.chunks.filter((c) => c.source === source).sort((a, b) => a.offset - b.offset);
  const n = chunks.reduce((a, c) => a + c.samples, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const c of chunks) {
    const b = readFileSync(join(dir, 'chunks', c.file));
    if (b.length !== c.samples) throw new Error(`${c.file}: ${b.length} bytes, manifest says ${c.samples}`);
    for (let i = 0; i < b.length; i++) out[o + i] = mulawDecodeValue(b[i]);
    o += b.length;
  }
  return out;
}

/** Amplitude of the component at `freq` (single-bin DFT over a whole number of periods when possible). */
export function toneAmplitude(x: Float32Array, freq: number, rate: number): number {
  const period = rate / freq;
  const n = Math.max(1, Math.floor(x.length / period)) * period;
  const len = Math.min(x.length, Math.round(n));
  let re = 0;
  let im = 0;
  for (let i = 0; i < len; i++) {
    const a = (2 * Math.PI * freq * i) / rate;
    re += x[i] * Math.cos(a);
    im += x[i] * Math.sin(a);
  }
  return (2 * Math.hypot(re, im)) / len;
}

/** Frequency from zero crossings (rising and falling) over the middle of the signal. */
export function zeroCrossingFrequency(x: Float32Array, rate: number): number {
  const a = Math.floor(x.length * 0.1);
  const b = Math.floor(x.length * 0.9);
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = a + 1; i < b; i++) {
    if ((x[i - 1] < 0 && x[i] >= 0) || (x[i - 1] >= 0 && x[i] < 0)) {
      if (first < 0) first = i;
      else count++;
      last = i;
    }
  }
  return count / 2 / ((last - first) / rate);
}

export function rms(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s / Math.max(1, x.length));
}

/** Write a 16-bit PCM WAV from mono samples in JS (no ffmpeg needed). */
export function writeWav16(path: string, x: Float32Array, rate: number): string {
  const data = Buffer.alloc(x.length * 2);
  for (let i = 0; i < x.length; i++)
    data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x[i] * 32767))), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
  return path;
}

/** Deterministic noise (xorshift) so every generated file has distinct content. */
export function noise(n: number, seed: number, amp = 0.3): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    x[i] = ((s / 4294967296) * 2 - 1) * amp;
  }
  return x;
}
