/**
 * Decoding any audio file to mono float samples at a chosen rate.
 *
 * With ffmpeg (see ffmpeg.ts) one ffmpeg process per file decodes the first audio stream, downmixes it
 * to mono with equal weights (`pan=mono|c0=0.5*c0+0.5*c1` for stereo, 1/N each for N channels), then
 * resamples it with aresample (soxr when the build has it) and writes 32-bit float WAV to a pipe. The
 * pan filter needs the channel count before ffmpeg starts: channels.ts reads it from the file's header
 * (WAV, AIFF, FLAC, Ogg, MPEG audio), since a second ffmpeg/ffprobe start per file costs more than
 * decoding a short one (for the same reason ingest gives one ffmpeg several files: decode-batch.ts,
 * with the same output options and the same stream reader as here). Downmixing first resamples one channel instead of N (ingest ran at 0.56 of
 * plain ffmpeg's throughput when every channel was resampled and averaged here). For formats the header
 * reader does not know (m4a, ...), or when ffmpeg rejects the pan filter, every channel is resampled
 * and the channels are averaged here, which gives the same signal (both steps are linear). (`-ac 1` is
 * not used: its downmix gains differ between integer and float output.)
 *
 * Without ffmpeg (none found, or WAVENET_FFMPEG=none) PCM and float WAV files are read by wav.ts and
 * resampled by the windowed-sinc resampler below. Everything streams: memory does not grow with the
 * length of the input.
 *
 * Every error is a UserError whose message is `PATH: reason`; `DecodeError.reason` holds the reason
 * alone, for the rejected list of a dataset.
 */
import { spawn } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import {
  findFfmpeg,
  ffmpegReason,
  markNoSoxr,
  resampleFilter,
  runFfmpeg,
  SOXR_MISSING,
  type Ffmpeg,
} from './ffmpeg.js';
import { panFilter, probeChannels } from './channels.js';
import { noMoreConnections, openOutputSockets, socketBytes, socketsSupported } from './ffmpeg-sockets.js';
import { looksLikeWav, readWavHeader, readWavMono, wavSupported, WavError, type WavFormat } from './wav.js';

export class DecodeError extends UserError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'DecodeError';
  }
}

/** What the decoder learned about a source. */
export interface SourceInfo {
  codec: string;
  /** The source's own sample rate. */
  sampleRate: number;
  channels: number;
  /** Which decoder read it. */
  decoder: 'ffmpeg' | 'wav';
}

export interface DecodeOptions {
  /** Output sample rate. */
  rate: number;
  /** Override the ffmpeg lookup (null: no ffmpeg). */
  ffmpeg?: Ffmpeg | null;
}

/**
 * A streaming decoder: iterate it for mono Float32Array blocks at `rate`. `info` is set before the
 * first block is yielded. Breaking out of the loop stops the decoder (the ffmpeg process is killed).
 */
export class AudioDecoder implements AsyncIterable<Float32Array> {
  info: SourceInfo | null = null;
  /** Output samples produced so far. */
  samples = 0;
  constructor(
    readonly path: string,
    readonly opts: DecodeOptions,
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<Float32Array> {
    const ff = this.opts.ffmpeg === undefined ? findFfmpeg() : this.opts.ffmpeg;
    await precheck(this.path, ff !== null);
    for (let attempt = 0; ; attempt++) {
      const gen = ff ? this.viaFfmpeg(ff, attempt === 0) : this.viaWav();
      try {
        for await (const block of gen) {
          if (block.length === 0) continue;
          this.samples += block.length;
          yield block;
        }
        break;
      } catch (e) {
        // an ffmpeg without libsoxr: use its own resampler from now on (fails before any output)
        if (e instanceof SoxrMissing && ff && attempt === 0 && this.samples === 0) {
          markNoSoxr(ff);
          continue;
        }
        // the header's channel count did not suit ffmpeg's pan filter: decode every channel instead
        if (e instanceof PanFailed && ff && attempt === 0 && this.samples === 0) continue;
        throw e;
      }
    }
    if (this.samples === 0) throw new DecodeError(this.path, 'no audio decoded (0 samples)');
  }

  private async *viaWav(): AsyncGenerator<Float32Array> {
    let f: WavFormat;
    try {
      f = await readWavHeader(this.path);
    } catch (e) {
      if (e instanceof WavError) {
        const hint = e.reason.startsWith('not a WAV')
          ? ` (${ffmpegReason()}; without ffmpeg only PCM/float WAV can be read)`
          : '';
        throw new DecodeError(this.path, e.reason + hint);
      }
      throw e;
    }
    if (f.truncated) throw new DecodeError(this.path, truncatedReason(f));
    if (!wavSupported(f)) {
      throw new DecodeError(
        this.path,
        `unsupported codec ${f.codec} (${f.bitsPerSample}-bit) without ffmpeg (${ffmpegReason()})`,
      );
    }
    this.info = { codec: f.codec, sampleRate: f.sampleRate, channels: f.channels, decoder: 'wav' };
    const rs = f.sampleRate === this.opts.rate ? null : new SincResampler(f.sampleRate, this.opts.rate);
    for await (const block of readWavMono(this.path, f)) {
      yield rs ? rs.push(block) : block;
    }
    if (rs) yield rs.flush();
  }

  private async *viaFfmpeg(ff: Ffmpeg, pan: boolean): AsyncGenerator<Float32Array> {
    const path = this.path;
    const srcChannels = pan ? await probeChannels(path) : null;
    const panf = srcChannels ? panFilter(srcChannels) : null;
    const args = ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info', '-i', resolve(path)];
    // the output through a socket where we can (no FIFO for the launcher to make), else stdout
    const out = socketsSupported() ? await openOutputSockets(1).catch(() => null) : null;
    args.push(...ffmpegOutputArgs(ff, panf, this.opts.rate, 0, out ? out.urls[0] : 'pipe:1'));
    const proc = runFfmpeg(ff, args, { stdout: !out });
    const bytes = out ? socketBytes(out.conns[0], noMoreConnections(proc.done)) : proc.stdout;
    let channels = 0;
    let finished = false;
    try {
      yield* wavPipeBlocks(bytes, path, (h) => {
        channels = h.channels;
        if (panf && channels !== 1) throw new PanFailed();
        this.info = {
          codec: 'unknown',
          sampleRate: h.sampleRate,
          channels: panf ? srcChannels! : channels,
          decoder: 'ffmpeg',
        };
      });
      const { code, signal, stderr } = await proc.done;
      finished = true;
      const log = parseFfmpegLog(stderr);
      const { errLines } = log;
      const input = log.inputs.get(0);
      if (code !== 0) {
        if (errLines.some((l) => SOXR_MISSING.test(l))) throw new SoxrMissing();
        if (panf && channels === 0 && errLines.some((l) => /pan|channel/i.test(l))) throw new PanFailed();
        if (code === 127 && errLines.length === 0)
          throw new UserError(`ffmpeg (${ff.path}) could not be started: ${stderr.trim().split('\n')[0] ?? ''}`);
        throw new DecodeError(path, ffmpegFailure(errLines, code, signal));
      }
      if (errLines.length > 0) {
        throw new DecodeError(path, `decoding errors, corrupt or truncated (ffmpeg: ${errLines[0]})`);
      }
      if (channels === 0) throw new DecodeError(path, 'no audio decoded (0 samples)');
      const mismatch = panf ? channelMismatch(srcChannels!, input) : null;
      if (mismatch) throw new DecodeError(path, mismatch);
      if (this.info && input) Object.assign(this.info, sourceFields(input, this.info));
    } finally {
      if (!finished) {
        proc.kill();
        await proc.done.catch(() => undefined);
      }
      out?.close();
    }
  }
}

/**
 * ffmpeg's options for one output: the first audio stream of input `input`, downmixed by `panf` (when
 * given) and resampled to `rate`, as 32-bit float WAV to `url`.
 */
export function ffmpegOutputArgs(ff: Ffmpeg, panf: string | null, rate: number, input: number, url: string): string[] {
  return [
    '-map',
    `${input}:a:0`,
    '-vn',
    '-sn',
    '-dn',
    '-map_metadata',
    '-1',
    '-af',
    panf ? `${panf},${resampleFilter(ff, rate)}` : resampleFilter(ff, rate),
    '-c:a',
    'pcm_f32le',
    // ffmpeg flushes its output after every packet to a pipe or socket (a write of ~2 KB per decoded
    // frame: 16x more system calls and reads on both sides); let it fill its 32 KB buffer instead
    '-flush_packets',
    '0',
    // no encoder-version tag: the WAV header is then 68 bytes, so the samples after it stay aligned to
    // 4 bytes in every 32 KB write (after a 102-byte header each read had to be copied to realign it)
    '-fflags',
    '+bitexact',
    '-f',
    'wav',
    url,
  ];
}

/** What ffmpeg's log (at level+info) says about each input's first audio stream. */
export interface InputStream {
  codec: string;
  /** The source's sample rate (0 when not given). */
  srcRate: number;
  /** Channels from the stream's layout, or null. */
  channels: number | null;
}

/** The first audio stream of each input (by input index) and the error lines (at most 20) of a log. */
export function parseFfmpegLog(stderr: string): { inputs: Map<number, InputStream>; errLines: string[] } {
  const inputs = new Map<number, InputStream>();
  const errLines: string[] = [];
  let inOutput = false;
  for (const l of stderr.split(/\r?\n/)) {
    if (/^\[info\] Output #/.test(l)) inOutput = true;
    const m = inOutput ? null : /Stream #(\d+):\d+\S*: Audio: ([\w-]+)(.*)$/.exec(l);
    if (m && !inputs.has(Number(m[1]))) {
      const r = /(\d+) Hz/.exec(m[3]);
      const lay = /\d+ Hz, ([^,]+)/.exec(m[3]);
      inputs.set(Number(m[1]), {
        codec: m[2],
        srcRate: r ? Number(r[1]) : 0,
        channels: lay ? layoutChannels(lay[1].trim()) : null,
      });
    }
    if (/\[(error|fatal|panic)\]/.test(l) && errLines.length < 20) {
      errLines.push(
        l
          .replace(/^\[[^\]]*@ 0x[0-9a-f]+\] /, '')
          .replace(/\[(error|fatal|panic)\] /, '')
          .trim(),
      );
    }
  }
  return { inputs, errLines };
}

/** The codec and source rate ffmpeg reported, over what the output header gave. */
export function sourceFields(input: InputStream, info: SourceInfo): Pick<SourceInfo, 'codec' | 'sampleRate'> {
  return { codec: input.codec || info.codec, sampleRate: input.srcRate || info.sampleRate };
}

/** The header said otherwise than the decoder: the pan weights were wrong, say so (null when they agree). */
export function channelMismatch(headerChannels: number, input: InputStream | undefined): string | null {
  if (!input || input.channels === null || input.channels === headerChannels) return null;
  return `the header gives ${headerChannels} channels, ffmpeg decoded ${input.channels}; please report this file`;
}

/**
 * Mono float blocks from a stream of the WAV (32-bit float) that ffmpeg writes to a pipe or socket:
 * `onHeader` sees the header first (it may throw); interleaved channels are averaged.
 */
export async function* wavPipeBlocks(
  stream: AsyncIterable<Buffer>,
  path: string,
  onHeader: (h: { channels: number; sampleRate: number }) => void,
): AsyncGenerator<Float32Array> {
  let head: Buffer = EMPTY;
  let channels = 0;
  let carry: Buffer = EMPTY;
  for await (const chunk of stream) {
    let data: Buffer;
    if (channels === 0) {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      const h = parsePipeWavHeader(head);
      if (!h) {
        if (head.length > 1 << 16) throw new DecodeError(path, 'ffmpeg wrote no WAV header');
        continue;
      }
      onHeader(h);
      channels = h.channels;
      data = head.subarray(h.dataOffset);
    } else {
      data = chunk;
    }
    const buf = carry.length ? Buffer.concat([carry, data]) : data;
    const frameBytes = 4 * channels;
    const frames = Math.floor(buf.length / frameBytes);
    if (frames > 0) yield downmixF32(buf, frames, channels);
    const rest = buf.length - frames * frameBytes;
    carry = rest > 0 ? Buffer.from(buf.subarray(frames * frameBytes)) : EMPTY;
  }
}

/** Channels of an ffmpeg channel-layout name (`stereo`, `5.1(side)`, `3 channels`), or null. */
export function layoutChannels(layout: string): number | null {
  const named: Record<string, number> = {
    mono: 1,
    stereo: 2,
    '2.1': 3,
    '3.0': 3,
    '3.0(back)': 3,
    '4.0': 4,
    quad: 4,
    'quad(side)': 4,
    '3.1': 4,
    '5.0': 5,
    '5.0(side)': 5,
    '4.1': 5,
    '5.1': 6,
    '5.1(side)': 6,
    '6.0': 6,
    '6.1': 7,
    '7.0': 7,
    '7.1': 8,
    '7.1(wide)': 8,
  };
  if (layout in named) return named[layout];
  const m = /^(\d+) channels/.exec(layout);
  return m ? Number(m[1]) : null;
}

export class SoxrMissing extends Error {}
class PanFailed extends Error {}

const EMPTY = Buffer.alloc(0);

function truncatedReason(f: WavFormat): string {
  return `truncated: the header declares ${f.declaredDataBytes} bytes of audio, the file holds ${f.dataBytes}`;
}

/** Checks that do not need a decoder: exists, is a file, readable, not empty, not a truncated WAV. */
export async function precheck(path: string, withFfmpeg: boolean): Promise<void> {
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new DecodeError(path, 'is a folder');
    if (!st.isFile()) throw new DecodeError(path, 'not a regular file');
    size = st.size;
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(path, fsReason(e));
  }
  let head = Buffer.alloc(0);
  try {
    const fh = await open(path, 'r');
    try {
      const b = Buffer.alloc(12);
      const { bytesRead } = await fh.read(b, 0, 12, 0);
      head = b.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new DecodeError(path, fsReason(e));
  }
  if (size === 0) throw new DecodeError(path, 'empty file (0 bytes)');
  // ffmpeg reads a WAV whose data chunk is cut short without complaint; catch that here.
  if (withFfmpeg && looksLikeWav(head)) {
    try {
      const f = await readWavHeader(path);
      if (f.truncated) throw new DecodeError(path, truncatedReason(f));
    } catch (e) {
      if (e instanceof DecodeError) throw e;
      // other header oddities: let ffmpeg judge, it reads some non-standard files
    }
  }
}

/** A short reason for a file-system error. */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot read (permission denied)';
  if (code === 'EISDIR') return 'is a folder';
  if (code === 'EIO') return 'cannot read (I/O error)';
  return `cannot read (${(e as Error).message})`;
}

export function ffmpegFailure(errLines: string[], code: number | null, signal: NodeJS.Signals | null): string {
  const all = errLines.join(' | ');
  const m = /Decoder \(codec (\S+)\) not found/.exec(all);
  if (m)
    return m[1] === 'none'
      ? 'unsupported codec (ffmpeg does not recognise it)'
      : `unsupported codec (ffmpeg has no decoder for ${m[1]})`;
  if (/matches no streams/.test(all)) return 'no audio stream';
  if (/Permission denied/.test(all)) return 'cannot read (permission denied)';
  if (/Not yet implemented|patches welcome/.test(all))
    return `unsupported format (ffmpeg: ${stripPath(errLines.find((l) => /implemented/.test(l)) ?? all)})`;
  if (/Invalid data found when processing input/.test(all)) {
    const detail = errLines.find((l) => !/Invalid data found/.test(l));
    return `not audio, or corrupt (ffmpeg: Invalid data found when processing input${detail ? '; ' + stripPath(detail) : ''})`;
  }
  if (signal) return `ffmpeg was killed by ${signal}`;
  return `not audio, or corrupt (ffmpeg exit ${code}${errLines.length ? ': ' + stripPath(errLines[0]) : ''})`;
}

function stripPath(line: string): string {
  // ffmpeg prefixes some messages with the input's path; the rejected entry already names it
  return line.replace(/^\/\S*?: /, '').trim();
}

/** Parse the header ffmpeg writes to a pipe (sizes unknown); null until the 'data' chunk header arrived. */
function parsePipeWavHeader(b: Buffer): { channels: number; sampleRate: number; dataOffset: number } | null {
  if (b.length < 12) return null;
  let pos = 12;
  let channels = 0;
  let sampleRate = 0;
  while (pos + 8 <= b.length) {
    const id = b.toString('latin1', pos, pos + 4);
    const len = b.readUInt32LE(pos + 4);
    if (id === 'fmt ') {
      if (b.length < pos + 8 + 16) return null;
      channels = b.readUInt16LE(pos + 10);
      sampleRate = b.readUInt32LE(pos + 12);
    } else if (id === 'data') {
      if (!channels) throw new Error('ffmpeg wrote a WAV header without fmt chunk');
      return { channels, sampleRate, dataOffset: pos + 8 };
    }
    pos += 8 + len + (len & 1);
  }
  return null;
}

/** Interleaved little-endian float32 frames to mono, equal weights. */
function downmixF32(buf: Buffer, frames: number, channels: number): Float32Array {
  let f: Float32Array;
  if (buf.byteOffset % 4 === 0) f = new Float32Array(buf.buffer, buf.byteOffset, frames * channels);
  else {
    const copy = new Uint8Array(frames * channels * 4);
    copy.set(buf.subarray(0, frames * channels * 4));
    f = new Float32Array(copy.buffer);
  }
  if (channels === 1) return f; // the pipe's buffers are fresh per read: a view is safe to hand out
  const out = new Float32Array(frames);
  const inv = 1 / channels;
  if (channels === 2) {
    for (let i = 0, p = 0; i < frames; i++, p += 2) out[i] = (f[p] + f[p + 1]) * 0.5;
    return out;
  }
  for (let i = 0, p = 0; i < frames; i++) {
    let s = 0;
    for (let c = 0; c < channels; c++, p++) s += f[p];
    out[i] = s * inv;
  }
  return out;
}

/** Decode a whole file to mono at `rate` (equal-weight downmix). Holds the whole result in memory. */
export async function decodeFile(path: string, opts: { rate: number }): Promise<Float32Array> {
  if (!(opts.rate > 0) || !Number.isFinite(opts.rate)) throw new UserError(`decode: bad sample rate ${opts.rate}`);
  const parts: Float32Array[] = [];
  let n = 0;
  for await (const b of new AudioDecoder(path, { rate: Math.round(opts.rate) })) {
    parts.push(b);
    n += b.length;
  }
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Resample a mono signal with a proper low-pass: ffmpeg's aresample (soxr when available) when there
 * is an ffmpeg, else the windowed-sinc resampler below. Output length is round(x.length * to / from)
 * within a sample or two.
 */
export async function resample(x: Float32Array, from: number, to: number): Promise<Float32Array> {
  return resampleImpl(x, from, to, false);
}

async function resampleImpl(x: Float32Array, from: number, to: number, retried: boolean): Promise<Float32Array> {
  if (!(from > 0 && to > 0) || !Number.isInteger(from) || !Number.isInteger(to)) {
    throw new UserError(`resample: rates must be positive integers (got ${from} -> ${to})`);
  }
  if (from === to || x.length === 0) return Float32Array.from(x);
  const ff = findFfmpeg();
  if (!ff) {
    const rs = new SincResampler(from, to);
    const a = rs.push(x);
    const b = rs.flush();
    const out = new Float32Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }
  const child = spawn(
    ff.path,
    [
      '-nostdin',
      '-hide_banner',
      '-nostats',
      '-loglevel',
      'error',
      '-f',
      'f32le',
      '-ar',
      String(from),
      '-ac',
      '1',
      '-i',
      'pipe:0',
      '-af',
      resampleFilter(ff, to),
      '-c:a',
      'pcm_f32le',
      '-f',
      'f32le',
      'pipe:1',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (err.length < 4096) err += s;
  });
  const exited = new Promise<number | null>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => res(code));
  });
  child.stdin.on('error', () => undefined); // EPIPE if ffmpeg dies; reported through the exit code
  child.stdin.end(Buffer.from(x.buffer, x.byteOffset, x.byteLength));
  const chunks: Buffer[] = [];
  for await (const c of child.stdout as AsyncIterable<Buffer>) chunks.push(c);
  const code = await exited;
  if (code !== 0 && SOXR_MISSING.test(err) && !retried) {
    markNoSoxr(ff);
    return resampleImpl(x, from, to, true);
  }
  if (code !== 0) throw new UserError(`resample: ffmpeg failed (exit ${code}): ${err.trim().split('\n')[0]}`);
  const all = Buffer.concat(chunks);
  const out = new Float32Array(Math.floor(all.length / 4));
  new Uint8Array(out.buffer).set(all.subarray(0, out.length * 4));
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (for the Kaiser window). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

/**
 * Streaming rational-ratio resampler: windowed sinc (Kaiser, beta 9: about 90 dB stop-band), cut-off at
 * 0.95 of the lower Nyquist frequency, 64 zero crossings each side at the lower rate, so the transition
 * band is about 5% of the lower rate's Nyquist wide (at 16 kHz out: flat to ~7.3 kHz, stop from ~7.9 kHz).
 * Output sample n sits at input time n * from / to; the signal before the start and after the end is
 * taken as silence. push() returns what can be computed so far, flush() the rest.
 */
export class SincResampler {
  private readonly L: number; // output steps per `M` input steps
  private readonly M: number;
  private readonly K: number; // taps each side
  private readonly taps: number;
  private readonly table: Float32Array | null;
  private readonly fc: number; // cut-off in cycles per input sample
  private readonly halfWidth: number; // in input samples
  private readonly beta = 9;
  private buf = new Float32Array(0);
  private base: number; // input index of buf[0]
  private n = 0; // next output index
  private inCount = 0;

  constructor(
    readonly from: number,
    readonly to: number,
    zeros = 64,
    cutoff = 0.95,
  ) {
    const g = gcd(from, to);
    this.L = to / g;
    this.M = from / g;
    this.fc = 0.5 * cutoff * Math.min(1, to / from);
    this.halfWidth = zeros / (2 * this.fc);
    this.K = Math.ceil(this.halfWidth);
    this.taps = 2 * this.K;
    this.base = -this.K; // K samples of silence before the start
    this.buf = new Float32Array(this.K);
    if (this.L * this.taps <= 1 << 23) {
      this.table = new Float32Array(this.L * this.taps);
      for (let p = 0; p < this.L; p++) this.fillPhase(p, this.table, p * this.taps);
    } else {
      this.table = null;
    }
  }

  /** Coefficients for output phase p (input time i + p/L): taps for inputs i-K+1 .. i+K, DC gain 1. */
  private fillPhase(p: number, out: Float32Array, off: number): void {
    const frac = p / this.L;
    const i0b = besselI0(this.beta);
    let sum = 0;
    const tmp = new Float64Array(this.taps);
    for (let j = 0; j < this.taps; j++) {
      const t = frac - (j - this.K + 1); // time from input sample to output point
      let h = 0;
      if (Math.abs(t) < this.halfWidth) {
        const x = 2 * this.fc * t;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        const r = t / this.halfWidth;
        h = 2 * this.fc * sinc * (besselI0(this.beta * Math.sqrt(1 - r * r)) / i0b);
      }
      tmp[j] = h;
      sum += h;
    }
    for (let j = 0; j < this.taps; j++) out[off + j] = tmp[j] / sum;
  }

  push(x: Float32Array): Float32Array {
    this.inCount += x.length;
    const nb = new Float32Array(this.buf.length + x.length);
    nb.set(this.buf);
    nb.set(x, this.buf.length);
    this.buf = nb;
    return this.produce(false);
  }

  flush(): Float32Array {
    const nb = new Float32Array(this.buf.length + this.K + 1);
    nb.set(this.buf);
    this.buf = nb;
    return this.produce(true);
  }

  private produce(final: boolean): Float32Array {
    const { L, M, K, taps } = this;
    const avail = this.base + this.buf.length; // input indices below this are present
    const parts: Float32Array[] = [];
    let cur = new Float32Array(8192);
    let count = 0;
    const tmp = this.table ? null : new Float32Array(taps);
    const b = this.buf;
    for (;;) {
      const nm = this.n * M;
      // the output covers the input's duration: samples n with n / to < inCount / from
      if (final && nm >= this.inCount * L) break;
      const i = Math.floor(nm / L);
      if (i + K >= avail) break;
      const p = nm - i * L;
      let coef: Float32Array;
      let off = 0;
      if (this.table) {
        coef = this.table;
        off = p * taps;
      } else {
        this.fillPhase(p, tmp!, 0);
        coef = tmp!;
      }
      const start = i - K + 1 - this.base;
      let s = 0;
      for (let j = 0; j < taps; j++) s += b[start + j] * coef[off + j];
      if (count === cur.length) {
        parts.push(cur);
        cur = new Float32Array(cur.length);
        count = 0;
      }
      cur[count++] = s;
      this.n++;
    }
    parts.push(cur.subarray(0, count));
    if (!final) {
      const keepFrom = Math.floor((this.n * M) / L) - K + 1;
      const drop = keepFrom - this.base;
      if (drop > 0) {
        this.buf = this.buf.slice(drop);
        this.base += drop;
      }
    }
    if (parts.length === 1) return parts[0].slice();
    const all = new Float32Array(parts.reduce((a, r) => a + r.length, 0));
    let o = 0;
    for (const r of parts) {
      all.set(r, o);
      o += r.length;
    }
    return all;
  }
}
