/**
 * Synthesis without the CLI: a Synthesizer runs B independent streams of one model on one device,
 * each with its own seed, temperature and optional prime, through the native incremental kernel
 * (native/include/wn_synth.h). `wavenet synth` uses it with one stream; batch users (render) give
 * several.
 *
 *   const s = new Synthesizer({ config, params, device: 'cpu', streams: [{ seed: 1n, temperature: 1 }] });
 *   await s.start();                      // reset, then feed the primes (if any)
 *   const { classes, audio } = await s.generate(4096);   // per stream: mu-law classes, floats
 *   s.free();
 *
 * Sampling: softmax(logits / temperature), optionally cut to its nucleus (topP) and/or its topK most
 * likely classes (the rule: native/core/sample.h, the same on CPU and CUDA).
 * Reproducibility: the sample of step t of a stream is drawn with wn_uniform(seed, t) where t counts
 * every class fed since reset, so a stream's audio depends on its seed, temperature, prime and the
 * weights only (not on the other streams, nor on how generate calls are split into blocks). When the
 * streams of one batch have primes of different lengths, shorter primes are left-padded with the
 * silence class (128) to the longest; a stream without a prime in a primed batch gets only padding.
 */
import { randomBytes } from 'node:crypto';
import { native, type NativeSynth } from '../native.js';
import { toNative, type ModelConfig } from '../model/config.js';
import { UserError } from '../util/errors.js';
import { AudioDecoder } from '../audio/decode.js';

/** The model's audio rate: every dataset is 16 kHz mono (DESIGN.md). */
export const MODEL_RATE = 16000;
/** The mu-law class of silence, pending after reset. */
export const SILENCE_CLASS = 128;
export const MAX_SEED = 2n ** 64n - 1n;
/** Classes fed per native prime call. */
export const PRIME_BLOCK = 65536;

export interface SynthStream {
  /** 0 .. 2^64-1 */
  seed: bigint;
  /** >= 0; 0 is argmax. */
  temperature: number;
  /** Nucleus sampling: keep the most likely classes holding this much of the mass, (0, 1]; 1 = no cut. */
  topP?: number;
  /** Keep at most this many of the most likely classes; 0 or absent = no limit. */
  topK?: number;
  /** Mu-law classes to feed before free generation (see primeFromAudio). */
  prime?: Uint8Array;
}

export interface SynthesizerOptions {
  config: ModelConfig;
  params: Float32Array;
  device: 'cpu' | 'cuda';
  streams: SynthStream[];
  /** Classes per native prime call (default PRIME_BLOCK). */
  primeBlock?: number;
  /** For tests: build the native synth another way. */
  factory?: (config: ModelConfig, params: Float32Array, batch: number, device: 'cpu' | 'cuda') => NativeSynth;
}

export interface GenerateResult {
  /** Per stream: the n new classes. */
  classes: Uint8Array[];
  /** Per stream: the same as floats in [-1, 1] (mu-law decoded), at MODEL_RATE. */
  audio: Float32Array[];
}

/** A random seed (48 bits, so it prints compactly and survives a round trip through a JS number). */
export function randomSeed(): bigint {
  return BigInt('0x' + randomBytes(6).toString('hex'));
}

/** Parses a --seed value: a whole number 0 .. max (default 2^64-1; decimal or 0x hex). */
export function parseSeed(v: unknown, flag = '--seed', max = MAX_SEED): bigint {
  const s = String(v).trim();
  if (!/^(\d+|0x[0-9a-f]+)$/i.test(s)) throw new UserError(`${flag} '${s}': expected a whole number from 0 to ${max}`);
  const n = BigInt(s);
  if (n > max) throw new UserError(`${flag} ${s}: at most ${max}`);
  return n;
}

export class Synthesizer {
  readonly batch: number;
  readonly streams: SynthStream[];
  /** Steps generated per stream since start(). */
  generated = 0;
  private readonly synth: NativeSynth;
  private readonly temperature: Float32Array;
  private readonly seeds: BigUint64Array;
  private started = false;

  constructor(readonly opts: SynthesizerOptions) {
    if (opts.streams.length < 1) throw new UserError('synth: at least one stream');
    this.streams = opts.streams;
    this.batch = opts.streams.length;
    this.temperature = new Float32Array(this.batch);
    this.seeds = new BigUint64Array(this.batch);
    opts.streams.forEach((s, b) => {
      if (!(s.temperature >= 0) || !Number.isFinite(s.temperature)) {
        throw new UserError(`synth: temperature ${s.temperature} of stream ${b} must be a number >= 0`);
      }
      if (s.seed < 0n || s.seed > MAX_SEED) throw new UserError(`synth: seed of stream ${b} must be 0 .. 2^64-1`);
      this.temperature[b] = s.temperature;
      this.seeds[b] = s.seed;
    });
    const topP = new Float32Array(this.batch).fill(1);
    const topK = new Int32Array(this.batch);
    opts.streams.forEach((s, b) => {
      const p = s.topP ?? 1;
      const k = s.topK ?? 0;
      if (!(p > 0 && p <= 1)) throw new UserError(`synth: top-p ${p} of stream ${b} must be in (0, 1]`);
      if (!Number.isInteger(k) || k < 0 || k > 65535)
        throw new UserError(`synth: top-k ${k} of stream ${b} must be a whole number >= 0`);
      topP[b] = p;
      topK[b] = k;
    });
    const cut = opts.streams.some((s) => (s.topP ?? 1) < 1 || (s.topK ?? 0) > 0);
    const make =
      opts.factory ??
      ((c: ModelConfig, p: Float32Array, batch: number, device: 'cpu' | 'cuda') =>
        new (native().Synth)(toNative(c), p, batch, device));
    this.synth = make(opts.config, opts.params, this.batch, opts.device);
    if (cut) {
      if (!this.synth.setCut) throw new Error('synth: this native synthesizer cannot cut the distribution (no setCut)');
      this.synth.setCut(topP, topK);
    } else {
      this.synth.setCut?.(null, null); // a reused native synth may hold an earlier cut
    }
  }

  /**
   * Resets every stream and feeds the primes (left-padded with silence to a common length), in
   * blocks of PRIME_BLOCK classes so that `stop()` returning true (e.g. after Ctrl-C) is honoured
   * between blocks. Returns false when stopped early.
   */
  async start(
    opts: { stop?: () => boolean; onProgress?: (fed: number, total: number) => void } = {},
  ): Promise<boolean> {
    this.synth.reset();
    this.generated = 0;
    const P = Math.max(0, ...this.streams.map((s) => s.prime?.length ?? 0));
    if (P > 0) {
      const classes = new Uint8Array(this.batch * P).fill(SILENCE_CLASS);
      this.streams.forEach((s, b) => {
        if (s.prime) classes.set(s.prime, b * P + (P - s.prime.length));
      });
      // prime(c[a..e]) feeds c[a..e-1] and leaves c[e] pending; the next block starts at e again,
      // which drops that pending class and feeds it, so blocks overlap by one class.
      for (let a = 0; a < P - 1 || a === 0; ) {
        const e = Math.min(P - 1, a + Math.max(1, this.opts.primeBlock ?? PRIME_BLOCK));
        const n = e - a + 1;
        const block = new Uint8Array(this.batch * n);
        for (let b = 0; b < this.batch; b++) block.set(classes.subarray(b * P + a, b * P + e + 1), b * n);
        await this.synth.prime(block, n);
        opts.onProgress?.(e, P - 1);
        a = e;
        if (a >= P - 1) break;
        if (opts.stop?.()) return false;
      }
    }
    this.started = true;
    return true;
  }

  /** n steps of every stream, off the JavaScript thread. */
  async generate(n: number): Promise<GenerateResult> {
    if (!this.started) await this.start();
    const { samples } = await this.synth.generate(n, this.temperature, this.seeds);
    const classes: Uint8Array[] = [];
    const audio: Float32Array[] = [];
    const addon = native();
    for (let b = 0; b < this.batch; b++) {
      const c = samples.subarray(b * n, (b + 1) * n);
      classes.push(c);
      audio.push(addon.mulawDecode(c));
    }
    this.generated += n;
    return { classes, audio };
  }

  free(): void {
    this.synth.free();
  }
}

/**
 * Prime classes from decoded audio (mono floats at MODEL_RATE): the last `seconds` of it, mu-law
 * encoded. The whole signal when it is shorter.
 */
export function primeFromAudio(x: Float32Array, seconds: number): Uint8Array {
  const n = Math.min(x.length, Math.max(1, Math.round(seconds * MODEL_RATE)));
  return native().mulawEncode(x.subarray(x.length - n));
}

/**
 * Prime classes from any audio file: decoded like ingest (mono, MODEL_RATE), keeping only its last
 * `seconds` in memory while it streams, then mu-law encoded. UserError naming the file when it
 * cannot be read or decoded.
 */
export async function primeFromFile(path: string, seconds: number): Promise<Uint8Array> {
  const keep = Math.max(1, Math.round(seconds * MODEL_RATE));
  const tail = new Float32Array(keep);
  let total = 0;
  for await (const block of new AudioDecoder(path, { rate: MODEL_RATE })) {
    if (block.length >= keep) {
      tail.set(block.subarray(block.length - keep));
    } else {
      tail.copyWithin(0, block.length);
      tail.set(block, keep - block.length);
    }
    total += block.length;
  }
  return primeFromAudio(tail.subarray(keep - Math.min(keep, total)), seconds);
}
