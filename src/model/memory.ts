/**
 * Memory a model needs, estimated from its config before anything is allocated, and the check that
 * refuses (with the figures) what will not fit. Training's estimate comes from the native trainer
 * (wn_trainer_memory_bytes, which sums its own allocation plan); synthesis is estimated here from the
 * same layout the kernels use (native/cpu/synth.cc, native/cuda/synth.cu):
 *   weights       the float32 parameters held by JavaScript, the kernel's packed copy (padded to 16
 *                 channels) and, on CPU, a bf16 or fp16 copy: about 3 x 4 bytes per parameter;
 *   ring buffers  (dilation + 1) x residual channels (padded to 16) floats per layer and stream;
 *   gate products 2 x dilation channels (padded) floats per layer and stream (CPU);
 *   split layout  on CPU from 8 streams, up to one thread per 4 streams, each share's rows separated
 *                 by 8 unused rows in every per-stream buffer (native/cpu/synth.cc);
 *   per stream    the generated classes and their float audio while a texture is finished.
 */
import { availableParallelism, freemem, totalmem } from 'node:os';
import { paramCount, type ModelConfig } from './config.js';
import { UserError } from '../util/errors.js';
import { formatBytes } from '../util/files.js';
import { native } from '../native.js';

const pad16 = (n: number) => Math.ceil(n / 16) * 16;

/** Bytes the incremental synthesizer needs for `batch` streams (plus `samplesPerStream` of output each). */
export function synthMemoryBytes(
  c: ModelConfig,
  batch: number,
  device: 'cpu' | 'cuda',
  samplesPerStream = 0,
): { host: number; device: number } {
  const P = paramCount(c);
  const Rp = pad16(c.residual);
  const ringFloats = c.dilations.reduce((a, d) => a + (d + 1), 0) * Rp * batch;
  const work = batch * (2 * Rp + 3 * pad16(c.dilation) + 2 * pad16(c.skip) + pad16(c.head) + pad16(c.classes)) * 4 * 4;
  // per stream: classes (1 byte/sample) + float audio and its processed copies while finishing (~16 bytes/sample)
  const output = batch * samplesPerStream * 17;
  if (device === 'cuda') {
    return { host: 4 * P + output, device: 4 * P + 4 * ringFloats + work };
  }
  const shares = batch >= 8 ? Math.max(2, Math.min(availableParallelism(), Math.floor(batch / 4))) : 1;
  const rows = (batch + 8 * (shares - 1)) / batch; // per-stream buffers, relative to batch rows
  const gates = batch * c.dilations.length * 2 * pad16(c.dilation) * 4;
  return { host: 12 * P + (4 * ringFloats + gates + work) * rows + output, device: 0 };
}

export interface MemoryCheckEnv {
  total: number;
  available: number;
  gpu?: number;
}

function env(device: 'cpu' | 'cuda'): MemoryCheckEnv {
  let gpu: number | undefined;
  if (device === 'cuda') {
    try {
      gpu = native().cudaQuery().devices[0]?.totalMemory;
    } catch {
      gpu = undefined;
    }
  }
  return { total: totalmem(), available: freemem(), gpu };
}

/** Below this nothing is refused (the estimate is rough; small models always fit). */
const FLOOR = 256 * 2 ** 20;

/**
 * Throws a UserError when `need` will not fit: host memory above 80% of the machine's RAM or above
 * what is available now, or GPU memory above 90% of the device's. `what` names the job and `hint`
 * says what to change.
 */
export function checkMemory(
  what: string,
  need: { host: number; device: number },
  device: 'cpu' | 'cuda',
  hint: string,
  e: MemoryCheckEnv = env(device),
): void {
  if (need.host > FLOOR) {
    if (need.host > 0.8 * e.total) {
      throw new UserError(
        `${what} needs about ${formatBytes(need.host)} of memory; this machine has ${formatBytes(e.total)}; ${hint}`,
      );
    }
    if (need.host > e.available) {
      throw new UserError(
        `${what} needs about ${formatBytes(need.host)} of memory; ${formatBytes(e.available)} is available now (of ${formatBytes(e.total)}); close other programs or ${hint}`,
      );
    }
  }
  if (device === 'cuda' && need.device > FLOOR && e.gpu !== undefined && need.device > 0.9 * e.gpu) {
    throw new UserError(
      `${what} needs about ${formatBytes(need.device)} of GPU memory; the GPU has ${formatBytes(e.gpu)}; ${hint}, or use --device cpu`,
    );
  }
}

/** The check for synthesis and render: `batch` streams of `samplesPerStream` samples each. */
export function checkSynthMemory(
  c: ModelConfig,
  batch: number,
  device: 'cpu' | 'cuda',
  samplesPerStream = 0,
  e?: MemoryCheckEnv,
): void {
  const rf = 2 + c.dilations.reduce((a, b) => a + b, 0);
  checkMemory(
    `synthesis with this model (${c.dilations.length} layers, receptive field ${rf} samples, ${batch} stream${batch === 1 ? '' : 's'})`,
    synthMemoryBytes(c, batch, device, samplesPerStream),
    device,
    batch > 1 ? 'use a smaller --batch or a smaller model' : 'use a smaller model',
    e,
  );
}
