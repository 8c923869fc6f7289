/**
 * Finding ffmpeg. Order:
 *   1. WAVENET_FFMPEG: a path to an ffmpeg binary, or `none` (also `off`, `0`, `false`) to run as if
 *      there were no ffmpeg at all (only PCM/float WAV can then be read; used by tests).
 *   2. `ffmpeg` on PATH.
 *   3. The optional npm package @ffmpeg-installer/ffmpeg (a static ffmpeg inside its tarball, so it
 *      installs offline).
 * The answer is cached for the process.
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  mkdtempSync,
  open as fsOpen,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { Socket } from 'node:net';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants as osConstants, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { UserError } from '../util/errors.js';
import { pidAlive } from '../util/lock.js';

export interface Ffmpeg {
  /** Absolute path of the binary. */
  path: string;
  /** Where it was found. */
  source: 'WAVENET_FFMPEG' | 'PATH' | '@ffmpeg-installer/ffmpeg';
}

let cached: { value: Ffmpeg | null; reason: string } | undefined;
const soxrCache = new Map<string, boolean>();

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

function fromNpm(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@ffmpeg-installer/ffmpeg') as { path?: string };
    if (mod.path && existsSync(mod.path) && isExecutable(mod.path)) return mod.path;
  } catch {
    /* not installed (it is optional) */
  }
  return null;
}

export const FFMPEG_DISABLED_VALUES = ['none', 'off', '0', 'false', 'no'];

/** The ffmpeg to use, or null when there is none (see `ffmpegReason()` for why). */
export function findFfmpeg(): Ffmpeg | null {
  if (cached) return cached.value;
  const env = process.env.WAVENET_FFMPEG;
  if (env !== undefined && env !== '') {
    if (FFMPEG_DISABLED_VALUES.includes(env.toLowerCase())) {
      cached = { value: null, reason: `disabled by WAVENET_FFMPEG=${env}` };
    } else if (isExecutable(env)) {
      cached = { value: { path: env, source: 'WAVENET_FFMPEG' }, reason: '' };
    } else {
      throw new UserError(`WAVENET_FFMPEG=${env}: not an executable file (give a path to ffmpeg, or "none")`);
    }
    return cached.value;
  }
  const p = onPath('ffmpeg');
  if (p) cached = { value: { path: p, source: 'PATH' }, reason: '' };
  else {
    const n = fromNpm();
    if (n) cached = { value: { path: n, source: '@ffmpeg-installer/ffmpeg' }, reason: '' };
    else
      cached = {
        value: null,
        reason: 'no ffmpeg on PATH and the optional package @ffmpeg-installer/ffmpeg is not installed',
      };
  }
  return cached.value;
}

/** Why findFfmpeg() returned null ('' when it did not). */
export function ffmpegReason(): string {
  findFfmpeg();
  return cached?.reason ?? '';
}

/** Forget the cached answer (tests change WAVENET_FFMPEG). */
export function resetFfmpegCache(): void {
  cached = undefined;
}

/** Whether this ffmpeg build has libsoxr (checked once per binary with `-buildconf`; costs one ffmpeg start). */
export function hasSoxr(ff: Ffmpeg): boolean {
  const known = soxrCache.get(ff.path);
  if (known !== undefined) return known;
  const r = spawnSync(ff.path, ['-hide_banner', '-buildconf'], { encoding: 'utf8', timeout: 20000 });
  const yes = /--enable-libsoxr/.test(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  soxrCache.set(ff.path, yes);
  return yes;
}

const staticCache = new Map<string, boolean>();

/**
 * Whether this ffmpeg is a statically linked ELF binary (no program interpreter), like the npm
 * fallback's: such a build starts in ~5 ms, a typical distribution build (linked against ~200 shared
 * libraries) in ~170 ms of CPU time. Read from the file's program headers; false for anything else
 * (a dynamic build, a script, another platform's format, an unreadable file).
 */
export function isStaticElf(ff: Ffmpeg): boolean {
  const known = staticCache.get(ff.path);
  if (known !== undefined) return known;
  let yes = false;
  try {
    const fd = openSync(ff.path, 'r');
    try {
      const b = Buffer.alloc(4096);
      const n = readSync(fd, b, 0, b.length, 0);
      yes = elfWithoutInterpreter(b.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  } catch {
    /* unreadable: not known to be static */
  }
  staticCache.set(ff.path, yes);
  return yes;
}

/** An ELF executable whose program headers (within `b`) hold no PT_INTERP: statically linked. */
export function elfWithoutInterpreter(b: Buffer): boolean {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = b[4] === 2;
  const le = b[5] === 1;
  if (!is64 && b[4] !== 1) return false;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const type = u16(16);
  if (type !== 2 && type !== 3) return false; // ET_EXEC or ET_DYN (static-pie)
  const phoff = is64 ? Number(le ? b.readBigUInt64LE(32) : b.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  if (phnum === 0 || phentsize < 8 || phoff + phnum * phentsize > b.length) return false;
  for (let i = 0; i < phnum; i++) if (u32(phoff + i * phentsize) === 3) return false; // PT_INTERP
  return true;
}

/** The message swresample logs when soxr was asked for but is not compiled in. */
export const SOXR_MISSING = /Requested resampling engine is unavailable/;

/** Record that this ffmpeg has no soxr (seen from a failed run): later filters use swr. */
export function markNoSoxr(ff: Ffmpeg): void {
  soxrCache.set(ff.path, false);
}

/**
 * The aresample filter used everywhere: soxr at its default (high) precision, else (a build without
 * libsoxr) ffmpeg's own swr with a longer filter than its default (64 taps per phase instead of 32).
 * soxr is assumed until a run fails with SOXR_MISSING (callers then markNoSoxr() and retry), so the
 * common case costs no extra ffmpeg start.
 */
export function resampleFilter(ff: Ffmpeg, rate: number): string {
  return soxrCache.get(ff.path) === false ? `aresample=${rate}:filter_size=64` : `aresample=${rate}:resampler=soxr`;
}

/** One ffmpeg process: its stdout, and its exit status with the stderr text (first MiB). */
export interface FfmpegRun {
  stdout: AsyncIterable<Buffer>;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

const STDERR_CAP = 1 << 20;

let starts = 0;

/** How many ffmpeg processes this process has started (for tests and benchmarks). */
export function ffmpegStarts(): number {
  return starts;
}

/**
 * Start ffmpeg with `args` (stdin closed). Uses the launcher below when it can. With `stdout: false`
 * its stdout goes nowhere (its outputs are files or sockets) and `stdout` yields nothing.
 */
export function runFfmpeg(ff: Ffmpeg, args: string[], o: { stdout?: boolean } = {}): FfmpegRun {
  starts++;
  const pipe = o.stdout ?? true;
  if (launcherUsable(ff, args)) {
    try {
      return launcher().run(ff.path, args, pipe);
    } catch {
      /* launcher failed to start: spawn directly */
    }
  }
  return spawnDirect(ff, args, pipe);
}

async function* nothing(): AsyncGenerator<Buffer> {}

function spawnDirect(ff: Ffmpeg, args: string[], pipe: boolean): FfmpegRun {
  const child = spawn(ff.path, args, { stdio: ['ignore', pipe ? 'pipe' : 'ignore', 'pipe'] });
  let stderr = '';
  const err = child.stderr!;
  err.setEncoding('utf8');
  err.on('data', (s: string) => {
    if (stderr.length < STDERR_CAP) stderr += s;
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res, rej) => {
    child.on('error', (e) => rej(new UserError(`ffmpeg (${ff.path}) could not be started: ${e.message}`)));
    child.on('close', (code, signal) => res({ code, signal, stderr }));
  });
  return {
    stdout: pipe ? (child.stdout as AsyncIterable<Buffer>) : nothing(),
    done,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/*
 * The launcher: one small /bin/sh that starts the ffmpeg processes for us. Forking the node process
 * itself for every file costs time in proportion to its memory (10-20 ms at ~120 MB, more than ffmpeg
 * needs to decode a short file); forking a shell costs well under a millisecond. Protocol: one line per
 * run on the shell's stdin, `ID FIFO ERRFILE FFMPEG ARGS...` (each word single-quoted); the shell makes
 * the FIFO, says `ready ID`, starts ffmpeg with stdout to the FIFO and stderr to ERRFILE, says
 * `pid ID PID` and, when it ends, `exit ID STATUS`. FIFO `-`: no FIFO, stdout to /dev/null (a run whose
 * outputs are sockets; mkfifo is a process start of its own). WAVENET_FFMPEG_LAUNCHER=0 turns it off.
 */
const LAUNCHER_SCRIPT = `
while IFS= read -r line; do
  eval "set -- $line" || continue
  id=$1; fifo=$2; err=$3; shift 3
  if [ "$fifo" = - ]; then fifo=/dev/null
  elif mkfifo "$fifo"; then echo "ready $id"; else echo "exit $id 127"; continue; fi
  ( "$@" < /dev/null > "$fifo" 2> "$err" & p=$!; echo "pid $id $p"; wait $p; echo "exit $id $?" ) &
done
wait
`;

/**
 * End the launcher shell (if one runs) and wait for it, so the CPU time of the ffmpeg processes it ran
 * is accounted to this process's children (as with direct spawns). Safe to call any time.
 */
export async function closeFfmpegLauncher(): Promise<void> {
  const l = theLauncher;
  theLauncher = null;
  if (l) await l.close();
}

function launcherUsable(ff: Ffmpeg, args: string[]): boolean {
  if (process.platform === 'win32' || process.env.WAVENET_FFMPEG_LAUNCHER === '0') return false;
  if (launcherBroken || !existsSync('/bin/sh')) return false;
  return ![ff.path, ...args].some((a) => /[\n\r\0]/.test(a));
}

let launcherBroken = false;
let theLauncher: Launcher | null = null;

function launcher(): Launcher {
  if (!theLauncher || theLauncher.dead) theLauncher = new Launcher();
  return theLauncher;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Waiter {
  ready: () => void;
  pid: (p: number) => void;
  exit: (status: number) => void;
  fail: (e: Error) => void;
}

class Launcher {
  dead = false;
  private readonly child: ChildProcess;
  private readonly dir: string;
  private seq = 0;
  private active = 0;
  private readonly waiters = new Map<number, Waiter>();

  constructor() {
    // FIFOs and stderr files live in wavenet-ffmpeg-<pid>-*; remove those of processes that are gone
    // (a kill -9 cannot clean up after itself)
    try {
      for (const n of readdirSync(tmpdir())) {
        const m = /^wavenet-ffmpeg-(\d+)-/.exec(n);
        if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1])))
          rmSync(join(tmpdir(), n), { recursive: true, force: true });
      }
    } catch {
      /* best effort */
    }
    this.dir = mkdtempSync(join(tmpdir(), `wavenet-ffmpeg-${process.pid}-`));
    const dir = this.dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    this.child = spawn('/bin/sh', ['-c', LAUNCHER_SCRIPT], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.on('error', (e) => this.die(e));
    this.child.on('exit', () => this.die(new Error('the ffmpeg launcher shell exited'), false));
    this.child.stdin!.on('error', (e) => this.die(e));
    const rl = createInterface({ input: this.child.stdout! });
    rl.on('line', (line) => {
      const [what, idS, val] = line.split(' ');
      const w = this.waiters.get(Number(idS));
      if (!w) return;
      if (what === 'ready') w.ready();
      else if (what === 'pid') w.pid(Number(val));
      else if (what === 'exit') w.exit(Number(val));
    });
    this.setRef(false);
  }

  async close(): Promise<void> {
    if (this.dead) return;
    const exited = new Promise<void>((res) => this.child.once('exit', () => res()));
    this.setRef(true);
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private die(e: Error, broken = true): void {
    if (this.dead) return;
    this.dead = true;
    if (broken || this.waiters.size > 0) launcherBroken = true; // from now on spawn directly
    for (const w of this.waiters.values()) w.fail(e);
    this.waiters.clear();
  }

  private setRef(on: boolean): void {
    const c = this.child as ChildProcess & {
      stdout: { ref?: () => void; unref?: () => void };
      stdin: { ref?: () => void; unref?: () => void };
    };
    if (on) {
      c.ref();
      c.stdout?.ref?.();
      c.stdin?.ref?.();
    } else {
      c.unref();
      c.stdout?.unref?.();
      c.stdin?.unref?.();
    }
  }

  run(ffPath: string, args: string[], pipe: boolean): FfmpegRun {
    if (this.dead) throw new Error('launcher is not running');
    const id = ++this.seq;
    const fifo = pipe ? join(this.dir, `${id}.pipe`) : '-';
    const errFile = join(this.dir, `${id}.err`);
    let pid = 0;
    let killed = false;
    let resolveReady!: () => void;
    let rejectAll!: (e: Error) => void;
    const ready = new Promise<void>((res, rej) => {
      resolveReady = res;
      rejectAll = rej;
    });
    let resolveExit!: (s: number) => void;
    let rejectExit!: (e: Error) => void;
    const exit = new Promise<number>((res, rej) => {
      resolveExit = res;
      rejectExit = rej;
    });
    ready.catch(() => undefined);
    exit.catch(() => undefined);
    this.waiters.set(id, {
      ready: () => resolveReady(),
      pid: (p) => {
        pid = p;
        if (killed) tryKill(p);
      },
      exit: (s) => resolveExit(s),
      fail: (e) => {
        rejectAll(e);
        rejectExit(e);
      },
    });
    if (this.active++ === 0) this.setRef(true);
    this.child.stdin!.write([String(id), fifo, errFile, ffPath, ...args].map(shq).join(' ') + '\n');

    const finish = () => {
      this.waiters.delete(id);
      if (--this.active === 0) this.setRef(false);
      if (pipe) rmSync(fifo, { force: true });
    };
    const done = runResult(exit, errFile, finish);
    done.catch(() => undefined);
    return {
      stdout: pipe ? fifoReader(ready, fifo) : nothing(),
      done,
      kill: () => {
        killed = true;
        if (pid) tryKill(pid);
      },
    };
  }
}

/** How a launcher run ended: its status (a signal when above 128) and its stderr file's text. */
async function runResult(
  exit: Promise<number>,
  errFile: string,
  finish: () => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let status: number;
  try {
    status = await exit;
  } finally {
    finish();
  }
  let stderr = '';
  try {
    const fh = openSync(errFile, 'r');
    try {
      // as many bytes as the file holds (a few KB), not the cap: a fresh 1 MiB per run costs more
      // than reading it
      const b = Buffer.allocUnsafe(Math.min(STDERR_CAP, fstatSync(fh).size));
      const n = readSync(fh, b, 0, b.length, 0);
      stderr = b.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fh);
    }
  } catch {
    /* no stderr file: the shell could not start it */
  }
  rmSync(errFile, { force: true });
  if (status > 128 && status < 128 + 65) {
    const name = Object.entries(osConstants.signals).find(([, n]) => n === status - 128)?.[0] as
      | NodeJS.Signals
      | undefined;
    if (name) return { code: null, signal: name, stderr };
  }
  return { code: status, signal: null, stderr };
}

/** The run's output: once the shell made the FIFO, open it and read it like a pipe. */
async function* fifoReader(ready: Promise<void>, fifo: string): AsyncGenerator<Buffer> {
  await ready;
  // a blocking open (in the thread pool) returns once ffmpeg's side has opened the FIFO; the fd is
  // then read like a pipe (event loop, no thread-pool round trip per read)
  const fd = await new Promise<number>((res, rej) => fsOpen(fifo, 'r', (e, f) => (e ? rej(e) : res(f))));
  const sock = new Socket({ fd, readable: true, writable: false });
  try {
    for await (const b of sock as AsyncIterable<Buffer>) yield b;
  } finally {
    sock.destroy();
  }
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Output formats by file extension: WAV is written directly, the others are encoded by ffmpeg. */
export const OUTPUT_FORMATS = {
  '.wav': null,
  '.flac': ['-c:a', 'flac', '-compression_level', '8'],
  '.ogg': ['-c:a', 'libvorbis', '-q:a', '6'],
  '.mp3': ['-c:a', 'libmp3lame', '-q:a', '2'],
} as const;
export type OutputExtension = keyof typeof OUTPUT_FORMATS;

/**
 * The output format of `path` from its extension (case-insensitive). UserError for any other
 * extension, and for an encoded format when there is no ffmpeg (naming the flag).
 */
export function outputFormatOf(path: string, flag = '--out'): { ext: OutputExtension; encoded: boolean } {
  const m = /\.[^./\\]+$/.exec(path);
  const ext = (m ? m[0].toLowerCase() : '') as OutputExtension;
  if (!(ext in OUTPUT_FORMATS)) {
    throw new UserError(
      `${flag} ${path}: unknown audio format '${m ? m[0] : '(no extension)'}'; use .wav, .flac, .ogg or .mp3`,
    );
  }
  const encoded = OUTPUT_FORMATS[ext] !== null;
  if (encoded && !findFfmpeg()) {
    throw new UserError(
      `${flag} ${path}: writing ${ext.slice(1)} needs ffmpeg (${ffmpegReason()}); install ffmpeg or write .wav`,
    );
  }
  return { ext, encoded };
}

/** Encodes the WAV file `wav` into `out` (format from its extension) with ffmpeg; UserError on failure. */
export async function encodeWith(wav: string, out: string): Promise<void> {
  const { ext } = outputFormatOf(out);
  const codec = OUTPUT_FORMATS[ext];
  if (!codec) throw new Error(`encodeWith: ${out} is a WAV, nothing to encode`);
  const ff = findFfmpeg()!;
  const r = runFfmpeg(ff, [
    '-nostdin',
    '-hide_banner',
    '-v',
    'error',
    '-y',
    '-i',
    wav,
    ...codec,
    '-f',
    ext.slice(1),
    out,
  ]);
  for await (const _ of r.stdout) void _;
  const { code, signal, stderr } = await r.done;
  if (code !== 0) {
    const why = stderr.trim().split('\n').pop() || (signal ? `killed by ${signal}` : `exit status ${code}`);
    throw new UserError(`${out}: ffmpeg could not encode ${ext.slice(1)} (${why})`);
  }
}
