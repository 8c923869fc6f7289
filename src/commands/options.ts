/** Option builders shared by several commands. */
import type { Argv } from 'yargs';
import { DEVICE_CHOICES, type DeviceChoice } from '../device.js';
import { DEFAULT_CONFIG, type ModelConfig, checkConfig, parseDilations } from '../model/config.js';
import { UserError } from '../util/errors.js';

export function withJson<T>(y: Argv<T>) {
  return y.option('json', {
    type: 'boolean',
    default: false,
    describe: 'Print a machine-readable JSON result on stdout',
  });
}

export function withDevice<T>(y: Argv<T>) {
  return y.option('device', {
    choices: DEVICE_CHOICES as DeviceChoice[],
    default: 'auto' as DeviceChoice,
    describe: 'Where to compute: cuda, cpu, or auto (CUDA when a GPU is usable)',
  });
}

/** The model's shape flags (train, bench train, bench synth). Defaults are DEFAULT_CONFIG's. */
export function withModelOptions<T>(y: Argv<T>) {
  return y
    .option('dilations', {
      type: 'string',
      describe: 'Layers: LxS stacks (10x3 = 3 stacks of 1,2,..,512) or a list 1,2,4,8 [default: 10x3]',
    })
    .option('residual-channels', { type: 'number', describe: 'R, residual channels [default: 64]' })
    .option('dilation-channels', { type: 'number', describe: 'D, gate channels [default: 64]' })
    .option('skip-channels', { type: 'number', describe: 'S, skip channels [default: 256]' })
    .option('head-channels', { type: 'number', describe: 'H, head channels [default: 256]' });
}

/** The flags withModelOptions declares, as yargs hands them over (camel case). */
export interface ModelFlags {
  dilations?: string;
  residualChannels?: number;
  dilationChannels?: number;
  skipChannels?: number;
  headChannels?: number;
}

/** The checked model config the withModelOptions flags ask for; DEFAULT_CONFIG's value for each flag not given. */
export function modelConfigFromFlags(argv: ModelFlags): ModelConfig {
  return checkConfig({
    dilations: argv.dilations !== undefined ? parseDilations(String(argv.dilations)) : DEFAULT_CONFIG.dilations,
    residual: argv.residualChannels ?? DEFAULT_CONFIG.residual,
    dilation: argv.dilationChannels ?? DEFAULT_CONFIG.dilation,
    skip: argv.skipChannels ?? DEFAULT_CONFIG.skip,
    head: argv.headChannels ?? DEFAULT_CONFIG.head,
    classes: 256,
  });
}

/** A flag that must be a whole number in [min, max]; a UserError naming the flag otherwise. */
export function wholeNumber(v: unknown, flag: string, min = 1, max = 1 << 24): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UserError(`${flag} ${String(v)}: must be a whole number from ${min} to ${max}`);
  return n;
}
