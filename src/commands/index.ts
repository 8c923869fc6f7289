/** Every command the CLI lists. Only commands that work are registered. */
import type { CommandModule } from 'yargs';
import { infoCommand } from './info.js';
import { ingestCommand } from './ingest.js';
import { trainCommand } from './train.js';
import { renderCommand } from './render.js';
import { synthCommand } from './synth.js';
import { benchCommand } from './bench.js';
import { benchCommands } from '../bench/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [infoCommand];
commands.push(ingestCommand);
commands.push(trainCommand);
commands.push(renderCommand);
commands.push(synthCommand);
// bench is listed once it has at least one subcommand
if (benchCommands.length > 0) commands.push(benchCommand);
