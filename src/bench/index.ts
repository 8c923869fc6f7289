/** The `wavenet bench` subcommands. Each module registers one line here. */
import type { CommandModule } from 'yargs';
import { benchSynthCommand } from './synth.js';
import { benchTrainCommand } from './train.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const benchCommands: CommandModule<any, any>[] = [];
benchCommands.push(benchSynthCommand);
benchCommands.push(benchTrainCommand);
