/**
 * Every command the CLI lists, in the order --help shows them.
 *
 * Loaded lazily: a command module imports everything its command needs (the native addon, the plot
 * library, the synthesizer), and loading all of them costs ~0.2 s of CPU at every start. When the
 * command line names a command (the first word that is not a flag, as yargs reads it), only that
 * command's module is loaded and registered: what it does, its --help and its errors are the same.
 * Anything else (no command, --help, --version, a misspelled command, `bench`, whose subcommands' flags
 * the flag fixes in flags.ts look for in every command) loads them all.
 */
import type { CommandModule } from 'yargs';

// biome-ignore lint/suspicious/noExplicitAny: each command has its own argument types; yargs takes them as one list
type AnyCommand = CommandModule<any, any>;

const LOADERS: Record<string, () => Promise<AnyCommand>> = {
  info: async () => (await import('./info.js')).infoCommand,
  ingest: async () => (await import('./ingest.js')).ingestCommand,
  train: async () => (await import('./train.js')).trainCommand,
  render: async () => (await import('./render.js')).renderCommand,
  synth: async () => (await import('./synth.js')).synthCommand,
  bench: async () => (await import('./bench.js')).benchCommand,
};

/** The commands to register for these arguments (process.argv without node and the script). */
export async function loadCommands(args: string[]): Promise<AnyCommand[]> {
  const named = args.find((a) => !a.startsWith('-'));
  if (named !== undefined && named !== 'bench' && Object.hasOwn(LOADERS, named)) return [await LOADERS[named]()];
  return Promise.all(Object.values(LOADERS).map((load) => load()));
}

export const commands: AnyCommand[] = await loadCommands(process.argv.slice(2));
