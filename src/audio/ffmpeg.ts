/**
 * Finding ffmpeg. Order:
 *   1. WAVENET_FFMPEG: a path to an ffmpeg binary, or `none` (also `off`, `0`, `false`) to run as if
 *      there were no ffmpeg at all (only PCM/float WAV can then be read; used by tests).
 *   2. `ffmpeg` on PATH.
 *   3. The optional npm package @ffmpeg-installer/ffmpeg (a static ffmpeg inside its tarball, so it
 *      installs offline).
 * The answer is cached for the process.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { UserError } from '../util/errors.js';

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
    else cached = { value: null, reason: 'no ffmpeg on PATH and the optional package @ffmpeg-installer/ffmpeg is not installed' };
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
