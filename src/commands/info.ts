/** `wavenet info [PATH] [--devices] [--json]`: describe a dataset, run or checkpoint, or the compute devices. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { native } from '../native.js';
import { UserError } from '../util/errors.js';
import { withJson } from './options.js';
import { describers } from '../info/describers.js';

interface InfoArgs {
  path?: string;
  devices: boolean;
  json: boolean;
}

export function deviceReport() {
  const addon = native();
  return { cpu: addon.cpuFeatures(), cuda: addon.cudaQuery() };
}

function printDevices(r: ReturnType<typeof deviceReport>) {
  const flags = Object.entries(r.cpu.flags)
    .filter(([, v]) => v)
    .map(([k]) => k);
  console.log(`CPU: ${r.cpu.arch}, ${r.cpu.threads} threads, kernels: ${r.cpu.kernels}`);
  console.log(`  features: ${flags.join(' ') || '(none detected)'}`);
  const c = r.cuda;
  console.log(
    `CUDA: ${c.compiled ? 'compiled in' : 'not compiled in'}` +
      (c.runtimeVersion ? `, runtime ${fmtCudaVersion(c.runtimeVersion)}` : '') +
      (c.driverVersion ? `, driver supports ${fmtCudaVersion(c.driverVersion)}` : ''),
  );
  if (c.devices.length === 0) console.log(`  no usable device: ${c.reason}`);
  for (const d of c.devices) {
    console.log(
      `  [${d.index}] ${d.name}, compute capability ${d.computeCapability}, ` +
        `${(d.totalMemory / 2 ** 30).toFixed(1)} GiB, ${d.multiprocessors} SMs`,
    );
  }
}

function fmtCudaVersion(v: number) {
  return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: 'info [path]',
  describe: 'Describe a dataset, run or checkpoint, or (--devices) the CPU and CUDA devices',
  builder: (y: Argv) =>
    withJson(
      y
        .positional('path', { type: 'string', describe: 'A dataset folder, run folder or checkpoint file' })
        .option('devices', {
          type: 'boolean',
          default: false,
          describe: 'Show CPU features and the CUDA device query',
        }),
    )
      .example('$0 info --devices', 'CPU features, and CUDA devices or why there are none')
      .example('$0 info datasets/eno', 'Sources, chunks and hours of audio in a dataset')
      .example('$0 info datasets/eno --json', 'The same as JSON') as unknown as Argv<InfoArgs>,
  handler: async (argv: ArgumentsCamelCase<InfoArgs>) => {
    if (argv.devices || !argv.path) {
      if (!argv.devices && !argv.path)
        throw new UserError('info: give a PATH (dataset, run or checkpoint) or --devices');
      const r = deviceReport();
      if (argv.json) console.log(JSON.stringify(r, null, 2));
      else printDevices(r);
      if (!argv.path) return;
    }
    const path = argv.path!;
    if (!existsSync(path)) throw new UserError(`info: ${path}: no such file or folder`);
    for (const d of describers) {
      if (!d.matches(path)) continue;
      const report = await d.describe(path);
      if (argv.json) console.log(JSON.stringify(report.json, null, 2));
      else console.log(report.text);
      return;
    }
    throw new UserError(
      `info: ${path}: not a dataset (no manifest.json), run (no config.json) or checkpoint (.safetensors)`,
    );
  },
};
