/**
 * The one place where `--device auto|cpu|cuda` is resolved.
 *   cpu  -> always CPU
 *   cuda -> CUDA, or a UserError naming why not (not compiled in / no usable GPU)
 *   auto -> CUDA when compiled in and a GPU is usable, else CPU
 */
import { native, type CudaQuery } from './native.js';
import { UserError } from './util/errors.js';

export type DeviceChoice = 'auto' | 'cpu' | 'cuda';
export type Device = 'cpu' | 'cuda';
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'cpu', 'cuda'];

export interface ResolvedDevice {
  device: Device;
  /** Human-readable description, e.g. "CUDA 0: NVIDIA H100 (sm_90)" or "CPU (avx512, 2 threads)". */
  description: string;
  /** Why auto chose CPU, when it did. */
  note?: string;
}

export function resolveDevice(
  choice: DeviceChoice,
  query: () => CudaQuery = () => native().cudaQuery(),
): ResolvedDevice {
  if (!DEVICE_CHOICES.includes(choice)) {
    throw new UserError(`--device: expected one of ${DEVICE_CHOICES.join(', ')}, got '${String(choice)}'`);
  }
  const cpu = (): ResolvedDevice => {
    const f = native().cpuFeatures();
    return { device: 'cpu', description: `CPU (${f.arch}, ${f.kernels} kernels, ${f.threads} threads)` };
  };
  if (choice === 'cpu') return cpu();
  const q = query();
  if (q.usable && q.devices.length > 0) {
    const d = q.devices[0];
    return { device: 'cuda', description: `CUDA device 0: ${d.name} (compute capability ${d.computeCapability})` };
  }
  const why = q.compiled ? (q.reason ?? 'no usable CUDA device') : (q.reason ?? 'CUDA support is not compiled in');
  if (choice === 'cuda') {
    throw new UserError(`--device cuda: ${q.compiled ? 'no usable GPU: ' : ''}${why}`);
  }
  return { ...cpu(), note: `CUDA not used: ${why}` };
}
