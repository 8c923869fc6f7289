/**
 * ffmpeg's outputs through Unix sockets that we listen on (`unix:PATH` as an output URL) rather than
 * its stdout: any number of outputs per process (decode-batch.ts), and no FIFO to make for each
 * process the launcher starts (ffmpeg.ts: its `mkfifo` is one more process start per decode). Not on
 * Windows, nor where the temp folder's path is too long for a socket's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Unix socket paths are limited to about 107 bytes. */
const MAX_SOCKET_PATH = 100;

/** The launcher (ffmpeg.ts) removes the folders of this pattern left by a process that died (kill -9). */
function dirPrefix(): string {
  return `wavenet-ffmpeg-${process.pid}-out-`;
}

/** Whether ffmpeg's outputs can go through Unix sockets here. */
export function socketsSupported(): boolean {
  return process.platform !== 'win32' && join(tmpdir(), dirPrefix() + 'XXXXXX', '99.sock').length <= MAX_SOCKET_PATH;
}

export interface OutputSockets {
  /** ffmpeg output URLs, one per output. */
  urls: string[];
  /** The first connection on each (ffmpeg connects when it opens that output). */
  conns: Promise<Socket>[];
  /** Stop listening and remove the sockets' folder. */
  close(): void;
}

/** Listen on `n` fresh sockets in a private temp folder. */
export async function openOutputSockets(n: number): Promise<OutputSockets> {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix()));
  const servers: Server[] = [];
  const close = () => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const paths = Array.from({ length: n }, (_, k) => join(dir, `${k}.sock`));
    const conns = (await Promise.all(paths.map((p) => listen(p, servers)))).map((l) => l.conn);
    return { urls: paths.map((p) => `unix:${p}`), conns, close };
  } catch (e) {
    close();
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

/** How long to wait, after ffmpeg ended cleanly, for a connection it must have made. */
const LATE_CONNECTION_MS = 10000;

/**
 * Resolves with null once a connection is no longer to be expected: ffmpeg failed (an output it never
 * opened is never connected; one turn of the event loop lets a connection made before the failure be
 * seen first). ffmpeg that ends cleanly opened every output, so its connections are waited for, how
 * late their events come (within a bound, so nothing can hang).
 */
export function noMoreConnections(done: Promise<{ code: number | null }>): Promise<null> {
  const turn = () => new Promise<null>((r) => setImmediate(() => r(null)));
  return done.then(
    (r) =>
      r.code === 0 ? new Promise<null>((res) => setTimeout(() => res(null), LATE_CONNECTION_MS).unref()) : turn(),
    turn,
  );
}

/** The bytes of one output: its connection's data, or nothing when `none` resolves first. */
export async function* socketBytes(conn: Promise<Socket>, none: Promise<null>): AsyncGenerator<Buffer> {
  const sock = await Promise.race([conn, none]);
  if (!sock) return;
  try {
    for await (const b of sock as AsyncIterable<Buffer>) yield b;
  } finally {
    sock.destroy();
  }
}
