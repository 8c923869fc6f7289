// Issue 16: a seeded fuzz test over checkpoint, optimizer-state, manifest and job-file bytes and
// values. For every case: the outcome is success or one clear UserError line (CLI: exit 0 or 1, never
// 70 or a signal, one error line on stderr), within a time bound and a memory bound, and nothing is
// written outside the case's output folder. Seed and case count: WN_FUZZ_SEED / WN_FUZZ_CASES (the
// defaults run in well under two minutes on two cores).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { Rng } from '../src/util/rng.js';
import { loadCheckpoint, loadOptimizer, optimizerPathFor } from '../src/train/checkpoint.js';
import { readManifest } from '../src/dataset/manifest.js';
import { chunkProblems } from '../src/info/dataset.js';
import { planFromJob } from '../src/render/spec.js';
import { UserError } from '../src/util/errors.js';
import { makeRun, errorLines, SMALL_FLAGS } from './helpers/hostile.js';
import { CLI, TSX, tempDir, writeDataset, periodic } from './train-cli-helpers.js';

const SEED = Number(process.env.WN_FUZZ_SEED ?? 16);
const CASES = Number(process.env.WN_FUZZ_CASES ?? 400);
const CLI_CASES = Math.max(8, Math.round(CASES / 16));
/** Bounds: one in-process case, one CLI run, memory of this process and of a CLI run. */
const CASE_MS = 5_000;
const CLI_MS = 90_000;
const RSS_BOUND = 1.5 * 2 ** 30;
const CLI_RSS_KIB = 1.5 * 2 ** 20;
const MAXRSS = pathToFileURL(join(import.meta.dirname, 'helpers', 'maxrss.mjs')).href;

/** Values a hostile file might hold where a number, string, list or object is expected. */
const HOSTILE: unknown[] = [
  -1,
  0,
  1,
  2.5,
  -2.5,
  2 ** 31,
  2 ** 32 + 1,
  2 ** 40,
  2 ** 53,
  2 ** 53 + 2,
  1e308,
  -1e308,
  1e-320,
  65536,
  65537,
  262144,
  1048576,
  null,
  true,
  false,
  '',
  'abc',
  '1',
  '0x10',
  '1e400',
  'NaN',
  'Infinity',
  '-0',
  '\u0000',
  'é'.repeat(300),
  [],
  [1],
  [null],
  [[1]],
  new Array(257).fill(1),
  new Array(300).fill(65536),
  {},
  { a: 1 },
  { dilations: [1] },
];

class Fuzz {
  constructor(readonly r: Rng) {}
  int(n: number): number {
    return this.r.below(n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  chance(p: number): boolean {
    return this.r.nextFloat() < p;
  }
  value(): unknown {
    if (this.chance(0.1)) {
      // deep nesting
      let v: unknown = 1;
      for (let i = 0, n = 1 + this.int(1000); i < n; i++) v = [v];
      return v;
    }
    return structuredClone(this.pick(HOSTILE));
  }

  /** Byte-level mutation: flips, overwrites, truncation, extension, a lying header length. */
  bytes(src: Buffer): Buffer {
    let b = Buffer.from(src);
    const kind = this.int(6);
    if (kind === 0) for (let i = 0, n = 1 + this.int(8); i < n; i++) b[this.int(b.length)] ^= 1 << this.int(8);
    else if (kind === 1) b = b.subarray(0, this.int(b.length));
    else if (kind === 2) b = Buffer.concat([b, Buffer.alloc(1 + this.int(4096), this.int(256))]);
    else if (kind === 3 && b.length >= 8)
      b.writeBigUInt64LE(BigInt(this.pick([0, 1, 7, 2 ** 24, 2 ** 40, 2 ** 53 - 1, b.length, b.length - 9])), 0);
    else if (kind === 4) {
      const at = this.int(b.length);
      b.fill(this.int(256), at, Math.min(b.length, at + 1 + this.int(64)));
    } else {
      const at = this.int(b.length);
      b = Buffer.concat([b.subarray(0, at), Buffer.from(JSON.stringify(this.value()) ?? 'x'), b.subarray(at)]);
    }
    return b;
  }

  /** Value-level mutation of a JSON object: set, delete or replace fields, recursively by path. */
  json(obj: unknown): unknown {
    const o = structuredClone(obj) as Record<string, unknown>;
    for (let i = 0, n = 1 + this.int(3); i < n; i++) {
      let target: Record<string, unknown> | unknown[] = o;
      for (let d = 0; d < 3; d++) {
        const keys = Object.keys(target);
        if (keys.length === 0) break;
        const k = this.pick(keys);
        const v = (target as Record<string, unknown>)[k];
        if (v && typeof v === 'object' && this.chance(0.5)) target = v as Record<string, unknown>;
        else break;
      }
      const keys = Object.keys(target);
      const k = keys.length && this.chance(0.9) ? this.pick(keys) : 'extra';
      if (this.chance(0.15)) delete (target as Record<string, unknown>)[k];
      else (target as Record<string, unknown>)[k] = this.value();
    }
    return o;
  }
}

/** A safetensors file with its __metadata__ rewritten (values mutated, JSON-in-string fields too). */
function mutateMeta(f: Fuzz, file: Buffer, stringFields: string[]): Buffer {
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8'));
  const meta = header.__metadata__ as Record<string, string>;
  const field = f.pick([...stringFields, ...Object.keys(meta)]);
  if (stringFields.includes(field) && f.chance(0.8)) {
    meta[field] = JSON.stringify(f.json(JSON.parse(meta[field])));
  } else if (f.chance(0.2)) {
    delete meta[field];
  } else {
    const v = f.value();
    meta[field] = typeof v === 'string' ? v : (JSON.stringify(v) ?? 'x');
  }
  if (f.chance(0.1)) header[f.pick(Object.keys(header))] = f.value(); // a tensor entry or the metadata itself
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const h = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, file.subarray(8 + n)]);
}

/** Every file under `dir` with its size and mtime, relative paths (to see what a case wrote). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p, { throwIfNoEntry: false });
        out.set(relative(dir, p), st ? `${st.size}:${st.mtimeMs}` : 'link');
      }
    }
  };
  walk(dir);
  return out;
}

function changedOutside(before: Map<string, string>, after: Map<string, string>, allowed: string): string[] {
  const bad: string[] = [];
  for (const [k, v] of after) if (!k.startsWith(allowed) && before.get(k) !== v) bad.push(k);
  for (const k of before.keys()) if (!k.startsWith(allowed) && !after.has(k)) bad.push(`${k} (deleted)`);
  return bad;
}

function expectUserErrorOrOk(e: unknown, label: string): void {
  if (e === undefined) return;
  assert.ok(e instanceof UserError, `${label}: ${e instanceof Error ? e.stack : String(e)}`);
  assert.ok(!e.message.includes('\n') && e.message.length < 500, `${label}: not one line: ${e.message}`);
  assert.doesNotMatch(e.message, /internal error|undefined is not|is not a function|Cannot read propert/, label);
}

test(`fuzz (seed ${SEED}): ${CASES} in-process cases over checkpoint, optimizer, manifest and job bytes and values`, async (t) => {
  const { dir, cleanup } = tempDir('wn-fuzz-');
  t.after(cleanup);
  const f = new Fuzz(new Rng(SEED));
  const weights = await makeRun(join(dir, 'base', 'run'));
  const baseW = readFileSync(weights);
  const baseO = readFileSync(optimizerPathFor(weights));
  const ds = writeDataset(join(dir, 'base', 'ds'), [
    { split: 'train', data: periodic(3000, 40) },
    { split: 'val', data: periodic(2000, 30) },
  ]);
  const baseM = JSON.parse(readFileSync(join(ds, 'manifest.json'), 'utf8'));
  writeFileSync(join(dir, 'base', 'p.wav'), Buffer.alloc(100));
  const baseJ = [
    { name: 'a', seconds: 1, seed: 3, temperature: 0.9, prime: 'p.wav', loop: true },
    { name: 'sub/b', seconds: '2s' },
  ];
  const ck = await loadCheckpoint(weights);
  const before = snapshot(dir);
  const kinds = { ok: 0, refused: 0 };
  const work = join(dir, 'work');
  mkdirSync(work);
  const defaults = { seconds: 1, seedBase: 0, temperature: { lo: 1, hi: 1 }, primes: [], loop: false } as never;
  for (let i = 0; i < CASES; i++) {
    const target = i % 4;
    const t0 = performance.now();
    let err: unknown;
    let label = '';
    try {
      if (target === 0) {
        const p = join(work, 'w.safetensors');
        const byBytes = f.chance(0.5);
        label = `case ${i} checkpoint ${byBytes ? 'bytes' : 'metadata'}`;
        writeFileSync(p, byBytes ? f.bytes(baseW) : mutateMeta(f, baseW, ['config', 'training']));
        await loadCheckpoint(p);
      } else if (target === 1) {
        const w = join(work, 'o.safetensors');
        copyFileSync(weights, w);
        const byBytes = f.chance(0.4);
        label = `case ${i} optimizer ${byBytes ? 'bytes' : 'metadata'}`;
        writeFileSync(
          optimizerPathFor(w),
          byBytes ? f.bytes(baseO) : mutateMeta(f, baseO, ['adam', 'sampler', 'training', 'config']),
        );
        await loadOptimizer(w, ck);
      } else if (target === 2) {
        const d = join(work, 'ds');
        rmSync(d, { recursive: true, force: true });
        mkdirSync(join(d, 'chunks'), { recursive: true });
        for (const c of baseM.chunks) copyFileSync(join(ds, 'chunks', c.file), join(d, 'chunks', c.file));
        const byBytes = f.chance(0.3);
        label = `case ${i} manifest ${byBytes ? 'bytes' : 'values'}`;
        const text = JSON.stringify(baseM);
        writeFileSync(join(d, 'manifest.json'), byBytes ? f.bytes(Buffer.from(text)) : JSON.stringify(f.json(baseM)));
        chunkProblems(d, readManifest(d));
      } else {
        const byBytes = f.chance(0.3);
        label = `case ${i} job ${byBytes ? 'bytes' : 'values'}`;
        const p = join(dir, 'base', 'job.json'); // beside p.wav (relative primes)
        const text = JSON.stringify(baseJ);
        writeFileSync(
          p,
          byBytes
            ? f.bytes(Buffer.from(text))
            : JSON.stringify(f.chance(0.7) ? [f.json(baseJ[0]), baseJ[1]] : f.json(baseJ)),
        );
        planFromJob(p, defaults);
      }
      kinds.ok++;
    } catch (e) {
      err = e;
      kinds.refused++;
    }
    expectUserErrorOrOk(err, label);
    const ms = performance.now() - t0;
    assert.ok(ms < CASE_MS, `${label}: took ${ms.toFixed(0)} ms`);
    assert.ok(process.memoryUsage().rss < RSS_BOUND, `${label}: rss ${process.memoryUsage().rss}`);
  }
  const after = snapshot(dir);
  const outside = changedOutside(before, after, 'work').filter((k) => k !== join('base', 'job.json'));
  assert.deepEqual(outside, [], 'loaders write nothing');
  t.diagnostic(
    `${kinds.ok} accepted, ${kinds.refused} refused with one line; peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );
  assert.ok(kinds.refused > CASES / 4, 'the mutations reach the checks');
});

interface Run {
  status: number | null;
  signal: string | null;
  stderr: string;
  ms: number;
  maxRssKiB: number | null;
}

function runCli(args: string[], cwd: string, statsFile: string): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', MAXRSS, '--import', TSX, CLI, ...args], {
      cwd,
      env: { ...process.env, WN_TEST_MAXRSS_FILE: statsFile, WAVENET_DEBUG: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr.on('data', (b) => {
      stderr += b;
    });
    const timer = setTimeout(() => p.kill('SIGKILL'), CLI_MS);
    p.on('close', (status, signal) => {
      clearTimeout(timer);
      const rss = existsSync(statsFile) ? Number(readFileSync(statsFile, 'utf8')) : null;
      resolve({ status, signal, stderr, ms: Date.now() - t0, maxRssKiB: rss });
    });
  });
}

test(`fuzz (seed ${SEED}): ${CLI_CASES} CLI runs (synth, render --job, info, train --resume) exit 0 or 1 with one line, bounded, writing only their output folder`, async (t) => {
  const { dir, cleanup } = tempDir('wn-fuzz-cli-');
  t.after(cleanup);
  const f = new Fuzz(new Rng(SEED + 1));
  const base = join(dir, 'base');
  const weights = await makeRun(join(base, 'run'));
  const baseW = readFileSync(weights);
  const baseO = readFileSync(optimizerPathFor(weights));
  const ds = writeDataset(join(base, 'ds'), [
    { split: 'train', data: periodic(3000, 40) },
    { split: 'val', data: periodic(2000, 30) },
  ]);
  const baseM = JSON.parse(readFileSync(join(ds, 'manifest.json'), 'utf8'));
  const stats = join(dir, 'stats');
  mkdirSync(stats);
  const cases: { args: string[]; out: string; label: string }[] = [];
  for (let i = 0; i < CLI_CASES; i++) {
    const out = join(dir, `case-${i}`);
    mkdirSync(out);
    const kind = i % 4;
    if (kind === 0) {
      const p = join(out, 'm.safetensors');
      writeFileSync(p, f.chance(0.5) ? f.bytes(baseW) : mutateMeta(f, baseW, ['config']));
      cases.push({
        out,
        label: `synth ${i}`,
        args: ['synth', '--model', p, '--seconds', '0.05', '--out', 'a.wav', '--seed', '1'],
      });
    } else if (kind === 1) {
      const job = [
        { name: 'a', seconds: 0.05 },
        { name: 'b/c', seconds: 0.05, seed: 2 },
      ];
      writeFileSync(
        join(out, 'job.json'),
        f.chance(0.3) ? f.bytes(Buffer.from(JSON.stringify(job))) : JSON.stringify(f.json(job)),
      );
      cases.push({
        out,
        label: `render ${i}`,
        args: ['render', '--model', weights, '--job', 'job.json', '--out-dir', 'r', '--no-sheet'],
      });
    } else if (kind === 2) {
      const d = join(out, 'ds');
      mkdirSync(join(d, 'chunks'), { recursive: true });
      for (const c of baseM.chunks) copyFileSync(join(ds, 'chunks', c.file), join(d, 'chunks', c.file));
      writeFileSync(
        join(d, 'manifest.json'),
        f.chance(0.3) ? f.bytes(Buffer.from(JSON.stringify(baseM))) : JSON.stringify(f.json(baseM)),
      );
      cases.push({ out, label: `info ${i}`, args: ['info', 'ds'] });
    } else {
      const run = join(out, 'run');
      mkdirSync(join(run, 'checkpoints'), { recursive: true });
      for (const n of readdirSync(join(base, 'run')))
        if (n !== 'checkpoints' && !n.startsWith('.')) copyFileSync(join(base, 'run', n), join(run, n));
      const w = join(run, 'checkpoints', 'step-00000003.safetensors');
      copyFileSync(weights, w);
      writeFileSync(
        optimizerPathFor(w),
        f.chance(0.4) ? f.bytes(baseO) : mutateMeta(f, baseO, ['adam', 'sampler', 'training']),
      );
      cases.push({
        out,
        label: `train --resume ${i}`,
        args: [
          'train',
          '--data',
          ds,
          '--run',
          'run',
          '--resume',
          '--steps',
          '4',
          '--val-every',
          '0',
          ...SMALL_FLAGS,
          '--window',
          '32',
          '--batch',
          '2',
          '--seed',
          '1',
        ],
      });
    }
  }
  const before = snapshot(dir);
  const results: Run[] = new Array(cases.length);
  let next = 0;
  await Promise.all(
    [0, 1].map(async () => {
      while (next < cases.length) {
        const i = next++;
        results[i] = await runCli(cases[i].args, cases[i].out, join(stats, `${i}.rss`));
      }
    }),
  );
  const after = snapshot(dir);
  let ok = 0;
  results.forEach((r, i) => {
    const label = `${cases[i].label} (${cases[i].args.join(' ')}): exit ${r.status} signal ${r.signal}\n${r.stderr}`;
    assert.equal(r.signal, null, label);
    assert.ok(r.status === 0 || r.status === 1, label);
    if (r.status === 1) {
      assert.equal(errorLines(r.stderr).length, 1, label);
      assert.doesNotMatch(r.stderr, /internal error/, label);
    } else ok++;
    assert.ok(r.ms < CLI_MS, `${label}: ${r.ms} ms`);
    assert.ok(r.maxRssKiB !== null && r.maxRssKiB < CLI_RSS_KIB, `${label}: peak memory ${r.maxRssKiB} KiB`);
  });
  const outside = changedOutside(before, after, 'case-').filter((k) => !k.startsWith('stats'));
  assert.deepEqual(outside, [], "nothing written outside the cases' folders");
  t.diagnostic(
    `${ok} runs exited 0, ${results.length - ok} exited 1 with one line; slowest ${Math.max(...results.map((r) => r.ms))} ms, peak ${Math.max(...results.map((r) => r.maxRssKiB ?? 0)) >> 10} MiB`,
  );
});
