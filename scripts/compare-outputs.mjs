// Compares what two runs of the CLI wrote (scripts/check-platforms.sh: an emulated CPU against the same
// commands run natively): node scripts/compare-outputs.mjs DIR_A DIR_B
//   *.safetensors  tensor bytes identical, header identical except the wall-clock metadata
//                  (created, elapsed_seconds)
//   *.wav          identical bytes
//   *.jsonl        (training logs) step, loss and lr identical on every line; timings ignored
// Other files (PNG plots, JSON summaries with timings and paths) are not compared. Exit 1 naming the first
// difference of each file that differs, or a file missing on one side.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const WALL_CLOCK = new Set(['created', 'elapsed_seconds']);

function files(dir) {
  const out = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

function firstDiff(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function safetensors(buf) {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const meta = { ...(header.__metadata__ ?? {}) };
  for (const k of WALL_CLOCK) delete meta[k];
  return { header: JSON.stringify({ ...header, __metadata__: meta }), data: buf.subarray(8 + n) };
}

/** Returns a description of the difference, or null when the two files count as identical. */
export function compareFile(path, a, b) {
  if (path.endsWith('.safetensors')) {
    const x = safetensors(a),
      y = safetensors(b);
    if (x.header !== y.header) return 'headers differ (beyond created/elapsed_seconds)';
    const d = firstDiff(x.data, y.data);
    return d < 0 ? null : `tensor bytes differ from byte ${d} of ${x.data.length}`;
  }
  if (path.endsWith('.jsonl')) {
    const la = a.toString('utf8').trim().split('\n'),
      lb = b.toString('utf8').trim().split('\n');
    if (la.length !== lb.length) return `${la.length} vs ${lb.length} lines`;
    for (let i = 0; i < la.length; i++) {
      const p = JSON.parse(la[i]),
        q = JSON.parse(lb[i]);
      for (const k of ['step', 'loss', 'lr']) if (p[k] !== q[k]) return `line ${i + 1}: ${k} ${p[k]} vs ${q[k]}`;
    }
    return null;
  }
  const d = firstDiff(a, b);
  return d < 0 ? null : `bytes differ from byte ${d} (sizes ${a.length}, ${b.length})`;
}

function main() {
  const [A, B] = process.argv.slice(2);
  if (!A || !B || !existsSync(A) || !existsSync(B)) {
    console.error('usage: node scripts/compare-outputs.mjs DIR_A DIR_B (both must exist)');
    process.exit(2);
  }
  const compared = (d) =>
    files(d)
      .map((p) => relative(d, p))
      .filter((p) => /\.(safetensors|wav|jsonl)$/.test(p))
      .sort();
  const ra = compared(A),
    rb = compared(B);
  const problems = [];
  for (const p of new Set([...ra, ...rb])) {
    if (!ra.includes(p) || !rb.includes(p)) {
      problems.push(`${p}: only in ${ra.includes(p) ? A : B}`);
      continue;
    }
    const why = compareFile(p, readFileSync(join(A, p)), readFileSync(join(B, p)));
    if (why) problems.push(`${p}: ${why}`);
  }
  if (!ra.length) problems.push(`nothing to compare in ${A}`);
  if (problems.length) {
    for (const p of problems) console.error(`compare: ${p}`);
    process.exit(1);
  }
  console.log(`identical: ${ra.length} files (${ra.join(', ')})`);
}

main();
