/** `wavenet bench <what>`: speed measurements. Each benchmark is its own module under src/bench. */
import type { Argv, CommandModule } from 'yargs';
import { benchCommands } from '../bench/index.js';

export const benchCommand: CommandModule = {
  command: 'bench <what>',
  describe: 'Measure speed (prints a table; --json for the figures)',
  builder: (y: Argv) => {
    let b = y;
    for (const c of benchCommands) b = b.command(c as never);
    return b.demandCommand(1, 'bench: say what to measure (see wavenet bench --help)');
  },
  handler: () => {},
};
