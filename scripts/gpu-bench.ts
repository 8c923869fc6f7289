/**
 * The engine's benchmarks for the GPU check, without the CLI (so the GPU bundle needs no node_modules:
 * scripts/gpu-check.sh bundles this file with esbuild). Prints the benchmark's JSON on stdout.
 *
 *   node --import tsx scripts/gpu-bench.ts train [--device cuda] [--batch 8] [--window 1024] [--steps 20]
 *   node --import tsx scripts/gpu-bench.ts synth [--device cuda] [--batch 1] [--seconds 2] [--repeats 3]
 *
 * Both use the default model config; they call the same functions as `wavenet bench train|synth`.
 */
import { benchTrain } from '../src/bench/train.js';
import { benchSynth } from '../src/bench/synth.js';
import { DEFAULT_CONFIG } from '../src/model/config.js';
import type { DeviceChoice } from '../src/device.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

async function main() {
  const what = process.argv[2];
  const device = arg('device', 'cuda') as DeviceChoice;
  const config = { ...DEFAULT_CONFIG, dilations: [...DEFAULT_CONFIG.dilations] };
  const log = (s: string) => process.stderr.write(s + '\n');
  if (what === 'train') {
    const r = await benchTrain({
      config,
      device,
      batch: Number(arg('batch', '8')),
      window: Number(arg('window', '1024')),
      steps: Number(arg('steps', '20')),
      log,
    });
    console.log(JSON.stringify(r, null, 2));
  } else if (what === 'synth') {
    const r = await benchSynth({
      config,
      device,
      batch: Number(arg('batch', '1')),
      seconds: Number(arg('seconds', '2')),
      repeats: Number(arg('repeats', '3')),
      naiveSeconds: 0,
      log,
    });
    console.log(JSON.stringify(r, null, 2));
  } else {
    throw new Error('usage: gpu-bench.ts train|synth [--device cuda] ...');
  }
}

main().catch((e) => {
  console.error(`gpu-bench: ${(e as Error).message}`);
  process.exitCode = 1;
});
