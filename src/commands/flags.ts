/**
 * What the CLI knows about each command's flags, for the fixes it applies before and after yargs:
 *
 * - negativeValues(): `--trim-silence -50dB` reads as `--trim-silence=-50dB`. yargs takes a token
 *   that starts with '-' for a flag (group) unless it is a plain number, so any value like -50dB,
 *   -16LUFS, -1dBFS or -.5 would otherwise become "Unknown arguments: 5, 0, d, B".
 * - suggest(): "did you mean" for misspelled commands and flags.
 */
import yargs from 'yargs';
import type { CommandModule } from 'yargs';

export interface FlagTable {
  /** Flags (kebab-case, without dashes) that take no value. */
  boolean: Set<string>;
  /** Every flag name, with aliases. */
  all: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: a list of yargs command modules, each with its own argument types
type AnyCommand = CommandModule<any, any>;

/** The name a command is invoked by: 'ingest <inputs..>' -> 'ingest'. */
export function commandName(c: AnyCommand): string {
  const s = Array.isArray(c.command) ? c.command[0] : c.command;
  return String(s ?? '').split(/\s+/)[0];
}

/** Runs the command's builder on a throwaway yargs instance and reads the options it declared. */
export function flagTable(c: AnyCommand): FlagTable {
  const y = yargs([]);
  const b = c.builder;
  const built = typeof b === 'function' ? ((b(y) as typeof y) ?? y) : b ? y.options(b) : y;
  // getOptions() is yargs' own (untyped) view of the declared options.
  const o = (
    built as unknown as {
      getOptions(): { key: Record<string, unknown>; boolean: string[]; alias: Record<string, string[]> };
    }
  ).getOptions();
  const all = new Set(Object.keys(o.key));
  for (const [k, v] of Object.entries(o.alias ?? {})) {
    all.add(k);
    for (const a of v) all.add(a);
  }
  return { boolean: new Set(o.boolean), all: [...all].filter((k) => !/[A-Z]/.test(k)) };
}

const NEGATIVE_VALUE = /^-(\d|\.\d)/;

/**
 * `--flag -50dB` -> `--flag=-50dB` for every flag of `cmd` that takes a value (all but booleans).
 * Tokens after `--` are left alone.
 */
export function joinNegativeValues(args: string[], commands: AnyCommand[]): string[] {
  const name = args.find((a) => !a.startsWith('-'));
  const cmd = commands.find((c) => commandName(c) === name);
  let table: FlagTable | undefined;
  // Booleans of every command too: a command with subcommands (bench) declares its flags out of reach.
  const tableOf = (): FlagTable => {
    const own = cmd ? flagTable(cmd) : { boolean: new Set<string>(), all: [] };
    for (const c of commands) if (c !== cmd) for (const b of flagTable(c).boolean) own.boolean.add(b);
    return own;
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (/^--[^=]+$/.test(a) && next !== undefined && NEGATIVE_VALUE.test(next)) {
      table ??= tableOf();
      const flag = a.slice(2);
      if (!table.boolean.has(flag) && flag !== 'help' && flag !== 'version') {
        out.push(`${a}=${next}`);
        i++;
        continue;
      }
    }
    out.push(a);
  }
  return out;
}

/** Edit distance with transpositions (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest of `names` to `word`, when close enough to be a likely typo. */
export function closest(word: string, names: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const dist = editDistance(word.toLowerCase(), n.toLowerCase());
    if (dist < bestD) {
      best = n;
      bestD = dist;
    }
  }
  const limit = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  return bestD <= limit ? best : undefined;
}

/**
 * One line for yargs' "Unknown argument(s): x, y" failure: names each unknown word, with a "did you
 * mean" when one is close to a command (when no command was recognised) or to a flag of the command.
 */
export function unknownArgumentsLine(msg: string, args: string[], commands: AnyCommand[]): string | undefined {
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return undefined;
  const words = m[1].split(', ');
  const first = args.find((a) => !a.startsWith('-'));
  const cmd = commands.find((c) => commandName(c) === first);
  const names = commands.map(commandName);
  if (!cmd) {
    const w = first ?? words[0];
    const guess = closest(w, names);
    return (
      `unknown command '${w}'` +
      (guess ? `; did you mean \`wavenet ${guess}\`?` : `; commands: ${names.join(', ')}`) +
      ' (see wavenet --help)'
    );
  }
  const flags = flagTable(cmd).all.filter((f) => f !== 'help' && f !== 'version');
  const parts = words.map((w) => {
    const isFlag = args.some((a) => a === `--${w}` || a.startsWith(`--${w}=`) || a === `-${w}`);
    if (!isFlag) return `unexpected argument '${w}'`;
    const guess = closest(w, flags);
    return `unknown flag --${w}` + (guess ? ` (did you mean --${guess}?)` : '');
  });
  return `${commandName(cmd)}: ${parts.join('; ')} (see wavenet ${commandName(cmd)} --help)`;
}
