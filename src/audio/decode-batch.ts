/**
 * Decoding several files with one ffmpeg process. Starting ffmpeg costs about 0.2 s of CPU time on a
 * typical Linux build (it links some 200 shared libraries), more than decoding a short file: a folder
 * of short samples spends most of its time starting decoders. One process takes every file of a batch
 * as an input (`-i A -i B ...`) and writes one output per input, each the same filter chain as a
 * single decode (decode.ts: pan downmix when the header gives the channel count, then the resampler,
 * as float WAV), each to its own Unix socket that we listen on. The outputs are read concurrently, so
 * ffmpeg never waits on one of them.
 *
 * A batch is all or nothing: when ffmpeg fails, logs an error, or any output is not complete, the
 * batch is reported as failed and the caller decodes each file alone (decode.ts), which gives each
 * file its own verdict and reason. So a bad file costs a second decode of its batch, never a wrong
 * rejection.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  channelMismatch,
  ffmpegOutputArgs,
  parseFfmpegLog,
  precheck,
  sourceFields,
  wavPipeBlocks,
  type SourceInfo,
} from './decode.js';
import { panFilter, probeChannels } from './channels.js';
import { markNoSoxr, runFfmpeg, SOXR_MISSING, type Ffmpeg } from './ffmpeg.js';

/** One file's output in a batch: iterate it for mono blocks (never throws for a decoding problem). */
export interface BatchStream extends AsyncIterable<Float32Array> {
  readonly path: string;
  /** Set once the batch succeeded (`BatchDecode.done` resolved true). */
  info: SourceInfo | null;
  /** Output samples produced so far. */
  samples: number;
}

export interface BatchDecode {
  readonly streams: BatchStream[];
  /** Resolves once ffmpeg has exited: true when every output is complete and nothing went wrong. */
  readonly done: Promise<boolean>;
  /** Stop ffmpeg (a consumer failed); the streams then end. */
  kill(): void;
}

/** Unix socket paths are limited to about 107 bytes. */
const MAX_SOCKET_PATH = 100;

/** Whether batches can run here at all (Unix sockets in a short enough temp folder). */
export function batchSupported(): boolean {
  return (
    process.platform !== 'win32' && join(tmpdir(), batchDirPrefix() + 'XXXXXX', '99.sock').length <= MAX_SOCKET_PATH
  );
}

/** The launcher (ffmpeg.ts) removes the folders of this pattern left by a process that died (kill -9). */
function batchDirPrefix(): string {
  return `wavenet-ffmpeg-${process.pid}-batch-`;
}

/**
 * Start one ffmpeg over `paths` (all regular, non-empty files: precheck passed). Null when a file
 * fails the checks that do not need a decoder: decode such a batch file by file.
 */
export async function startBatch(ff: Ffmpeg, paths: string[], rate: number): Promise<BatchDecode | null> {
  for (const p of paths) {
    try {
      await precheck(p, true);
    } catch {
      return null;
    }
  }
  const headerChannels = await Promise.all(paths.map((p) => probeChannels(p)));
  const dir = mkdtempSync(join(tmpdir(), batchDirPrefix()));
  const servers: Server[] = [];
  try {
    const conns = (await Promise.all(paths.map((_, k) => listen(join(dir, `${k}.sock`), servers)))).map((l) => l.conn);
    const args = ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info'];
    for (const p of paths) args.push('-i', resolve(p));
    paths.forEach((_, k) => {
      const ch = headerChannels[k];
      args.push(...ffmpegOutputArgs(ff, ch ? panFilter(ch) : null, rate, k, `unix:${join(dir, `${k}.sock`)}`));
    });
    return runBatch(ff, { paths, headerChannels, rate }, conns, args, () => {
      for (const s of servers) s.close();
      rmSync(dir, { recursive: true, force: true });
    });
  } catch (e) {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Listen on `path`; the promise resolves with the first connection (the server then closes). */
function listen(path: string, servers: Server[]): Promise<{ conn: Promise<Socket> }> {
  return new Promise((resListen, rejListen) => {
    let onConn!: (s: Socket) => void;
    const conn = new Promise<Socket>((res) => (onConn = res));
    const server = createServer((s) => {
      server.close();
      onConn(s);
    });
    servers.push(server);
    server.once('error', rejListen);
    server.listen(path, () => resListen({ conn }));
  });
}

interface BatchPlan {
  paths: string[];
  /** Channel counts from the files' headers (null: unknown, every channel is decoded and averaged). */
  headerChannels: (number | null)[];
  rate: number;
}

function runBatch(
  ff: Ffmpeg,
  plan: BatchPlan,
  conns: Promise<Socket>[],
  args: string[],
  cleanup: () => void,
): BatchDecode {
  const { paths, headerChannels, rate } = plan;
  const proc = runFfmpeg(ff, args);
  let bad = false;
  // stdout carries nothing here, but the launcher's FIFO must be opened and drained
  const drained = (async () => {
    for await (const _ of proc.stdout) void _;
  })().catch(() => {
    bad = true;
  });
  // after ffmpeg's exit, one turn of the event loop lets an accepted connection be seen first
  const exited = proc.done.then(
    () => new Promise<null>((r) => setImmediate(() => r(null))),
    () => null,
  );
  const channels: number[] = paths.map(() => 0);
  const streams: BatchStream[] = paths.map((path, k) => {
    const s: BatchStream = {
      path,
      info: null,
      samples: 0,
      async *[Symbol.asyncIterator]() {
        const sock = await Promise.race([conns[k], exited]);
        if (!sock) {
          bad = true;
          return;
        }
        try {
          for await (const b of wavPipeBlocks(sock, path, (h) => {
            channels[k] = h.channels;
            if (headerChannels[k] && h.channels !== 1) throw new Error('pan filter gave more than one channel');
          })) {
            s.samples += b.length;
            yield b;
          }
        } catch {
          bad = true;
        } finally {
          sock.destroy();
        }
      },
    };
    return s;
  });
  const done = (async () => {
    const r = await proc.done.catch(() => null);
    await drained;
    cleanup();
    if (!r) return false;
    const log = parseFfmpegLog(r.stderr);
    if (log.errLines.some((l) => SOXR_MISSING.test(l))) markNoSoxr(ff);
    if (bad || r.code !== 0 || log.errLines.length > 0) return false;
    for (let k = 0; k < paths.length; k++) {
      const input = log.inputs.get(k);
      const ch = headerChannels[k];
      if (channels[k] === 0 || streams[k].samples === 0 || !input || (ch && channelMismatch(ch, input))) return false;
      const info: SourceInfo = { codec: 'unknown', sampleRate: rate, channels: ch ?? channels[k], decoder: 'ffmpeg' };
      streams[k].info = { ...info, ...sourceFields(input, info) };
    }
    return true;
  })();
  return { streams, done, kill: () => proc.kill() };
}
