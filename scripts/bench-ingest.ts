/**
 * Ingest throughput against plain ffmpeg, side by side in one run.
 *
 *   node --import tsx scripts/bench-ingest.ts [--dir ../shared/audio/music] [--jobs N] [--repeats 3]
 *                                             [--ffmpeg PATH] [--no-long]
 *
 * For each repeat (alternating the order):
 *   ffmpeg:  every file decoded to 16 kHz mono f32 into /dev/null by the same ffmpeg binary ingest uses,
 *            `ffmpeg -i F -ac 1 -ar 16000 -f f32le /dev/null`, N at a time (a pool of N processes)
 *   ingest:  `node bin/wavenet.js ingest DIR --out TMP --jobs N --json` into a fresh folder (the whole
 *            CLI: node start-up, hashing, decoding, mu-law, chunk files, manifest)
 * Throughput = seconds of audio / wall seconds; medians of the repeats; ratio = ingest / ffmpeg.
 * Then (unless --no-long) the peak RSS of ingesting a generated 3-hour file, to show memory is flat.
 * Prints a table and writes bench-results/ingest.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findFfmpeg, hasSoxr } from '../src/audio/ffmpeg.js';

const ROOT = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const dir = resolve(opt('dir', join(ROOT, '..', 'shared', 'audio', 'music')));
const jobs = Number(opt('jobs', String(availableParallelism())));
const repeats = Number(opt('repeats', '3'));
const doLong = !args.includes('--no-long');
if (args.includes('--ffmpeg')) process.env.WAVENET_FFMPEG = opt('ffmpeg', '');

if (!existsSync(dir)) {
  console.error(`bench-ingest: ${dir} is absent; give --dir with audio files`);
  process.exit(1);
}
const ff = findFfmpeg();
if (!ff) {
  console.error('bench-ingest: needs ffmpeg (for the comparison)');
  process.exit(1);
}
const files = readdirSync(dir)
  .filter((f) => !f.startsWith('.'))
  .map((f) => join(dir, f))
  .filter((f) => statSync(f).isFile());

// The CLI as users run it: compiled dist/. Build it if it is missing or stale.
function cliCommand(): { cmd: string[]; how: string } {
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], { encoding: 'utf8' });
  if (tsc.status === 0 && existsSync(join(ROOT, 'dist', 'commands', 'ingest.js'))) return { cmd: [join(ROOT, 'bin', 'wavenet.js')], how: 'node bin/wavenet.js (dist, freshly built)' };
  console.error(`bench-ingest: tsc failed, running the CLI through tsx instead (slower start):\n${tsc.stdout.slice(0, 2000)}`);
  return { cmd: ['--import', 'tsx', join(ROOT, 'src', 'cli.ts')], how: 'node --import tsx src/cli.ts (tsc failed)' };
}

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('error', rej);
    c.on('close', (code) => res({ code, stdout, stderr }));
  });
}

async function plainFfmpeg(): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const f = files[next++];
      const r = await run(ff!.path, ['-nostdin', '-hide_banner', '-v', 'error', '-i', f, '-ac', '1', '-ar', '16000', '-f', 'f32le', '-y', '/dev/null']);
      if (r.code !== 0) throw new Error(`ffmpeg failed on ${f}: ${r.stderr}`);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return (performance.now() - t0) / 1000;
}

interface IngestTrial {
  wall: number;
  inner: number;
  audioSeconds: number;
  maxRssMB: number;
}

async function ingestOnce(cli: string[], inputs: string[], extra: string[] = []): Promise<IngestTrial> {
  const out = mkdtempSync(join(tmpdir(), 'wavenet-bench-ingest-'));
  rmSync(out, { recursive: true });
  try {
    const t0 = performance.now();
    const r = await run(process.execPath, [...cli, 'ingest', ...inputs, '--out', out, '--jobs', String(jobs), '--json', ...extra]);
    const wall = (performance.now() - t0) / 1000;
    if (r.code !== 0) throw new Error(`ingest failed (exit ${r.code}): ${r.stderr}`);
    const j = JSON.parse(r.stdout);
    return { wall, inner: j.run.wallSeconds, audioSeconds: j.sourceSeconds, maxRssMB: j.run.maxRssMB };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const { cmd: cli, how } = cliCommand();
console.log(`bench-ingest: ${files.length} files in ${dir}, jobs ${jobs}, ${repeats} repeats`);
console.log(`  ffmpeg: ${ff.path} (${ff.source}), soxr ${hasSoxr(ff) ? 'yes' : 'no'}; CLI: ${how}`);
console.log(`  machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} threads`);

// warm the page cache and learn the total audio duration
const warm = await ingestOnce(cli, [dir]);
const audioSeconds = warm.audioSeconds;
await plainFfmpeg();

const ffT: number[] = [];
const inT: IngestTrial[] = [];
for (let i = 0; i < repeats; i++) {
  if (i % 2 === 0) {
    ffT.push(await plainFfmpeg());
    inT.push(await ingestOnce(cli, [dir]));
  } else {
    inT.push(await ingestOnce(cli, [dir]));
    ffT.push(await plainFfmpeg());
  }
  console.log(`  repeat ${i + 1}: ffmpeg ${ffT[i].toFixed(2)} s, ingest ${inT[i].wall.toFixed(2)} s (inside the CLI ${inT[i].inner.toFixed(2)} s)`);
}
const ffWall = median(ffT);
const inWall = median(inT.map((t) => t.wall));
const inInner = median(inT.map((t) => t.inner));
const rows = [
  ['plain ffmpeg -> /dev/null', ffWall, audioSeconds / ffWall],
  ['wavenet ingest (whole CLI)', inWall, audioSeconds / inWall],
  ['wavenet ingest (excl. node start)', inInner, audioSeconds / inInner],
] as const;
console.log(`\naudio: ${audioSeconds.toFixed(1)} s in ${files.length} files; medians of ${repeats}`);
console.log('| pipeline | wall s | x real time | vs ffmpeg |');
console.log('|---|---:|---:|---:|');
for (const [name, wall, x] of rows) console.log(`| ${name} | ${wall.toFixed(2)} | ${x.toFixed(0)} | ${(x / (audioSeconds / ffWall)).toFixed(2)} |`);
const ratio = ffWall / inWall;
console.log(`\nratio ingest/ffmpeg throughput: ${ratio.toFixed(2)} (goal >= 0.8): ${ratio >= 0.8 ? 'met' : 'NOT met'}`);

let long: { seconds: number; wall: number; maxRssMB: number; shortMaxRssMB: number } | null = null;
if (doLong) {
  const tmp = mkdtempSync(join(tmpdir(), 'wavenet-bench-long-'));
  try {
    const f = join(tmp, 'long.wav');
    const g = spawnSync(ff.path, ['-nostdin', '-y', '-v', 'error', '-f', 'lavfi', '-i', 'sine=f=440:r=8000:d=10800', '-c:a', 'pcm_u8', f]);
    if (g.status !== 0) throw new Error(String(g.stderr));
    const l = await ingestOnce(cli, [f]);
    long = { seconds: l.audioSeconds, wall: l.wall, maxRssMB: l.maxRssMB, shortMaxRssMB: warm.maxRssMB };
    console.log(`\n3-hour input (8 kHz u8 WAV -> 16 kHz): ${l.wall.toFixed(1)} s, peak RSS ${l.maxRssMB} MB ` +
      `(the ${files.length}-file music run: ${warm.maxRssMB} MB)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
const result = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, threads: cpus().length },
  dir, files: files.length, audioSeconds, jobs, repeats,
  ffmpeg: { path: ff.path, source: ff.source, soxr: hasSoxr(ff) },
  cli: how,
  ffmpegWallSeconds: ffT, ingestWallSeconds: inT.map((t) => t.wall), ingestInnerSeconds: inT.map((t) => t.inner),
  median: { ffmpeg: ffWall, ingest: inWall, ingestInner: inInner },
  throughputXRealTime: { ffmpeg: audioSeconds / ffWall, ingest: audioSeconds / inWall },
  ratio, goal: 0.8, met: ratio >= 0.8,
  long,
};
writeFileSync(join(ROOT, 'bench-results', 'ingest.json'), JSON.stringify(result, null, 2) + '\n');
console.log('wrote bench-results/ingest.json');
