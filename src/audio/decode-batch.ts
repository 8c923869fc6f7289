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
import { resolve } from 'node:path';
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
import {
  noMoreConnections,
  openOutputSockets,
  socketBytes,
  socketsSupported,
  type OutputSockets,
} from './ffmpeg-sockets.js';

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

/** Whether batches can run here at all (their outputs go through Unix sockets). */
export function batchSupported(): boolean {
  return socketsSupported();
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
  const out = await openOutputSockets(paths.length);
  try {
    const args = ['-nostdin', '-hide_banner', '-nostats', '-loglevel', 'level+info'];
    for (const p of paths) args.push('-i', resolve(p));
    paths.forEach((_, k) => {
      const ch = headerChannels[k];
      args.push(...ffmpegOutputArgs(ff, ch ? panFilter(ch) : null, rate, k, out.urls[k]));
    });
    return runBatch(ff, { paths, headerChannels, rate }, out, args);
  } catch (e) {
    out.close();
    throw e;
  }
}

interface BatchPlan {
  paths: string[];
  /** Channel counts from the files' headers (null: unknown, every channel is decoded and averaged). */
  headerChannels: (number | null)[];
  rate: number;
}

function runBatch(ff: Ffmpeg, plan: BatchPlan, out: OutputSockets, args: string[]): BatchDecode {
  const { paths, headerChannels, rate } = plan;
  const proc = runFfmpeg(ff, args, { stdout: false });
  let bad = false;
  const none = noMoreConnections(proc.done);
  const channels: number[] = paths.map(() => 0);
  const streams: BatchStream[] = paths.map((path, k) => {
    const s: BatchStream = {
      path,
      info: null,
      samples: 0,
      async *[Symbol.asyncIterator]() {
        try {
          for await (const b of wavPipeBlocks(socketBytes(out.conns[k], none), path, (h) => {
            channels[k] = h.channels;
            if (headerChannels[k] && h.channels !== 1) throw new Error('pan filter gave more than one channel');
          })) {
            s.samples += b.length;
            yield b;
          }
        } catch {
          bad = true;
        }
      },
    };
    return s;
  });
  const done = (async () => {
    const r = await proc.done.catch(() => null);
    // a connection ffmpeg made may not have been accepted yet: closing would drop it
    await Promise.race([Promise.all(out.conns), none]);
    out.close();
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
