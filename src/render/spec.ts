/**
 * What to render: the list of textures, from the command line (--count, --seed, --temperature,
 * --prime ...) or from a job file (--job FILE.json), validated up front.
 *
 * A job file is a JSON array of textures:
 *   [{ "name": "forest-1", "seconds": 120, "seed": 7, "temperature": 0.9, "prime": "a.wav", "loop": true }, ...]
 * Every field but `name` is optional and falls back to the command line's settings (seed: BASE + index).
 * `prime` paths are relative to the job file's folder. Names may contain subfolders ("beds/forest")
 * but never leave the output folder.
 */
import { existsSync, lstatSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { UserError, shown } from '../util/errors.js';
import { checkRegularFile, kindOf, LIMITS, readRegularText } from '../util/files.js';

export interface TextureSpec {
  /** Output name without .wav; relative to the output folder, '/'-separated. */
  name: string;
  seconds: number;
  seed: number;
  temperature: number;
  /** Absolute path of the prime audio file, or null. */
  prime: string | null;
  loop: boolean;
}

/** Largest seed accepted: seeds are recorded in JSON, so they stay exact doubles. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;
export const MAX_SECONDS = 24 * 3600;
export const MAX_TEMPERATURE = 100;
export const MAX_TEXTURES = 100000;

/** `30`, `30s`, `2.5s`, `500ms`, `2m`, `1m30s` -> seconds. Null when it does not parse. */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string') return null;
  const s = v.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const m = /^(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)(s|ms))?$/.exec(s);
  if (!m || (!m[1] && !m[2])) return null;
  let t = m[1] ? Number(m[1]) * 60 : 0;
  if (m[2]) t += m[3] === 'ms' ? Number(m[2]) / 1000 : Number(m[2]);
  return t;
}

/** Temperature `1`, or a range `0.8..1.1` spread evenly over the textures. */
export interface TemperatureSetting {
  from: number;
  to: number;
}

export function parseTemperature(v: unknown, flag = '--temperature'): TemperatureSetting {
  const s = String(v).trim();
  const num = (x: string) => (/^\d+(\.\d+)?$|^\.\d+$/.test(x) ? Number(x) : NaN);
  const parts = s.split('..');
  if (parts.length > 2) throw new UserError(`${flag} '${s}': expected a number like 1 or a range like 0.8..1.1`);
  const a = num(parts[0].trim());
  const b = parts.length === 2 ? num(parts[1].trim()) : a;
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    throw new UserError(`${flag} '${s}': expected a number like 1 or a range like 0.8..1.1`);
  }
  if (a > MAX_TEMPERATURE || b > MAX_TEMPERATURE) throw new UserError(`${flag} '${s}': at most ${MAX_TEMPERATURE}`);
  return { from: a, to: b };
}

/** Temperature of texture i of n: the range spread evenly, ends included (the midpoint when n = 1). */
export function temperatureAt(t: TemperatureSetting, i: number, n: number): number {
  if (t.from === t.to) return t.from;
  if (n <= 1) return (t.from + t.to) / 2;
  const v = t.from + ((t.to - t.from) * i) / (n - 1);
  return Math.round(v * 1e6) / 1e6;
}

export interface RenderDefaults {
  seconds: number;
  seedBase: number;
  temperature: TemperatureSetting;
  /** Absolute paths, assigned round-robin. */
  primes: string[];
  loop: boolean;
}

/** --count N textures named texture-001 ... with seeds BASE+i, spread temperatures and round-robin primes. */
export function planFromCount(count: number, d: RenderDefaults): TextureSpec[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_TEXTURES) {
    throw new UserError(`--count ${count}: must be a whole number from 1 to ${MAX_TEXTURES}`);
  }
  if (d.seedBase + count - 1 > MAX_SEED) throw new UserError(`--seed ${d.seedBase}: seed + count must stay below 2^53`);
  const width = Math.max(3, String(count).length);
  const out: TextureSpec[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      name: `texture-${String(i + 1).padStart(width, '0')}`,
      seconds: d.seconds,
      seed: d.seedBase + i,
      temperature: temperatureAt(d.temperature, i, count),
      prime: d.primes.length ? d.primes[i % d.primes.length] : null,
      loop: d.loop,
    });
  }
  return out;
}

/** Bytes per path segment of a texture name (so the temporary file name fits in 255 bytes). */
export const MAX_SEGMENT_BYTES = 200;
/** Files render writes in the output folder itself: no texture folder may take their names. */
const RESERVED = new Set(['index.json', 'contact-sheet.png']);

/**
 * Names that would collide on disk: texture `x` writes the file `x.wav`, texture `x.wav/y` needs the
 * folder `x.wav`. Compared ignoring case (case-insensitive file systems). Throws naming both.
 */
export function checkNameCollisions(names: string[], where: string): void {
  const files = new Map<string, string>();
  const folders = new Map<string, string>();
  for (const n of names) {
    files.set(`${n}.wav`.toLowerCase(), n);
    const segs = n.split('/');
    for (let k = 1; k < segs.length; k++) {
      const f = segs.slice(0, k).join('/').toLowerCase();
      if (!folders.has(f)) folders.set(f, n);
    }
  }
  for (const [f, n] of files) {
    const other = folders.get(f);
    if (other !== undefined) {
      throw new UserError(
        `${where}: texture "${n}" writes the file ${n}.wav, which texture "${other}" needs as a folder; rename one of them`,
      );
    }
  }
}

/**
 * Checks, before anything is written, that every texture's WAV can be placed in `outDir`: no part of
 * its folder path exists as a file, and the WAV path is not a folder or other non-regular file.
 */
export function checkTexturePaths(outDir: string, names: string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    const segs = `${n}.wav`.split('/');
    let p = outDir;
    for (let k = 0; k < segs.length; k++) {
      p = join(p, segs[k]);
      if (seen.has(p)) continue;
      seen.add(p);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        break; // absent: created when written
      }
      const last = k === segs.length - 1;
      if (last && !st.isFile()) {
        throw new UserError(
          `--out-dir ${outDir}: texture "${n}" would be written to ${p}, which is ${kindOf(st)}; remove it or rename the texture`,
        );
      }
      if (!last && !st.isDirectory()) {
        throw new UserError(
          `--out-dir ${outDir}: texture "${n}" needs the folder ${p}, which is ${st.isSymbolicLink() ? 'a symbolic link' : kindOf(st)}; remove it or rename the texture`,
        );
      }
    }
  }
}

/** Checks that a prime is a regular file (a FIFO or a device would block or never end). Returns its absolute path. */
export function checkPrimeFile(p: string, what: string): string {
  checkRegularFile(p, { what, maxBytes: LIMITS.audioBytes, nonEmpty: true });
  return resolve(p);
}

const JOB_FIELDS = ['name', 'seconds', 'seed', 'temperature', 'prime', 'loop'];

/** Checks a texture name; returns it normalized (no .wav suffix) or throws with `where` in the message. */
export function checkName(raw: unknown, where: string): string {
  if (typeof raw !== 'string') throw new UserError(`${where}: field "name": expected a string, got ${describe(raw)}`);
  let name = raw.trim();
  if (/\.wav$/i.test(name)) name = name.slice(0, -4);
  if (name === '') throw new UserError(`${where}: field "name": must not be empty`);
  if (name.length > 200) throw new UserError(`${where}: field "name": longer than 200 characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new UserError(`${where}: field "name": contains control characters`);
  if (name.includes('\\')) throw new UserError(`${where}: field "name" '${raw}': use '/' for subfolders, not '\\'`);
  if (isAbsolute(name) || /^[a-zA-Z]:/.test(name) || name.startsWith('/')) {
    throw new UserError(`${where}: field "name" '${raw}': must be relative to the output folder, not an absolute path`);
  }
  const segs = name.split('/');
  if (segs.some((s) => s === '..')) {
    throw new UserError(`${where}: field "name" '${raw}': '..' would escape the output folder`);
  }
  if (segs.some((s) => s === '' || s === '.')) {
    throw new UserError(`${where}: field "name" '${raw}': empty or '.' path segment`);
  }
  if (segs.some((s) => s.startsWith('.'))) {
    throw new UserError(`${where}: field "name" '${raw}': names starting with '.' are reserved for temporary files`);
  }
  // A segment becomes `SEG.wav`, written as `.SEG.wav.tmp-PID-XXXXXXXX`: keep that under the 255-byte limit.
  const long = segs.find((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES);
  if (long !== undefined) {
    throw new UserError(
      `${where}: field "name": the part '${long.slice(0, 20)}...' is ${Buffer.byteLength(long)} bytes; file systems allow ${MAX_SEGMENT_BYTES} here`,
    );
  }
  if (segs.length > 1 && RESERVED.has(segs[0].toLowerCase())) {
    throw new UserError(
      `${where}: field "name" '${raw}': '${segs[0]}' is a file render writes itself; choose another folder name`,
    );
  }
  return name;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** Reads and validates a job file. Every error names the file, the entry index and the field. */
export function planFromJob(file: string, d: RenderDefaults): TextureSpec[] {
  if (!existsSync(file)) throw new UserError(`--job ${file}: no such file`);
  const text = readRegularText(file, { what: '--job', maxBytes: LIMITS.jobFileBytes });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError(`--job ${file}: not valid JSON (${(e as Error).message})`);
  }
  return validateJob(data, file, d);
}

/** One entry of a job file: an object with known fields and a valid name not used before (ignoring case). */
function checkJobEntry(e: unknown, i: number, where: string, seen: Map<string, number>) {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) {
    throw new UserError(`${where}: expected an object like {"name": "forest-1", "seconds": 60}, got ${describe(e)}`);
  }
  const o = e as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!JOB_FIELDS.includes(k)) {
      throw new UserError(`${where}: unknown field ${shown(k)} (fields: ${JOB_FIELDS.join(', ')})`);
    }
  }
  if (!('name' in o)) throw new UserError(`${where}: field "name" is missing`);
  const name = checkName(o.name, where);
  const w = `${where} ("${name}")`;
  const key = name.toLowerCase();
  if (seen.has(key)) {
    throw new UserError(`${w}: field "name": duplicate of entry ${seen.get(key)} (names are compared ignoring case)`);
  }
  seen.set(key, i);
  return { o, name, w };
}

/** Length, seed and temperature of entry i of `count`, from its fields or the defaults. */
function jobEntryTiming(o: Record<string, unknown>, w: string, i: number, count: number, d: RenderDefaults) {
  let seconds = d.seconds;
  if (o.seconds !== undefined) {
    const s = parseDuration(o.seconds);
    if (s === null || !(s > 0) || s > MAX_SECONDS) {
      throw new UserError(
        `${w}: field "seconds": expected a positive number of seconds up to ${MAX_SECONDS}, got ${describe(o.seconds)}`,
      );
    }
    seconds = s;
  }
  let seed = d.seedBase + i;
  if (o.seed !== undefined) {
    if (typeof o.seed !== 'number' || !Number.isInteger(o.seed) || o.seed < 0 || o.seed > MAX_SEED) {
      throw new UserError(`${w}: field "seed": expected a whole number from 0 to 2^53-1, got ${describe(o.seed)}`);
    }
    seed = o.seed;
  } else if (seed > MAX_SEED) {
    throw new UserError(`${w}: field "seed": the default seed --seed + ${i} exceeds 2^53-1`);
  }
  let temperature = temperatureAt(d.temperature, i, count);
  if (o.temperature !== undefined) {
    if (
      typeof o.temperature !== 'number' ||
      !Number.isFinite(o.temperature) ||
      o.temperature < 0 ||
      o.temperature > MAX_TEMPERATURE
    ) {
      throw new UserError(
        `${w}: field "temperature": expected a number from 0 to ${MAX_TEMPERATURE}, got ${describe(o.temperature)}`,
      );
    }
    temperature = o.temperature;
  }
  return { seconds, seed, temperature };
}

/** Prime (relative to the job file's folder `base`) and loop of entry i, from its fields or the defaults. */
function jobEntrySource(o: Record<string, unknown>, w: string, i: number, d: RenderDefaults, base: string) {
  let prime: string | null = d.primes.length ? d.primes[i % d.primes.length] : null;
  if (o.prime !== undefined) {
    if (o.prime === null) prime = null;
    else {
      if (typeof o.prime !== 'string' || o.prime.trim() === '') {
        throw new UserError(
          `${w}: field "prime": expected the path of an audio file (or null), got ${describe(o.prime)}`,
        );
      }
      const p = resolve(base, o.prime);
      if (!existsSync(p))
        throw new UserError(`${w}: field "prime": ${o.prime}: no such file (paths are relative to the job file)`);
      prime = checkPrimeFile(p, `${w}: field "prime":`);
    }
  }
  let loop = d.loop;
  if (o.loop !== undefined) {
    if (typeof o.loop !== 'boolean')
      throw new UserError(`${w}: field "loop": expected true or false, got ${describe(o.loop)}`);
    loop = o.loop;
  }
  return { prime, loop };
}

export function validateJob(data: unknown, file: string, d: RenderDefaults): TextureSpec[] {
  if (!Array.isArray(data)) {
    throw new UserError(`--job ${file}: expected a JSON array of textures [{"name": ...}, ...], got ${describe(data)}`);
  }
  if (data.length === 0) throw new UserError(`--job ${file}: the array is empty; list at least one texture`);
  if (data.length > MAX_TEXTURES) throw new UserError(`--job ${file}: more than ${MAX_TEXTURES} textures`);
  const base = dirname(resolve(file));
  const seen = new Map<string, number>();
  const out: TextureSpec[] = [];
  data.forEach((e, i) => {
    const where = `--job ${file}: entry ${i}`;
    const { o, name, w } = checkJobEntry(e, i, where, seen);
    out.push({ name, ...jobEntryTiming(o, w, i, data.length, d), ...jobEntrySource(o, w, i, d, base) });
  });
  checkNameCollisions(
    out.map((t) => t.name),
    `--job ${file}`,
  );
  return out;
}
