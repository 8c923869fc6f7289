/** Parsing the ingest options that are not plain numbers. */
import { UserError } from '../util/errors.js';

/**
 * A duration: `16s`, `500ms`, `2m`, `1h`, `1.5` (plain seconds) -> seconds.
 * `flag` names the option in the error message.
 */
export function parseDuration(v: string | number, flag: string): number {
  const s = String(v).trim().toLowerCase();
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|sec|m|min|h)?$/.exec(s);
  if (!m) throw new UserError(`${flag} ${v}: expected a duration like 16s, 500ms, 2m or plain seconds`);
  const n = Number(m[1]);
  const mult = { ms: 0.001, s: 1, sec: 1, m: 60, min: 60, h: 3600 }[m[2] ?? 's']!;
  const sec = n * mult;
  if (!(sec > 0)) throw new UserError(`${flag} ${v}: must be longer than 0`);
  return sec;
}

/** `off` -> null; `-50dB`, `-50 dB`, `-50` -> -50 (dBFS, must be below 0). */
export function parseTrimSilence(v: string | number | undefined): number | null {
  if (v === undefined) return null;
  const s = String(v).trim().toLowerCase();
  if (s === 'off' || s === 'no' || s === 'false' || s === 'none') return null;
  const m = /^(-?\d+(?:\.\d+)?)\s*(db|dbfs)?$/.exec(s);
  if (!m) throw new UserError(`--trim-silence ${v}: expected off or a level like -50dB`);
  const db = Number(m[1]);
  if (!(db < 0)) throw new UserError(`--trim-silence ${v}: the level must be below 0 dB (e.g. -50dB)`);
  return db;
}

/** Human form of a duration in seconds: 0.5 s, 42.0 s, 3m 05s, 1.25 h. */
export function formatSeconds(sec: number): string {
  if (sec < 60) return `${sec.toFixed(1)} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m ${String(Math.round(sec % 60)).padStart(2, '0')}s`;
  return `${(sec / 3600).toFixed(2)} h`;
}
