/**
 * Side-by-side synthesis benchmark of two settings:
 *   node --import tsx scripts/bench-ab.ts --a 'WAVENET_KERNELS=generic' --b 'WAVENET_KERNELS=avx2'
 *     [--pairs 6] [--cli-b /other/checkout/dist/cli.js] [--out bench-results/ab.json] [-- bench synth flags]
 * Each pair runs `wavenet bench synth --json` once with setting A and once with setting B, as separate
 * child processes, alternating which goes first; a setting is environment variables (KEY=VALUE,
 * space-separated) and optionally another checkout's CLI (--cli-a / --cli-b: a build before a change).
 * Prints every pair, the medians and the median of the per-pair ratios B/A (on a shared, noisy machine
 * the paired ratio is the figure to quote), and writes the JSON. Default synth flags:
 * --seconds 1 --repeats 3 --naive-seconds 0 (batch 1, default model).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../src/util/stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash >= 0 ? argv.slice(0, dash) : argv;
const synthFlags = dash >= 0 ? argv.slice(dash + 1) : ['--seconds', '1', '--repeats', '3', '--naive-seconds', '0'];
const fail = (msg: string): never => {
  console.error(`bench-ab: ${msg}`);
  process.exit(1);
};
const flag = (name: string, dflt: string): string => {
  const i = own.indexOf(name);
  return i >= 0 && i + 1 < own.length ? own[i + 1] : dflt;
};

interface Setting {
  env: Record<string, string>;
  cli: string;
  label: string;
}
function setting(which: 'a' | 'b'): Setting {
  const text = flag(`--${which}`, '');
  const env: Record<string, string> = {};
  for (const kv of text.split(/\s+/).filter(Boolean)) {
    const eq = kv.indexOf('=');
    if (eq <= 0) fail(`--${which}: '${kv}' is not KEY=VALUE`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const cli = flag(`--cli-${which}`, join(root, 'dist', 'cli.js'));
  return { env, cli, label: `${text || '(no change)'}${cli === join(root, 'dist', 'cli.js') ? '' : ` [${cli}]`}` };
}

function runOnce(s: Setting): number {
  const r = spawnSync(process.execPath, [s.cli, 'bench', 'synth', ...synthFlags, '--json'], {
    env: { ...process.env, ...s.env },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) fail(`${s.label}: bench synth failed: ${r.stderr.trim().split('\n').pop()}`);
  return (JSON.parse(r.stdout) as { samplesPerSecondAggregate: number }).samplesPerSecondAggregate;
}

const pairs = Number(flag('--pairs', '6'));
if (!Number.isInteger(pairs) || pairs < 1) fail(`--pairs must be a positive integer, got '${flag('--pairs', '')}'`);
const A = setting('a');
const B = setting('b');
const out = flag('--out', join(root, 'bench-results', 'ab.json'));
const loadBefore = loadavg()[0];
const rows: { a: number; b: number; ratio: number }[] = [];
console.log(`bench-ab: A = ${A.label}; B = ${B.label}; bench synth ${synthFlags.join(' ')}; ${pairs} pairs`);
for (let i = 0; i < pairs; i++) {
  const [first, second] = i % 2 === 0 ? [A, B] : [B, A];
  const x = runOnce(first);
  const y = runOnce(second);
  const [a, b] = i % 2 === 0 ? [x, y] : [y, x];
  rows.push({ a, b, ratio: b / a });
  console.log(`  pair ${i + 1}: A ${a.toFixed(0)}  B ${b.toFixed(0)} samples/s  B/A ${(b / a).toFixed(3)}`);
}
const result = {
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} logical CPUs`,
  date: new Date().toISOString(),
  loadAverage1m: { before: loadBefore, after: loadavg()[0] },
  synthFlags,
  a: A.label,
  b: B.label,
  pairs: rows,
  medianA: median(rows.map((r) => r.a)),
  medianB: median(rows.map((r) => r.b)),
  medianRatio: median(rows.map((r) => r.ratio)),
};
console.log(
  `median A ${result.medianA.toFixed(0)}, B ${result.medianB.toFixed(0)} samples/s; median paired ratio B/A ${result.medianRatio.toFixed(3)}` +
    ` (load ${loadBefore.toFixed(1)} -> ${result.loadAverage1m.after.toFixed(1)})`,
);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${out}`);
