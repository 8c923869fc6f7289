/** Every command the CLI lists. Only commands that work are registered. */
import type { CommandModule } from 'yargs';
import { infoCommand } from './info.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [infoCommand];
