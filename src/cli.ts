/** The `wavenet` command line: one module per command under src/commands. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError, messageOf } from './util/errors.js';
import { describeStrayIoError } from './util/io-errors.js';
import { commands } from './commands/index.js';
import { commandName, joinNegativeValues, unknownArgumentsLine } from './commands/flags.js';

const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as {
  version: string;
};

export async function main(rawArgs: string[]): Promise<number> {
  const args = joinNegativeValues(rawArgs, commands);
  const names = commands.map(commandName).join(', ');
  let y = yargs(args)
    .scriptName('wavenet')
    .usage('$0 <command> [options]\n\nRaw-audio WaveNet: ingest audio, train, synthesize.')
    .version(pkg.version)
    .help()
    .alias('h', 'help')
    .strict()
    .demandCommand(1, `give a command: ${names} (see wavenet --help)`)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      const unknown = unknownArgumentsLine(msg, args, commands);
      if (unknown) throw new UserError(unknown);
      throw new UserError(msg.includes('wavenet --help') ? msg : `${msg} (see wavenet --help)`);
    });
  for (const c of commands) y = y.command(c as never);
  try {
    await y.parseAsync();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof UserError) {
      process.stderr.write(`wavenet: ${e.message}\n`);
      return e.exitCode;
    }
    const io = describeStrayIoError(e); // a file-system error no module translated: still one clear line
    if (io) {
      process.stderr.write(`wavenet: ${io}\n`);
      return 1;
    }
    process.stderr.write(`wavenet: internal error: ${messageOf(e)}\n`);
    if (process.env.WAVENET_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 70;
  }
}

const code = await main(hideBin(process.argv));
process.exitCode = code;
