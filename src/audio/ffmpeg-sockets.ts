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
  return (
    process.platform !== 'win32' && join(tmpdir(), dirPrefix() + 'XXXXXX', 'zzzzzzz.sock').length <= MAX_SOCKET_PATH
  );
}

export interface OutputSockets {
  /** ffmpeg output URLs, one per output. */
  urls: string[];
  /** The first connection on each (ffmpeg connects when it opens that output). */
  conns: Promise<Socket>[];
  /** Stop listening (the socket files go). */
  close(): void;
}

/** This process's folder for the sockets (made on first use, removed at exit), and the sockets made. */
let socketDir: string | null = null;
let made = 0;

function ourSocketDir(): string {
  if (socketDir) return socketDir;
  const dir = mkdtempSync(join(tmpdir(), dirPrefix()));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  socketDir = dir;
  return dir;
}

/**
 * Listen on `n` fresh sockets in this process's private temp folder (one folder for the process: making
 * and removing a folder per decode cost ~2.4 ms of file-system work each here, a socket ~0.2 ms).
 */
export async function openOutputSockets(n: number): Promise<OutputSockets> {
  const dir = ourSocketDir();
  const servers: Server[] = [];
  // closing a listening socket removes its file
  const close = () => {
    for (const s of servers) s.close();
  };
  try {
    const paths = Array.from({ length: n }, () => join(dir, `${(made++).toString(36)}.sock`));
    const conns = (await Promise.all(paths.map((p) => listen(p, servers)))).map((l) => l.conn);
    return { urls: paths.map((p) => `unix:${p}`), conns, close };
  } catch (e) {
    close();
    if (socketDir === dir) socketDir = null; // the folder may be gone (a temp cleaner): make a new one next time
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
