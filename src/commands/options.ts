/** Option builders shared by several commands. */
import type { Argv } from 'yargs';
import { DEVICE_CHOICES, type DeviceChoice } from '../device.js';

export function withJson<T>(y: Argv<T>) {
  return y.option('json', { type: 'boolean', default: false, describe: 'Print a machine-readable JSON result on stdout' });
}

export function withDevice<T>(y: Argv<T>) {
  return y.option('device', {
    choices: DEVICE_CHOICES as DeviceChoice[],
    default: 'auto' as DeviceChoice,
    describe: 'Where to compute: cuda, cpu, or auto (CUDA when a GPU is usable)',
  });
}
