/**
 * Loads the native addon (build/Release/wavenet.node) and describes its exports.
 * The addon's functions are grouped by section like native/include/wavenet.h.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './util/errors.js';

export interface NativeConfig {
  dilations: number[];
  residual: number;
  dilation: number;
  skip: number;
  head: number;
  classes: number;
}

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
  cudaQuery(): CudaQuery;
  layout(config: NativeConfig): NativeLayout;
}

// Sections added by later work extend this interface (see native/src/napi_*.cc).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeAddon = NativeCore & Record<string, any>;

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
