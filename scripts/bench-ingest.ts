/**
 * Ingest throughput against plain ffmpeg, side by side in one run.
 *
 *   node --import tsx scripts/bench-ingest.ts [--dir ../shared/audio/music] [--jobs N] [--repeats 3]
 *                                             [--ffmpeg PATH] [--no-long] [--resampler]
 *
 * For each repeat (alternating the order):
 *   ffmpeg:  every file decoded to 16 kHz mono f32 into /dev/null by the same ffmpeg binary ingest uses,
 *            `ffmpeg -i F -ac 1 -ar 16000 -f f32le /dev/null`, N at a time (`xargs -P N`)
 *   ingest:  `node bin/wavenet.js ingest DIR --out TMP --jobs N --json` into a fresh folder (the whole
 *            CLI: node start-up, hashing, decoding, mu-law, chunk files, manifest)
 * Throughput = seconds of audio / wall seconds; medians of the repeats; ratio = ingest / ffmpeg. CPU time
 * (user + sys of the command and its children, from /usr/bin/time) is reported too: on a busy machine
 * it is steadier than wall time. Ingest's CPU time is split into node's own (run.cpuSeconds) and the
 * rest (ffmpeg, the launcher shell), with the number of ffmpeg processes it started (run.ffmpegProcesses).
 * With --resampler, each repeat also runs ingest's own ffmpeg command (pan downmix, aresample, float WAV)
 * over every file into /dev/null, N lanes of one process per file, once with soxr (what ingest uses)
 * and once with ffmpeg's default resampler: the CPU that soxr costs.
 * Then (unless --no-long) the peak RSS of ingesting a generated 3-hour file, to show memory is flat.
 * Prints a table and writes bench-results/ingest.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findFfmpeg, hasSoxr } from '../src/audio/ffmpeg.js';
import { median } from '../src/util/stats.js';
import { ffmpegOutputArgs } from '../src/audio/decode.js';
import { panFilter, probeChannels } from '../src/audio/channels.js';
import { lavfi } from '../test/helpers/lavfi.js';

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
const doResampler = args.includes('--resampler');
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
if (doResampler && !hasSoxr(ff)) {
  console.error(`bench-ingest: --resampler: ${ff.path} has no soxr to compare`);
  process.exit(1);
}
const files = readdirSync(dir)
  .filter((f) => !f.startsWith('.'))
  .map((f) => join(dir, f))
  .filter((f) => statSync(f).isFile());

// The CLI as users run it: compiled dist/. Build it if it is missing or stale.
function cliCommand(): { cmd: string[]; how: string } {
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')],
    { encoding: 'utf8' },
  );
  if (tsc.status === 0 && existsSync(join(ROOT, 'dist', 'commands', 'ingest.js')))
    return { cmd: [join(ROOT, 'bin', 'wavenet.js')], how: 'node bin/wavenet.js (dist, freshly built)' };
  console.error(
    `bench-ingest: tsc failed, running the CLI through tsx instead (slower start):\n${tsc.stdout.slice(0, 2000)}`,
  );
  return { cmd: ['--import', 'tsx', join(ROOT, 'src', 'cli.ts')], how: 'node --import tsx src/cli.ts (tsc failed)' };
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

interface Timed {
  wall: number;
  /** user + system CPU seconds of the command and its children (null without /usr/bin/time). */
  cpu: number | null;
}

/** Run a command under /usr/bin/time (when present) for its CPU time; wall time measured here. */
async function timed(
  cmd: string,
  argv: string[],
  input?: string,
): Promise<Timed & { stdout: string; stderr: string; code: number | null }> {
  const tfile = join(tmpdir(), `wavenet-bench-time-${process.pid}.txt`);
  const full = TIME ? ([TIME, ['-f', '%U %S', '-o', tfile, cmd, ...argv]] as const) : ([cmd, argv] as const);
  const t0 = performance.now();
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((res, rej) => {
    const c = spawn(full[0], [...full[1]], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('error', rej);
    c.on('close', (code) => res({ code, stdout, stderr }));
    c.stdin.end(input ?? '');
  });
  const wall = (performance.now() - t0) / 1000;
  let cpu: number | null = null;
  if (TIME && existsSync(tfile)) {
    const [u, s] = readFileSync(tfile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
    cpu = u + s;
    rmSync(tfile, { force: true });
  }
  return { ...r, wall, cpu };
}

/** Plain ffmpeg, N processes at a time, launched by xargs (a small launcher, as a shell user would). */
async function plainFfmpeg(): Promise<Timed> {
  const r = await timed(
    'xargs',
    [
      '-0',
      '-P',
      String(jobs),
      '-I{}',
      ff!.path,
      '-nostdin',
      '-hide_banner',
      '-v',
      'error',
      '-i',
      '{}',
      '-ac',
      '1',
      '-ar',
      '16000',
      '-f',
      'f32le',
      '-y',
      '/dev/null',
    ],
    files.join('\0'),
  );
  if (r.code !== 0) throw new Error(`plain ffmpeg failed: ${r.stderr}`);
  return r;
}

const shq = (x: string) => `'${x.replace(/'/g, `'\\''`)}'`;

/**
 * ingest's ffmpeg command for each file (decode.ts: pan downmix from the header's channel count, then
 * aresample, float WAV) into /dev/null, in `jobs` lanes of one process per file; `soxr` false: the same
 * with ffmpeg's default resampler.
 */
async function ingestChain(soxr: boolean): Promise<Timed> {
  const cmds = await Promise.all(
    files.map(async (f) => {
      const ch = await probeChannels(f);
      const out = ffmpegOutputArgs(ff!, ch ? panFilter(ch) : null, 16000, 0, '/dev/null').map((a) =>
        soxr ? a : a.replace(/aresample=(\d+):resampler=soxr/, 'aresample=$1'),
      );
      return [ff!.path, '-nostdin', '-hide_banner', '-v', 'error', '-y', '-i', f, ...out].map(shq).join(' ');
    }),
  );
  const lanes = Array.from({ length: jobs }, (_, k) => cmds.filter((_, i) => i % jobs === k));
  const script = lanes.map((l) => `( ${l.join(' && ')} ) &`).join('\n') + '\nwait\n';
  const r = await timed('sh', ['-c', script]);
  if (r.code !== 0 || r.stderr.trim()) throw new Error(`ingest's ffmpeg chain failed: ${r.stderr.slice(0, 500)}`);
  return r;
}

interface IngestTrial extends Timed {
  inner: number;
  audioSeconds: number;
  maxRssMB: number;
  /** CPU seconds of the node process itself (the rest of `cpu` is ffmpeg and the launcher shell). */
  nodeCpu: number;
  ffmpegProcesses: number;
}

async function ingestOnce(cli: string[], inputs: string[], extra: string[] = []): Promise<IngestTrial> {
  const out = mkdtempSync(join(tmpdir(), 'wavenet-bench-ingest-'));
  rmSync(out, { recursive: true });
  try {
    const r = await timed(process.execPath, [
      ...cli,
      'ingest',
      ...inputs,
      '--out',
      out,
      '--jobs',
      String(jobs),
      '--json',
      ...extra,
    ]);
    if (r.code !== 0) throw new Error(`ingest failed (exit ${r.code}): ${r.stderr}`);
    const j = JSON.parse(r.stdout);
    return {
      wall: r.wall,
      cpu: r.cpu,
      inner: j.run.wallSeconds,
      audioSeconds: j.sourceSeconds,
      maxRssMB: j.run.maxRssMB,
      nodeCpu: j.run.cpuSeconds,
      ffmpegProcesses: j.run.ffmpegProcesses,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const { cmd: cli, how } = cliCommand();
console.log(`bench-ingest: ${files.length} files in ${dir}, jobs ${jobs}, ${repeats} repeats`);
console.log(`  ffmpeg: ${ff.path} (${ff.source}), soxr ${hasSoxr(ff) ? 'yes' : 'no'}; CLI: ${how}`);
console.log(`  machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} threads`);

// warm the page cache and learn the total audio duration
const warm = await ingestOnce(cli, [dir]);
const audioSeconds = warm.audioSeconds;
await plainFfmpeg();

const ffT: Timed[] = [];
const inT: IngestTrial[] = [];
const soxrT: Timed[] = [];
const swrT: Timed[] = [];
const loads: number[] = [];
for (let i = 0; i < repeats; i++) {
  loads.push(loadavg()[0]);
  if (i % 2 === 0) {
    ffT.push(await plainFfmpeg());
    inT.push(await ingestOnce(cli, [dir]));
  } else {
    inT.push(await ingestOnce(cli, [dir]));
    ffT.push(await plainFfmpeg());
  }
  if (doResampler) {
    const pair = i % 2 === 0 ? [true, false] : [false, true];
    for (const sx of pair) (sx ? soxrT : swrT).push(await ingestChain(sx));
  }
  const cpu = (t: Timed) => (t.cpu === null ? '' : `, cpu ${t.cpu.toFixed(2)} s`);
  console.log(
    `  repeat ${i + 1}: ffmpeg ${ffT[i].wall.toFixed(2)} s${cpu(ffT[i])}; ingest ${inT[i].wall.toFixed(2)} s${cpu(inT[i])} ` +
      `(inside the CLI ${inT[i].inner.toFixed(2)} s); load average ${loads[i].toFixed(1)}`,
  );
}
const ffWall = median(ffT.map((t) => t.wall));
const inWall = median(inT.map((t) => t.wall));
const inInner = median(inT.map((t) => t.inner));
const ffCpu = TIME ? median(ffT.map((t) => t.cpu!)) : null;
const inCpu = TIME ? median(inT.map((t) => t.cpu!)) : null;
console.log(`\naudio: ${audioSeconds.toFixed(1)} s in ${files.length} files; medians of ${repeats}`);
console.log(
  '| pipeline | wall s | x real time | throughput vs ffmpeg | CPU s (user+sys) | audio s per CPU s vs ffmpeg |',
);
console.log('|---|---:|---:|---:|---:|---:|');
const row = (name: string, wall: number, cpu: number | null) =>
  console.log(
    `| ${name} | ${wall.toFixed(2)} | ${(audioSeconds / wall).toFixed(0)} | ${(ffWall / wall).toFixed(2)} | ` +
      `${cpu === null ? '-' : cpu.toFixed(2)} | ${cpu === null || ffCpu === null ? '-' : (ffCpu / cpu).toFixed(2)} |`,
  );
row('plain ffmpeg -> /dev/null (xargs -P)', ffWall, ffCpu);
row('wavenet ingest (whole CLI)', inWall, inCpu);
if (doResampler) {
  row(
    "ingest's ffmpeg command, soxr (ingest)",
    median(soxrT.map((t) => t.wall)),
    TIME ? median(soxrT.map((t) => t.cpu!)) : null,
  );
  row(
    "ingest's ffmpeg command, default resampler",
    median(swrT.map((t) => t.wall)),
    TIME ? median(swrT.map((t) => t.cpu!)) : null,
  );
}
const ratio = ffWall / inWall;
console.log(
  `(inside the CLI, without node start-up: ${inInner.toFixed(2)} s, ${(ffWall / inInner).toFixed(2)} of ffmpeg's throughput)`,
);
const nodeCpu = median(inT.map((t) => t.nodeCpu));
console.log(
  `ingest's CPU: node ${nodeCpu.toFixed(2)} s, ffmpeg and launcher ${inCpu === null ? '-' : (inCpu - nodeCpu).toFixed(2)} s; ` +
    `${inT[0].ffmpegProcesses} ffmpeg processes for ${files.length} files (plain: ${files.length})`,
);
console.log(`\nratio ingest/ffmpeg throughput: ${ratio.toFixed(2)} (goal >= 0.8): ${ratio >= 0.8 ? 'met' : 'NOT met'}`);

let long: { seconds: number; wall: number; maxRssMB: number; shortMaxRssMB: number } | null = null;
if (doLong) {
  const tmp = mkdtempSync(join(tmpdir(), 'wavenet-bench-long-'));
  try {
    const f = join(tmp, 'long.wav');
    lavfi(ff.path, 'sine=f=440:r=8000:d=10800', ['-c:a', 'pcm_u8', f]);
    const l = await ingestOnce(cli, [f]);
    long = { seconds: l.audioSeconds, wall: l.wall, maxRssMB: l.maxRssMB, shortMaxRssMB: warm.maxRssMB };
    console.log(
      `\n3-hour input (8 kHz u8 WAV -> 16 kHz): ${l.wall.toFixed(1)} s, peak RSS ${l.maxRssMB} MB ` +
        `(the ${files.length}-file music run: ${warm.maxRssMB} MB)`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
const result = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, threads: cpus().length },
  dir,
  files: files.length,
  audioSeconds,
  jobs,
  repeats,
  ffmpeg: { path: ff.path, source: ff.source, soxr: hasSoxr(ff) },
  cli: how,
  loadAverage: loads,
  ffmpegWallSeconds: ffT.map((t) => t.wall),
  ffmpegCpuSeconds: ffT.map((t) => t.cpu),
  ingestWallSeconds: inT.map((t) => t.wall),
  ingestCpuSeconds: inT.map((t) => t.cpu),
  ingestInnerSeconds: inT.map((t) => t.inner),
  ingestNodeCpuSeconds: inT.map((t) => t.nodeCpu),
  ingestFfmpegProcesses: inT.map((t) => t.ffmpegProcesses),
  ingestCommandSoxr: doResampler
    ? { wallSeconds: soxrT.map((t) => t.wall), cpuSeconds: soxrT.map((t) => t.cpu) }
    : null,
  ingestCommandDefaultResampler: doResampler
    ? { wallSeconds: swrT.map((t) => t.wall), cpuSeconds: swrT.map((t) => t.cpu) }
    : null,
  median: { ffmpeg: ffWall, ingest: inWall, ingestInner: inInner, ffmpegCpu: ffCpu, ingestCpu: inCpu },
  throughputXRealTime: { ffmpeg: audioSeconds / ffWall, ingest: audioSeconds / inWall },
  ratio,
  cpuRatio: ffCpu !== null && inCpu !== null ? ffCpu / inCpu : null,
  goal: 0.8,
  met: ratio >= 0.8,
  long,
};
writeFileSync(join(ROOT, 'bench-results', 'ingest.json'), JSON.stringify(result, null, 2) + '\n');
console.log('wrote bench-results/ingest.json');
