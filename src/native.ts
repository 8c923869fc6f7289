/**
 * Loads the native addon (build/Release/wavenet.node) and describes its exports.
 * The addon's functions are grouped by section like native/include/wavenet.h.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from './model/config.js';
import { UserError } from './util/errors.js';

/** The config the addon takes: the model config itself (src/model/config.ts; wn_config in wavenet.h). */
export type NativeConfig = ModelConfig;

export interface CpuFeatures {
  arch: string;
  /** SIMD variant in use: avx512, avx2 or generic. */
  kernels: string;
  threads: number;
  flags: Record<string, boolean>;
}

export interface CudaDevice {
  index: number;
  name: string;
  computeCapability: string;
  totalMemory: number;
  multiprocessors: number;
}

export interface CudaQuery {
  compiled: boolean;
  usable: boolean;
  /** Why CUDA is not usable (null when it is). */
  reason: string | null;
  runtimeVersion: number;
  driverVersion: number;
  devices: CudaDevice[];
}

export interface NativeLayout {
  inputEmbed: number;
  inputBias: number;
  head1W: number;
  head1B: number;
  head2W: number;
  head2B: number;
  total: number;
  receptiveField: number;
  layers: { gateW: number; gateB: number; skipW: number; skipB: number; resW: number; resB: number }[];
}

export interface NativeCore {
  mulawEncode(x: Float32Array, mu?: number): Uint8Array;
  mulawDecode(q: Uint8Array, mu?: number): Float32Array;
  cpuFeatures(): CpuFeatures;
  /** The single-thread rate of the training GEMM on n x n x n products (wn_cpu_gemm_rate), for benchmarks. */
  cpuGemmRate(n: number, seconds: number): { gflops: number; gflopsPerCpu: number };
  cudaQuery(): CudaQuery;
  layout(config: NativeConfig): NativeLayout;
}

export interface AdamParams {
  lr: number;
  beta1?: number; // 0.9
  beta2?: number; // 0.999
  eps?: number; // 1e-8
}

/**
 * A trainer (native/include/wn_train.h) for a fixed config, batch B and window W on one device.
 * crops: B x (receptiveField + W) classes, row-major. Losses are mean cross-entropy in nats.
 * Async methods run off the JavaScript thread; never call two methods of one trainer at once.
 */
export interface NativeTrainer {
  readonly paramCount: number;
  setParams(p: Float32Array): void;
  getParams(): Float32Array;
  /** Gradient of the mean loss from the last forwardBackward/step. */
  getGrads(): Float32Array;
  getAdam(): { m: Float32Array; v: Float32Array; step: number };
  setAdam(m: Float32Array, v: Float32Array, step: number): void;
  forward(crops: Uint8Array, wantLogits?: boolean): { loss: number; logits?: Float32Array };
  forwardBackward(crops: Uint8Array): number;
  adam(p: AdamParams): void;
  /** forwardBackward + adam, off the JS thread; resolves to the loss. */
  step(crops: Uint8Array, p: AdamParams): Promise<number>;
  /** forward only, off the JS thread; resolves to the loss. */
  evaluate(crops: Uint8Array): Promise<number>;
  /** Intermediates of the last forward: "input", "x", "z" (per layer), "skip", "logits". */
  getTensor(name: string, layer?: number): Float32Array;
  /** Frees native memory now (otherwise at garbage collection). */
  free(): void;
}

/**
 * Incremental synthesis (native/include/wn_synth.h) of `batch` streams on one device.
 * Async methods run off the JavaScript thread; never call two methods of one synth at once.
 */
/**
 * Per-synthesizer choices of the CPU backend (wn_synth_options). Omitted fields take the defaults the
 * addon read from WAVENET_SYNTH_PRECISION / WAVENET_SYNTH_MODE when it loaded (else fp32, auto).
 */
/**
 * Weights of the CPU synthesis kernels: bf16 on CPUs with AVX512-BF16 (elsewhere fp32); fp16 rounds
 * the weights to IEEE half (inputs and sums stay fp32) and stores them as halves where the kernels
 * have F16C (avx2, avx512): half the bytes per sample. A model with a weight beyond 65504 keeps fp32.
 */
export type SynthPrecision = 'fp32' | 'bf16' | 'fp16';

export interface NativeSynthOptions {
  /** See SynthPrecision. */
  precision?: SynthPrecision;
  /** auto measures one and two threads and keeps the faster; solo / parallel force one. */
  mode?: 'auto' | 'solo' | 'parallel';
}

export interface NativeSynth {
  readonly batch: number;
  reset(): void;
  /** classes: batch x n (stream-major). Feeds all but the last; the last becomes the pending class. */
  prime(classes: Uint8Array, n: number): Promise<void>;
  /** n steps per stream; samples: batch x n; logits (batch x n x Q) when wantLogits. */
  generate(
    n: number,
    temperature: Float32Array,
    seeds: BigUint64Array,
    wantLogits?: boolean,
  ): Promise<{
    samples: Uint8Array;
    logits?: Float32Array;
  }>;
  /** The per-stream cut before sampling (top-p in (0, 1], top-k >= 0 with 0 = none; null = no cut of
   * that kind); kept across reset. Optional so test doubles without it still type-check. */
  setCut?(topP: Float32Array | null, topK: Int32Array | null): void;
  free(): void;
}

export interface NativeSections {
  Trainer: new (config: NativeConfig, batch: number, window: number, device: 'cpu' | 'cuda') => NativeTrainer;
  /** Estimated bytes a trainer of this shape allocates on the device (parameters, gradients, Adam,
   * activations); 0 for 'cuda' when CUDA is not compiled in. */
  trainerMemoryBytes(config: NativeConfig, batch: number, window: number, device?: 'cpu' | 'cuda'): number;
  /** Plain reference forward: logits (T x Q) at every position of one sequence. */
  referenceLogits(config: NativeConfig, params: Float32Array, classes: Uint8Array): Float32Array;
  Synth: new (
    config: NativeConfig,
    params: Float32Array,
    batch: number,
    device: 'cpu' | 'cuda',
    options?: NativeSynthOptions,
  ) => NativeSynth;
}

export type NativeAddon = NativeCore & NativeSections;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let cached: NativeAddon | null = null;

/** The addon, loaded once. Throws a UserError that says what to do when it is missing or broken. */
export function native(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const candidates = [
    process.env.WAVENET_ADDON,
    join(root, 'build', 'Release', 'wavenet.node'),
    join(root, 'build', 'Debug', 'wavenet.node'),
  ].filter((p): p is string => !!p);
  const errors: string[] = [];
  for (const p of candidates) {
    if (!existsSync(p)) continue;
    try {
      cached = require(p) as NativeAddon;
      return cached;
    } catch (e) {
      errors.push(`${p}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new UserError(
    errors.length
      ? `the native addon failed to load (${errors.join('; ')}); rebuild it with \`npm run build:native\``
      : 'the native addon is not built (build/Release/wavenet.node is missing); run `npm ci` or `npm run build:native` in the project folder',
  );
}
