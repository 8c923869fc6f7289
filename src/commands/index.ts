/** Every command the CLI lists, in the order --help shows them. */
import type { CommandModule } from 'yargs';
import { infoCommand } from './info.js';
import { ingestCommand } from './ingest.js';
import { trainCommand } from './train.js';
import { renderCommand } from './render.js';
import { synthCommand } from './synth.js';
import { benchCommand } from './bench.js';

// biome-ignore lint/suspicious/noExplicitAny: each command has its own argument types; yargs takes them as one list
export const commands: CommandModule<any, any>[] = [
  infoCommand,
  ingestCommand,
  trainCommand,
  renderCommand,
  synthCommand,
  benchCommand,
];
