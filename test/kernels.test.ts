/**
 * The SIMD variant the library dispatches to (native/cpu/cpu_features.cc): the best one the CPU
 * supports, or the one WAVENET_KERNELS forces. scripts/test.sh reruns the numerical suites once per
 * supported variant with WAVENET_KERNELS set; this check, run with them, proves which variant ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { native } from '../src/native.js';

const f = native().cpuFeatures();

function best(flags: Record<string, boolean>): string {
  if (f.arch !== 'x86_64') return 'generic';
  const avx2 = flags.avx2 && flags.fma && flags.f16c;
  const avx512 = avx2 && flags.avx512f && flags.avx512bw && flags.avx512vl && flags.avx512dq && flags.avx512bf16;
  return avx512 ? 'avx512' : avx2 ? 'avx2' : 'generic';
}

test('the library runs the variant WAVENET_KERNELS names, or else the best the CPU supports', (t) => {
  const forced = process.env.WAVENET_KERNELS;
  t.diagnostic(`arch ${f.arch}, kernels ${f.kernels}${forced ? ` (WAVENET_KERNELS=${forced})` : ''}`);
  if (forced)
    assert.equal(
      f.kernels,
      forced,
      `WAVENET_KERNELS=${forced} but the library runs ${f.kernels} (not supported by this CPU?)`,
    );
  else assert.equal(f.kernels, best(f.flags));
});

test('WAVENET_KERNELS: generic always works; a variant the CPU lacks falls back to the best one', () => {
  const kernelsWith = (k: string) => {
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "import('./src/native.ts').then((m) => process.stdout.write(m.native().cpuFeatures().kernels))",
      ],
      {
        env: { ...process.env, WAVENET_KERNELS: k },
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  assert.equal(kernelsWith('generic'), 'generic');
  const b = best(f.flags);
  assert.equal(kernelsWith('avx2'), b === 'generic' ? 'generic' : 'avx2');
  assert.equal(kernelsWith('avx512'), b);
  assert.equal(kernelsWith('nonsense'), b);
});
