/**
 * The CPU GEMM (native/cpu/gemm.h) against the naive triple loop, on odd shapes, every transpose
 * combination, strided operands and accumulation; and every SIMD variant of the library
 * (generic/avx2/avx512, in child processes) giving the same training loss. The GEMM entry points live in
 * the test addon (build/Release/wavenet_test.node, native/test/napi_test.cc), built with the production
 * addon from the same core library; the production addon has none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { native } from '../src/native.js';

type GemmFn = (
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: Float32Array,
  lda: number,
  B: Float32Array,
  ldb: number,
  C: Float32Array,
  ldc: number,
  accumulate: boolean,
  mode: 'sgemm' | 'naive' | 'prepacked',
) => void;
interface TestAddon {
  configure(kernels?: string): void;
  kernels(): string;
  gemm: GemmFn;
}
const testAddonPath = join(process.cwd(), 'build/Release/wavenet_test.node');
const testAddon = createRequire(import.meta.url)(testAddonPath) as TestAddon;
testAddon.configure(process.env.WAVENET_KERNELS); // the variant of this run (scripts/test.sh reruns per variant)
const addon = native() as unknown as {
  _gemmForTest?: unknown;
  cpuFeatures(): { kernels: string; flags: Record<string, boolean> };
};

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

function checkGemm(kernelsLabel: string) {
  const r = rng(1);
  const shapes = [
    [1, 1, 1],
    [1, 7, 3],
    [5, 1, 9],
    [13, 17, 19],
    [33, 31, 7],
    [97, 65, 130],
    [12, 32, 256],
    [200, 50, 300],
    [7, 129, 600],
    [64, 64, 0],
  ];
  let worst = 0;
  for (const [M, N, K] of shapes)
    for (const ta of [false, true])
      for (const tb of [false, true])
        for (const acc of [false, true]) {
          const pad = 3; // leading dimensions larger than the rows
          const lda = (ta ? M : K) + pad;
          const ldb = (tb ? K : N) + pad;
          const ldc = N + pad;
          const A = Float32Array.from({ length: (ta ? K : M) * lda + 1 }, r);
          const B = Float32Array.from({ length: (tb ? N : K) * ldb + 1 }, r);
          const C0 = Float32Array.from({ length: M * ldc }, r);
          const C1 = Float32Array.from(C0);
          const C2 = Float32Array.from(C0);
          const C3 = Float32Array.from(C0);
          testAddon.gemm(ta, tb, M, N, K, A, lda, B, ldb, C1, ldc, acc, 'sgemm');
          testAddon.gemm(ta, tb, M, N, K, A, lda, B, ldb, C2, ldc, acc, 'naive');
          testAddon.gemm(ta, tb, M, N, K, A, lda, B, ldb, C3, ldc, acc, 'prepacked');
          assert.ok(
            C1.every((v, i) => v === C3[i]),
            `prepacked B differs from sgemm for ${M}x${N}x${K} tA=${ta} tB=${tb}`,
          );
          for (let i = 0; i < M; i++)
            for (let j = 0; j < ldc; j++) {
              const k = i * ldc + j;
              if (j >= N) {
                assert.equal(C1[k], C0[k], `wrote outside C at (${i},${j}) for ${M}x${N}x${K}`);
                continue;
              }
              const err = Math.abs(C1[k] - C2[k]) / (1 + Math.sqrt(K));
              worst = Math.max(worst, err);
              assert.ok(
                err < 1e-5,
                `${kernelsLabel} M=${M} N=${N} K=${K} tA=${ta} tB=${tb} acc=${acc}: ${C1[k]} vs ${C2[k]}`,
              );
            }
        }
  return worst;
}

test('sgemm (and with B prepacked) matches the naive loop for odd shapes, all transposes, strides and accumulation', (t) => {
  const worst = checkGemm(testAddon.kernels());
  t.diagnostic(`kernels ${testAddon.kernels()}: worst scaled error ${worst.toExponential(2)}`);
});

test('the production addon carries no test entry point; the test addon checks its arguments', () => {
  assert.equal(addon._gemmForTest, undefined);
  assert.equal(
    Object.keys(native()).some((k) => k.startsWith('_')),
    false,
    'an underscore (test-only) export in wavenet.node',
  );
  const f = new Float32Array(4);
  assert.throws(() => testAddon.gemm(false, false, 2, 2, 2, f, 1, f, 2, f, 2, false, 'sgemm'), /leading dimension/);
  assert.throws(() => testAddon.gemm(false, false, 3, 3, 3, f, 3, f, 3, f, 3, false, 'sgemm'), /too small/);
  assert.throws(() => testAddon.gemm(false, false, 2, 2, 2, f, 2, f, 2, f, 2, false, 'fast' as 'sgemm'), /gemm\(/);
});

test("cpuGemmRate (the benchmark's GEMM rate) measures a positive rate and rejects bad sizes", () => {
  const r = native().cpuGemmRate(64, 0);
  assert.ok(r.gflops > 0 && Number.isFinite(r.gflops), `gflops ${r.gflops}`);
  assert.ok(r.gflopsPerCpu > 0 && Number.isFinite(r.gflopsPerCpu), `gflopsPerCpu ${r.gflopsPerCpu}`);
  assert.throws(() => native().cpuGemmRate(0, 0), /n must be 1\.\.4096/);
  assert.throws(() => native().cpuGemmRate(64, -1), /seconds/);
});

// The variant is forced in both addons: the production one through WAVENET_KERNELS (read when it loads),
// the test addon, which has its own copy of the core, through configure().
const child = `
const a = require(${JSON.stringify(join(process.cwd(), 'build/Release/wavenet.node'))});
const ta = require(${JSON.stringify(testAddonPath)});
ta.configure(process.env.WAVENET_KERNELS);
const config = { dilations: [1, 2, 4, 8, 16, 1, 2], residual: 24, dilation: 20, skip: 40, head: 36, classes: 256 };
const B = 3, W = 100;
const L = a.layout(config);
let s = 77;
const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
const p = new Float32Array(L.total);
for (let i = 0; i < p.length; i++) p[i] = (r() * 2 - 1) * 0.3;
const crops = new Uint8Array(B * (L.receptiveField + W));
for (let i = 0; i < crops.length; i++) crops[i] = Math.floor(r() * 256);
const t = new a.Trainer(config, B, W, 'cpu');
t.setParams(p);
const loss = t.forwardBackward(crops);
const g = t.getGrads();
let gn = 0; for (const v of g) gn += v * v;
// the GEMM checks in this variant too: odd shapes, every transpose, accumulation
let ge = 0;
for (const [M, N, K] of [[1, 1, 1], [13, 17, 19], [37, 45, 53], [97, 65, 300]])
  for (const tA of [false, true]) for (const tB of [false, true]) for (const acc of [false, true]) {
    const A = Float32Array.from({ length: M * K }, r), Bm = Float32Array.from({ length: K * N }, r);
    const C1 = Float32Array.from({ length: M * N }, r), C2 = Float32Array.from(C1), C3 = Float32Array.from(C1);
    ta.gemm(tA, tB, M, N, K, A, tA ? M : K, Bm, tB ? K : N, C1, N, acc, 'sgemm');
    ta.gemm(tA, tB, M, N, K, A, tA ? M : K, Bm, tB ? K : N, C2, N, acc, 'naive');
    ta.gemm(tA, tB, M, N, K, A, tA ? M : K, Bm, tB ? K : N, C3, N, acc, 'prepacked');
    for (let i = 0; i < C1.length; i++) ge = Math.max(ge, C1[i] === C3[i] ? 0 : 1);
    for (let i = 0; i < C1.length; i++) ge = Math.max(ge, Math.abs(C1[i] - C2[i]) / (1 + Math.sqrt(K)));
  }
console.log(JSON.stringify({ kernels: a.cpuFeatures().kernels, gemmKernels: ta.kernels(), loss, gradNorm: Math.sqrt(gn), gemmErr: ge }));
`;

test('every SIMD variant gives the same loss and gradients within float tolerance', (t) => {
  const f = addon.cpuFeatures();
  const variants = ['generic'];
  if (f.flags.avx2 && f.flags.fma && f.flags.f16c) variants.push('avx2');
  if (f.kernels === 'avx512') variants.push('avx512');
  const out = variants.map((v) => {
    const r = spawnSync(process.execPath, ['-e', child], {
      env: { ...process.env, WAVENET_KERNELS: v },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const res = JSON.parse(r.stdout.trim()) as {
      kernels: string;
      gemmKernels: string;
      loss: number;
      gradNorm: number;
      gemmErr: number;
    };
    assert.equal(res.kernels, v, `WAVENET_KERNELS=${v} was not honoured`);
    assert.equal(res.gemmKernels, v, `the test addon did not take kernels ${v}`);
    assert.ok(res.gemmErr < 1e-5, `${v}: gemm error ${res.gemmErr}`);
    return res;
  });
  t.diagnostic(out.map((o) => `${o.kernels}: loss ${o.loss} |grad| ${o.gradNorm}`).join('; '));
  if (variants.length < 3) t.diagnostic(`only ${variants.join(', ')} can run on this CPU`);
  for (const o of out.slice(1)) {
    assert.ok(
      Math.abs(o.loss - out[0].loss) < 1e-5 * out[0].loss,
      `${o.kernels} loss ${o.loss} vs generic ${out[0].loss}`,
    );
    assert.ok(
      Math.abs(o.gradNorm - out[0].gradNorm) < 1e-4 * out[0].gradNorm,
      `${o.kernels} |grad| ${o.gradNorm} vs generic ${out[0].gradNorm}`,
    );
  }
});
