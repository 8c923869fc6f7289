/**
 * A UserError is bad input or a situation the user can fix: the CLI prints its message as one line
 * (`wavenet: <message>`) with no stack trace and exits with `exitCode`.
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Error message of anything thrown, without a stack. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A value from a file, quoted for a message and cut to `max` characters: hostile files can hold
 * megabytes where a number belongs, and an error stays one short line.
 */
export function shown(v: unknown, max = 40): string {
  if (v === undefined) return 'missing';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
