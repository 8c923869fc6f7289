/** The `wavenet bench` subcommands. */
import type { CommandModule } from 'yargs';
import { benchSynthCommand } from './synth.js';
import { benchTrainCommand } from './train.js';

// biome-ignore lint/suspicious/noExplicitAny: each command has its own argument types; yargs takes them as one list
export const benchCommands: CommandModule<any, any>[] = [benchSynthCommand, benchTrainCommand];
