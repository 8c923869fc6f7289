/**
 * File-system errors as one line a user can act on: which file, what went wrong, what to do.
 * `ENOSPC: no space left on device, write` becomes
 * `cannot write runs/eno/checkpoints/step-00001000.safetensors: the disk is full (needed 12.3 MiB, 1.1 MiB free); free some space and run the same command again`.
 */
import { mkdirSync, statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from './errors.js';

/** 1.5 GiB, 12.0 MiB, 3.2 KiB, 100 bytes. */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** Free bytes on the file system holding `path` (or its nearest existing parent); undefined if unknown. */
export function freeBytes(path: string): number | undefined {
  let p = path;
  for (let i = 0; i < 64; i++) {
    try {
      const s = statfsSync(p);
      return Number(s.bavail) * Number(s.bsize);
    } catch {
      const up = dirname(p);
      if (up === p) return undefined;
      p = up;
    }
  }
  return undefined;
}

/** The errno code of an error, if it is a system error. */
export function errnoCode(e: unknown): string | undefined {
  const c = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' && /^E[A-Z0-9]+$/.test(c) ? c : undefined;
}

export interface IoContext {
  /** Bytes the operation needed in all (for "disk full" messages). */
  needed?: number;
}

/**
 * One line for a file-system error on `path` during `action` ('read', 'write', 'create', ...).
 * `what` (optional) names the role of the file, e.g. `--model`.
 */
export function ioErrorMessage(e: unknown, path: string, action: string, what = '', ctx: IoContext = {}): string {
  const code = errnoCode(e);
  const name = what ? `${what} ${path}` : path;
  const verb = `cannot ${action} ${name}`;
  switch (code) {
    case 'ENOENT':
      return action === 'read' ? `${name}: no such file` : `${verb}: a folder on its path does not exist`;
    case 'ENOTDIR':
      return `${verb}: a part of its path is a file, not a folder`;
    case 'EISDIR':
      return `${verb}: it is a folder`;
    case 'EEXIST':
      return `${verb}: something else already exists there; remove it or choose another name`;
    case 'EACCES':
    case 'EPERM':
      return `${verb}: permission denied`;
    case 'EROFS':
      return `${verb}: the file system is read-only`;
    case 'ENAMETOOLONG':
      return `${verb}: the name is too long for the file system (at most 255 bytes per path segment); use a shorter name`;
    case 'ELOOP':
      return `${verb}: too many levels of symbolic links`;
    case 'ENOSPC':
    case 'EDQUOT': {
      const free = freeBytes(path);
      const need = ctx.needed !== undefined ? `needed ${formatBytes(ctx.needed)}` : '';
      const have = free !== undefined ? `${formatBytes(free)} free` : '';
      const detail = [need, have].filter(Boolean).join(', ');
      return `${verb}: the disk is ${code === 'EDQUOT' ? 'over its quota' : 'full'}${detail ? ` (${detail})` : ''}; free some space and run the same command again`;
    }
    case 'EMFILE':
    case 'ENFILE':
      return `${verb}: too many open files; raise the limit (ulimit -n) or close other programs`;
    case 'EIO':
      return `${verb}: input/output error (a failing disk or a network file system?)`;
    case 'EFBIG':
      return `${verb}: the file is too large for the file system`;
    case 'ENXIO':
    case 'ENODEV':
      return `${verb}: is a device or socket, expected a regular file`;
    default: {
      const msg = (e as Error | undefined)?.message ?? String(e);
      return `${verb}: ${code ?? msg}`;
    }
  }
}

/** The same as a UserError. */
export function ioError(e: unknown, path: string, action: string, what = '', ctx: IoContext = {}): UserError {
  if (e instanceof UserError) return e;
  return new UserError(ioErrorMessage(e, path, action, what, ctx));
}

/**
 * For the CLI edge: a one-line message for a system error that escaped the code's own translation
 * (it names the path Node attached to it), or undefined when `e` is not a file-system error.
 */
export function describeStrayIoError(e: unknown): string | undefined {
  const code = errnoCode(e);
  if (!code) return undefined;
  const err = e as NodeJS.ErrnoException;
  const path = err.path ?? (err as { dest?: string }).dest;
  const action =
    err.syscall === 'open' || err.syscall === 'read' || err.syscall === 'stat' || err.syscall === 'scandir'
      ? 'read'
      : 'write';
  return ioErrorMessage(e, path ?? '(a file)', action);
}

/**
 * `mkdir -p` with a bound: creates `dir` and its missing parents one at a time. Node's recursive
 * mkdir loops forever where mkdir fails with ENOENT under an existing folder (/proc/x): here every
 * error ends the walk, and the error names the folder and what to do.
 */
export function makeDirs(dir: string, what = ''): void {
  const name = what ? `${what} ${dir}` : dir;
  const missing: string[] = [];
  let p = dir;
  for (let i = 0; i < 4096; i++) {
    const k = kind(p);
    if (k === 'dir') break;
    if (k === 'other') throw new UserError(`cannot create the folder ${name}: ${p} exists and is not a folder`);
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST' && kind(m) === 'dir') continue; // made by someone else meanwhile
      if (errnoCode(e) === 'ENOENT' && kind(dirname(m)) === 'dir') {
        throw new UserError(
          `cannot create the folder ${name}: the file system does not allow a folder at ${m}; choose another place`,
        );
      }
      throw new UserError(ioErrorMessage(e, dir, 'create the folder', what));
    }
  }
}

function kind(p: string): 'dir' | 'other' | 'none' {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'other';
  } catch {
    return 'none';
  }
}
